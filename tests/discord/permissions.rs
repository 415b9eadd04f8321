//! Permissions across servers and customers: `cases` and `case <id>` never show another
//! server's case or another customer's case, a button naming a case elsewhere is refused, and
//! engineer-only commands stay engineer-only as slash commands.

use std::time::Duration;

use super::*;
use crate::fake_discord::{FakeDiscord, FakeUser, SUPPORT};

/// A second Discord server served by the same bot, with its own support channel.
const GUILD_B: u64 = 1001;
const SUPPORT_B: u64 = 2100;

/// Bob's colleague at another company who happens to use the same display name.
fn carol() -> FakeUser {
    FakeUser {
        id: 502,
        name: "bob-customer",
        roles: vec![],
    }
}

/// The bot serving both servers.
async fn two_server_bot() -> (FakeDiscord, tempfile::TempDir, RunningBot) {
    let fake = FakeDiscord::start().await;
    fake.add_guild(GUILD_B, SUPPORT_B, "support-b");
    let dir = tempfile::tempdir().expect("temporary store directory");
    let mut cfg = config(&fake, dir.path());
    cfg.discord.allowed_guilds.push(GUILD_B);
    cfg.discord.allowed_channels.push(SUPPORT_B);
    let bot = start(cfg);
    fake.wait_ready().await;
    (fake, dir, bot)
}

/// Send `text` in `channel` as `user` and return the next post there.
async fn answer(fake: &FakeDiscord, channel: u64, user: &FakeUser, text: &str) -> Posted {
    let before = fake.posts_in(channel).len();
    fake.command(channel, user, text);
    fake.wait_posts(channel, before + 1).await[before].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_and_case_show_only_this_servers_cases_and_a_customers_own() {
    within(async {
        let (fake, _dir, bot) = two_server_bot().await;
        let (eng, bob, carol) = (FakeUser::engineer(), FakeUser::customer(), carol());
        let (_, bobs) = open_case_in(&fake, SUPPORT, &bob, "bob KB5034763 rolls back").await;
        let (_, carols) = open_case_in(&fake, SUPPORT, &carol, "carol 0x800f0922 on two PCs").await;
        let (_, other) = open_case_in(&fake, SUPPORT_B, &eng, "other server KB5034441").await;

        let listed = answer(&fake, SUPPORT, &bob, "cases").await.content;
        assert!(listed.contains(&bobs), "{listed}");
        assert!(
            !listed.contains(&carols),
            "another customer's case: {listed}"
        );
        assert!(!listed.contains(&other), "another server's case: {listed}");
        // Same display name, another user: only her own case.
        let listed = answer(&fake, SUPPORT, &carol, "cases").await.content;
        assert!(
            listed.contains(&carols) && !listed.contains(&bobs),
            "{listed}"
        );

        // Engineers see every case of their server, none of another.
        let listed = answer(&fake, SUPPORT, &eng, "cases").await.content;
        assert!(
            listed.contains(&bobs) && listed.contains(&carols),
            "{listed}"
        );
        assert!(!listed.contains(&other), "{listed}");
        let listed = answer(&fake, SUPPORT_B, &eng, "cases").await.content;
        assert!(
            listed.contains(&other) && !listed.contains(&bobs),
            "{listed}"
        );

        // `case <id>` answers a case one may not see like a case that does not exist.
        for (user, id) in [(&bob, &carols), (&bob, &other), (&eng, &other)] {
            let shown = answer(&fake, SUPPORT, user, &format!("case {id}")).await;
            assert!(
                shown.content.contains(&format!("No case `{id}`")),
                "{}",
                shown.content
            );
            assert!(!shown.content.contains("0x800f0922"), "{}", shown.content);
            assert!(!shown.content.contains("KB5034441"), "{}", shown.content);
        }
        let own = answer(&fake, SUPPORT, &bob, &format!("case {bobs}")).await;
        assert!(own.content.contains(&bobs), "{}", own.content);
        assert!(!own.content.contains("No case"), "{}", own.content);
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engineer_commands_stay_engineer_only_as_slash_commands_and_buttons_stay_in_their_case() {
    within(async {
        let (fake, dir, bot) = two_server_bot().await;
        let (eng, bob) = (FakeUser::engineer(), FakeUser::customer());
        let (Thread { id: thread, .. }, id) =
            open_case_in(&fake, SUPPORT, &bob, "KB5034763 rolls back").await;
        let (
            Thread {
                id: other_thread, ..
            },
            other,
        ) = open_case_in(&fake, SUPPORT_B, &eng, "KB5034441 fails").await;

        for (name, options) in [
            ("close", vec![("reason", "done")]),
            ("reopen", vec![]),
            ("link", vec![]),
        ] {
            let before = fake.posts_in(thread).len();
            fake.slash(thread, &bob, name, &options);
            let refused = fake
                .wait_posts(thread, before + 1)
                .await
                .split_off(before)
                .into_iter()
                .find(|p| p.content.contains("only support engineers"))
                .unwrap_or_else(|| panic!("slash {name}: {}", fake.transcript()));
            assert!(refused.ephemeral, "/{name}: the refusal is private");
        }
        let status = answer(&fake, thread, &bob, "status").await.content;
        assert!(!status.contains("closed"), "{status}");

        // The opening message's Status button, with the custom id edited to name the case of
        // the other server: refused as unknown, nothing of it shown.
        let opening = fake.wait_buttons(thread, "cb:status:").await;
        let status_id = opening.button("Status");
        let forged = status_id.replace(&id, &other);
        assert_ne!(forged, status_id);
        for user in [&bob, &eng] {
            let before = fake.posts_in(thread).len();
            fake.dispatch(
                "INTERACTION_CREATE",
                fake.click_event(&opening, user, &forged),
            );
            let reply = fake.wait_posts(thread, before + 1).await[before].clone();
            assert!(
                reply.content.contains(&format!("No case `{other}`")),
                "{}",
                reply.content
            );
            assert!(!reply.content.contains("KB5034441"), "{}", reply.content);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            fake.posts_in(other_thread).len() <= 2,
            "{}",
            fake.transcript()
        );
        bot.stop().await;
        drop(dir);
    })
    .await;
}
