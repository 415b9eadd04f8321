//! Rate limits and quotas (`[rate]`) through the real serenity client: every message over a
//! limit gets a polite reply naming the limit, and engineers have their own, higher limits.

use super::*;

const LIMITS: &str = "[rate]
messages_per_minute = 2
uploads_per_minute = 1
engineer_messages_per_minute = 6
engineer_uploads_per_minute = 6
attachments_per_message = 1
diagnoses_per_guild = 1
";

async fn limited_bot() -> (FakeDiscord, tempfile::TempDir, RunningBot) {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().expect("temporary store directory");
    let bot = start(config_with(&fake, dir.path(), LIMITS));
    fake.wait_ready().await;
    (fake, dir, bot)
}

const TOO_FAST: &str = "at most 2 a minute";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_over_the_per_minute_limit_get_a_polite_reply_and_engineers_have_more() {
    within(async {
        let (fake, _dir, bot) = limited_bot().await;
        let customer = FakeUser::customer();
        for _ in 0..3 {
            fake.command(SUPPORT, &customer, "help");
        }
        fake.wait_post_containing(SUPPORT, TOO_FAST).await;
        fake.wait_for_posts_with(SUPPORT, "casebot commands", 2)
            .await;
        // The engineer's limit is higher: three messages, three answers.
        let eng = FakeUser::engineer();
        for _ in 0..3 {
            fake.command(SUPPORT, &eng, "help");
        }
        fake.wait_for_posts_with(SUPPORT, "casebot commands", 5)
            .await;
        assert_eq!(
            posts_with(&fake, SUPPORT, TOO_FAST).len(),
            1,
            "{}",
            fake.transcript()
        );
        assert_eq!(posts_with(&fake, SUPPORT, "casebot commands").len(), 5);
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_attachments_and_diagnoses_in_flight_are_limited_politely() {
    within(async {
        let (fake, dir, bot) = limited_bot().await;
        let eng = FakeUser::engineer();
        let (thread, id) = open_case(&fake, &eng, "KB5034763 rolls back").await;

        // Two attachments in one message: the first is diagnosed, the second named and skipped.
        let one = fake.attachment(&format!("{DEVICE1}.zip"), device1_zip());
        let two = fake.attachment(&format!("{DEVICE2}.zip"), device2_zip());
        fake.say(thread.id, &eng, "", false, &[one, two]);
        let skipped = fake.wait_post_containing(thread.id, "I skipped").await;
        assert!(
            skipped.content.contains(&format!("`{DEVICE2}.zip`")),
            "{}",
            skipped.content
        );
        fake.wait_post_containing(thread.id, "`service-disabled-advanced-installer`")
            .await;

        // One diagnosis at a time for the guild: a second upload meanwhile is refused.
        let slow = fake.slow_attachment(
            &format!("{DEVICE2}.zip"),
            device2_zip(),
            Duration::from_secs(3),
        );
        let typed = fake.typing_count(thread.id);
        fake.say(thread.id, &eng, "", false, &[slow]);
        // Typing starts once the upload is accepted (and holds the guild's slot).
        fake.wait_typing_count(thread.id, typed + 1).await;
        let again = fake.attachment("again.zip", device1_zip());
        fake.say(thread.id, &eng, "", false, &[again]);
        fake.wait_post_containing(thread.id, "diagnoses are already running")
            .await;
        fake.wait_post_containing(thread.id, "`txf-transaction-log-corrupt`")
            .await;

        // A customer may upload once a minute: the second upload is refused, nothing stored.
        let carol = FakeUser {
            id: 502,
            name: "carol-customer",
            roles: vec![],
        };
        let first = fake.attachment("pc3.zip", device1_zip());
        fake.say(thread.id, &carol, "device:pc3", false, &[first]);
        fake.wait_post_containing(thread.id, "Received `pc3.zip`")
            .await;
        let second = fake.attachment("pc4.zip", device2_zip());
        fake.say(thread.id, &carol, "device:pc4", false, &[second]);
        fake.wait_post_containing(thread.id, "reached the upload limit")
            .await;
        bot.stop().await;

        let store = store::SledStore::open(dir.path()).expect("store");
        let case = store::CaseStore::get(&store, &store::CaseId::parse(&id).expect("id"))
            .expect("get")
            .expect("case");
        // Stored: the first attachment, the slow one and the customer's first upload.
        let devices: Vec<&str> = case.devices.keys().map(String::as_str).collect();
        assert_eq!(
            devices,
            vec![DEVICE2, "pc3", DEVICE1],
            "{}",
            fake.transcript()
        );
    })
    .await;
}
