//! Integration tests: PostgreSQL. `casebot cases export` from sled and `import` into PostgreSQL
//! and back, bundles included, through the real binary; a real throwaway cluster
//! (`store::pg::cluster`), skipped with a printed reason when none can be started (a failure
//! when `CASEBOT_PG_REQUIRE` is set, as in CI).

use std::path::Path;
use std::process::Command;

use store::pg::cluster::TestCluster;
use store::{CaseId, CaseStatus, CaseStore, PgStore, SledStore};

const CLI: &str = env!("CARGO_BIN_EXE_casebot-cli");

/// Run the casebot binary in `dir` with the database URL in its environment.
fn cli(args: &[&str], dir: &Path, url: &str) -> std::process::Output {
    Command::new(CLI)
        .args(args)
        .current_dir(dir)
        .env("CASEBOT_DATABASE_URL", url)
        .output()
        .expect("run casebot")
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn export_text(store: &dyn CaseStore) -> String {
    let mut out = Vec::new();
    store.export(&mut out).expect("export");
    String::from_utf8(out).expect("utf-8")
}

/// A sled store with an open case (thread, device, bundle, timeline), a processed message id
/// and an unfinished diagnosis.
fn sled_with_cases(dir: &Path) -> (CaseId, String) {
    let store = SledStore::open(dir).expect("open");
    let bundle = store
        .put_bundle(
            &mut std::fs::File::open(crate::util::fixture("bundles/device1.zip")).expect("fixture"),
        )
        .expect("bundle");
    let id = store.new_case_id().expect("id");
    let mut case = crate::store::sample(id.clone());
    case.thread_id = Some(4242);
    case.status = CaseStatus::AwaitingLogs;
    store.create(case, Some("m-open")).expect("create");
    store
        .journal_add(&store::JournalEntry {
            id: "job-1".into(),
            case_id: id.clone(),
            device: "wcc0021z675842".into(),
            bundle_sha256: bundle.sha256.clone(),
            bundle_name: "device1.zip".into(),
            author: "alice".into(),
            accepted_at: 5,
        })
        .expect("journal");
    (id, bundle.sha256)
}

#[test]
fn sled_to_postgres_and_back_is_lossless() {
    let Some(cluster) = TestCluster::or_skip("pg::sled_to_postgres_and_back_is_lossless") else {
        return;
    };
    let url = cluster.database();
    let work = tempfile::tempdir().expect("tempdir");
    let (id, sha) = sled_with_cases(&work.path().join("sled"));
    std::fs::write(
        work.path().join("pg.toml"),
        "[store]\nkind = \"postgres\"\ndata_dir = \"pg-cache\"\n",
    )
    .expect("config");

    ok(&cli(
        &[
            "cases",
            "export",
            "--data",
            "sled",
            "--out",
            "from-sled.jsonl",
        ],
        work.path(),
        &url,
    ));
    let dump = std::fs::read_to_string(work.path().join("from-sled.jsonl")).expect("dump");
    assert!(dump.contains(&format!("\"kind\":\"bundle\",\"v\":1,\"sha256\":\"{sha}\"")));
    let out = cli(
        &["--config", "pg.toml", "cases", "import", "from-sled.jsonl"],
        work.path(),
        &url,
    );
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the PostgreSQL database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Another process on the same database sees the case, its thread, its bundle and its job.
    let pg = PgStore::open(&url, work.path().join("other-cache")).expect("open");
    assert_eq!(pg.case_by_thread(4242).expect("thread"), Some(id.clone()));
    assert!(pg.is_processed("m-open").expect("processed"));
    assert_eq!(pg.journal_list().expect("jobs").len(), 1);
    let bundle = pg
        .bundle_path(&sha)
        .expect("path")
        .expect("bundle in the database");
    assert_eq!(
        std::fs::read(bundle).expect("read"),
        std::fs::read(crate::util::fixture("bundles/device1.zip")).expect("fixture")
    );
    assert_eq!(
        export_text(&pg),
        dump,
        "PostgreSQL holds exactly what sled held"
    );

    // And back: export from PostgreSQL, import into a new sled store.
    ok(&cli(
        &[
            "--config",
            "pg.toml",
            "cases",
            "export",
            "--out",
            "from-pg.jsonl",
        ],
        work.path(),
        &url,
    ));
    assert_eq!(
        std::fs::read_to_string(work.path().join("from-pg.jsonl")).expect("dump"),
        dump
    );
    ok(&cli(
        &["cases", "import", "from-pg.jsonl", "--data", "sled-again"],
        work.path(),
        &url,
    ));
    let back = SledStore::open(work.path().join("sled-again")).expect("open");
    assert_eq!(export_text(&back), dump);
    assert!(back.bundle_path(&sha).expect("path").is_some());
}

#[test]
fn postgres_config_problems_name_the_key() {
    let work = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        work.path().join("pg.toml"),
        "[store]\nkind = \"postgres\"\n",
    )
    .expect("config");
    let out = Command::new(CLI)
        .args(["--config", "pg.toml", "cases", "export"])
        .current_dir(work.path())
        .env_remove("CASEBOT_DATABASE_URL")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CASEBOT_DATABASE_URL") && stderr.contains("store.url_file"),
        "{stderr}"
    );
    std::fs::write(
        work.path().join("inline.toml"),
        "[store]\nkind = \"postgres\"\nurl = \"postgres://casebot:secret@db/cases\"\n",
    )
    .expect("config");
    let out = cli(
        &["--config", "inline.toml", "cases", "export"],
        work.path(),
        "",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("store.url:"), "{stderr}");
    assert!(!stderr.contains("secret"), "{stderr}");
}
