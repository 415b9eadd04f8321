//! Buttons under each device's diagnosis and on the case's opening message, clicked through the
//! fake Discord (with the form Close opens): the clicks carry the case and the typed command in
//! their custom ids and take the same permission checks as typed commands.

use super::*;

/// The ids under a device's buttons: `cb:<command>:<case>:<device>…`.
fn for_device(device: &str) -> String {
    format!(":{device}")
}

/// How many timeline entries of the stored case record `device` marked fixed.
fn fixed_entries(dir: &std::path::Path, id: &str, device: &str) -> usize {
    let store = store::SledStore::open(dir).expect("store reopens after stop");
    let case = store::CaseStore::get(&store, &store::CaseId::parse(id).expect("case id"))
        .expect("read case")
        .expect("case kept");
    let entry = format!("{device}: fixed");
    case.timeline
        .iter()
        .filter(|e| e.kind == "device" && e.text == entry)
        .count()
}

/// The founding case verified with buttons only: each device's diagnosis carries Fixed / Still
/// failing / Re-diagnose; the customer's clicks are answered in the thread for everyone, still
/// work after a restart (nothing about them is kept in memory), and a redelivered click counts
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_verifies_both_founding_devices_with_buttons() {
    within(async {
        let (fake, dir, bot) = ready_bot().await;
        let (eng, cust) = (FakeUser::engineer(), FakeUser::customer());
        let title = "KB5034763 rolls back with 0x800f0922 on 2 devices (21H2, 19044)";
        let (thread, id) = open_case(&fake, &eng, title).await;
        for (device, zip) in [(DEVICE1, device1_zip()), (DEVICE2, device2_zip())] {
            let a = fake.attachment(&format!("{device}.zip"), zip);
            fake.say(thread.id, &cust, "", false, &[a]);
        }
        let d1 = fake.wait_buttons(thread.id, &for_device(DEVICE1)).await;
        let d2 = fake.wait_buttons(thread.id, &for_device(DEVICE2)).await;
        let labels: Vec<&str> = d1.buttons.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["Fixed", "Still failing", "Re-diagnose"]);
        assert_eq!(
            d1.button("Fixed"),
            format!("cb:device:{id}:{DEVICE1}:fixed"),
            "the custom id names the case and the device"
        );

        // Still failing, then fixed after all: the later click wins.
        fake.click(&d2, &cust, "Still failing");
        let failing = fake
            .wait_post_containing(thread.id, &format!("still fails on `{DEVICE2}`"))
            .await;
        assert!(failing.followup && !failing.ephemeral, "{failing:?}");
        let first = fake.click(&d1, &cust, "Fixed");
        let fixed = fake
            .wait_post_containing(thread.id, &format!("`{DEVICE1}` is marked fixed"))
            .await;
        assert!(
            fixed.content.contains(DEVICE2),
            "still waiting for device 2"
        );
        assert!(fixed.followup && !fixed.ephemeral, "{fixed:?}");
        bot.stop().await;

        // After a restart, the buttons posted before it still work, and the click Discord
        // delivers again is recognised as handled.
        let bot = start(config(&fake, dir.path()));
        fake.wait_identified(2).await;
        fake.dispatch("INTERACTION_CREATE", first);
        fake.click(&d2, &cust, "Fixed");
        fake.wait_post_containing(thread.id, &format!("Every device of {id} is now verified"))
            .await;
        fake.command(thread.id, &eng, "close");
        fake.wait_post_containing(thread.id, &format!("Case {id} is closed"))
            .await;
        bot.stop().await;
        assert_eq!(
            posts_with(&fake, thread.id, &format!("`{DEVICE1}` is marked fixed")).len(),
            1,
            "{}",
            fake.transcript()
        );
        assert_eq!(fixed_entries(dir.path(), &id, DEVICE1), 1);
        assert!(
            fake.unknown_requests().is_empty(),
            "{:?}",
            fake.unknown_requests()
        );
    })
    .await;
}

