//! Two `casebot serve` processes on one PostgreSQL over the fake Discord: shards split between
//! them, every opening message answered exactly once, a SIGKILLed process's diagnoses finished
//! by the other after the lease, and a case imported from the embedded store served as it was.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use store::pg::cluster::TestCluster;
use store::{CaseStore, PgStore, SledStore};

use crate::fake_discord::{FakeDiscord, FakeUser, shard_of};

use super::{CLI, cli, ok};

/// Shards over both processes; process A runs 0-1, process B 2-3.
const TOTAL_SHARDS: u32 = 4;
/// Cases opened: half before process A is killed, half after it is back.
const CASES: usize = 200;
/// The job lease: short, so the takeover happens within the test.
const LEASE_SECS: u64 = 3;
/// The root cause as both views show it (a taken-over diagnosis answers in the customer view).
const ROOT_CAUSE: &str = "NTFS transaction log (TxF/KTM)";
const IMPORTED_TITLE: &str = "Imported from the embedded store";

/// One guild per shard (guild `g` is on shard `(g >> 22) % 4`) with its support channel.
fn guilds() -> Vec<(u64, u64)> {
    (0..u64::from(TOTAL_SHARDS))
        .map(|shard| ((shard << 22) + 77, 7000 + shard))
        .collect()
}

/// A bundle whose diagnosis takes a moment: the founding case's device-2 CBS.log behind
/// healthy lines, so jobs queue up behind the one diagnosis each process runs at a time.
fn slow_bundle() -> Vec<u8> {
    let dir = crate::util::fixture("rules/txf-transaction-log-corrupt/hit/log-growth-failed");
    let mut cbs = String::new();
    for i in 0..3_000 {
        cbs.push_str(&format!(
            "2024-02-14 09:{:02}:{:02}, Info                  CBS    Exec: Processing complete, session {i}: nothing to do.\r\n",
            (i / 60) % 60,
            i % 60
        ));
    }
    cbs.push_str(&std::fs::read_to_string(dir.join("CBS.log")).expect("fixture"));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, bytes) in [
        ("CBS.log", cbs.into_bytes()),
        (
            "System.txt",
            std::fs::read(dir.join("System.txt")).expect("fixture"),
        ),
    ] {
        zip.start_file(format!("WCC0021Z673965/Logs/{name}"), options)
            .expect("zip entry");
        zip.write_all(&bytes).expect("zip write");
    }
    zip.finish().expect("zip").into_inner()
}

