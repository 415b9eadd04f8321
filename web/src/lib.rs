//! `web`: the read-only web view of cases (docs/ARCHITECTURE.md, "The web view"). Sits beside
//! the chat adapters, above `handlers`: it reads cases from the [`store::CaseStore`], takes the
//! wording helpers, link tokens and secret redaction from `handlers`, and the stored bundles'
//! lines from `diagnosis`. It never writes to the store.
//!
//! Layout:
//! - [`access`]: every page needs a signed, expiring link (`handlers::link`); a customer link
//!   opens only its case, in the customer view. Security headers (a strict CSP) on every response.
//! - `page`: what every page shares (language, the visitor, links that carry the token).
//! - `case_page`, `evidence`, `dashboard` (with `chart`, server-drawn SVG), `search`: the pages'
//!   view models; `templates/` holds their askama templates, which escape every value.
//!
//! Templates are askama: compiled and type-checked with the crate, HTML-escaped by default, and
//! no page ever marks a value as safe markup, so a log line can only ever be text.

pub mod access;
mod case_page;
mod chart;
pub mod dashboard;
mod error;
mod evidence;
pub mod page;
mod routes;
mod search;

pub use error::WebError;

use std::future::Future;
use std::sync::{Arc, RwLock};

use diagnosis::{Limits, RuleSet};
use handlers::disk::DiskPool;
use handlers::link::LinkKey;
use store::CaseStore;

/// What the web view needs: the store it reads, the link key, the bundle limits used when a
/// stored bundle is opened for evidence context (its temp disk a share of the disk pool, shared
/// with the diagnoses when the chat runs too), and the rule set the texts of a diagnosis come
/// from (shared with the chat, so a reload shows here too).
#[derive(Clone)]
pub struct WebState {
    store: Arc<dyn CaseStore>,
    key: Arc<LinkKey>,
    limits: Arc<Limits>,
    rules: Arc<RwLock<Arc<RuleSet>>>,
    disk: Arc<DiskPool>,
}

impl WebState {
    /// State over `store`, verifying links with `key`, opening bundles within `limits`, with
    /// the texts of `rules` (the cell `handlers::Context::rules`).
    pub fn new(
        store: Arc<dyn CaseStore>,
        key: LinkKey,
        limits: Limits,
        rules: Arc<RwLock<Arc<RuleSet>>>,
    ) -> WebState {
        WebState {
            store,
            key: Arc::new(key),
            limits: Arc::new(limits),
            rules,
            disk: Arc::new(DiskPool::new(handlers::disk::DEFAULT_MAX_TOTAL_DISK_BYTES)),
        }
    }

    /// Take the temp disk of evidence pages from `pool` (the chat's, `handlers::Context::disk`)
    /// instead of a pool of the web view's own.
    pub fn with_disk(mut self, pool: Arc<DiskPool>) -> WebState {
        self.disk = pool;
        self
    }

    /// The current rule set.
    pub(crate) fn rule_set(&self) -> Arc<RuleSet> {
        match self.rules.read() {
            Ok(r) => Arc::clone(&r),
            // A writer panicked mid-swap; the Arc inside is still a whole rule set.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

/// The router with every page, for embedding or tests.
pub fn router(state: WebState) -> axum::Router {
    routes::router(state)
}

/// Serve the web view on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: WebState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    let addr = listener.local_addr().map_err(WebError::Io)?;
    tracing::info!(%addr, "web view listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(WebError::Io)
}

/// Unix seconds now.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
