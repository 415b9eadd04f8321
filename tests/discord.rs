//! End-to-end tests of the Discord adapter: the real serenity client against the fake Discord
//! in `fake_discord.rs`, on 127.0.0.1 only. Every test runs under a timeout so a hang fails.
//!
//! Layout: this file holds the harness (config, start/stop, bundles); `gateway` covers the
//! connection and how events are accepted, `cases` the case behaviour users see, `buttons` the
//! buttons under diagnoses (component interactions), `collect` the log collector, `progress` the
//! live progress of a long diagnosis, `pastes` log lines pasted or attached as text, `serve`
//! startup failures and shutdown, `crash` the real process killed between a change and its reply,
//! `limits` rate limits and quotas, `retention` deleting the files of long-closed cases,
//! `permissions` what customers and engineers see across servers and cases.

mod buttons;
mod cases;
mod collect;
#[cfg(unix)]
mod crash;
mod gateway;
mod limits;
mod pastes;
mod permissions;
mod progress;
mod retention;
mod serve;

use std::future::Future;
use std::time::Duration;

use casebot::config::Config;
use secrecy::SecretString;
use tokio::sync::oneshot;

use crate::fake_discord::{FakeDiscord, FakeUser, GUILD, Posted, SUMMARIES, SUPPORT, Thread};

/// Fails the test instead of hanging CI.
async fn within<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), fut)
        .await
        .expect("test timed out after 120 s (CI runs every test binary in parallel on two cores)")
}

/// The config a test bot runs with, pointed at the fake.
fn config(fake: &FakeDiscord, data_dir: &std::path::Path) -> Config {
    config_with(fake, data_dir, "")
}

/// [`config`] plus `extra` TOML at the end (e.g. a `[diagnoses]` section).
fn config_with(fake: &FakeDiscord, data_dir: &std::path::Path, extra: &str) -> Config {
    Config::parse(&config_text(fake, data_dir, extra), "test config").expect("test config is valid")
}

/// The TOML of [`config_with`], for tests that run the `casebot` binary on a config file.
fn config_text(fake: &FakeDiscord, data_dir: &std::path::Path, extra: &str) -> String {
    format!(
        r#"
lang = "en"
{discord}
summary_channel = {SUMMARIES}
[store]
data_dir = "{data}"
[download]
allowed_hosts = ["127.0.0.1"]
max_bytes = 1048576
timeout_secs = 40
{extra}
"#,
        discord = fake.discord_config(),
        data = data_dir.display(),
    )
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

/// The usual start of a test: a fake Discord, an empty store directory and the bot connected to
/// both (READY seen). The directory must outlive the bot.
async fn ready_bot() -> (FakeDiscord, tempfile::TempDir, RunningBot) {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().expect("temporary store directory");
    let bot = start(config(&fake, dir.path()));
    fake.wait_ready().await;
    (fake, dir, bot)
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
    open_case_in(fake, SUPPORT, user, title).await
}

/// [`open_case`] in `channel` (the support channel of another server).
async fn open_case_in(
    fake: &FakeDiscord,
    channel: u64,
    user: &FakeUser,
    title: &str,
) -> (Thread, String) {
    let before = fake.threads().len();
    fake.command(channel, user, &format!("open {title}"));
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
