//! `[store]`: which `CaseStore` casebot runs on, validated with the rest of the config.
//!
//! `kind = "sled"` (the default) is the embedded store in `data_dir`. `kind = "postgres"` is the
//! shared store of several processes (see `docs/scaling.md`); its URL may hold a password, so,
//! like the Discord token, it never lives in the config file: it comes from
//! `CASEBOT_DATABASE_URL` or from the file named by `url_file` (exactly one of them). `data_dir`
//! then only holds this process's bundle cache.
//!
//! Either store may be encrypted at rest. Its key never lives in the config file either: it
//! comes from `CASEBOT_STORE_KEY` (32 bytes as 64 hex digits or base64) or from the file named
//! by `CASEBOT_STORE_KEY_FILE` (exactly one of them), and `casebot cases keygen` prints a new
//! one. A new store opened with a key is encrypted; see `SECURITY.md` for the rest.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use store::{CaseStore, PgStore, SledStore, StoreError, StoreKey};

/// Environment variable holding the PostgreSQL URL.
pub const DATABASE_URL_ENV: &str = "CASEBOT_DATABASE_URL";

/// Environment variable holding the store key.
pub const STORE_KEY_ENV: &str = "CASEBOT_STORE_KEY";

/// Environment variable naming a file that holds the store key.
pub const STORE_KEY_FILE_ENV: &str = "CASEBOT_STORE_KEY_FILE";

/// `[store]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// "sled" (embedded, the default) or "postgres" (shared by several processes).
    pub kind: Option<String>,
    /// Directory of the embedded store and its bundles (default "./casebot-data"); with
    /// `kind = "postgres"`, the directory of this process's bundle cache.
    pub data_dir: Option<PathBuf>,
    /// File holding the PostgreSQL URL (`kind = "postgres"`); the alternative to the
    /// `CASEBOT_DATABASE_URL` variable.
    pub url_file: Option<PathBuf>,
    /// `kind = "postgres"`: seconds a diagnosis job stays with its process without a renewal;
    /// after a process dies, others take its jobs over once this has passed (default 30).
    pub lease_secs: Option<u64>,
    /// Never allowed: present only to reject a URL pasted into the file with a clear message.
    pub url: Option<toml::Value>,
    /// Never allowed: present only to reject a store key pasted into the file with a clear
    /// message.
    pub key: Option<toml::Value>,
    /// Never allowed, like `key`: the key file is named in the environment.
    pub key_file: Option<toml::Value>,
}

/// Which store, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// The embedded sled store in `data_dir`.
    Sled,
    /// PostgreSQL; the URL comes from the environment or from `url_file`.
    Postgres {
        /// File holding the URL, if configured.
        url_file: Option<PathBuf>,
    },
}

/// Validated `[store]`.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Which store.
    pub kind: StoreKind,
    /// Store directory (sled) or bundle cache directory (postgres).
    pub data_dir: PathBuf,
    /// Job lease of a shared store.
    pub lease: Duration,
}

/// Check `[store]`, adding every problem to `problems`.
pub fn validate_store(raw: RawStore, problems: &mut Vec<String>) -> StoreConfig {
    if raw.url.is_some() {
        problems.push(format!(
            "store.url: a database URL must not be written in the config file (it may hold a \
             password): set {DATABASE_URL_ENV} or point store.url_file at a file holding it"
        ));
    }
    if raw.key.is_some() {
        problems.push(format!(
            "store.key: the store encryption key must not be written in the config file: set \
             {STORE_KEY_ENV} or name a file holding it in {STORE_KEY_FILE_ENV}"
        ));
    }
    if raw.key_file.is_some() {
        problems.push(format!(
            "store.key_file: name the store key file in {STORE_KEY_FILE_ENV}, not in the \
             config file (the key stays out of the configuration altogether)"
        ));
    }
    let data_dir = raw
        .data_dir
        .unwrap_or_else(|| PathBuf::from("./casebot-data"));
    if data_dir.as_os_str().is_empty() {
        problems.push("store.data_dir must not be empty".to_owned());
    }
    let kind = match raw.kind.as_deref() {
        None | Some("sled") => {
            if let Some(file) = &raw.url_file {
                problems.push(format!(
                    "store.url_file = {} is set but store.kind is \"sled\"; set \
                     store.kind = \"postgres\" or remove it",
                    file.display()
                ));
            }
            StoreKind::Sled
        }
        Some("postgres") => {
            if raw
                .url_file
                .as_ref()
                .is_some_and(|f| f.as_os_str().is_empty())
            {
                problems.push("store.url_file must not be empty".to_owned());
            }
            StoreKind::Postgres {
                url_file: raw.url_file,
            }
        }
        Some(other) => {
            problems.push(format!(
                "store.kind = {other:?}: expected \"sled\" or \"postgres\""
            ));
            StoreKind::Sled
        }
    };
    let lease = match raw.lease_secs {
        Some(secs) if secs < 3 => {
            problems.push(format!(
                "store.lease_secs = {secs}: must be at least 3 (leases are renewed every third)"
            ));
            store::pg::DEFAULT_LEASE
        }
        Some(_) if !matches!(kind, StoreKind::Postgres { .. }) => {
            problems.push("store.lease_secs applies to store.kind = \"postgres\" only".into());
            store::pg::DEFAULT_LEASE
        }
        Some(secs) => Duration::from_secs(secs),
        None => store::pg::DEFAULT_LEASE,
    };
    StoreConfig {
        kind,
        data_dir,
        lease,
    }
}

