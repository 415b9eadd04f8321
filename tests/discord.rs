//! End-to-end tests of the Discord adapter: the real serenity client against the fake Discord
//! in `fake_discord.rs`, on 127.0.0.1 only. Every test runs under a timeout so a hang fails.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use casebot::config::Config;
use secrecy::SecretString;
use tokio::sync::oneshot;

use crate::fake_discord::{FakeDiscord, FakeUser, GUILD, Posted, SUMMARIES, SUPPORT, Thread};

/// Fails the test instead of hanging CI.
async fn within<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), fut)
        .await
        .expect("test timed out after 60 s")
}

/// The config a test bot runs with, pointed at the fake.
fn config(fake: &FakeDiscord, data_dir: &std::path::Path) -> Config {
    let text = format!(
        r#"
lang = "en"
[discord]
api_base_url = "{base}"
allowed_guilds = [{GUILD}]
allowed_channels = [{SUPPORT}]
engineer_roles = ["{role}"]
summary_channel = {SUMMARIES}
[store]
data_dir = "{data}"
[download]
allowed_hosts = ["127.0.0.1"]
max_bytes = 1048576
timeout_secs = 10
"#,
        base = fake.base_url(),
        role = crate::fake_discord::ENGINEER_ROLE,
        data = data_dir.display(),
    );
    Config::parse(&text, "test config").expect("test config is valid")
}

/// A running bot and the way to stop it.
struct RunningBot {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningBot {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task
            .await
            .expect("bot task panicked")
            .expect("bot stopped with an error");
    }
}

/// Start the whole bot (store, handlers, Discord) in-process, as `casebot serve` does.
fn start(cfg: Config) -> RunningBot {
    start_with_token(cfg, "fake-token")
}

fn start_with_token(cfg: Config, token: &str) -> RunningBot {
    let (stop, stopped) = oneshot::channel::<()>();
    let token = SecretString::from(token.to_owned());
    let task = tokio::spawn(casebot::serve::serve(cfg, token, async {
        let _ = stopped.await;
    }));
    RunningBot { stop, task }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_registers_commands_and_resumes_after_a_disconnect() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start(config(&fake, dir.path()));
        fake.wait_ready().await;
        let commands = fake.commands();
        for name in ["open", "status", "close", "help", "diagnose", "device"] {
            assert!(commands.iter().any(|c| c == name), "{name} not registered");
        }
        fake.disconnect();
        fake.wait_for_resume().await;
        assert_eq!(fake.sessions(), (1, 1), "one IDENTIFY, then a RESUME");
        assert!(
            fake.unknown_requests().is_empty(),
            "{:?}",
            fake.unknown_requests()
        );
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_command_is_acknowledged_and_answered_in_its_channel() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start(config(&fake, dir.path()));
        fake.wait_ready().await;
        fake.slash(SUPPORT, &FakeUser::customer(), "help", &[]);
        let posts = fake.wait_posts(SUPPORT, 1).await;
        assert!(posts[0].followup, "answered through the interaction");
        // Deferred first (type 5), so Discord does not time the interaction out.
        assert_eq!(fake.callbacks().len(), 1);
        assert_eq!(fake.callbacks()[0].1, 5);
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_fails_fast_with_a_clear_message() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start_with_token(
            config(&fake, dir.path()),
            crate::fake_discord::REVOKED_TOKEN,
        );
        let err = bot
            .task
            .await
            .expect("bot task panicked")
            .expect_err("a revoked token must stop the bot");
        assert!(err.to_string().contains("rejected the token"), "{err:#}");
        assert_eq!(fake.sessions(), (0, 0), "no gateway session was attempted");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_fails_fast_when_the_store_is_in_use() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let _held = store::SledStore::open(dir.path()).expect("first open");
        let bot = start(config(&fake, dir.path()));
        let err = bot
            .task
            .await
            .expect("bot task panicked")
            .expect_err("a store in use must stop the bot");
        assert!(
            err.to_string()
                .contains("in use by another casebot process"),
            "{err:#}"
        );
        assert_eq!(fake.sessions(), (0, 0), "no gateway session was attempted");
    })
    .await;
}

