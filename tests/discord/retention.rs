//! Retention while serving: the bundles of a case closed longer ago than
//! `retention.bundle_days` are deleted at start, the record and its summary stay.

use std::time::{SystemTime, UNIX_EPOCH};

use store::CaseStore;

use super::*;

/// A case closed `days_ago` days ago with one stored bundle; the bundle's path.
fn closed_case(store: &store::SledStore, content: &[u8], days_ago: u64) -> std::path::PathBuf {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    crate::store::closed_case_with_bundle(store, content, now - days_ago * 24 * 3600)
        .1
        .path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_deletes_the_bundles_of_cases_closed_longer_ago_than_the_retention() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let (old, recent) = {
            let store = store::SledStore::open(dir.path()).expect("open");
            (
                closed_case(&store, b"old logs", 40),
                closed_case(&store, b"recent logs", 10),
            )
        };
        assert!(old.is_file() && recent.is_file());
        let bot = start(config_with(
            &fake,
            dir.path(),
            "[retention]\nbundle_days = 30\n",
        ));
        fake.wait_ready().await;
        while old.is_file() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bot.stop().await;
        assert!(
            recent.is_file(),
            "a case closed 10 days ago keeps its files"
        );
        let store = store::SledStore::open(dir.path()).expect("open");
        let cases = store.list().expect("list");
        assert_eq!(cases.len(), 2, "the records stay");
        let swept: Vec<_> = cases
            .iter()
            .filter(|c| c.timeline.iter().any(|e| e.kind == "retention"))
            .collect();
        assert_eq!(swept.len(), 1);
        assert_eq!(
            swept[0].summary.as_deref(),
            Some(crate::store::CLOSED_SUMMARY)
        );
    })
    .await;
}
