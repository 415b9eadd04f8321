//! Case behaviour through Discord: the founding case, bad attachments, roles, restarts and
//! concurrency.

use std::path::PathBuf;

use super::*;

/// Founding case, step 2: two bundles uploaded in the thread without a command, each diagnosed
/// with its own root cause and a full report file.
async fn upload_both_devices(fake: &FakeDiscord, thread: u64, eng: &FakeUser) {
    let a1 = fake.attachment(&format!("{DEVICE1}.zip"), device1_zip());
    let a2 = fake.attachment(&format!("{DEVICE2}.zip"), device2_zip());
    fake.say(thread, eng, "", false, &[a1]);
    fake.say(thread, eng, "", false, &[a2]);
    // Each device's first screen: what is wrong, what to run, what to send back.
    let d1 = fake
        .wait_post_containing(
            thread,
            "An advanced installer needs a service that is disabled",
        )
        .await;
    let d2 = fake
        .wait_post_containing(thread, "The NTFS transaction log (TxF/KTM)")
        .await;
    fake.wait_post_containing(thread, "`service-disabled-advanced-installer`")
        .await;
    fake.wait_post_containing(thread, "`txf-transaction-log-corrupt`")
        .await;
    assert!(d1.content.contains(DEVICE1), "{}", d1.content);
    assert!(d2.content.contains(DEVICE2), "{}", d2.content);
    assert!(
        d2.content.contains("fsutil resource setautoreset"),
        "{}",
        d2.content
    );
    fake.wait_file(thread, DEVICE1, ".md").await;
    fake.wait_file(thread, DEVICE2, ".md").await;
}

/// Founding case, step 3: the customer verifies both devices, the engineer closes, and the
/// summary is posted in the thread and in the summary channel, with the Markdown file.
async fn verify_both_and_close(fake: &FakeDiscord, thread: u64, id: &str) {
    let (eng, cust) = (FakeUser::engineer(), FakeUser::customer());
    for device in [DEVICE1, DEVICE2] {
        fake.command(thread, &cust, &format!("device {device} fixed"));
        fake.wait_post_containing(thread, &format!("`{device}` is marked fixed"))
            .await;
    }
    fake.command(thread, &eng, "close");
    fake.wait_post_containing(thread, &format!("Case {id} is closed"))
        .await;
    let (_, file) = fake.wait_file(SUMMARIES, id, "summary.md").await;
    fake.wait_file(thread, id, "summary.md").await;
    let text: String = fake
        .posts_in(SUMMARIES)
        .iter()
        .map(|p| p.content.as_str())
        .collect();
    for needle in [
        format!("{id} case summary"),
        "service-disabled-advanced-installer".into(),
        "txf-transaction-log-corrupt".into(),
    ] {
        assert!(text.contains(&needle), "{needle} missing from {text}");
        let file = String::from_utf8_lossy(&file);
        assert!(file.contains(&needle), "{needle} not in the summary file");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn founding_case_end_to_end() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
        let eng = FakeUser::engineer();
        let title = "KB5034763 rolls back with 0x800f0922 on 2 devices (21H2, 19044)";
        let (thread, id) = open_case(&fake, &eng, title).await;
        assert_eq!(thread.parent, SUPPORT);
        assert!(
            thread.message.is_some(),
            "the thread hangs on the open message"
        );
        assert!(thread.name.starts_with(&id), "{}", thread.name);
        assert!(
            fake.posts_in(SUPPORT).is_empty(),
            "the case lives in its thread"
        );
        upload_both_devices(&fake, thread.id, &eng).await;
        verify_both_and_close(&fake, thread.id, &id).await;
        assert!(
            fake.unknown_requests().is_empty(),
            "{:?}",
            fake.unknown_requests()
        );
        bot.stop().await;
    })
    .await;
}