impl StoreConfig {
    /// The PostgreSQL URL from `CASEBOT_DATABASE_URL` (passed in as `env`) or `url_file`;
    /// exactly one. Errors name the key.
    pub fn database_url(&self, env: Option<String>) -> Result<SecretString, String> {
        let StoreKind::Postgres { url_file } = &self.kind else {
            return Err("store.kind is \"sled\": there is no database URL".into());
        };
        let env = env.filter(|u| !u.trim().is_empty());
        match (env, url_file) {
            (Some(_), Some(file)) => Err(format!(
                "the database URL is set twice: {DATABASE_URL_ENV} and store.url_file = {}; \
                 keep one",
                file.display()
            )),
            (Some(url), None) => Ok(SecretString::from(url.trim().to_owned())),
            (None, Some(file)) => {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| format!("cannot read store.url_file {}: {e}", file.display()))?;
                let url = text.trim();
                if url.is_empty() {
                    return Err(format!("store.url_file {} is empty", file.display()));
                }
                Ok(SecretString::from(url.to_owned()))
            }
            (None, None) => Err(format!(
                "store.kind = \"postgres\" needs the database URL: set {DATABASE_URL_ENV} or \
                 store.url_file"
            )),
        }
    }

    /// Open the configured store (blocking: call it off the async threads). The database URL
    /// and the store key are read from the environment here.
    pub fn open(&self) -> anyhow::Result<Arc<dyn CaseStore>> {
        let key = store_key(
            std::env::var(STORE_KEY_ENV).ok(),
            std::env::var_os(STORE_KEY_FILE_ENV).map(PathBuf::from),
        )
        .map_err(anyhow::Error::msg)?;
        match &self.kind {
            StoreKind::Sled => open_sled(&self.data_dir, key.as_ref()),
            StoreKind::Postgres { .. } => {
                let env = std::env::var(DATABASE_URL_ENV).ok();
                let url = self.database_url(env).map_err(anyhow::Error::msg)?;
                let cache = self.data_dir.join("bundle-cache");
                let store = PgStore::open_keyed(url.expose_secret(), &cache, key.as_ref())
                    .map_err(|e| open_error(e).context("cannot open the store"))?
                    .with_lease(self.lease);
                if store.is_encrypted() {
                    tracing::info!("store: encrypted at rest");
                }
                tracing::info!(database = store.target(), "store: PostgreSQL");
                Ok(Arc::new(store))
            }
        }
    }

    /// Where the store is, for messages (never the URL).
    pub fn describe(&self) -> String {
        match &self.kind {
            StoreKind::Sled => self.data_dir.display().to_string(),
            StoreKind::Postgres { .. } => "the PostgreSQL database".into(),
        }
    }
}

/// The store key from `CASEBOT_STORE_KEY` (`env`) or the file named by
/// `CASEBOT_STORE_KEY_FILE` (`file`); `None` when neither is set. Errors name the variable and
/// say what is wrong, never the key.
pub fn store_key(env: Option<String>, file: Option<PathBuf>) -> Result<Option<StoreKey>, String> {
    let env = env.filter(|k| !k.trim().is_empty());
    let file = file.filter(|f| !f.as_os_str().is_empty());
    match (env, file) {
        (Some(_), Some(file)) => Err(format!(
            "the store key is set twice: {STORE_KEY_ENV} and {STORE_KEY_FILE_ENV} = {}; keep one",
            file.display()
        )),
        (Some(text), None) => StoreKey::parse(&text)
            .map(Some)
            .map_err(|e| format!("{STORE_KEY_ENV}: {e}")),
        (None, Some(file)) => {
            let text = SecretString::from(std::fs::read_to_string(&file).map_err(|e| {
                format!(
                    "{STORE_KEY_FILE_ENV}: cannot read the store key file {}: {e}",
                    file.display()
                )
            })?);
            StoreKey::parse(text.expose_secret())
                .map(Some)
                .map_err(|e| format!("{STORE_KEY_FILE_ENV} = {}: {e}", file.display()))
        }
        (None, None) => Ok(None),
    }
}

