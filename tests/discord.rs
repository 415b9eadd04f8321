//! End-to-end tests of the Discord adapter: the real serenity client against the fake Discord
//! in `fake_discord.rs`, on 127.0.0.1 only. Every test runs under a timeout so a hang fails.

use std::future::Future;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use casebot::config::Config;
use secrecy::SecretString;
use store::{Applied, Case, CaseId, CaseStore, JournalEntry, StoreError, StoredBundle};
use tokio::sync::oneshot;

use crate::fake_discord::{FakeDiscord, GUILD, SUMMARIES, SUPPORT};

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

/// Start the adapter on a context whose store accepts nothing (until the store lands).
fn start(cfg: Config) -> RunningBot {
    let (stop, stopped) = oneshot::channel::<()>();
    let store: std::sync::Arc<dyn CaseStore> = std::sync::Arc::new(NullStore);
    let rules = diagnosis::RuleSet::builtin().expect("built-in rules");
    let ctx = handlers::Context::new(store, rules, cfg.handlers.clone());
    let token = SecretString::from("fake-token");
    let task = tokio::spawn(casebot::discord::run(cfg.discord, token, ctx, async {
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

/// Temporary: a store that stores nothing, so the adapter can run before the real store lands.
struct NullStore;

impl CaseStore for NullStore {
    fn new_case_id(&self) -> Result<CaseId, StoreError> {
        Err(StoreError::Io("null store".into()))
    }
    fn create(&self, _: Case, _: Option<&str>) -> Result<Applied<Case>, StoreError> {
        Err(StoreError::Io("null store".into()))
    }
    fn get(&self, _: &CaseId) -> Result<Option<Case>, StoreError> {
        Ok(None)
    }
    fn update(
        &self,
        id: &CaseId,
        _: Option<&str>,
        _: &mut dyn FnMut(&mut Case),
    ) -> Result<Applied<Case>, StoreError> {
        Err(StoreError::NotFound(id.as_str().to_owned()))
    }
    fn is_processed(&self, _: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
    fn mark_processed(&self, _: &str) -> Result<bool, StoreError> {
        Ok(true)
    }
    fn list(&self) -> Result<Vec<Case>, StoreError> {
        Ok(vec![])
    }
    fn case_by_thread(&self, _: u64) -> Result<Option<CaseId>, StoreError> {
        Ok(None)
    }
    fn put_bundle(&self, _: &mut dyn Read) -> Result<StoredBundle, StoreError> {
        Err(StoreError::Io("null store".into()))
    }
    fn bundle_path(&self, _: &str) -> Result<Option<PathBuf>, StoreError> {
        Ok(None)
    }
    fn journal_add(&self, _: &JournalEntry) -> Result<(), StoreError> {
        Ok(())
    }
    fn journal_remove(&self, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    fn journal_list(&self) -> Result<Vec<JournalEntry>, StoreError> {
        Ok(vec![])
    }
    fn export(&self, _: &mut dyn Write) -> Result<u64, StoreError> {
        Ok(0)
    }
    fn import(&self, _: &mut dyn BufRead) -> Result<u64, StoreError> {
        Ok(0)
    }
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
