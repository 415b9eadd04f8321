//! End-to-end tests of the Discord adapter: the real serenity client against the fake Discord
//! in `fake_discord.rs`, on 127.0.0.1 only. Every test runs under a timeout so a hang fails.

use std::future::Future;
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
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        zip.start_file(format!("{device}/Logs/{name}"), options)
            .unwrap();
        zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
    }
    zip.finish().unwrap().into_inner()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn founding_case_end_to_end() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start(config(&fake, dir.path()));
        fake.wait_ready().await;
        let (eng, cust) = (FakeUser::engineer(), FakeUser::customer());
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
            "the case is discussed in its thread"
        );

        // Two bundles, uploaded in the thread without a command.
        let a1 = fake.attachment(&format!("{DEVICE1}.zip"), device1_zip());
        let a2 = fake.attachment(&format!("{DEVICE2}.zip"), device2_zip());
        fake.say(thread.id, &eng, "", false, &[a1]);
        fake.say(thread.id, &eng, "", false, &[a2]);
        let d1 = fake
            .wait_post_containing(thread.id, "`service-disabled-advanced-installer`")
            .await;
        let d2 = fake
            .wait_post_containing(thread.id, "`txf-transaction-log-corrupt`")
            .await;
        assert!(d1.content.contains(DEVICE1), "{}", d1.content);
        assert!(
            d2.content.contains(DEVICE2) && d2.content.contains("fsutil resource setautoreset")
        );
        let reports: Vec<String> = fake
            .posts_in(thread.id)
            .into_iter()
            .flat_map(|p| p.files.into_iter().map(|f| f.0))
            .collect();
        assert!(
            reports
                .iter()
                .any(|f| f.contains(DEVICE1) && f.ends_with(".md")),
            "{reports:?}"
        );
        assert!(
            reports
                .iter()
                .any(|f| f.contains(DEVICE2) && f.ends_with(".md")),
            "{reports:?}"
        );

        // The customer verifies both devices; the engineer closes.
        fake.command(thread.id, &cust, &format!("device {DEVICE1} fixed"));
        fake.wait_post_containing(thread.id, &format!("`{DEVICE1}` is marked fixed"))
            .await;
        fake.command(thread.id, &cust, &format!("device {DEVICE2} fixed"));
        fake.wait_post_containing(thread.id, &format!("`{DEVICE2}` is marked fixed"))
            .await;
        fake.command(thread.id, &eng, "close");
        fake.wait_post_containing(thread.id, &format!("Case {id} is closed"))
            .await;
        let summary = fake.wait_posts(SUMMARIES, 1).await;
        let text: String = summary.iter().map(|p| p.content.as_str()).collect();
        assert!(text.contains(&format!("{id} case summary")), "{text}");
        assert!(
            text.contains("service-disabled-advanced-installer"),
            "{text}"
        );
        assert!(text.contains("txf-transaction-log-corrupt"), "{text}");
        let files: Vec<_> = summary.iter().flat_map(|p| p.files.clone()).collect();
        assert!(
            files.iter().any(|f| f.0.ends_with("summary.md")),
            "summary file attached"
        );
        assert!(
            !posts_with(&fake, thread.id, "case summary").is_empty(),
            "summary in the thread too"
        );
        assert!(
            fake.unknown_requests().is_empty(),
            "{:?}",
            fake.unknown_requests()
        );
        bot.stop().await;
    })
    .await;
}
