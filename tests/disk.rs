//! Integration tests: temp disk across diagnoses (`handlers::disk`). Real zip bundles go through
//! the real handlers, engine and sled store: a bundle whose share of the pool
//! (`limits.max_total_disk_bytes`) is too small is answered with a reply naming that limit, and
//! diagnoses running at the same time never hold more than the pool between them. The temp
//! directories a killed casebot left behind are removed when the real `casebot` binary starts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use handlers::{Context, HandlersConfig, Incoming, Outgoing, Role};
use store::{CaseId, CaseStore, SledStore};

use crate::util::incoming;

const MIB: u64 = 1 << 20;

/// A zip holding a CBS.log of about `bytes` of varied lines (they deflate about 10:1, far
/// below the ratio cap) that ends with the Winmgmt failure.
fn log_zip(dir: &Path, name: &str, bytes: usize) -> PathBuf {
    let mut log = String::with_capacity(bytes + 1024);
    let mut n: u64 = 0x9e37_79b9;
    while log.len() < bytes {
        n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        log.push_str(&format!(
            "2024-02-14 10:{:02}:{:02}, Info                  CBS    Session: {:08x}_{} \
             Package_{}_for_KB5034763~31bf3856ad364e35~amd64~~19041.{}.1.7 state {}\n",
            (n >> 8) % 60,
            (n >> 16) % 60,
            n >> 32,
            n % 100_000,
            (n >> 20) % 97,
            (n >> 12) % 5000,
            (n >> 40) % 9,
        ));
    }
    log.push_str(
        "2024-02-14 10:59:06, Error      [0x01806a] CSI    00000007 (F) Failed execution of queue \
         item Installer: WMI ({6bb8cf6d-16a1-4f08-a1d5-3fe1b6d0f6d5}) with HRESULT \
         HRESULT_FROM_WIN32(1058).\n",
    );
    let path = dir.join(name);
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).expect("create zip"));
    let options = zip::write::FileOptions::<()>::default();
    zip.start_file("Logs/CBS/CBS.log", options)
        .expect("zip entry");
    zip.write_all(log.as_bytes()).expect("zip write");
    zip.finish().expect("zip finish");
    path
}

fn upload(case: &CaseId, n: u32, path: PathBuf) -> Incoming {
    incoming(
        format!("disk-{n}"),
        Role::Engineer,
        Some(case),
        "",
        vec![path],
    )
}

/// A context over a sled store in `dir` with `config`, and an open case.
async fn case_with(dir: &Path, config: HandlersConfig) -> (Context, CaseId) {
    let store: Arc<dyn CaseStore> = Arc::new(SledStore::open(dir.join("data")).expect("store"));
    let rules = diagnosis::RuleSet::builtin().expect("rules");
    let ctx = Context::new(Arc::clone(&store), rules, config);
    ctx.set_user_lang("li.wei", diagnosis::Lang::En);
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let open = Incoming {
        text: "open KB5034763 rolls back".into(),
        case_hint: None,
        attachments: vec![],
        ..upload(
            &CaseId::parse("CAS-00000-AAAAAA").expect("id"),
            0,
            PathBuf::new(),
        )
    };
    handlers::handle_message(&ctx, open, &tx)
        .await
        .expect("open");
    let case = store.list().expect("list")[0].id.clone();
    (ctx, case)
}

