//! Atomic idempotency through the real process: the `casebot serve` binary is killed with
//! SIGKILL after a change made for a message committed and before its reply was posted
//! (`CASEBOT_FAULT=after-commit-before-reply`), restarted on the same sled directory, and the
//! same message is delivered again. The change must be there exactly once and the reply posted.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use store::CaseStore;
use tokio::process::{Child, Command};

use super::*;

/// A `casebot serve` process on the store in `dir/data`, configured for the fake.
struct Serve {
    dir: PathBuf,
    identifies: usize,
}

impl Serve {
    fn new(fake: &FakeDiscord, dir: &Path) -> Serve {
        let text = config_text(fake, &dir.join("data"), "");
        std::fs::write(dir.join("casebot.toml"), text).expect("write config");
        Serve {
            dir: dir.to_path_buf(),
            identifies: 0,
        }
    }

    /// Start the process (with the fault point armed when `fault`) and wait until it is
    /// connected to the fake.
    async fn start(&mut self, fake: &FakeDiscord, fault: bool) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_casebot-cli"));
        cmd.arg("serve")
            .current_dir(&self.dir)
            .env("DISCORD_TOKEN", "fake-token")
            .env_remove("CASEBOT_FAULT")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if fault {
            cmd.env("CASEBOT_FAULT", "after-commit-before-reply");
        }
        let child = cmd.spawn().expect("start casebot serve");
        self.identifies += 1;
        fake.wait_identified(self.identifies).await;
        child
    }

    /// The store, read while no casebot runs.
    fn case(&self) -> store::Case {
        let store = store::SledStore::open(self.dir.join("data")).expect("store unlocked");
        let mut cases = store.list().expect("list");
        assert_eq!(cases.len(), 1, "one message, one case: {cases:?}");
        cases.remove(0)
    }
}

/// Wait for a process the fault point killed, and check it died by SIGKILL.
async fn killed(mut child: Child) {
    let status = child.wait().await.expect("wait for casebot");
    assert_eq!(status.signal(), Some(9), "casebot was not killed: {status}");
}

/// Stop a process with SIGTERM and wait until it has closed the store.
async fn stop(mut child: Child) {
    let pid = child.id().expect("running").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let status = child.wait().await.expect("wait for casebot");
    assert!(status.success(), "exit status {status}");
}

fn count(case: &store::Case, kind: &str) -> usize {
    case.timeline.iter().filter(|e| e.kind == kind).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_killed_before_its_reply_is_applied_once_and_answered_after_redelivery() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut serve = Serve::new(&fake, dir.path());
        let eng = FakeUser::engineer();

        // 1. `open`: the case is created, then casebot dies before the thread and the reply.
        let open = fake.message_event(SUPPORT, &eng, "open KB5034763 rolls back", true, &[]);
        let bot = serve.start(&fake, true).await;
        fake.dispatch("MESSAGE_CREATE", open.clone());
        killed(bot).await;
        assert!(fake.threads().is_empty(), "{}", fake.transcript());
        assert_eq!(serve.case().timeline[0].kind, "open", "the change was made");
        let bot = serve.start(&fake, false).await;
        fake.dispatch("MESSAGE_CREATE", open);
        let thread = fake.wait_thread(1).await;
        fake.wait_post_containing(thread.id, "Opened case").await;
        stop(bot).await;
        let id = serve.case().id;

        // 2. An upload: the diagnosis is recorded, then casebot dies before replying.
        let zip = fake.attachment(&format!("{DEVICE1}.zip"), device1_zip());
        let upload = fake.message_event(thread.id, &eng, "", false, &[zip]);
        let bot = serve.start(&fake, true).await;
        fake.dispatch("MESSAGE_CREATE", upload.clone());
        killed(bot).await;
        assert_eq!(count(&serve.case(), "diagnosis"), 1, "the change was made");
        let answer = "`service-disabled-advanced-installer`";
        assert!(posts_with(&fake, thread.id, answer).is_empty());
        let bot = serve.start(&fake, false).await;
        fake.dispatch("MESSAGE_CREATE", upload);
        fake.wait_post_containing(thread.id, answer).await;
        stop(bot).await;

        // 3. A note: recorded, then casebot dies before "Noted".
        let note = fake.message_event(thread.id, &eng, "note customer rebooted twice", true, &[]);
        let bot = serve.start(&fake, true).await;
        fake.dispatch("MESSAGE_CREATE", note.clone());
        killed(bot).await;
        assert_eq!(count(&serve.case(), "note"), 1, "the change was made");
        let bot = serve.start(&fake, false).await;
        fake.dispatch("MESSAGE_CREATE", note);
        fake.wait_post_containing(thread.id, "Noted").await;
        stop(bot).await;

        let case = serve.case();
        assert_eq!(case.id, id);
        assert_eq!(fake.threads().len(), 1, "{}", fake.transcript());
        assert_eq!(count(&case, "open"), 1);
        assert_eq!(count(&case, "note"), 1, "{:?}", case.timeline);
        assert_eq!(count(&case, "bundle"), 1, "{:?}", case.timeline);
        assert_eq!(count(&case, "diagnosis"), 1, "{:?}", case.timeline);
        assert_eq!(case.devices[DEVICE1].bundles.len(), 1);
        assert_eq!(posts_with(&fake, thread.id, "Opened case").len(), 1);
        assert_eq!(posts_with(&fake, thread.id, "Noted").len(), 1);
    })
    .await;
}

