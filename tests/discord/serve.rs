//! `casebot serve`: fail-fast startup checks, the console fallback, and graceful shutdown.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_fails_fast_with_a_clear_message() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = start_with_token(
            config(&fake, dir.path()),
            crate::fake_discord::REVOKED_TOKEN,
        );
        let err = bot
            .task
            .await
            .expect("bot task panicked")
            .expect_err("a revoked token must stop the bot");
        assert!(err.to_string().contains("rejected the token"), "{err:#}");
        assert_eq!(fake.sessions(), (0, 0), "no gateway session was attempted");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_fails_fast_when_the_store_is_in_use() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let _held = store::SledStore::open(dir.path()).expect("first open");
        let bot = start(config(&fake, dir.path()));
        let err = bot
            .task
            .await
            .expect("bot task panicked")
            .expect_err("a store in use must stop the bot");
        assert!(
            err.to_string()
                .contains("in use by another casebot process"),
            "{err:#}"
        );
        assert_eq!(fake.sessions(), (0, 0), "no gateway session was attempted");
    })
    .await;
}

#[test]
fn no_subcommand_and_no_token_falls_back_to_the_console_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let (_, err) = casebot(dir.path(), &[]);
    let first = err.lines().next().unwrap_or_default();
    assert!(first.contains("no Discord token configured"), "{err}");
    assert!(
        first.contains("casebot serve") && first.contains("starting the console"),
        "{err}"
    );
}

/// Run the casebot binary in `dir` with `args`, without a token in the environment.
fn casebot(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_casebot-cli"))
        .args(args)
        .current_dir(dir)
        .env_remove("DISCORD_TOKEN")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run casebot");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_without_a_token_fails_fast_naming_both_ways_to_give_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("casebot.toml"),
        "[discord]\nallowed_guilds = [1]\n",
    )
    .unwrap();
    let (ok, err) = casebot(dir.path(), &["serve"]);
    assert!(!ok);
    assert!(
        err.contains("DISCORD_TOKEN") && err.contains("token_file"),
        "{err}"
    );
}

#[test]
fn serve_with_a_bad_config_lists_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "lang = \"fr\"\ntoken = \"s3cret\"\n[download]\nmax_bytes = 0\n",
    )
    .unwrap();
    let (ok, err) = casebot(dir.path(), &["--config", cfg.to_str().unwrap(), "serve"]);
    assert!(!ok);
    assert!(err.contains("3 problem(s)"), "{err}");
    assert!(err.contains("lang") && err.contains("max_bytes"), "{err}");
    assert!(
        err.contains("must not be written in the config file"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "the token is echoed: {err}");
}

#[test]
fn serve_with_an_unknown_key_names_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("casebot.toml"),
        "[discord]\nallowed_guild = [1]\n",
    )
    .unwrap();
    let (ok, err) = casebot(dir.path(), &["serve"]);
    assert!(!ok);
    assert!(err.contains("allowed_guild"), "{err}");
}

#[test]
fn serve_with_a_token_but_no_guild_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "abc\n").unwrap();
    std::fs::write(dir.path().join("casebot.toml"), "token_file = \"token\"\n").unwrap();
    let (ok, err) = casebot(dir.path(), &["serve"]);
    assert!(!ok);
    assert!(err.contains("allowed_guilds is empty"), "{err}");
}

#[test]
fn serve_with_a_token_in_both_env_and_file_refuses_to_guess() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "abc\n").unwrap();
    let text = "token_file = \"token\"\n[discord]\nallowed_guilds = [1]\n";
    std::fs::write(dir.path().join("casebot.toml"), text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_casebot-cli"))
        .arg("serve")
        .current_dir(dir.path())
        .env("DISCORD_TOKEN", "from-env")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run casebot");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("set twice"), "{err}");
    assert!(
        !err.contains("from-env") && !err.contains("abc"),
        "a token is echoed: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_work_before_closing_the_store() {
    within(async {
        let (fake, dir, bot) = ready_bot().await;
        let eng = FakeUser::engineer();
        let (thread, id) = open_case(&fake, &eng, "KB5034763 fails").await;
        let slow = fake.slow_attachment(
            &format!("{DEVICE1}.zip"),
            device1_zip(),
            Duration::from_secs(2),
        );
        fake.say(thread.id, &eng, "", false, &[slow]);
        fake.wait_typing(thread.id).await;
        // SIGTERM arrives mid-download: the reply still goes out before the bot exits.
        bot.stop().await;
        assert!(
            !posts_with(&fake, thread.id, "`service-disabled-advanced-installer`").is_empty(),
            "{}",
            fake.transcript()
        );
        let store = store::SledStore::open(dir.path()).expect("store closed on shutdown");
        let case = store::CaseStore::get(&store, &store::CaseId::parse(&id).unwrap())
            .unwrap()
            .expect("case kept");
        assert!(
            case.devices.contains_key(DEVICE1),
            "{:?}",
            case.devices.keys()
        );
        let journal = store::CaseStore::journal_list(&store).unwrap();
        assert!(journal.is_empty(), "finished work leaves no journal entry");
    })
    .await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serve_process_stops_cleanly_on_sigterm() {
    within(async {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let text = format!(
            "[discord]\napi_base_url = \"{}\"\nallowed_guilds = [{GUILD}]\n[store]\ndata_dir = \"{}\"\n",
            fake.base_url(),
            data.display()
        );
        std::fs::write(dir.path().join("casebot.toml"), text).unwrap();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_casebot-cli"))
            .arg("serve")
            .current_dir(dir.path())
            .env("DISCORD_TOKEN", "fake-token")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start casebot serve");
        fake.wait_ready().await;
        fake.command(SUPPORT, &FakeUser::engineer(), "help");
        fake.wait_posts(SUPPORT, 1).await;
        let pid = child.id().expect("running").to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(killed.success());
        let status = child.wait().await.expect("wait for casebot");
        assert!(status.success(), "exit status {status}");
        store::SledStore::open(&data).expect("the store was closed and unlocked");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_content_intent_stops_with_a_hint() {
    within(async {
        let fake = FakeDiscord::start().await;
        fake.refuse_privileged_intents();
        let dir = tempfile::tempdir().unwrap();
        let bot = start(config(&fake, dir.path()));
        let err = bot
            .task
            .await
            .expect("bot task panicked")
            .expect_err("refused intents must stop the bot");
        assert!(
            err.to_string().contains("Privileged Gateway Intents"),
            "{err:#}"
        );
    })
    .await;
}