/// Re-diagnose is for engineers: a customer's click is refused politely and to them alone; an
/// engineer's click diagnoses the device again. Once the case is closed, its buttons say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engineer_buttons_refuse_customers_and_closed_cases_say_so() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
        let (eng, cust) = (FakeUser::engineer(), FakeUser::customer());
        let (thread, id) = open_case(&fake, &eng, "KB5034763 fails").await;
        let a = fake.attachment(&format!("{DEVICE1}.zip"), device1_zip());
        fake.say(thread.id, &cust, "", false, &[a]);
        let d1 = fake.wait_buttons(thread.id, &for_device(DEVICE1)).await;

        fake.click(&d1, &cust, "Re-diagnose");
        let refused = fake
            .wait_post_containing(thread.id, "only support engineers")
            .await;
        assert!(refused.content.starts_with("Sorry"), "{}", refused.content);
        assert!(refused.ephemeral, "the refusal is for the clicker only");
        assert!(posts_with(&fake, thread.id, "again from").is_empty());

        fake.click(&d1, &eng, "Re-diagnose");
        fake.wait_post_containing(thread.id, &format!("Diagnosing `{DEVICE1}` again"))
            .await;
        // The engineer who clicked gets the engineer's view of the new diagnosis.
        let again = fake
            .wait_post_containing(thread.id, "`service-disabled-advanced-installer`")
            .await;
        assert!(again.followup && !again.ephemeral, "{again:?}");

        fake.command(thread.id, &eng, "close force");
        fake.wait_post_containing(thread.id, &format!("Case {id} is closed.\n"))
            .await;
        fake.click(&d1, &cust, "Fixed");
        let closed = fake
            .wait_post_containing(thread.id, "An engineer can `reopen` it")
            .await;
        assert!(closed.content.contains(&id), "{}", closed.content);
        assert!(closed.ephemeral, "{closed:?}");
        bot.stop().await;
    })
    .await;
}

/// The case's opening message carries Status, How to collect logs and Close. Status and the
/// collector are for everyone; Close is for engineers: a customer's click is refused privately,
/// an engineer's opens a form asking for the reason, and submitting it closes the case with that
/// reason, once even if Discord delivers the submission twice. Afterwards the buttons say the
/// case is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engineer_closes_from_the_opening_message_with_a_reason() {
    within(async {
        let (fake, dir, bot) = ready_bot().await;
        let (eng, cust) = (FakeUser::engineer(), FakeUser::customer());
        let (thread, id) = open_case(&fake, &cust, "KB5034763 rolls back on 2 devices").await;
        let opening = fake.wait_buttons(thread.id, "cb:status:").await;
        assert!(
            opening.content.contains("Opened case"),
            "{}",
            opening.content
        );
        let labels: Vec<&str> = opening.buttons.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["Status", "How to collect logs", "Close"]);
        assert_eq!(opening.button("Close"), format!("cb:close:{id}"));

        fake.click(&opening, &cust, "Status");
        let status = fake
            .wait_post_containing(thread.id, &format!("**{id}** · awaiting logs"))
            .await;
        assert!(status.followup, "{status:?}");
        fake.click(&opening, &cust, "How to collect logs");
        fake.wait_file(thread.id, "casebot-collect", ".ps1").await;

        let refused = fake.click(&opening, &cust, "Close");
        let line = fake
            .wait_post_containing(thread.id, "only support engineers")
            .await;
        assert!(line.ephemeral, "the refusal is for the clicker only");
        assert!(!fake.opened_modal(&refused), "no form for a customer");

        let click = fake.click(&opening, &eng, "Close");
        let modal = fake.modal_for(&click).await;
        assert_eq!(modal["custom_id"], format!("cb:close:{id}"));
        assert_eq!(modal["title"], format!("Close {id}"));
        let input = &modal["components"][0]["components"][0];
        assert_eq!(input["custom_id"], "reason");
        assert_eq!(input["label"], "Why is the case closed?");
        assert_eq!(input["required"], true);
        let reason = "the customer reinstalled both devices";
        let submit = fake.submit(&opening, &eng, &modal, &[("reason", reason)]);
        let closed = fake
            .wait_post_containing(thread.id, &format!("Case {id} is closed.\n"))
            .await;
        assert!(closed.content.contains(reason), "{}", closed.content);
        fake.dispatch("INTERACTION_CREATE", submit);

        // Closed: Close opens no form and says so, and the collector is not handed out.
        let again = fake.click(&opening, &eng, "Close");
        let said = fake
            .wait_post_containing(thread.id, "An engineer can `reopen` it")
            .await;
        assert!(said.ephemeral, "{said:?}");
        assert!(!fake.opened_modal(&again));
        fake.click(&opening, &cust, "How to collect logs");
        fake.wait_for_posts_with(thread.id, "An engineer can `reopen` it", 2)
            .await;
        bot.stop().await;
        assert_eq!(
            posts_with(&fake, thread.id, &format!("Case {id} is closed.\n")).len(),
            1,
            "{}",
            fake.transcript()
        );
        let store = store::SledStore::open(dir.path()).expect("store reopens");
        let case = store::CaseStore::get(&store, &store::CaseId::parse(&id).expect("id"))
            .expect("read case")
            .expect("case kept");
        assert_eq!(case.close_reason.as_deref(), Some(reason));
        assert!(
            fake.unknown_requests().is_empty(),
            "{:?}",
            fake.unknown_requests()
        );
    })
    .await;
}

