//! `casebot serve` and the default command: load the config, find the token, open the store,
//! build the handlers' `Context`, and run the Discord adapter until SIGTERM or Ctrl-C.
//!
//! [`serve`] takes its shutdown signal as a future (the mini-redis shape) so that tests start
//! and stop the whole bot in-process.

use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use secrecy::SecretString;
use store::CaseStore;

use crate::config::{Config, TOKEN_ENV};
use crate::shards::ServeArgs;
use crate::web_cmd::WebServe;

/// Serve Discord (`args`: the `serve` subcommand's, `None` when casebot runs without a
/// subcommand); without a subcommand and without a token, fall back to the console with a hint.
/// `--web` adds the read-only web view on the same store.
pub fn run(config: Option<&Path>, args: Option<ServeArgs>) -> anyhow::Result<ExitCode> {
    let explicit = args.is_some();
    let env_token = std::env::var(TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty());
    let mut cfg = Config::load(config)?;
    if !explicit && env_token.is_none() && cfg.token_file.is_none() {
        eprintln!(
            "casebot: no Discord token configured (set {TOKEN_ENV} or token_file, then run \
             `casebot serve`); starting the console"
        );
        return crate::console::run(config, crate::console::ConsoleArgs::default());
    }
    let args = args.unwrap_or_default();
    let mut problems = Vec::new();
    match args.range() {
        Ok(Some(range)) => cfg.discord.shards = Some(range),
        Ok(None) => {}
        Err(p) => problems.push(p),
    }
    let token = cfg.token(env_token).map_err(|p| problems.push(p)).ok();
    problems.extend(cfg.serve_problems());
    let Some(token) = token.filter(|_| problems.is_empty()) else {
        anyhow::bail!("cannot serve Discord:\n  - {}", problems.join("\n  - "));
    };
    // A bad address or a missing link key stops casebot before it connects anywhere.
    let web = WebServe::prepare(&args.web)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve_with_web(cfg, token, web, shutdown_signal()))?;
    Ok(ExitCode::SUCCESS)
}

/// Open the store, run the Discord adapter until `shutdown` resolves, then flush and close the
/// store. Fails fast (before connecting) when the store cannot be opened.
pub async fn serve(
    cfg: Config,
    token: SecretString,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    serve_with_web(cfg, token, None, shutdown).await
}

/// [`serve`], plus the read-only web view on the same store when `web` is given (stopped with
/// the Discord adapter). The chat `link` command signs links for it.
pub async fn serve_with_web(
    mut cfg: Config,
    token: SecretString,
    web: Option<WebServe>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let store_cfg = cfg.store.clone();
    let store = tokio::task::spawn_blocking(move || store_cfg.open())
        .await
        .context("store open task failed")??;
    handlers::disk::claim_temp_root_or_warn();
    // A scan of the idempotency tree: off the async threads, like every other store call here.
    let pruning = Arc::clone(&store);
    let _ = tokio::task::spawn_blocking(move || prune_old_message_ids(&pruning)).await;
    // A configured rules directory was compiled when the config was validated.
    let rules = match cfg.rules.as_mut() {
        Some(r) => match r.loaded.take() {
            Some(set) => set,
            None => Arc::new(
                diagnosis::RuleSet::load_dir(&r.dir)
                    .with_context(|| format!("cannot load the rules in {}", r.dir.display()))?,
            ),
        },
        None => Arc::new(diagnosis::RuleSet::builtin().context("cannot load the built-in rules")?),
    };
    let mut ctx = handlers::Context::new(Arc::clone(&store), rules, cfg.handlers.clone());
    let web = match web {
        Some(web) => {
            ctx = ctx.with_links(web.issuer());
            Some(web.start(
                Arc::clone(&store),
                cfg.handlers.limits.clone(),
                Arc::clone(&ctx.rules),
                Arc::clone(&ctx.disk),
            )?)
        }
        None => None,
    };
    let (stop_retention, retention_stopped) = tokio::sync::watch::channel(false);
    let retention = cfg.bundle_days.map(|days| {
        tokio::spawn(keep_deleting_expired_bundles(
            Arc::clone(&store),
            days,
            retention_stopped,
        ))
    });
    let result = crate::discord::run(cfg.discord, cfg.rules, token, ctx, shutdown).await;
    if let Some(task) = retention {
        // Wait for a sweep in progress: the store must be released when serve returns (an
        // embedded store stays locked while anything holds it).
        let _ = stop_retention.send(true);
        if let Err(e) = task.await {
            tracing::warn!("retention task failed: {e}");
        }
    }
    if let Some(web) = web {
        web.stop().await;
    }
    // Flush even when the connection failed: acknowledged work must reach the disk.
    let flushed = tokio::task::spawn_blocking(move || store.flush())
        .await
        .context("store flush task failed")?;
    flushed.context("cannot flush the store on shutdown")?;
    result
}

/// How long processed message ids are kept: Discord redelivers within minutes, so a week is
/// ample and keeps the idempotency tree from growing forever.
const KEEP_MESSAGE_IDS: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Forget message ids older than [`KEEP_MESSAGE_IDS`]; a failure is logged, not fatal.
fn prune_old_message_ids(store: &Arc<dyn CaseStore>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let before = now.saturating_sub(KEEP_MESSAGE_IDS).as_secs();
    match store.prune_processed(before) {
        Ok(0) => {}
        Ok(n) => tracing::info!(pruned = n, "forgot processed message ids older than a week"),
        Err(e) => tracing::warn!("cannot prune processed message ids: {e}"),
    }
}

/// How often expired bundles are looked for while serving.
const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Delete the bundles and pastes of cases closed more than `days` days ago, now and every
/// [`RETENTION_EVERY`] until `stop` turns true; failures are logged and tried again next time.
async fn keep_deleting_expired_bundles(
    store: Arc<dyn CaseStore>,
    days: u64,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let store = Arc::clone(&store);
        let swept = tokio::task::spawn_blocking(move || {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            handlers::retention::sweep(&*store, now, days)
        })
        .await;
        match swept {
            Ok(Ok(d)) if d.bundles > 0 => tracing::info!(
                cases = d.cases.len(),
                bundles = d.bundles,
                days,
                "deleted the stored bundles of cases closed longer ago than the retention"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("retention: cannot delete expired bundles: {e}"),
            Err(e) => tracing::warn!("retention task failed: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(RETENTION_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}
