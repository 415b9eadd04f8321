//! `collect` in a case thread: the reply attaches the generated collector and shows the one
//! command that runs it.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_in_a_case_thread_attaches_the_collector() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
        let cust = FakeUser::customer();
        let (thread, _id) = open_case(&fake, &cust, "KB5034763 rolls back on 2 devices").await;
        fake.command(thread.id, &cust, "collect");
        let (name, bytes) = fake.wait_file(thread.id, "casebot-collect", ".ps1").await;
        assert_eq!(name, "casebot-collect.ps1");
        let script = String::from_utf8(bytes).expect("the script is text");
        assert!(script.contains("Compress-Archive"), "{script}");
        let reply = fake
            .posts_in(thread.id)
            .into_iter()
            .find(|p| p.files.iter().any(|f| f.0 == name))
            .expect("the reply carries the script");
        assert!(
            reply.content.contains(
                "```\npowershell -NoProfile -ExecutionPolicy Bypass -File .\\casebot-collect.ps1\n```"
            ),
            "{}",
            reply.content
        );
        assert!(reply.content.contains("as administrator"), "{}", reply.content);
        bot.stop().await;
    })
    .await;
}