/// A bare `fixed` while both founding devices wait is ambiguous: casebot asks which device with
/// a menu of the waiting devices, and picking one marks that device fixed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_fixed_is_settled_with_a_device_menu() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
        let cust = FakeUser::customer();
        let (thread, id) = open_case(&fake, &cust, "KB5034763 rolls back on 2 devices").await;
        for (device, zip) in [(DEVICE1, device1_zip()), (DEVICE2, device2_zip())] {
            let a = fake.attachment(&format!("{device}.zip"), zip);
            fake.say(thread.id, &cust, "", false, &[a]);
        }
        fake.wait_buttons(thread.id, &for_device(DEVICE1)).await;
        fake.wait_buttons(thread.id, &for_device(DEVICE2)).await;

        fake.command(thread.id, &cust, "fixed");
        let asked = fake.wait_menu(thread.id).await;
        assert!(asked.content.contains("Which device?"), "{}", asked.content);
        let (custom_id, mut choices) = asked.menus[0].clone();
        assert_eq!(custom_id, format!("cb:device:{id}::fixed"));
        choices.sort();
        let mut devices = vec![DEVICE1.to_string(), DEVICE2.to_string()];
        devices.sort();
        assert_eq!(choices, devices);

        fake.choose(&asked, &cust, DEVICE2);
        let fixed = fake
            .wait_post_containing(thread.id, &format!("`{DEVICE2}` is marked fixed"))
            .await;
        assert!(
            fixed.content.contains(DEVICE1),
            "device 1 still waits: {}",
            fixed.content
        );
        bot.stop().await;
    })
    .await;
}

/// Slash options that name a device suggest the devices of the case the channel belongs to,
/// narrowed by what has been typed; outside a case thread there is nothing to suggest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_options_suggest_the_devices_of_the_case() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
        let cust = FakeUser::customer();
        let (thread, _id) = open_case(&fake, &cust, "KB5034763 rolls back on 2 devices").await;
        for (device, zip) in [(DEVICE1, device1_zip()), (DEVICE2, device2_zip())] {
            let a = fake.attachment(&format!("{device}.zip"), zip);
            fake.say(thread.id, &cust, "", false, &[a]);
        }
        fake.wait_buttons(thread.id, &for_device(DEVICE1)).await;
        fake.wait_buttons(thread.id, &for_device(DEVICE2)).await;

        let all = fake.autocomplete(thread.id, &cust, "device", "name", "");
        let mut all = fake.suggestions_for(&all).await;
        all.sort();
        let mut devices = vec![DEVICE1.to_string(), DEVICE2.to_string()];
        devices.sort();
        assert_eq!(all, devices);
        let some = fake.autocomplete(thread.id, &cust, "rediagnose", "device", "z673");
        assert_eq!(fake.suggestions_for(&some).await, [DEVICE2]);
        let none = fake.autocomplete(crate::fake_discord::SUPPORT, &cust, "device", "name", "w");
        assert!(fake.suggestions_for(&none).await.is_empty());
        bot.stop().await;
    })
    .await;
}
