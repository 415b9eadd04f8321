//! Bot-path benchmark (README "Performance"): the whole bot in-process (store, handlers, the real
//! serenity client) against the fake Discord on 127.0.0.1. 100 engineers each open a case, then
//! all post a 5 MB bundle in their case thread at once. For every case it measures the time from
//! the message to the diagnosis reply (as the fake Discord receives it: a new message, or the
//! last edit of the "Received …" message when progress was shown), and subtracts the diagnosis
//! itself: the time the bundle waited for a diagnosis slot (`[diagnoses] max_concurrent`) while
//! other bundles were diagnosed, and the engine's own time, both as the bot logs them
//! ("diagnosis finished"). What is left is the bot's overhead: gateway event, download, storing
//! the bundle and journal entry (fsynced), recording the diagnosis, rendering and posting. The
//! bot logs each of these stages per bundle (debug events the benchmark collects), and the
//! benchmark prints them too, with what no stage accounts for ("the rest"). Storing the bundle
//! and its journal entry overlap the wait for a diagnosis slot: only the part after a slot was
//! free ("¹ both, after a slot was free") adds to the overhead.
//!
//! `cargo bench -p casebot-tests --bench bot` prints p50, p99 and the largest of each, and
//! fails if any case got no reply or more than one. Without `--bench` (as
//! `cargo test --all-targets` runs it) it does a small smoke run: 4 cases, 1 MB bundles.
//! `BOT_BENCH_CASES` and `BOT_BENCH_MB` override the number of cases and the bundle size.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use secrecy::SecretString;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::SubscriberExt as _;

/// The fake Discord of the integration tests (`tests/fake_discord.rs`).
#[path = ".."]
#[expect(dead_code, reason = "the benchmark uses a part of the fake Discord")]
mod shared {
    pub mod fake_discord;
}

use shared::fake_discord::{ENGINEER_ROLE, FakeDiscord, FakeUser, SUPPORT};

const MB: usize = 1 << 20;

fn main() -> Result<()> {
    let full = std::env::args().any(|a| a == "--bench");
    let (cases, mb) = if full { (100, 5) } else { (4, 1) };
    // For looking closer: `BOT_BENCH_CASES=1 cargo bench … --bench bot` times one case alone.
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (cases, mb) = (var("BOT_BENCH_CASES", cases), var("BOT_BENCH_MB", mb));
    let timings = Timings::default();
    let subscriber = tracing_subscriber::registry().with(timings.clone());
    tracing::subscriber::set_global_default(subscriber)?;
    // The fake Discord (which also serves the 500 MB of downloads) runs on a runtime of its own,
    // so that the bot's runtime is the bot's, as in `casebot serve`.
    let discord = tokio::runtime::Builder::new_multi_thread()
        .thread_name("fake-discord")
        .enable_all()
        .build()?;
    let fake = discord.block_on(FakeDiscord::start());
    // Named threads, so that a profile (`perf report --sort comm`) tells the two apart.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("casebot")
        .enable_all()
        .build()?;
    runtime.block_on(run(&fake, cases, mb, &timings))
}

/// What the bot logged per bundle name: the stages of its path, as [`Stages`].
#[derive(Clone, Default)]
struct Timings(Arc<Mutex<HashMap<String, Stages>>>);

impl Timings {
    fn get(&self, bundle: &str) -> Option<Stages> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(bundle).cloned()
    }
}

/// One bundle's way through the bot, from its debug events: when the handler saw the
/// attachment ("attachment received"), how long the download and storing it took ("bundle
/// stored"), waiting for a diagnosis slot and the engine ("diagnosis finished"), journaling,
/// recording and rendering, and when the reply was handed to the outbox ("diagnosis replied").
#[derive(Clone, Default)]
struct Stages {
    received: Option<Instant>,
    download: Duration,
    store: Duration,
    queued: Option<Duration>,
    engine: Duration,
    journal: Duration,
    after_slot: Duration,
    record: Duration,
    render: Duration,
    handed: Option<Instant>,
}

/// The fields of one event.
#[derive(Default)]
struct Fields {
    message: String,
    bundle: String,
    us: HashMap<&'static str, u64>,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.us.insert(field.name(), value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "bundle" => self.bundle = format!("{value:?}"),
            _ => {}
        }
    }
}