/// Open the embedded store, encrypted with `key` if given. The errors say what to do: "in use
/// by another casebot process", a missing or wrong key, a key for an unencrypted store.
pub fn open_sled(dir: &Path, key: Option<&StoreKey>) -> anyhow::Result<Arc<dyn CaseStore>> {
    match SledStore::open_keyed(dir, key) {
        Ok(store) => {
            if store.is_encrypted() {
                tracing::info!(path = %dir.display(), "store: encrypted at rest");
            }
            Ok(Arc::new(store))
        }
        // The error already names the directory and the other process.
        Err(e @ StoreError::Locked { .. }) => Err(anyhow::anyhow!(
            "{e}; stop it first or use another store.data_dir"
        )),
        Err(e) => Err(open_error(e).context("cannot open the store")),
    }
}

/// A store's start-up error, with what to do about a missing or wrong key.
fn open_error(e: StoreError) -> anyhow::Error {
    match e {
        e @ StoreError::KeyRequired { .. } => {
            anyhow::anyhow!("{e}: set {STORE_KEY_ENV} or {STORE_KEY_FILE_ENV}")
        }
        e @ StoreError::WrongKey { .. } => {
            anyhow::anyhow!("{e}; check {STORE_KEY_ENV} / {STORE_KEY_FILE_ENV}")
        }
        e => anyhow::Error::new(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml_text: &str) -> (StoreConfig, Vec<String>) {
        let raw: RawStore = toml::from_str(toml_text).unwrap();
        let mut problems = Vec::new();
        let cfg = validate_store(raw, &mut problems);
        (cfg, problems)
    }

    #[test]
    fn sled_is_the_default() {
        let (cfg, problems) = check("");
        assert!(problems.is_empty());
        assert_eq!(cfg.kind, StoreKind::Sled);
    }

    #[test]
    fn bad_values_name_their_key() {
        let (_, problems) = check("kind = \"mysql\"\nurl = \"postgres://u:pw@h/db\"");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("store.kind = \"mysql\""))
        );
        assert!(problems.iter().any(|p| p.starts_with("store.url:")));
        assert!(problems.iter().all(|p| !p.contains("pw@")), "{problems:?}");
        let (_, problems) = check("url_file = \"/run/secrets/db\"");
        assert!(problems[0].contains("store.url_file"), "{problems:?}");
    }

    #[test]
    fn database_url_from_env_or_file_but_not_both() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("url");
        std::fs::write(&file, "postgres://casebot@db/cases\n").unwrap();
        let (mut cfg, problems) = check("kind = \"postgres\"");
        assert!(problems.is_empty());
        let missing = cfg.database_url(None).unwrap_err();
        assert!(missing.contains(DATABASE_URL_ENV) && missing.contains("store.url_file"));
        let url = cfg.database_url(Some("postgres://x@y/z".into())).unwrap();
        assert_eq!(url.expose_secret(), "postgres://x@y/z");
        cfg.kind = StoreKind::Postgres {
            url_file: Some(file.clone()),
        };
        let url = cfg.database_url(None).unwrap();
        assert_eq!(url.expose_secret(), "postgres://casebot@db/cases");
        assert!(
            cfg.database_url(Some("x".into()))
                .unwrap_err()
                .contains("twice")
        );
        cfg.kind = StoreKind::Postgres {
            url_file: Some(dir.path().join("missing")),
        };
        assert!(
            cfg.database_url(None)
                .unwrap_err()
                .contains("cannot read store.url_file")
        );
    }

    #[test]
    fn a_store_key_in_the_config_file_is_refused_without_echoing_it() {
        let secret = "ab".repeat(32);
        let (_, problems) = check(&format!("key = \"{secret}\"\nkey_file = \"/k\""));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("store.key:") && problems[0].contains(STORE_KEY_ENV));
        assert!(problems[1].starts_with("store.key_file:"), "{problems:?}");
        assert!(
            problems.iter().all(|p| !p.contains(&secret)),
            "{problems:?}"
        );
    }

    #[test]
    fn store_key_from_env_or_file_but_not_both() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("store.key");
        let key = StoreKey::generate().to_hex();
        std::fs::write(&file, format!("{key}\n")).unwrap();
        assert!(store_key(None, None).unwrap().is_none());
        let from_env = store_key(Some(key.clone()), None).unwrap().unwrap();
        let from_file = store_key(None, Some(file.clone())).unwrap().unwrap();
        assert_eq!(from_env.to_hex(), key);
        assert_eq!(from_file.to_hex(), key);
        let twice = store_key(Some(key.clone()), Some(file)).unwrap_err();
        assert!(twice.contains("set twice"), "{twice}");
        let bad = store_key(Some("not-a-key".into()), None).unwrap_err();
        assert!(
            bad.starts_with(STORE_KEY_ENV) && !bad.contains("not-a-key"),
            "{bad}"
        );
        let missing = store_key(None, Some(dir.path().join("none"))).unwrap_err();
        assert!(
            missing.contains("cannot read the store key file"),
            "{missing}"
        );
    }
}