#[test]
fn no_subcommand_and_no_token_falls_back_to_the_console_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let (_, err) = casebot(dir.path(), &[]);
    let first = err.lines().next().unwrap_or_default();
    assert!(first.contains("no Discord token configured"), "{err}");
    assert!(
        first.contains("casebot serve") && first.contains("starting the console"),
        "{err}"
    );
}

/// Run the casebot binary in `dir` with `args`, without a token in the environment.
fn casebot(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_casebot-cli"))
        .args(args)
        .current_dir(dir)
        .env_remove("DISCORD_TOKEN")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run casebot");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_without_a_token_fails_fast_naming_both_ways_to_give_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("casebot.toml"),
        "[discord]\nallowed_guilds = [1]\n",
    )
    .unwrap();
    let (ok, err) = casebot(dir.path(), &["serve"]);
    assert!(!ok);
    assert!(
        err.contains("DISCORD_TOKEN") && err.contains("token_file"),
        "{err}"
    );
}

#[test]
fn serve_with_a_bad_config_lists_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "lang = \"fr\"\ntoken = \"s3cret\"\n[download]\nmax_bytes = 0\n",
    )
    .unwrap();
    let (ok, err) = casebot(dir.path(), &["--config", cfg.to_str().unwrap(), "serve"]);
    assert!(!ok);
    assert!(err.contains("3 problem(s)"), "{err}");
    assert!(err.contains("lang") && err.contains("max_bytes"), "{err}");
    assert!(
        err.contains("must not be written in the config file"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "the token is echoed: {err}");
}

#[test]
fn serve_with_an_unknown_key_names_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("casebot.toml"),
        "[discord]\nallowed_guild = [1]\n",
    )
    .unwrap();
    let (ok, err) = casebot(dir.path(), &["serve"]);
    assert!(!ok);
    assert!(err.contains("allowed_guild"), "{err}");
}

#[test]
fn serve_with_a_token_but_no_guild_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "abc\n").unwrap();
    std::fs::write(dir.path().join("casebot.toml"), "token_file = \"token\"\n").unwrap();
    let (ok, err) = casebot(dir.path(), &["serve"]);
    assert!(!ok);
    assert!(err.contains("allowed_guilds is empty"), "{err}");
}

#[test]
fn serve_with_a_token_in_both_env_and_file_refuses_to_guess() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "abc\n").unwrap();
    let text = "token_file = \"token\"\n[discord]\nallowed_guilds = [1]\n";
    std::fs::write(dir.path().join("casebot.toml"), text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_casebot-cli"))
        .arg("serve")
        .current_dir(dir.path())
        .env("DISCORD_TOKEN", "from-env")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run casebot");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("set twice"), "{err}");
    assert!(
        !err.contains("from-env") && !err.contains("abc"),
        "a token is echoed: {err}"
    );
}

