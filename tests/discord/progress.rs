//! Live progress: a large bundle's "Diagnosing …" message is edited with the progress while
//! the engine works, edits are spaced by the configured interval, and the last edit is the
//! answer. The test uses a short threshold and interval (`[diagnoses] progress_after_ms`,
//! `progress_every_ms`) so it stays fast; production uses 2 s for both.

use super::*;

/// The progress interval of this test, in milliseconds.
const EVERY_MS: u64 = 300;

/// A generated bundle of several MB: device 1's founding-case logs plus healthy CBS logs from
/// earlier sessions (the real engine reads them all).
fn large_bundle() -> Vec<u8> {
    use std::io::Write as _;
    let base = device1_zip();
    let mut zip = zip::ZipWriter::new_append(std::io::Cursor::new(base)).expect("reopen zip");
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for n in 0..12 {
        zip.start_file(
            format!("{DEVICE1}/Logs/CbsPersist_2024021{n:02}.log"),
            options,
        )
        .expect("zip entry");
        let mut text = String::new();
        for i in 0..4000u32 {
            text += &format!(
                "2024-02-1{} 10:{:02}:{:02}, Info                  CBS    Exec: Processing complete, session {n:02}{i:08}: [HRESULT = 0x00000000 - S_OK]\r\n",
                n % 10,
                (i / 60) % 60,
                i % 60,
            );
        }
        zip.write_all(text.as_bytes()).expect("write zip");
    }
    zip.finish().expect("finish zip").into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_bundle_shows_its_progress_then_the_answer_in_one_message() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().expect("temporary store directory");
        let extra =
            format!("[diagnoses]\nprogress_after_ms = 100\nprogress_every_ms = {EVERY_MS}\n");
        let bot = start(config_with(&fake, dir.path(), &extra));
        fake.wait_ready().await;
        let cust = FakeUser::customer();
        let (thread, _id) = open_case(&fake, &cust, "KB5034763 rolls back").await;
        let bundle = large_bundle();
        assert!(
            bundle.len() < 1 << 20,
            "fits the test's download limit: {}",
            bundle.len()
        );
        let name = format!("{DEVICE1}.zip");
        let a = fake.attachment(&name, bundle);
        fake.say(thread.id, &cust, "", false, &[a]);

        let status = fake
            .wait_post_containing(thread.id, &format!("Received `{name}`"))
            .await;
        let answer = fake.wait_buttons(thread.id, &format!(":{DEVICE1}:")).await;
        assert_eq!(
            answer.id, status.id,
            "the answer replaced the status message"
        );
        assert!(
            answer
                .content
                .starts_with(&format!("Received `{name}` — diagnosed in")),
            "{}",
            answer.content
        );
        assert!(answer.content.contains("Winmgmt"), "{}", answer.content);

        let edits = fake.edits_of(status.id);
        let progress: Vec<&str> = edits
            .iter()
            .map(|e| e.content.as_str())
            .filter(|c| c.starts_with("⏳ Diagnosing"))
            .collect();
        assert!(
            progress.len() >= 2,
            "at least two progress edits: {edits:#?}"
        );
        assert!(
            progress.iter().any(|p| p.contains("MB scanned; now `")),
            "{progress:#?}"
        );
        assert_eq!(edits.last().map(|e| &e.content), Some(&answer.content));
        let first = edits.first().expect("edited");
        assert!(
            first.at.duration_since(status.at) >= Duration::from_millis(100),
            "no progress before progress_after_ms: {edits:#?}"
        );
        for pair in edits.windows(2) {
            let gap = pair[1].at.duration_since(pair[0].at);
            assert!(
                gap >= Duration::from_millis(EVERY_MS),
                "edits {gap:?} apart: {edits:#?}"
            );
        }
        bot.stop().await;
    })
    .await;
}
