//! The gateway connection and which events casebot accepts: READY, resume and replay,
//! redelivery, allowed guilds/channels/threads, slash commands.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_registers_commands_and_resumes_after_a_disconnect() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
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
        let (fake, _dir, bot) = ready_bot().await;
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
async fn a_redelivered_message_is_answered_once() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
        let eng = FakeUser::engineer();
        let open = fake.message_event(
            SUPPORT,
            &eng,
            "open printer spooler update fails",
            true,
            &[],
        );
        fake.dispatch("MESSAGE_CREATE", open.clone());
        fake.dispatch("MESSAGE_CREATE", open);
        let thread = fake.wait_thread(1).await;
        // A later message is answered, so the duplicate had every chance to be answered too.
        fake.command(thread.id, &eng, "status");
        fake.wait_posts(thread.id, 2).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(fake.threads().len(), 1, "one thread for one message");
        assert_eq!(
            posts_with(&fake, thread.id, "Opened case").len(),
            1,
            "{}",
            fake.transcript()
        );
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_answering_after_a_gateway_disconnect() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
        let eng = FakeUser::engineer();
        fake.command(SUPPORT, &eng, "help");
        fake.wait_posts(SUPPORT, 1).await;
        fake.disconnect();
        // Sent while casebot is away: Discord replays it on RESUME.
        fake.command(SUPPORT, &eng, "explain 0x800f0922");
        fake.wait_for_resume().await;
        let reply = fake
            .wait_post_containing(SUPPORT, "CBS_E_INSTALLERS_FAILED")
            .await;
        assert!(!reply.followup);
        fake.command(SUPPORT, &eng, "explain 0x80071ab1");
        fake.wait_post_containing(SUPPORT, "ERROR_LOG_GROWTH_FAILED")
            .await;
        assert_eq!(fake.sessions(), (1, 1), "resumed, not re-identified");
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_channels_and_guilds_are_ignored() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
        let eng = FakeUser::engineer();
        fake.command(crate::fake_discord::OFF_TOPIC, &eng, "help");
        let mut foreign = fake.message_event(SUPPORT, &eng, "help", true, &[]);
        foreign["guild_id"] = serde_json::json!("999");
        fake.dispatch("MESSAGE_CREATE", foreign);
        fake.say(SUPPORT, &eng, "help without a mention", false, &[]);
        let off_topic_thread = fake.user_thread(crate::fake_discord::OFF_TOPIC, "chat");
        fake.command(off_topic_thread, &eng, "help");
        // A thread under an allowed channel is served, though casebot did not open it.
        let support_thread = fake.user_thread(SUPPORT, "question");
        fake.command(support_thread, &eng, "help");
        fake.command(SUPPORT, &eng, "help");
        fake.wait_posts(SUPPORT, 1).await;
        fake.wait_posts(support_thread, 1).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(fake.posted().len(), 2, "{}", fake.transcript());
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_open_creates_the_case_thread() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
        let eng = FakeUser::engineer();
        fake.slash(SUPPORT, &eng, "open", &[("title", "KB5034763 rolls back")]);
        let thread = fake.wait_thread(1).await;
        assert_eq!((thread.parent, thread.message), (SUPPORT, None));
        fake.wait_post_containing(thread.id, "Opened case").await;
        // The interaction itself is closed with an answer, not left "thinking".
        fake.wait_for_followup(SUPPORT).await;
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_diagnose_takes_the_bundle_as_an_attachment_option() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
        let eng = FakeUser::engineer();
        let (thread, _) = open_case(&fake, &eng, "KB5034763 fails").await;
        let a = fake.attachment(&format!("{DEVICE2}.zip"), device2_zip());
        fake.slash_with_file(thread.id, &eng, "diagnose", &[], Some(&a));
        let diagnosis = fake
            .wait_post_containing(thread.id, "`txf-transaction-log-corrupt`")
            .await;
        assert!(diagnosis.content.contains(DEVICE2), "{}", diagnosis.content);
        assert!(
            fake.posts_in(thread.id).iter().any(|p| p.followup),
            "the command itself is answered through the interaction"
        );
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_opened_inside_a_thread_gets_its_thread_in_the_parent_channel() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
        let question = fake.user_thread(SUPPORT, "a question");
        fake.command(question, &FakeUser::engineer(), "open KB5034763 rolls back");
        let thread = fake.wait_thread(1).await;
        assert_eq!((thread.parent, thread.message), (SUPPORT, None));
        fake.wait_post_containing(thread.id, "Opened case").await;
        bot.stop().await;
    })
    .await;
}