impl Fields {
    fn time(&self, name: &str) -> Duration {
        Duration::from_micros(self.us.get(name).copied().unwrap_or_default())
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Timings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let now = Instant::now();
        let mut f = Fields::default();
        event.record(&mut f);
        if f.bundle.is_empty() {
            return;
        }
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let stages = map.entry(f.bundle.clone()).or_default();
        match f.message.as_str() {
            "attachment received" => stages.received = Some(now),
            "bundle stored" => {
                stages.download = f.time("download_us");
                stages.store = f.time("store_us");
            }
            "diagnosis finished" => {
                stages.queued = Some(f.time("queued_us"));
                stages.engine = f.time("engine_us");
            }
            "diagnosis replied" => {
                stages.journal = f.time("journal_us");
                stages.after_slot = f.time("after_slot_us");
                stages.record = f.time("record_us");
                stages.render = f.time("render_us");
                stages.handed = Some(now);
            }
            _ => {}
        }
    }
}

/// The bot's config: the fake Discord, a store in `data`, downloads up to 16 MB, and room for
/// every case's diagnosis in the one guild (the default allows 4 in flight per guild).
fn config(
    fake: &FakeDiscord,
    data: &std::path::Path,
    cases: usize,
) -> Result<casebot::config::Config> {
    let text = format!(
        r#"
lang = "en"
{discord}
[store]
data_dir = "{data}"
[download]
allowed_hosts = ["127.0.0.1"]
max_bytes = 16777216
[rate]
diagnoses_per_guild = {cases}
engineer_messages_per_minute = 1000
engineer_uploads_per_minute = 1000
"#,
        discord = fake.discord_config(),
        data = data.display(),
    );
    Ok(casebot::config::Config::parse(&text, "bench config")?)
}