/// A collector-style zip: the files of a rule fixture directory under `<device>/Logs/`.
fn bundle(device: &str, fixture: &str) -> Vec<u8> {
    use std::io::Write as _;
    let dir = crate::util::fixture(&format!("rules/{fixture}"));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixture {}: {e}", dir.display()))
        .map(|e| e.expect("fixture entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        zip.start_file(format!("{device}/Logs/{name}"), options)
            .expect("zip entry");
        zip.write_all(&std::fs::read(&path).expect("read fixture"))
            .expect("write zip");
    }
    zip.finish().expect("finish zip").into_inner()
}

const DEVICE1: &str = "wcc0021z675842";
const DEVICE2: &str = "WCC0021Z673965";

fn device1_zip() -> Vec<u8> {
    bundle(
        DEVICE1,
        "service-disabled-advanced-installer/hit/wmi-winmgmt-disabled",
    )
}

fn device2_zip() -> Vec<u8> {
    bundle(DEVICE2, "txf-transaction-log-corrupt/hit/log-growth-failed")
}

/// Open a case in the support channel as `user`; the case thread and its id.
async fn open_case(fake: &FakeDiscord, user: &FakeUser, title: &str) -> (Thread, String) {
    let before = fake.threads().len();
    fake.command(SUPPORT, user, &format!("open {title}"));
    let thread = fake.wait_thread(before + 1).await;
    let opened = fake.wait_post_containing(thread.id, "Opened case").await;
    let id = opened
        .content
        .split("**")
        .nth(1)
        .expect("case id in bold")
        .to_owned();
    assert!(id.starts_with("CAS-"), "{id}");
    (thread, id)
}

/// The posts in `channel` whose text contains `needle`.
fn posts_with(fake: &FakeDiscord, channel: u64, needle: &str) -> Vec<Posted> {
    fake.posts_in(channel)
        .into_iter()
        .filter(|p| p.content.contains(needle))
        .collect()
}

/// Founding case, step 2: two bundles uploaded in the thread without a command, each diagnosed
/// with its own root cause and a full report file.
async fn upload_both_devices(fake: &FakeDiscord, thread: u64, eng: &FakeUser) {
    let a1 = fake.attachment(&format!("{DEVICE1}.zip"), device1_zip());
    let a2 = fake.attachment(&format!("{DEVICE2}.zip"), device2_zip());
    fake.say(thread, eng, "", false, &[a1]);
    fake.say(thread, eng, "", false, &[a2]);
    let d1 = fake
        .wait_post_containing(thread, "`service-disabled-advanced-installer`")
        .await;
    let d2 = fake
        .wait_post_containing(thread, "`txf-transaction-log-corrupt`")
        .await;
    assert!(d1.content.contains(DEVICE1), "{}", d1.content);
    assert!(d2.content.contains(DEVICE2), "{}", d2.content);
    assert!(
        d2.content.contains("fsutil resource setautoreset"),
        "{}",
        d2.content
    );
    fake.wait_file(thread, DEVICE1, ".md").await;
    fake.wait_file(thread, DEVICE2, ".md").await;
}

/// Founding case, step 3: the customer verifies both devices, the engineer closes, and the
/// summary is posted in the thread and in the summary channel, with the Markdown file.
async fn verify_both_and_close(fake: &FakeDiscord, thread: u64, id: &str) {
    let (eng, cust) = (FakeUser::engineer(), FakeUser::customer());
    for device in [DEVICE1, DEVICE2] {
        fake.command(thread, &cust, &format!("device {device} fixed"));
        fake.wait_post_containing(thread, &format!("`{device}` is marked fixed"))
            .await;
    }
    fake.command(thread, &eng, "close");
    fake.wait_post_containing(thread, &format!("Case {id} is closed"))
        .await;
    let (_, file) = fake.wait_file(SUMMARIES, id, "summary.md").await;
    fake.wait_file(thread, id, "summary.md").await;
    let text: String = fake
        .posts_in(SUMMARIES)
        .iter()
        .map(|p| p.content.as_str())
        .collect();
    for needle in [
        format!("{id} case summary"),
        "service-disabled-advanced-installer".into(),
        "txf-transaction-log-corrupt".into(),
    ] {
        assert!(text.contains(&needle), "{needle} missing from {text}");
        let file = String::from_utf8_lossy(&file);
        assert!(file.contains(&needle), "{needle} not in the summary file");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn founding_case_end_to_end() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start(config(&fake, dir.path()));
        fake.wait_ready().await;
        let eng = FakeUser::engineer();
        let title = "KB5034763 rolls back with 0x800f0922 on 2 devices (21H2, 19044)";
        let (thread, id) = open_case(&fake, &eng, title).await;
        assert_eq!(thread.parent, SUPPORT);
        assert!(
            thread.message.is_some(),
            "the thread hangs on the open message"
        );
        assert!(thread.name.starts_with(&id), "{}", thread.name);
        assert!(
            fake.posts_in(SUPPORT).is_empty(),
            "the case lives in its thread"
        );
        upload_both_devices(&fake, thread.id, &eng).await;
        verify_both_and_close(&fake, thread.id, &id).await;
        assert!(
            fake.unknown_requests().is_empty(),
            "{:?}",
            fake.unknown_requests()
        );
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_message_is_answered_once() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start(config(&fake, dir.path()));
        fake.wait_ready().await;
        let eng = FakeUser::engineer();
        let open = fake.message_event(
            SUPPORT,
            &eng,
            "open printer spooler update fails",
            true,
            &[],
        );
        fake.dispatch("MESSAGE_CREATE", open.clone());
        fake.dispatch("MESSAGE_CREATE", open);
        let thread = fake.wait_thread(1).await;
        // A later message is answered, so the duplicate had every chance to be answered too.
        fake.command(thread.id, &eng, "status");
        fake.wait_posts(thread.id, 2).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(fake.threads().len(), 1, "one thread for one message");
        assert_eq!(
            posts_with(&fake, thread.id, "Opened case").len(),
            1,
            "{}",
            fake.transcript()
        );
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_answering_after_a_gateway_disconnect() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start(config(&fake, dir.path()));
        fake.wait_ready().await;
        let eng = FakeUser::engineer();
        fake.command(SUPPORT, &eng, "help");
        fake.wait_posts(SUPPORT, 1).await;
        fake.disconnect();
        // Sent while casebot is away: Discord replays it on RESUME.
        fake.command(SUPPORT, &eng, "explain 0x800f0922");
        fake.wait_for_resume().await;
        let reply = fake
            .wait_post_containing(SUPPORT, "CBS_E_INSTALLERS_FAILED")
            .await;
        assert!(!reply.followup);
        fake.command(SUPPORT, &eng, "explain 0x80071ab1");
        fake.wait_post_containing(SUPPORT, "ERROR_LOG_GROWTH_FAILED")
            .await;
        assert_eq!(fake.sessions(), (1, 1), "resumed, not re-identified");
        bot.stop().await;
    })
    .await;
}