fn config(dir: &Path, name: &str, fake: &FakeDiscord) -> String {
    let (guilds, channels): (Vec<u64>, Vec<u64>) = guilds().into_iter().unzip();
    let text = format!(
        r#"lang = "en"
[discord]
api_base_url = "{base}"
allowed_guilds = {guilds:?}
allowed_channels = {channels:?}
engineer_roles = ["{role}"]
[store]
kind = "postgres"
data_dir = "{name}-cache"
lease_secs = {LEASE_SECS}
[download]
allowed_hosts = ["127.0.0.1"]
[diagnoses]
max_concurrent = 1
[rate]
engineer_messages_per_minute = 100000
engineer_uploads_per_minute = 100000
diagnoses_per_guild = 1000
"#,
        base = fake.base_url(),
        role = crate::fake_discord::ENGINEER_ROLE_NAME,
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("config");
    path.display().to_string()
}

/// A `casebot serve` process running `shards` of [`TOTAL_SHARDS`]; killed when dropped.
struct Serve(Child);

impl Serve {
    fn start(dir: &Path, config: &str, shards: &str, url: &str, log: &str) -> Serve {
        let log = std::fs::File::create(dir.join(log)).expect("log file");
        let child = Command::new(CLI)
            .args(["--config", config, "serve", "--shards", shards])
            .args(["--total-shards", &TOTAL_SHARDS.to_string()])
            .current_dir(dir)
            .env("DISCORD_TOKEN", "fake-token")
            .env("CASEBOT_DATABASE_URL", url)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start casebot serve");
        Serve(child)
    }

    fn kill(mut self) {
        // SIGKILL: no shutdown path runs, leases are left to expire.
        self.0.kill().expect("SIGKILL");
        self.0.wait().expect("reap");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wait until `pending` says nothing is left, panicking with `what`, what is left and the
/// processes' logs after `limit`.
async fn until(
    dir: &Path,
    what: &str,
    limit: Duration,
    mut pending: impl FnMut() -> Option<String>,
) {
    let start = Instant::now();
    while let Some(left) = pending() {
        if start.elapsed() > limit {
            let logs: String = ["a.log", "a2.log", "b.log"]
                .iter()
                .filter_map(|l| Some((l, std::fs::read_to_string(dir.join(l)).ok()?)))
                .map(|(l, t)| {
                    let tail: Vec<&str> = t
                        .lines()
                        .rev()
                        .filter(|l| !l.contains("serenity::gateway"))
                        .take(30)
                        .collect();
                    format!("{l}:\n{}", tail.join("\n"))
                })
                .collect::<Vec<_>>()
                .join("\n---\n");
            panic!(
                "timed out waiting for {what} ({left}); last log lines (newest first):
{logs}"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_share_shards_and_finish_a_killed_ones_diagnoses() {
    let Some(cluster) = TestCluster::or_skip("pg::serve::two_serve_processes") else {
        return;
    };
    let url = cluster.database();
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    let fake = FakeDiscord::start().await;
    for (i, (guild, channel)) in guilds().into_iter().enumerate() {
        fake.add_guild(guild, channel, &format!("support-{i}"));
    }
    let (engineer, channels) = (FakeUser::engineer(), guilds());

    // An open case in the embedded store, in a thread of shard 0's guild, moved to PostgreSQL.
    let imported_thread = fake.user_thread(channels[0].1, "imported case");
    let imported = {
        let sled = SledStore::open(dir.join("sled")).expect("sled");
        let id = sled.new_case_id().expect("id");
        let mut case = crate::store::sample(id.clone());
        case.title = IMPORTED_TITLE.into();
        case.thread_id = Some(imported_thread);
        case.channel_id = Some(channels[0].1);
        sled.create(case, Some("m-imported")).expect("create");
        id
    };
    let pg_config = dir.join("pg.toml");
    std::fs::write(
        &pg_config,
        "[store]\nkind = \"postgres\"\ndata_dir = \"import-cache\"\n",
    )
    .expect("config");
    ok(&cli(
        &["cases", "export", "--data", "sled", "--out", "dump.jsonl"],
        dir,
        &url,
    ));
    ok(&cli(
        &["--config", "pg.toml", "cases", "import", "dump.jsonl"],
        dir,
        &url,
    ));
    let before = SledStore::open(dir.join("sled"))
        .expect("sled")
        .get(&imported)
        .expect("get");

    let a_config = config(dir, "a", &fake);
    let b_config = config(dir, "b", &fake);
    let a = Serve::start(dir, &a_config, "0-1", &url, "a.log");
    let _b = Serve::start(dir, &b_config, "2-3", &url, "b.log");
    fake.wait_shards(0..=3).await;

    // The imported case answers as it did in the embedded store.
    fake.command(imported_thread, &engineer, "status");
    let status = fake
        .wait_post_containing(imported_thread, imported.as_str())
        .await;
    assert!(
        status.content.contains(IMPORTED_TITLE),
        "{}",
        status.content
    );

    let bundle = slow_bundle();
    let mut openers: HashMap<u64, u32> = HashMap::new();
    let open = |n: usize, openers: &mut HashMap<u64, u32>| {
        let (guild, channel) = channels[n % channels.len()];
        let att = fake.attachment(&format!("case-{n}.zip"), bundle.clone());
        let id = fake.say(
            channel,
            &engineer,
            &format!("open update rolls back on device {n}"),
            true,
            &[att],
        );
        openers.insert(id, shard_of(guild, TOTAL_SHARDS));
    };
    for n in 0..CASES / 2 {
        open(n, &mut openers);
    }

    // Every message of the first half is accepted (its job journaled, "Received" posted);
    // process A still has diagnoses queued when it is killed.
    let threads_for = |fake: &FakeDiscord| -> HashMap<u64, u64> {
        fake.threads()
            .into_iter()
            .filter_map(|t| Some((t.message?, t.id)))
            .collect()
    };
    let received = |fake: &FakeDiscord, thread: u64| {
        fake.posts_in(thread)
            .iter()
            .filter(|p| p.content.contains("Received `case-"))
            .count()
    };
    let diagnosed = |fake: &FakeDiscord, thread: u64| {
        fake.posts_in(thread)
            .iter()
            .filter(|p| p.content.contains(ROOT_CAUSE))
            .count()
    };
    until(
        dir,
        "the first half of the cases to be accepted",
        Duration::from_secs(240),
        || {
            let threads = threads_for(&fake);
            let left = openers
                .keys()
                .filter(|m| threads.get(m).is_none_or(|t| received(&fake, *t) != 1))
                .count();
            (left > 0).then(|| format!("{left} not accepted"))
        },
    )
    .await;
    let threads = threads_for(&fake);
    let on_a: Vec<u64> = openers
        .iter()
        .filter(|(_, shard)| **shard <= 1)
        .map(|(m, _)| threads[m])
        .collect();
    a.kill();
    let watch = PgStore::open(&url, dir.join("watch-cache")).expect("open");
    let unfinished = on_a.iter().filter(|t| diagnosed(&fake, **t) == 0).count();
    eprintln!(
        "process A killed with {unfinished} of its {} diagnoses unfinished",
        on_a.len()
    );
    assert!(
        unfinished > 0,
        "process A had finished all its diagnoses before it was killed; the test needs a slower bundle"
    );

    // Process B takes the dead process's jobs over once their leases expire.
    until(
        dir,
        "process B to finish process A's diagnoses",
        Duration::from_secs(300),
        || {
            let left = on_a.iter().filter(|t| diagnosed(&fake, **t) == 0).count();
            let jobs = watch.journal_list().map(|j| j.len()).unwrap_or(0);
            (left > 0).then(|| format!("{left} of {} left, {jobs} jobs in the table", on_a.len()))
        },
    )
    .await;

    // A comes back for its shards; the second half is spread over both processes again.
    let _a2 = Serve::start(dir, &a_config, "0-1", &url, "a2.log");
    fake.wait_shards(0..=1).await;
    for n in CASES / 2..CASES {
        open(n, &mut openers);
    }
    until(
        dir,
        "every case to be diagnosed",
        Duration::from_secs(400),
        || {
            let threads = threads_for(&fake);
            let left = openers
                .keys()
                .filter(|m| threads.get(m).is_none_or(|t| diagnosed(&fake, *t) == 0))
                .count();
            (left > 0).then(|| format!("{left} of {} left", openers.len()))
        },
    )
    .await;
    // Give late duplicates a moment to show before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let threads = threads_for(&fake);
    for (message, shard) in &openers {
        let thread = threads[message];
        let hanging = fake
            .threads()
            .iter()
            .filter(|t| t.message == Some(*message))
            .count();
        assert_eq!(
            hanging, 1,
            "message {message} (shard {shard}) opened {hanging} threads"
        );
        assert_eq!(received(&fake, thread), 1, "{}", fake.transcript());
        assert_eq!(
            diagnosed(&fake, thread),
            1,
            "message {message} (shard {shard}) was diagnosed more than once:\n{}",
            fake.transcript()
        );
    }
    let pg = PgStore::open(&url, dir.join("check-cache")).expect("open");
    let cases = pg.list().expect("list");
    assert_eq!(cases.len(), CASES + 1, "no case is lost, none doubled");
    assert!(
        pg.journal_list().expect("jobs").is_empty(),
        "every job finished"
    );

    // The imported case is as it was in the embedded store: a status query changes nothing.
    assert_eq!(
        serde_json::to_value(pg.get(&imported).expect("get")).expect("json"),
        serde_json::to_value(before).expect("json")
    );
}