async fn replies(ctx: &Context, msg: Incoming) -> String {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    handlers::handle_message(ctx, msg, &tx)
        .await
        .expect("handle");
    drop(tx);
    let mut out = String::new();
    while let Some(o) = rx.recv().await {
        if let Outgoing::Reply { reply, .. } = o {
            out.push_str(&reply.text);
            out.push('\n');
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_beyond_its_share_of_the_pool_is_told_the_pool_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = HandlersConfig {
        max_total_disk_bytes: MIB,
        ..HandlersConfig::default()
    };
    let (ctx, case) = case_with(dir.path(), config).await;
    // 3 MiB unpacked: within the per-bundle budget (800 MiB) and the ratio cap, beyond the pool.
    let big = log_zip(dir.path(), "big.zip", 3 * MIB as usize);
    let out = replies(&ctx, upload(&case, 1, big)).await;
    assert!(
        out.contains("exceeds max_total_disk_bytes (1048576)"),
        "the reply names the pool's limit: {out}"
    );
    assert!(!out.contains("exceeds max_disk_bytes"), "{out}");
    // A bundle within the pool is diagnosed as usual, and the pool came back after the first.
    let small = log_zip(dir.path(), "small.zip", 256 << 10);
    let out = replies(&ctx, upload(&case, 2, small)).await;
    assert!(out.contains("Winmgmt"), "{out}");
    assert!(!out.contains("exceeds"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnoses_at_the_same_time_share_the_pool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = 96 * MIB;
    let config = HandlersConfig {
        max_total_disk_bytes: pool,
        max_concurrent_diagnoses: 3,
        ..HandlersConfig::default()
    };
    let (ctx, case) = case_with(dir.path(), config).await;
    // The real engine, noting the budget each diagnosis got and the most held at once.
    let held = Arc::new(AtomicU64::new(0));
    let peak = Arc::new(AtomicU64::new(0));
    let budgets = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (h, p, b) = (Arc::clone(&held), Arc::clone(&peak), Arc::clone(&budgets));
    let ctx = ctx.with_engine(Arc::new(move |path, name, rules, limits, observer| {
        let now = h.fetch_add(limits.max_disk_bytes, Ordering::SeqCst) + limits.max_disk_bytes;
        p.fetch_max(now, Ordering::SeqCst);
        b.lock().expect("budgets").push(limits.max_disk_bytes);
        // Long enough for the three uploads to overlap.
        std::thread::sleep(Duration::from_millis(400));
        let d = diagnosis::diagnose_observed(path, name, rules, limits, observer);
        h.fetch_sub(limits.max_disk_bytes, Ordering::SeqCst);
        d
    }));
    let mut tasks = Vec::new();
    for n in 1..=3 {
        let bundle = log_zip(dir.path(), &format!("pc{n}.zip"), 64 << 10);
        let ctx = ctx.clone();
        let case = case.clone();
        let mut msg = upload(&case, n, bundle);
        msg.text = format!("device:pc{n}");
        tasks.push(tokio::spawn(async move { replies(&ctx, msg).await }));
    }
    for t in tasks {
        let out = t.await.expect("task");
        assert!(out.contains("Winmgmt"), "{out}");
    }
    let budgets = budgets.lock().expect("budgets").clone();
    assert_eq!(budgets.len(), 3);
    assert!(
        peak.load(Ordering::SeqCst) <= pool,
        "held at once: {} of {pool} ({budgets:?})",
        peak.load(Ordering::SeqCst)
    );
    // The first takes the pool; the others wait for their 64 MiB floor and run after it.
    assert!(budgets.iter().all(|&b| b >= 64 * MIB), "{budgets:?}");
}

/// A temp root as a running casebot makes it: `casebot-run-*` with a `.lock` file.
fn temp_root(base: &Path, name: &str) -> PathBuf {
    let root = base.join(name);
    std::fs::create_dir_all(root.join("casebot-bundle-x1")).expect("mkdir");
    std::fs::write(root.join("casebot-bundle-x1/000001"), vec![0u8; 4096]).expect("write");
    std::fs::File::create(root.join(".lock")).expect("lock file");
    root
}

#[test]
fn casebot_removes_temp_directories_a_killed_process_left_at_start() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dead = temp_root(tmp.path(), "casebot-run-killed");
    let live = temp_root(tmp.path(), "casebot-run-running");
    let held = std::fs::File::open(live.join(".lock")).expect("open lock");
    held.try_lock().expect("lock as a running casebot does");
    let data = tempfile::tempdir().expect("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_casebot-cli"))
        .args(["console", "--as", "engineer", "--lang", "en", "--data"])
        .arg(data.path().join("store"))
        // The system temp directory of the child, so that nothing else is touched.
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start casebot console");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"help\n")
        .expect("write");
    let out = child.wait_with_output().expect("console");
    assert!(out.status.success(), "{out:?}");
    assert!(
        !dead.exists(),
        "the killed process's temp directory is gone"
    );
    assert!(
        live.join("casebot-bundle-x1/000001").exists(),
        "a running one is kept"
    );
    // The console made its own root, which the next start removes once it has ended.
    let roots: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("list")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("casebot-run-") && n != "casebot-run-running")
        .collect();
    assert_eq!(roots.len(), 1, "{roots:?}");
}