/// Every regular file under `dir`.
fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_attachments_get_a_clear_reply_and_nothing_is_stored() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start(config(&fake, dir.path()));
        fake.wait_ready().await;
        let eng = FakeUser::engineer();
        let (thread, id) = open_case(&fake, &eng, "KB5034763 fails").await;

        let gone = fake.missing_attachment("gone.zip", 2048);
        fake.say(thread.id, &eng, "", false, &[gone]);
        fake.wait_post_containing(thread.id, "(404)").await;

        let huge = fake.attachment("huge.zip", vec![b'x'; 3 << 20]);
        fake.say(thread.id, &eng, "", false, std::slice::from_ref(&huge));
        fake.wait_post_containing(thread.id, "larger than the 1 MB limit")
            .await;

        // Announced small, but the download itself grows past the cap.
        let mut liar = huge.clone();
        liar.size = 1000;
        fake.say(thread.id, &eng, "", false, &[liar]);
        let n = posts_with(&fake, thread.id, "larger than the 1 MB limit").len();
        fake.wait_for_posts_with(thread.id, "larger than the 1 MB limit", n + 1)
            .await;

        let mut elsewhere = fake.attachment(&format!("{DEVICE1}.zip"), device1_zip());
        elsewhere.url = elsewhere.url.replace("127.0.0.1", "localhost");
        fake.say(thread.id, &eng, "", false, &[elsewhere]);
        fake.wait_post_containing(thread.id, "from `localhost` are not accepted")
            .await;
        bot.stop().await;

        let store = store::SledStore::open(dir.path()).expect("store reopens after stop");
        let case = store::CaseStore::get(&store, &store::CaseId::parse(&id).unwrap())
            .unwrap()
            .expect("case kept");
        assert!(
            case.devices.is_empty(),
            "no device recorded: {:?}",
            case.devices
        );
        let kept = files_under(&dir.path().join("bundles"));
        assert!(kept.is_empty(), "no bundle stored: {kept:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_and_engineers_get_different_replies() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        // Engineers by role name here: exercises the guild role lookup.
        let mut cfg = config(&fake, dir.path());
        cfg.discord.engineer_roles = vec![casebot::config::RoleRef::Name(
            crate::fake_discord::ENGINEER_ROLE_NAME.to_lowercase(),
        )];
        let bot = start(cfg);
        fake.wait_ready().await;
        let (eng, cust) = (FakeUser::engineer(), FakeUser::customer());
        let (t1, _) = open_case(&fake, &eng, "KB5034763 rolls back").await;
        let (t2, _) = open_case(&fake, &cust, "KB5034763 rolls back").await;
        for (thread, user) in [(t1.id, &eng), (t2.id, &cust)] {
            let a = fake.attachment(&format!("{DEVICE1}.zip"), device1_zip());
            fake.say(thread, user, "", false, &[a]);
        }
        let engineer = fake
            .wait_post_containing(t1.id, "sc config winmgmt start= auto")
            .await;
        let customer = fake
            .wait_post_containing(t2.id, "sc config winmgmt start= auto")
            .await;
        assert!(
            engineer.content.contains("confidence"),
            "{}",
            engineer.content
        );
        assert!(
            engineer.content.contains("CBS.log:15"),
            "evidence for engineers"
        );
        assert!(
            !customer.content.contains("CBS.log:15"),
            "no raw logs for customers"
        );
        let ask = format!("reply `@casebot device {DEVICE1} fixed`");
        assert!(customer.content.contains(&ask), "{}", customer.content);
        assert!(!engineer.content.contains(&ask), "{}", engineer.content);
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_close_is_refused_politely() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start(config(&fake, dir.path()));
        fake.wait_ready().await;
        let (eng, cust) = (FakeUser::engineer(), FakeUser::customer());
        let (thread, id) = open_case(&fake, &eng, "KB5034763 fails").await;
        fake.command(thread.id, &cust, "close");
        let refused = fake
            .wait_post_containing(thread.id, "only support engineers")
            .await;
        assert!(refused.content.starts_with("Sorry"), "{}", refused.content);
        fake.command(thread.id, &eng, "status");
        fake.wait_posts(thread.id, 3).await;
        assert!(posts_with(&fake, thread.id, &format!("Case {id} is closed")).is_empty());
        assert!(
            fake.posts_in(SUMMARIES).is_empty(),
            "no summary for a refused close"
        );
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_bot_keeps_the_case_and_its_thread() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let eng = FakeUser::engineer();
        let bot = start(config(&fake, dir.path()));
        fake.wait_ready().await;
        let open = fake.message_event(SUPPORT, &eng, "open KB5034763 rolls back", true, &[]);
        fake.dispatch("MESSAGE_CREATE", open.clone());
        let thread = fake.wait_thread(1).await;
        fake.wait_post_containing(thread.id, "Opened case").await;
        bot.stop().await;

        let bot = start(config(&fake, dir.path()));
        fake.wait_identified(2).await;
        // Discord redelivers the open message: no second case.
        fake.dispatch("MESSAGE_CREATE", open);
        // An upload in the thread needs no mention: casebot still knows the thread's case.
        let a = fake.attachment(&format!("{DEVICE1}.zip"), device1_zip());
        fake.say(thread.id, &eng, "", false, &[a]);
        fake.wait_post_containing(thread.id, "`service-disabled-advanced-installer`")
            .await;
        assert_eq!(fake.threads().len(), 1, "{}", fake.transcript());
        assert_eq!(posts_with(&fake, thread.id, "Opened case").len(), 1);
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_channels_and_guilds_are_ignored() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start(config(&fake, dir.path()));
        fake.wait_ready().await;
        let eng = FakeUser::engineer();
        fake.command(crate::fake_discord::OFF_TOPIC, &eng, "help");
        let mut foreign = fake.message_event(SUPPORT, &eng, "help", true, &[]);
        foreign["guild_id"] = serde_json::json!("999");
        fake.dispatch("MESSAGE_CREATE", foreign);
        fake.say(SUPPORT, &eng, "help without a mention", false, &[]);
        let off_topic_thread = fake.user_thread(crate::fake_discord::OFF_TOPIC, "chat");
        fake.command(off_topic_thread, &eng, "help");
        // A thread under an allowed channel is served, though casebot did not open it.
        let support_thread = fake.user_thread(SUPPORT, "question");
        fake.command(support_thread, &eng, "help");
        fake.command(SUPPORT, &eng, "help");
        fake.wait_posts(SUPPORT, 1).await;
        fake.wait_posts(support_thread, 1).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(fake.posted().len(), 2, "{}", fake.transcript());
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_open_creates_the_case_thread() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start(config(&fake, dir.path()));
        fake.wait_ready().await;
        let eng = FakeUser::engineer();
        fake.slash(SUPPORT, &eng, "open", &[("title", "KB5034763 rolls back")]);
        let thread = fake.wait_thread(1).await;
        assert_eq!((thread.parent, thread.message), (SUPPORT, None));
        fake.wait_post_containing(thread.id, "Opened case").await;
        // The interaction itself is closed with an answer, not left "thinking".
        fake.wait_for_followup(SUPPORT).await;
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_bundle_does_not_hold_up_other_cases() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start(config(&fake, dir.path()));
        fake.wait_ready().await;
        let eng = FakeUser::engineer();
        let (slow_case, _) = open_case(&fake, &eng, "KB5034763 fails on a slow link").await;
        let (other_case, _) = open_case(&fake, &eng, "KB5034763 fails elsewhere").await;
        let slow = fake.slow_attachment(
            &format!("{DEVICE1}.zip"),
            device1_zip(),
            Duration::from_secs(8),
        );
        fake.say(slow_case.id, &eng, "", false, &[slow]);
        // casebot shows it is working as soon as it starts the download.
        fake.wait_typing(slow_case.id).await;
        // While the slow download runs, another case is served at once.
        let started = tokio::time::Instant::now();
        let fast = fake.attachment(&format!("{DEVICE2}.zip"), device2_zip());
        fake.say(other_case.id, &eng, "", false, &[fast]);
        fake.wait_post_containing(other_case.id, "`txf-transaction-log-corrupt`")
            .await;
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{:?}",
            started.elapsed()
        );
        assert!(
            posts_with(&fake, slow_case.id, "`service-disabled-advanced-installer`").is_empty(),
            "the slow bundle was still downloading"
        );
        assert!(
            fake.typing().contains(&slow_case.id),
            "progress shown while it works"
        );
        fake.wait_post_containing(slow_case.id, "`service-disabled-advanced-installer`")
            .await;
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_work_before_closing_the_store() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start(config(&fake, dir.path()));
        fake.wait_ready().await;
        let eng = FakeUser::engineer();
        let (thread, id) = open_case(&fake, &eng, "KB5034763 fails").await;
        let slow = fake.slow_attachment(
            &format!("{DEVICE1}.zip"),
            device1_zip(),
            Duration::from_secs(2),
        );
        fake.say(thread.id, &eng, "", false, &[slow]);
        fake.wait_typing(thread.id).await;
        // SIGTERM arrives mid-download: the reply still goes out before the bot exits.
        bot.stop().await;
        assert!(
            !posts_with(&fake, thread.id, "`service-disabled-advanced-installer`").is_empty(),
            "{}",
            fake.transcript()
        );
        let store = store::SledStore::open(dir.path()).expect("store closed on shutdown");
        let case = store::CaseStore::get(&store, &store::CaseId::parse(&id).unwrap())
            .unwrap()
            .expect("case kept");
        assert!(
            case.devices.contains_key(DEVICE1),
            "{:?}",
            case.devices.keys()
        );
        let journal = store::CaseStore::journal_list(&store).unwrap();
        assert!(journal.is_empty(), "finished work leaves no journal entry");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_diagnose_takes_the_bundle_as_an_attachment_option() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start(config(&fake, dir.path()));
        fake.wait_ready().await;
        let eng = FakeUser::engineer();
        let (thread, _) = open_case(&fake, &eng, "KB5034763 fails").await;
        let a = fake.attachment(&format!("{DEVICE2}.zip"), device2_zip());
        fake.slash_with_file(thread.id, &eng, "diagnose", &[], Some(&a));
        let diagnosis = fake
            .wait_post_containing(thread.id, "`txf-transaction-log-corrupt`")
            .await;
        assert!(diagnosis.content.contains(DEVICE2), "{}", diagnosis.content);
        assert!(
            fake.posts_in(thread.id).iter().any(|p| p.followup),
            "the command itself is answered through the interaction"
        );
        bot.stop().await;
    })
    .await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serve_process_stops_cleanly_on_sigterm() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let text = format!(
            "[discord]\napi_base_url = \"{}\"\nallowed_guilds = [{GUILD}]\n[store]\ndata_dir = \"{}\"\n",
            fake.base_url(),
            data.display()
        );
        std::fs::write(dir.path().join("casebot.toml"), text).unwrap();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_casebot-cli"))
            .arg("serve")
            .current_dir(dir.path())
            .env("DISCORD_TOKEN", "fake-token")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start casebot serve");
        fake.wait_ready().await;
        fake.command(SUPPORT, &FakeUser::engineer(), "help");
        fake.wait_posts(SUPPORT, 1).await;
        let pid = child.id().expect("running").to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(killed.success());
        let status = child.wait().await.expect("wait for casebot");
        assert!(status.success(), "exit status {status}");
        store::SledStore::open(&data).expect("the store was closed and unlocked");
    })
    .await;
}
