//! Log lines shared the way people share them: pasted into a message (plain or in a code block),
//! attached as a `.txt`, or pasted with an @mention outside any case.

use super::*;

/// Founding case device 1 (the WMI advanced installer fails with Win32 1058, Winmgmt disabled),
/// as pasted from CBS.log with the timestamps cut off.
const WMI_LINES: &str = "\
Error      [0x01806a] CSI    00000007 (F) Failed execution of queue item Installer: WMI ({6bb8cf6d-16a1-4f08-a1d5-3fe1b6d0f6d5}) with HRESULT HRESULT_FROM_WIN32(1058).  Failure will not be ignored: A rollback will be initiated after all the operations in the installer queue are completed; installer is reliable[gle=0x80004005]
Error                 CBS    Startup: Failed to process advanced operation queue, startupPhase: 0.  A rollback transaction will be created. [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]";

/// What an engineer sees for it.
const ROOT_CAUSE: &str = "`service-disabled-advanced-installer`";
/// What a customer sees for it.
const TITLE: &str = "An advanced installer needs a service that is disabled";
const RECEIVED: &str = "Received the pasted log lines";

/// The case as stored, after the bot stopped.
fn stored_case(dir: &std::path::Path, id: &str) -> store::Case {
    let store = store::SledStore::open(dir).expect("store reopens after stop");
    store::CaseStore::get(&store, &store::CaseId::parse(id).expect("case id"))
        .expect("store read")
        .expect("case kept")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_pasted_in_a_case_thread_are_stored_and_diagnosed() {
    within(async {
        let (fake, dir, bot) = ready_bot().await;
        let (eng, cust) = (FakeUser::engineer(), FakeUser::customer());
        let (thread, id) = open_case(&fake, &eng, "KB5034763 rolls back").await;

        // Plain lines, no mention: diagnosed like an upload.
        fake.say(thread.id, &eng, WMI_LINES, false, &[]);
        fake.wait_post_containing(thread.id, RECEIVED).await;
        // The first screen: what is wrong and what to run, in one message.
        let d = fake.wait_post_containing(thread.id, TITLE).await;
        assert!(d.content.contains("sc config winmgmt start= auto"));

        // The customer's code block after some prose, with a mention: same device, same cause.
        let block = format!("this is what CBS.log says:\n```\n{WMI_LINES}\n```");
        fake.say(thread.id, &cust, &block, true, &[]);
        fake.wait_for_posts_with(thread.id, RECEIVED, 2).await;
        fake.wait_for_posts_with(thread.id, TITLE, 2).await;
        assert!(
            posts_with(&fake, thread.id, "I didn't find a command").is_empty(),
            "{}",
            fake.transcript()
        );

        // Chat without log lines in the thread stays chat.
        fake.say(thread.id, &cust, "thanks, trying that now", false, &[]);
        // A re-run reads the stored paste.
        fake.command(thread.id, &eng, "diagnose");
        fake.wait_post_containing(thread.id, "again from `paste-")
            .await;
        fake.wait_for_posts_with(thread.id, ROOT_CAUSE, 2).await;
        bot.stop().await;

        let case = stored_case(dir.path(), &id);
        assert_eq!(case.devices.len(), 1, "{:?}", case.devices.keys());
        let device = case.devices.values().next().expect("one device");
        let names: Vec<&str> = device.bundles.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("paste-") && n.ends_with(".txt")),
            "{names:?}"
        );
        let top = device.diagnosis.as_ref().and_then(|d| d.top());
        assert_eq!(
            top.map(|f| f.root_cause.as_str()),
            Some("service-disabled-advanced-installer")
        );
        assert!(
            posts_with(&fake, thread.id, "didn't find a command").is_empty(),
            "unmentioned chat got a reply: {}",
            fake.transcript()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn txt_attachments_are_diagnosed_and_pastes_name_their_device() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
        let eng = FakeUser::engineer();
        let (thread, _) = open_case(&fake, &eng, "KB5034763 rolls back on 2 devices").await;

        let txt = fake.attachment("cbs-excerpt.txt", WMI_LINES.as_bytes().to_vec());
        fake.say(thread.id, &eng, "device:pc-7", false, &[txt]);
        fake.wait_post_containing(thread.id, "Received `cbs-excerpt.txt`")
            .await;
        let d = fake.wait_post_containing(thread.id, TITLE).await;
        assert!(d.content.contains("`pc-7`"), "{}", d.content);

        let log = fake.attachment("CBS.log", WMI_LINES.as_bytes().to_vec());
        fake.say(thread.id, &eng, "device:pc-8", false, &[log]);
        fake.wait_for_posts_with(thread.id, TITLE, 2).await;
        assert!(
            posts_with(&fake, thread.id, TITLE)
                .iter()
                .any(|p| p.content.contains("`pc-8`")),
            "{}",
            fake.transcript()
        );

        // Two devices now: a paste that names none is asked about, one that names one is its.
        fake.say(thread.id, &eng, WMI_LINES, false, &[]);
        let ask = fake
            .wait_post_containing(thread.id, "Which device are these log lines from?")
            .await;
        assert!(
            ask.content.contains("pc-7") && ask.content.contains("pc-8"),
            "{}",
            ask.content
        );
        fake.say(
            thread.id,
            &eng,
            &format!("device:pc-8\n{WMI_LINES}"),
            false,
            &[],
        );
        fake.wait_post_containing(thread.id, RECEIVED).await;
        fake.wait_for_posts_with(thread.id, ROOT_CAUSE, 3).await;
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paste_outside_a_case_is_diagnosed_and_opens_a_case_on_request() {
    within(async {
        let (fake, dir, bot) = ready_bot().await;
        let (cust, other) = (FakeUser::customer(), FakeUser::engineer());
        fake.command(
            SUPPORT,
            &cust,
            &format!("my update keeps rolling back:\n```\n{WMI_LINES}\n```"),
        );
        let d = fake.wait_post_containing(SUPPORT, TITLE).await;
        assert!(
            d.content.contains("sc config winmgmt start= auto"),
            "{}",
            d.content
        );
        assert!(
            !d.content.contains("@casebot device"),
            "nothing to verify outside a case: {}",
            d.content
        );
        fake.wait_post_containing(SUPPORT, "Reply `open <title>` to open a case with this log")
            .await;
        assert!(fake.threads().is_empty(), "no case without asking");

        // Someone else's `open` does not take the paste.
        let (t1, _) = open_case(&fake, &other, "printer queue stuck").await;
        let (t2, id) = open_case(&fake, &cust, "KB5034763 rolls back").await;
        fake.wait_post_containing(t2.id, RECEIVED).await;
        let first = fake.wait_post_containing(t2.id, TITLE).await;
        assert!(
            first.content.contains("@casebot device"),
            "in the case the customer is told what to reply: {}",
            first.content
        );
        assert!(posts_with(&fake, t1.id, RECEIVED).is_empty());
        bot.stop().await;

        let case = stored_case(dir.path(), &id);
        let bundles: Vec<&str> = case
            .devices
            .values()
            .flat_map(|d| d.bundles.iter().map(|b| b.name.as_str()))
            .collect();
        assert_eq!(bundles.len(), 1, "{bundles:?}");
        assert!(bundles[0].starts_with("paste-"), "{bundles:?}");
    })
    .await;
}
