//! The web view's glue: `--web ADDR` on `serve` and `console`, the link key from the
//! environment, and `casebot link` (docs/ARCHITECTURE.md, "The web view").
//!
//! The key is a secret, so it never comes from the config file: `CASEBOT_WEB_KEY` holds it, or
//! `CASEBOT_WEB_KEY_FILE` names a file holding it (setting both is an error). Replacing the key
//! and restarting casebot revokes every link signed with the old one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use handlers::Role;
use handlers::link::{DEFAULT_TTL, LinkClaims, LinkIssuer, LinkKey};
use store::{CaseId, CaseStore};

/// The read-only web view (off unless `--web` is given).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WebArgs {
    /// Also serve the read-only web view on this address, e.g. 127.0.0.1:8080. Needs a link
    /// key in CASEBOT_WEB_KEY_FILE (or CASEBOT_WEB_KEY); see `casebot link --help`.
    #[arg(long, value_name = "ADDR")]
    pub web: Option<SocketAddr>,
    /// Base URL of the web view as users reach it, for the links casebot hands out
    /// (default: http://ADDR).
    #[arg(long, value_name = "URL", requires = "web")]
    pub web_url: Option<String>,
}

/// `casebot link` arguments.
#[derive(Debug, clap::Args)]
pub struct LinkArgs {
    /// The only case the link opens (CAS-12345-ABC123). An engineer link without one opens
    /// the dashboard, search and every case; a customer link always names its case.
    pub case: Option<String>,
    /// engineer (codes, evidence in context) or customer (customer view, no log lines).
    #[arg(long, default_value = "engineer")]
    pub role: String,
    /// Who the link is for (shown on the pages; default: $USER).
    #[arg(long)]
    pub user: Option<String>,
    /// How long the link opens pages: 30m, 24h, 7d (at most 30d).
    #[arg(long, default_value = "24h")]
    pub ttl: String,
    /// Base URL of the web view (default: $CASEBOT_WEB_URL, else http://127.0.0.1:8080).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Write a new random link key to FILE and exit. Running casebot with a new key revokes
    /// every link signed with the old one.
    #[arg(long, value_name = "FILE", conflicts_with = "case")]
    pub new_key: Option<PathBuf>,
}

/// The key itself.
pub const KEY_ENV: &str = "CASEBOT_WEB_KEY";
/// A file holding the key.
pub const KEY_FILE_ENV: &str = "CASEBOT_WEB_KEY_FILE";
/// Base URL of the web view for `casebot link` (default `http://127.0.0.1:8080`).
pub const URL_ENV: &str = "CASEBOT_WEB_URL";
/// Longest link lifetime `casebot link` issues.
const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Read the link key from the environment.
pub fn load_key() -> anyhow::Result<LinkKey> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let text = match (env(KEY_ENV), env(KEY_FILE_ENV)) {
        (Some(_), Some(_)) => {
            anyhow::bail!("set either {KEY_ENV} or {KEY_FILE_ENV} for the web link key, not both")
        }
        (Some(key), None) => key,
        (None, Some(file)) => std::fs::read_to_string(&file).with_context(|| {
            format!("cannot read the web link key file {file} ({KEY_FILE_ENV})")
        })?,
        (None, None) => anyhow::bail!(
            "the web view needs a link key: set {KEY_FILE_ENV} to a key file (create one with \
             `casebot link --new-key FILE`) or {KEY_ENV} to the key itself"
        ),
    };
    LinkKey::from_text(&text).map_err(|e| anyhow::anyhow!("{e}"))
}

/// A web view ready to start: its socket is bound and its key loaded, so that a bad address or
/// a missing key stops casebot before it connects anywhere.
pub struct WebServe {
    listener: std::net::TcpListener,
    key: LinkKey,
    base_url: String,
}