/// Buttons survive a kill -9: casebot is killed (SIGKILL) right after a customer's Fixed click
/// committed and before its reply; after the restart, the click Discord delivers again is
/// answered and applied once, the buttons posted before the crash still work, and the engineer
/// closes the case with the opening message's Close button and its reason form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_still_work_after_a_kill_9_restart() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut serve = Serve::new(&fake, dir.path());
        let (eng, cust) = (FakeUser::engineer(), FakeUser::customer());
        let bot = serve.start(&fake, false).await;
        let (thread, id) = open_case(&fake, &cust, "KB5034763 rolls back on 2 devices").await;
        for (device, zip) in [(DEVICE1, device1_zip()), (DEVICE2, device2_zip())] {
            let a = fake.attachment(&format!("{device}.zip"), zip);
            fake.say(thread.id, &cust, "", false, &[a]);
        }
        let d1 = fake.wait_buttons(thread.id, &format!(":{DEVICE1}:")).await;
        let d2 = fake.wait_buttons(thread.id, &format!(":{DEVICE2}:")).await;
        let opening = fake.wait_buttons(thread.id, "cb:close:").await;
        stop(bot).await;

        let bot = serve.start(&fake, true).await;
        let click = fake.click(&d1, &cust, "Fixed");
        killed(bot).await;
        let fixed = format!("`{DEVICE1}` is marked fixed");
        assert!(posts_with(&fake, thread.id, &fixed).is_empty());

        let bot = serve.start(&fake, false).await;
        fake.dispatch("INTERACTION_CREATE", click);
        fake.wait_post_containing(thread.id, &fixed).await;
        fake.click(&d2, &cust, "Fixed");
        fake.wait_post_containing(thread.id, &format!("Every device of {id} is now verified"))
            .await;
        let close = fake.click(&opening, &eng, "Close");
        let modal = fake.modal_for(&close).await;
        fake.submit(
            &opening,
            &eng,
            &modal,
            &[("reason", "both devices verified")],
        );
        fake.wait_post_containing(thread.id, &format!("Case {id} is closed.\n"))
            .await;
        stop(bot).await;

        let case = serve.case();
        let entry = format!("{DEVICE1}: fixed");
        let fixed_entries = case.timeline.iter().filter(|e| e.text == entry).count();
        assert_eq!(fixed_entries, 1, "{:?}", case.timeline);
        assert_eq!(case.close_reason.as_deref(), Some("both devices verified"));
        assert_eq!(posts_with(&fake, thread.id, &fixed).len(), 1);
    })
    .await;
}