/// Every regular file under `dir`.
fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_attachments_get_a_clear_reply_and_nothing_is_stored() {
    within(async {
        let (fake, dir, bot) = ready_bot().await;
        let eng = FakeUser::engineer();
        let (thread, id) = open_case(&fake, &eng, "KB5034763 fails").await;

        let gone = fake.missing_attachment("gone.zip", 2048);
        fake.say(thread.id, &eng, "", false, &[gone]);
        fake.wait_post_containing(thread.id, "404)").await;

        let huge = fake.attachment("huge.zip", vec![b'x'; 3 << 20]);
        fake.say(thread.id, &eng, "", false, std::slice::from_ref(&huge));
        fake.wait_post_containing(thread.id, "larger than the 1 MB limit")
            .await;

        // Announced small, but the download itself grows past the cap.
        let mut liar = huge.clone();
        liar.size = 1000;
        fake.say(thread.id, &eng, "", false, &[liar]);
        let n = posts_with(&fake, thread.id, "larger than the 1 MB limit").len();
        fake.wait_for_posts_with(thread.id, "larger than the 1 MB limit", n + 1)
            .await;

        let mut elsewhere = fake.attachment(&format!("{DEVICE1}.zip"), device1_zip());
        elsewhere.url = elsewhere.url.replace("127.0.0.1", "localhost");
        fake.say(thread.id, &eng, "", false, &[elsewhere]);
        fake.wait_post_containing(thread.id, "from `localhost` are not accepted")
            .await;
        bot.stop().await;

        let store = store::SledStore::open(dir.path()).expect("store reopens after stop");
        let case = store::CaseStore::get(&store, &store::CaseId::parse(&id).unwrap())
            .unwrap()
            .expect("case kept");
        assert!(
            case.devices.is_empty(),
            "no device recorded: {:?}",
            case.devices
        );
        let kept = files_under(&dir.path().join("bundles"));
        assert!(kept.is_empty(), "no bundle stored: {kept:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_and_engineers_get_different_replies() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        // Engineers by role name here: exercises the guild role lookup.
        let mut cfg = config(&fake, dir.path());
        cfg.discord.engineer_roles = vec![casebot::config::RoleRef::Name(
            crate::fake_discord::ENGINEER_ROLE_NAME.to_lowercase(),
        )];
        let bot = start(cfg);
        fake.wait_ready().await;
        let (eng, cust) = (FakeUser::engineer(), FakeUser::customer());
        let (t1, _) = open_case(&fake, &eng, "KB5034763 rolls back").await;
        let (t2, _) = open_case(&fake, &cust, "KB5034763 rolls back").await;
        for (thread, user) in [(t1.id, &eng), (t2.id, &cust)] {
            let a = fake.attachment(&format!("{DEVICE1}.zip"), device1_zip());
            fake.say(thread, user, "", false, &[a]);
        }
        let engineer = fake
            .wait_post_containing(t1.id, "sc config winmgmt start= auto")
            .await;
        let customer = fake
            .wait_post_containing(t2.id, "sc config winmgmt start= auto")
            .await;
        assert!(
            engineer.content.contains("confidence"),
            "{}",
            engineer.content
        );
        assert!(
            engineer.content.contains("CBS.log:15"),
            "evidence for engineers"
        );
        assert!(
            !customer.content.contains("CBS.log:15"),
            "no raw logs for customers"
        );
        let ask = format!("reply `@casebot device {DEVICE1} fixed`");
        assert!(customer.content.contains(&ask), "{}", customer.content);
        assert!(!engineer.content.contains(&ask), "{}", engineer.content);
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_close_is_refused_politely() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
        let (eng, cust) = (FakeUser::engineer(), FakeUser::customer());
        let (thread, id) = open_case(&fake, &eng, "KB5034763 fails").await;
        fake.command(thread.id, &cust, "close");
        let refused = fake
            .wait_post_containing(thread.id, "only support engineers")
            .await;
        assert!(refused.content.starts_with("Sorry"), "{}", refused.content);
        fake.command(thread.id, &eng, "status");
        fake.wait_posts(thread.id, 3).await;
        assert!(posts_with(&fake, thread.id, &format!("Case {id} is closed")).is_empty());
        assert!(
            fake.posts_in(SUMMARIES).is_empty(),
            "no summary for a refused close"
        );
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_bot_keeps_the_case_and_its_thread() {
    within(async {
        let (fake, dir, bot) = ready_bot().await;
        let eng = FakeUser::engineer();
        let open = fake.message_event(SUPPORT, &eng, "open KB5034763 rolls back", true, &[]);
        fake.dispatch("MESSAGE_CREATE", open.clone());
        let thread = fake.wait_thread(1).await;
        fake.wait_post_containing(thread.id, "Opened case").await;
        bot.stop().await;

        let bot = start(config(&fake, dir.path()));
        fake.wait_identified(2).await;
        // Discord redelivers the open message: no second case.
        fake.dispatch("MESSAGE_CREATE", open);
        // An upload in the thread needs no mention: casebot still knows the thread's case.
        let a = fake.attachment(&format!("{DEVICE1}.zip"), device1_zip());
        fake.say(thread.id, &eng, "", false, &[a]);
        fake.wait_post_containing(thread.id, "`service-disabled-advanced-installer`")
            .await;
        assert_eq!(fake.threads().len(), 1, "{}", fake.transcript());
        assert_eq!(posts_with(&fake, thread.id, "Opened case").len(), 1);
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_bundle_does_not_hold_up_other_cases() {
    within(async {
        let (fake, _dir, bot) = ready_bot().await;
        let eng = FakeUser::engineer();
        let (slow_case, _) = open_case(&fake, &eng, "KB5034763 fails on a slow link").await;
        let (other_case, _) = open_case(&fake, &eng, "KB5034763 fails elsewhere").await;
        let slow = fake.slow_attachment(
            &format!("{DEVICE1}.zip"),
            device1_zip(),
            Duration::from_secs(20),
        );
        fake.say(slow_case.id, &eng, "", false, &[slow]);
        // casebot shows it is working as soon as it starts the download.
        fake.wait_typing(slow_case.id).await;
        // While the slow download runs, another case is served: its diagnosis arrives while
        // the slow bundle is still on the wire.
        let fast = fake.attachment(&format!("{DEVICE2}.zip"), device2_zip());
        fake.say(other_case.id, &eng, "", false, &[fast]);
        fake.wait_post_containing(other_case.id, "`txf-transaction-log-corrupt`")
            .await;
        assert!(
            posts_with(&fake, slow_case.id, "`service-disabled-advanced-installer`").is_empty(),
            "the slow bundle was still downloading"
        );
        fake.wait_post_containing(slow_case.id, "`service-disabled-advanced-installer`")
            .await;
        bot.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journaled_work_is_resumed_into_the_case_thread_after_a_crash() {
    within(async {
        let (fake, dir, bot) = ready_bot().await;
        let eng = FakeUser::engineer();
        let (thread, id) = open_case(&fake, &eng, "KB5034763 rolls back").await;
        bot.stop().await;

        // What a crash mid-diagnosis leaves behind: the bundle stored and the work journaled.
        {
            let store = store::SledStore::open(dir.path()).unwrap();
            let stored = store::CaseStore::put_bundle(&store, &mut &device1_zip()[..]).unwrap();
            let entry = store::JournalEntry {
                id: "crashed-1".into(),
                case_id: store::CaseId::parse(&id).unwrap(),
                device: DEVICE1.into(),
                bundle_sha256: stored.sha256,
                bundle_name: format!("{DEVICE1}.zip"),
                author: "alice-engineer".into(),
                accepted_at: 0,
            };
            store::CaseStore::journal_add(&store, &entry).unwrap();
        }

        let bot = start(config(&fake, dir.path()));
        fake.wait_identified(2).await;
        fake.wait_post_containing(thread.id, "after a restart")
            .await;
        fake.wait_post_containing(
            thread.id,
            "An advanced installer needs a service that is disabled",
        )
        .await;
        bot.stop().await;
        let store = store::SledStore::open(dir.path()).unwrap();
        assert!(store::CaseStore::journal_list(&store).unwrap().is_empty());
    })
    .await;
}

/// Copy the rule catalogue (with its tables) into `to`, leaving out `skip`.
fn copy_rules(from: &std::path::Path, to: &std::path::Path, skip: &str) {
    std::fs::create_dir_all(to).expect("create rules dir");
    for entry in std::fs::read_dir(from).expect("read rules dir").flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            copy_rules(&path, &to.join(&name), skip);
        } else if name != skip {
            std::fs::copy(&path, to.join(&name)).expect("copy rule file");
        }
    }
}

/// Rules served from a directory are reloaded while the bot runs: when the TxF rule appears,
/// the open case's device is re-diagnosed and the new conclusion is posted in its thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_rules_rediagnose_open_cases_while_serving() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let catalogue = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../diagnosis/rules");
        let rules = dir.path().join("rules");
        copy_rules(&catalogue, &rules, "txf-transaction-log-corrupt.toml");
        // Code priors may name only causes some rule concludes: without the TxF rule, its codes
        // fall back to the generic cause until the rule arrives with the catalogue's own priors.
        let priors = rules.join("tables/code-priors.toml");
        if let Ok(text) = std::fs::read_to_string(&priors) {
            let without = text.replace(
                "\"txf-transaction-log-corrupt\"",
                "\"unknown-servicing-failure\"",
            );
            std::fs::write(&priors, without).expect("write priors");
        }
        let extra = format!(
            "[diagnoses]\nrules_dir = \"{}\"\nrules_poll_secs = 1",
            rules.display()
        );
        let bot = start(config_with(&fake, &dir.path().join("data"), &extra));
        fake.wait_ready().await;
        let eng = FakeUser::engineer();
        let (thread, _id) = open_case(&fake, &eng, "KB5034763 fails with 0x80071ab1").await;
        let bundle = fake.attachment(&format!("{DEVICE2}.zip"), device2_zip());
        fake.say(thread.id, &eng, "", false, &[bundle]);
        fake.wait_file(thread.id, DEVICE2, ".md").await;
        assert!(
            posts_with(&fake, thread.id, "`txf-transaction-log-corrupt`").is_empty(),
            "without the TxF rule there is no TxF conclusion"
        );

        if priors.exists() {
            std::fs::copy(catalogue.join("tables/code-priors.toml"), &priors).unwrap();
        }
        std::fs::copy(
            catalogue.join("txf-transaction-log-corrupt.toml"),
            rules.join("txf-transaction-log-corrupt.toml"),
        )
        .unwrap();
        let update = fake
            .wait_post_containing(thread.id, "diagnosis rules were updated")
            .await;
        assert!(update.content.contains(DEVICE2), "{}", update.content);
        fake.wait_post_containing(thread.id, "`txf-transaction-log-corrupt`")
            .await;
        bot.stop().await;
    })
    .await;
}