impl WebServe {
    /// Bind `args.web` (if given) and load the key; `None` when the web view is off.
    pub fn prepare(args: &WebArgs) -> anyhow::Result<Option<WebServe>> {
        let Some(addr) = args.web else {
            return Ok(None);
        };
        let key = load_key()?;
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("--web: cannot listen on {addr}"))?;
        listener
            .set_nonblocking(true)
            .context("--web: cannot configure the socket")?;
        let bound = listener.local_addr().context("--web: no local address")?;
        let base_url = match &args.web_url {
            Some(url) => check_url(url)?,
            None => format!("http://{bound}"),
        };
        Ok(Some(WebServe {
            listener,
            key,
            base_url,
        }))
    }

    /// The address actually bound (a port of 0 is chosen by the system).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// What the chat `link` command signs with.
    pub fn issuer(&self) -> LinkIssuer {
        LinkIssuer {
            key: self.key.clone(),
            base_url: self.base_url.clone(),
            ttl: DEFAULT_TTL,
        }
    }

    /// Start serving on the current tokio runtime; the returned handle stops it.
    pub fn start(
        self,
        store: Arc<dyn CaseStore>,
        limits: diagnosis::Limits,
        rules: Arc<std::sync::RwLock<Arc<diagnosis::RuleSet>>>,
        disk: Arc<handlers::disk::DiskPool>,
    ) -> anyhow::Result<Running> {
        let listener = tokio::net::TcpListener::from_std(self.listener)
            .context("--web: cannot use the socket")?;
        if let Ok(addr) = listener.local_addr() {
            eprintln!(
                "casebot: web view on http://{addr} (links: {})",
                self.base_url
            );
        }
        let state = web::WebState::new(store, self.key, limits, rules).with_disk(disk);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = web::serve(listener, state, shutdown).await {
                tracing::error!("{e:#}");
            }
        });
        Ok(Running { stop, task })
    }
}

/// A running web view.
pub struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stop accepting, finish the requests in flight, and wait.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

fn check_url(url: &str) -> anyhow::Result<String> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        anyhow::bail!("web URL `{url}` must start with http:// or https://");
    }
    Ok(url.to_string())
}

/// Parse a lifetime: `90s`, `30m`, `24h`, `7d`, or seconds.
fn parse_ttl(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| anyhow::anyhow!("--ttl `{text}`: expected e.g. 30m, 24h or 7d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => anyhow::bail!("--ttl `{text}`: the unit must be s, m, h or d"),
    };
    let ttl = Duration::from_secs(secs);
    if ttl.is_zero() || ttl > MAX_TTL {
        anyhow::bail!("--ttl `{text}`: a link lives between 1 second and 30 days");
    }
    Ok(ttl)
}

/// `casebot link`: print a signed link, or write a new key file.
pub fn run(args: &LinkArgs) -> anyhow::Result<ExitCode> {
    if let Some(file) = &args.new_key {
        write_new_key(file)?;
        return Ok(ExitCode::SUCCESS);
    }
    let role = match args.role.to_ascii_lowercase().as_str() {
        "engineer" => Role::Engineer,
        "customer" => Role::Customer,
        other => anyhow::bail!("--role `{other}`: expected engineer or customer"),
    };
    let case = args
        .case
        .as_deref()
        .map(CaseId::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if role == Role::Customer && case.is_none() {
        anyhow::bail!(
            "a customer link opens one case: give its id (casebot link CAS-… --role customer)"
        );
    }
    let user = args
        .user
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "casebot".into());
    let ttl = parse_ttl(&args.ttl)?;
    let base_url = match args
        .base_url
        .clone()
        .or_else(|| std::env::var(URL_ENV).ok())
    {
        Some(url) => check_url(&url)?,
        None => "http://127.0.0.1:8080".to_string(),
    };
    let issuer = LinkIssuer {
        key: load_key()?,
        base_url,
        ttl,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let claims = LinkClaims {
        case,
        user,
        role,
        expires: (now + ttl).as_secs(),
    };
    let url = issuer.url(&claims).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{url}");
    eprintln!(
        "casebot: valid until {} for {} ({})",
        handlers::summary::utc(claims.expires),
        claims.user,
        args.role.to_ascii_lowercase()
    );
    Ok(ExitCode::SUCCESS)
}

/// Write a fresh key to `file` (owner-only), replacing any key there.
fn write_new_key(file: &Path) -> anyhow::Result<()> {
    let key = LinkKey::generate();
    let tmp = PathBuf::from(format!("{}.new", file.display()));
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut f = options
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        writeln!(f, "{key}")
            .and_then(|()| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, file).with_context(|| format!("cannot replace {}", file.display()))?;
    eprintln!(
        "casebot: new web link key in {}. Start casebot with {KEY_FILE_ENV}={0}; links signed \
         with the previous key are refused once it runs with this one.",
        file.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_ttl("90").ok(), Some(Duration::from_secs(90)));
        assert_eq!(parse_ttl("30m").ok(), Some(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("7d").ok(), Some(Duration::from_secs(604_800)));
        assert!(parse_ttl("0h").is_err());
        assert!(parse_ttl("31d").is_err());
        assert!(parse_ttl("2w").is_err());
        assert!(parse_ttl("soon").is_err());
    }
}
