//! Purpose: fetch an attachment into the content-addressed bundle store. URLs are checked against
//! the host allowlist (also on redirects), the announced size and the streamed size are capped,
//! and the whole download has a timeout. Nothing is stored when any check fails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use store::{BundleWriter, CaseStore, StoredBundle};

use crate::error::{DownloadError, HandlerError};
use crate::{Attachment, AttachmentSource, DownloadConfig};

/// Is `url` an http(s) link to an allowed host? Returns the host on success.
pub fn check_url(url: &str, cfg: &DownloadConfig) -> Result<reqwest::Url, DownloadError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| DownloadError::BadUrl(url.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(DownloadError::BadUrl(url.to_string()));
    }
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    if !host_allowed(&host, &cfg.allowed_hosts) {
        return Err(DownloadError::HostNotAllowed(host));
    }
    Ok(parsed)
}

fn host_allowed(host: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|h| h.eq_ignore_ascii_case(host))
}

/// An HTTP client whose redirects stay on allowed hosts (a CDN link must not bounce elsewhere).
pub fn client(cfg: &DownloadConfig) -> reqwest::Client {
    let allowed = cfg.allowed_hosts.clone();
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        let ok = attempt
            .url()
            .host_str()
            .is_some_and(|h| host_allowed(h, &allowed));
        if ok && attempt.previous().len() < 5 {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    reqwest::Client::builder()
        .redirect(policy)
        .timeout(cfg.timeout)
        .build()
        .unwrap_or_default()
}

/// Fetch `att` into the store: [`receive`] it, then [`keep`] it.
pub async fn fetch(
    http: &reqwest::Client,
    cfg: &DownloadConfig,
    store: Arc<dyn CaseStore>,
    att: &Attachment,
) -> Result<StoredBundle, HandlerError> {
    let fetched = receive(http, cfg, store.clone(), att).await?;
    keep(store, fetched).await
}

/// An attachment received and not yet stored.
#[derive(Debug)]
pub enum Fetched {
    /// A file path, already copied into the store with `put_bundle`.
    Stored(StoredBundle),
    /// A download in the store's bundle writer, for [`keep`].
    Downloaded {
        /// The bundle as received (hashed; sealed in an encrypted store).
        writer: Box<BundleWriter>,
        /// The attachment's name, for the log.
        name: String,
        /// How long the download took.
        took: Duration,
    },
}

/// Receive `att`: the download streams into the store's own bundle writer (hashed as it
/// arrives, beside the stored bundles), which [`keep`] then stores by a rename, so the bundle
/// is written once and read by nobody before the engine. A file path is copied in with
/// `put_bundle`.
#[tracing::instrument(skip(http, cfg, store, att), fields(name = %att.name))]
pub async fn receive(
    http: &reqwest::Client,
    cfg: &DownloadConfig,
    store: Arc<dyn CaseStore>,
    att: &Attachment,
) -> Result<Fetched, HandlerError> {
    if att.size.is_some_and(|s| s > cfg.max_bytes) {
        return Err(too_large(cfg));
    }
    let started = Instant::now();
    match &att.source {
        AttachmentSource::Path(p) => Ok(Fetched::Stored(
            store_path(store, p.clone(), cfg.max_bytes).await?,
        )),
        AttachmentSource::Url(url) => {
            let url = check_url(url, cfg).map_err(dl)?;
            let secs = timeout_secs(cfg);
            let writer = store.bundle_writer()?;
            let writer = tokio::time::timeout(cfg.timeout, download(http, url, cfg, writer))
                .await
                .map_err(|_| dl(DownloadError::Timeout { secs }))??;
            Ok(Fetched::Downloaded {
                writer: Box::new(writer),
                name: att.name.clone(),
                took: started.elapsed(),
            })
        }
    }
}

/// Store what [`receive`] fetched: the store adopts a download (fsync, rename, fsync of the
/// directory, off the async threads). Logs (debug, "bundle stored") how long the download and
/// the storing took, which the bot-path benchmark reports per stage.
pub async fn keep(
    store: Arc<dyn CaseStore>,
    fetched: Fetched,
) -> Result<StoredBundle, HandlerError> {
    let (writer, name, took) = match fetched {
        Fetched::Stored(stored) => return Ok(stored),
        Fetched::Downloaded { writer, name, took } => (writer, name, took),
    };
    let storing = Instant::now();
    let stored = tokio::task::spawn_blocking(move || store.adopt_bundle(*writer))
        .await
        .map_err(|e| HandlerError::Internal(format!("bundle store task: {e}")))??;
    tracing::debug!(
        bundle = %name,
        download_us = micros(took),
        store_us = micros(storing.elapsed()),
        "bundle stored"
    );
    Ok(stored)
}

/// A duration in whole microseconds, for log fields.
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The timeout in whole seconds for messages (at least 1).
fn timeout_secs(cfg: &DownloadConfig) -> u64 {
    cfg.timeout.as_millis().div_ceil(1000).max(1) as u64
}

fn dl(e: DownloadError) -> HandlerError {
    HandlerError::User(crate::UserError::Download(e))
}

fn too_large(cfg: &DownloadConfig) -> HandlerError {
    dl(DownloadError::TooLarge {
        limit: cfg.max_bytes,
    })
}

/// Stream the body into `writer`, stopping as soon as it passes `max`. On any failure the
/// writer is dropped, which removes what it received: nothing is stored.
async fn download(
    http: &reqwest::Client,
    url: reqwest::Url,
    cfg: &DownloadConfig,
    mut writer: BundleWriter,
) -> Result<BundleWriter, HandlerError> {
    let max = cfg.max_bytes;
    // The client's own timeout may fire before the outer one; both mean the same to the user.
    let net = |e: reqwest::Error| {
        if e.is_timeout() {
            dl(DownloadError::Timeout {
                secs: timeout_secs(cfg),
            })
        } else {
            dl(DownloadError::Network(without_url(&e)))
        }
    };
    let mut resp = http.get(url).send().await.map_err(net)?;
    let status = resp.status();
    // Discord CDN links expire: an expired signature answers 403 or 404.
    if matches!(status.as_u16(), 403 | 404 | 410) {
        return Err(dl(DownloadError::NotFound(status.as_u16())));
    }
    if !status.is_success() {
        return Err(dl(DownloadError::Status(status.as_u16())));
    }
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(dl(DownloadError::TooLarge { limit: max }));
    }
    while let Some(chunk) = resp.chunk().await.map_err(net)? {
        if writer.bytes() + chunk.len() as u64 > max {
            return Err(dl(DownloadError::TooLarge { limit: max }));
        }
        writer.append(&chunk)?;
    }
    Ok(writer)
}

// Attachment URLs carry signed query strings: describe the failure without repeating the URL.
fn without_url(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "cannot connect".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else if e.is_redirect() {
        "redirected to a host that is not allowed".into()
    } else {
        "connection error".into()
    }
}

async fn store_path(
    store: Arc<dyn CaseStore>,
    path: std::path::PathBuf,
    max: u64,
) -> Result<StoredBundle, HandlerError> {
    tokio::task::spawn_blocking(move || {
        let file_err = |e: String| dl(DownloadError::File(format!("{}: {e}", path.display())));
        let meta = std::fs::metadata(&path).map_err(|e| file_err(e.to_string()))?;
        if meta.is_dir() {
            return Err(file_err("is a directory; please zip it first".into()));
        }
        if meta.len() > max {
            return Err(dl(DownloadError::TooLarge { limit: max }));
        }
        let mut f = std::fs::File::open(&path).map_err(|e| file_err(e.to_string()))?;
        Ok(store.put_bundle(&mut f)?)
    })
    .await
    .map_err(|e| HandlerError::Internal(format!("bundle store task: {e}")))?
}