/// A stored (uncompressed) zip of about `mb` MB for device `device`: the device-1 failure
/// (the WMI advanced installer and its disabled service) after healthy servicing lines.
fn bundle(device: &str, mb: usize) -> Result<Vec<u8>> {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/rules/service-disabled-advanced-installer/hit/wmi-winmgmt-disabled");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut healthy = String::new();
    let mut n = 0u32;
    while healthy.len() < mb * MB {
        let (h, m, s) = (n / 3600 % 24, n / 60 % 60, n % 60);
        healthy += &format!(
            "2024-02-01 {h:02}:{m:02}:{s:02}, Info                  CBS    Read out cached package \
             applicability for package: Package_for_KB5034763~31bf3856ad364e35~amd64~~19041.4046.1.13, \
             ApplicableState: 112, CurrentState:112\r\n\
             2024-02-01 {h:02}:{m:02}:{s:02}, Info                  CSI    {n:08x} CSI Store \
             2226472176528 (0x00000206674a4f90) initialized\r\n"
        );
        n += 1;
    }
    zip.start_file(
        format!("{device}/Logs/CbsPersist_20240201000000.log"),
        stored,
    )?;
    zip.write_all(healthy.as_bytes())?;
    for name in ["CBS.log", "sc_qc_winmgmt.txt"] {
        zip.start_file(format!("{device}/Logs/{name}"), stored)?;
        zip.write_all(&std::fs::read(fixture.join(name))?)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// Engineer `i` (engineers' rate limits are per user, like customers').
fn engineer(i: usize) -> FakeUser {
    FakeUser {
        id: 10_000 + i as u64,
        name: Box::leak(format!("engineer-{i:03}").into_boxed_str()),
        roles: vec![ENGINEER_ROLE],
    }
}

async fn run(fake: &FakeDiscord, cases: usize, mb: usize, timings: &Timings) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = tokio::spawn(casebot::serve::serve(
        config(fake, dir.path(), cases)?,
        SecretString::from("fake-token".to_owned()),
        async {
            let _ = stopped.await;
        },
    ));
    fake.wait_ready().await;

    // Open the cases, one thread each.
    let users: Vec<FakeUser> = (0..cases).map(engineer).collect();
    let opened: Vec<u64> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            fake.command(
                SUPPORT,
                u,
                &format!("open KB5034763 rolls back on pc-{i:03}"),
            )
        })
        .collect();
    fake.wait_thread(cases).await;
    let mut threads = Vec::new();
    for message in &opened {
        let thread = fake
            .threads()
            .into_iter()
            .find(|t| t.message == Some(*message))
            .context("every open command gets a thread")?;
        fake.wait_post_containing(thread.id, "Opened case").await;
        threads.push(thread.id);
    }

    // Every case posts its bundle at once.
    let mut attachments = Vec::new();
    for i in 0..cases {
        let device = format!("pc-{i:03}");
        attachments.push(fake.attachment(&format!("{device}.zip"), bundle(&device, mb)?));
    }
    let bytes = attachments.first().map_or(0, |a| a.size);
    println!(
        "bot path: {cases} cases each posting a {:.1} MB bundle at once",
        bytes as f64 / MB as f64
    );
    let started = Instant::now();
    let mut sent = Vec::new();
    for ((thread, user), a) in threads.iter().zip(&users).zip(&attachments) {
        sent.push(Instant::now());
        fake.say(*thread, user, "", false, std::slice::from_ref(a));
    }

    // The replies: the post with the device's buttons, at its last edit if it was edited.
    let mut rows: Vec<(&str, Vec<Duration>)> = [
        "message → reply",
        "diagnosis (waiting for a slot + engine)",
        "overhead (the difference), of which:",
        "  gateway → handler",
        "  download (stream + write + hash)",
        "  store the bundle (fsync, rename) ¹",
        "  journal entry (fsync) ¹",
        "  ¹ both, after a slot was free",
        "  record diagnosis + recurrence",
        "  render",
        "  outbox → Discord (post or edit)",
        "  the rest",
        "waiting for a slot (in diagnosis)",
        "engine (in diagnosis)",
    ]
    .into_iter()
    .map(|name| (name, Vec::new()))
    .collect();
    for (i, (thread, at)) in threads.iter().zip(&sent).enumerate() {
        let device = format!("pc-{i:03}");
        let answer = fake.wait_buttons(*thread, &format!(":{device}:")).await;
        let answers = fake
            .posts_in(*thread)
            .iter()
            .filter(|p| {
                p.buttons
                    .iter()
                    .any(|b| b.1.contains(&format!(":{device}:")))
            })
            .count();
        if answers != 1 {
            bail!(
                "case {i} got {answers} diagnosis replies:\n{}",
                fake.transcript()
            );
        }
        if !fake
            .posts_in(*thread)
            .iter()
            .any(|p| p.content.contains("sc config winmgmt"))
        {
            bail!("case {i} got a wrong diagnosis:\n{}", fake.transcript());
        }
        let replied = fake
            .edits_of(answer.id)
            .iter()
            .rev()
            .find(|e| e.content == answer.content)
            .map_or(answer.at, |e| e.at);
        let s = timings
            .get(&format!("{device}.zip"))
            .context("the bot logged the bundle's stages")?;
        let (Some(received), Some(queued), Some(handed)) = (s.received, s.queued, s.handed) else {
            bail!("case {i}: the bot did not log every stage of its bundle");
        };
        let total = replied.duration_since(*at);
        let overhead = total.saturating_sub(queued + s.engine);
        let gateway = received.saturating_duration_since(*at);
        let post = replied.saturating_duration_since(handed);
        let known = gateway + s.download + s.after_slot + s.record + s.render + post;
        let times = [
            total,
            queued + s.engine,
            overhead,
            gateway,
            s.download,
            s.store,
            s.journal,
            s.after_slot,
            s.record,
            s.render,
            post,
            overhead.saturating_sub(known),
            queued,
            s.engine,
        ];
        for ((_, v), t) in rows.iter_mut().zip(times) {
            v.push(t);
        }
    }
    let wall = started.elapsed();
    println!("  replies: {cases} of {cases}, one each; all {cases} in {wall:.2?}");
    for (what, v) in &mut rows {
        v.sort();
        println!(
            "  {what:<44} p50 {:>9.1} ms   p99 {:>9.1} ms   max {:>9.1} ms",
            ms(percentile(v, 50)),
            ms(percentile(v, 99)),
            ms(v.last().copied().unwrap_or_default()),
        );
    }
    let _ = stop.send(());
    bot.await??;
    Ok(())
}

/// The `p`th percentile of sorted `v` (nearest rank).
fn percentile(v: &[Duration], p: usize) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * v.len()).div_ceil(100).clamp(1, v.len());
    v[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
