//! Configuration in two phases: [`RawConfig`] is what the TOML file says (serde,
//! `deny_unknown_fields`, every field documented); [`Config::from_raw`] checks it and lists every
//! problem at once, so an operator fixes the file in one go instead of one error per start.
//!
//! The Discord token never lives in the TOML: it comes from `DISCORD_TOKEN` or `token_file`
//! (exactly one of them) and is held as a [`SecretString`] so it cannot end up in a log line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use diagnosis::{Lang, Limits};
use handlers::{DownloadConfig, HandlersConfig, RateConfig};
use secrecy::SecretString;
use serde::Deserialize;

pub use crate::store_config::{RawStore, StoreConfig, StoreKind};

/// Config file used when `--config` is not given and the file exists.
pub const DEFAULT_CONFIG_FILE: &str = "casebot.toml";
/// Environment variable holding the Discord bot token.
pub const TOKEN_ENV: &str = "DISCORD_TOKEN";

/// The config file as written (phase one). Relative paths are relative to the working directory.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Default reply language for new users and cases: "zh" or "en" (default "zh").
    pub lang: Option<String>,
    /// File holding the Discord bot token; the alternative to the `DISCORD_TOKEN` variable.
    pub token_file: Option<PathBuf>,
    /// Never allowed: present only to reject a token pasted into the file with a clear message.
    pub token: Option<toml::Value>,
    /// Discord connection and which guilds/channels are served.
    #[serde(default)]
    pub discord: RawDiscord,
    /// The case store.
    #[serde(default)]
    pub store: RawStore,
    /// Attachment downloads.
    #[serde(default)]
    pub download: RawDownload,
    /// Bundle unpacking limits.
    #[serde(default)]
    pub limits: RawLimits,
    /// The diagnosis pool.
    #[serde(default)]
    pub diagnoses: RawDiagnoses,
    /// Rate limits and quotas per user, message and guild.
    #[serde(default)]
    pub rate: RawRate,
    /// How long stored customer files are kept.
    #[serde(default)]
    pub retention: RawRetention,
}

/// `[retention]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    /// Days after a case is closed when its stored bundles and pastes are deleted; 0 keeps them
    /// (default 90).
    pub bundle_days: Option<u64>,
}

/// `[discord]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDiscord {
    /// Base URL of the Discord API (default `https://discord.com`); the gateway URL is asked from
    /// it. Tests point it at a fake Discord on 127.0.0.1. When set, casebot's own rate limiter is
    /// off: the other end is a fake or a rate-limiting proxy.
    pub api_base_url: Option<String>,
    /// Application id, needed only to register slash commands before the first READY.
    pub application_id: Option<u64>,
    /// Guild (server) ids casebot serves; messages from any other guild are ignored.
    #[serde(default)]
    pub allowed_guilds: Vec<u64>,
    /// Channel ids casebot serves (threads under them count too); empty: every channel of the
    /// allowed guilds.
    #[serde(default)]
    pub allowed_channels: Vec<u64>,
    /// Roles whose members are engineers, by id ("123…") or by name ("Support Engineers").
    #[serde(default)]
    pub engineer_roles: Vec<String>,
    /// Channel id where case summaries are posted at close (besides the case thread).
    pub summary_channel: Option<u64>,
    /// Register slash commands in the allowed guilds on connect (default true).
    pub slash_commands: Option<bool>,
    /// The gateway shards this process runs, "first-last" or one number (e.g. "0-1"); with
    /// `total_shards`. Several processes on one PostgreSQL store each take a range. Default:
    /// every shard, in this process.
    pub shards: Option<String>,
    /// How many shards the bot runs over all processes; with `shards`.
    pub total_shards: Option<u32>,
    /// Never allowed: present only to reject a token pasted into the file with a clear message.
    pub token: Option<toml::Value>,
}

/// `[download]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDownload {
    /// Host names attachments may be fetched from (default: Discord's CDN hosts).
    pub allowed_hosts: Option<Vec<String>>,
    /// Largest attachment in bytes (default 200 MiB).
    pub max_bytes: Option<u64>,
    /// Whole-download timeout in seconds (default 120).
    pub timeout_secs: Option<u64>,
}

/// `[limits]`: caps applied while unpacking a bundle.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Total bytes unpacked from archives (default 8 GiB).
    pub max_unpacked_bytes: Option<u64>,
    /// Temp disk one bundle may write while unpacking, every byte counted (default 800 MiB).
    pub max_disk_bytes: Option<u64>,
    /// Temp disk all diagnoses running at the same time may write together; each bundle's
    /// budget is its share of it (default 1600 MiB).
    pub max_total_disk_bytes: Option<u64>,
    /// Total files across all archives (default 10000).
    pub max_entries: Option<usize>,
    /// Archive nesting depth; a zip in a zip is 2 (default 4).
    pub max_depth: Option<usize>,
    /// Largest compression ratio of one entry (default 200).
    pub max_ratio: Option<u64>,
    /// Longest line kept; longer lines are truncated (default 65536).
    pub max_line_bytes: Option<usize>,
}

/// `[rate]`: rate limits and quotas. A message over a limit gets a polite reply naming it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRate {
    /// Messages a customer may send casebot per minute (default 20).
    pub messages_per_minute: Option<u32>,
    /// Attachments and pasted logs a customer may send per minute (default 6).
    pub uploads_per_minute: Option<u32>,
    /// Messages an engineer may send per minute (default 120).
    pub engineer_messages_per_minute: Option<u32>,
    /// Attachments and pasted logs an engineer may send per minute (default 30).
    pub engineer_uploads_per_minute: Option<u32>,
    /// Attachments diagnosed from one message; the rest are named and skipped (default 10).
    pub attachments_per_message: Option<usize>,
    /// Messages with diagnosis work handled at the same time for one guild; more are refused
    /// until one finishes (default 4).
    pub diagnoses_per_guild: Option<usize>,
}

/// `[diagnoses]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDiagnoses {
    /// Diagnoses run at the same time; further bundles wait (default 2).
    pub max_concurrent: Option<usize>,
    /// Load the rules from this directory instead of the built-in catalogue, and reload them
    /// while serving when the files change; open cases are then re-diagnosed.
    pub rules_dir: Option<PathBuf>,
    /// How often `rules_dir` is checked for changes, in seconds (default 30).
    pub rules_poll_secs: Option<u64>,
    /// A diagnosis running longer than this many milliseconds edits its "Diagnosing …" message
    /// with its progress (default 2000).
    pub progress_after_ms: Option<u64>,
    /// Milliseconds between two progress edits, at least 100 (default 2000; Discord allows
    /// about five edits in five seconds per channel).
    pub progress_every_ms: Option<u64>,
}

/// Where the rules come from while serving.
#[derive(Debug, Clone)]
pub struct RulesReload {
    /// The rules directory.
    pub dir: PathBuf,
    /// How often it is checked for a new rule-set version.
    pub every: Duration,
    /// The rule set compiled when the config was validated: `serve` takes it to start with
    /// instead of compiling the directory a second time (and so holds no stale copy after a
    /// reload).
    pub loaded: Option<std::sync::Arc<diagnosis::RuleSet>>,
}

/// An engineer role as configured: a snowflake id or a role name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    /// Role id.
    Id(u64),
    /// Role name (compared case-insensitively).
    Name(String),
}

/// Validated Discord settings.
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    /// API base URL; `None` means the real Discord.
    pub api_base_url: Option<String>,
    /// Application id, if configured.
    pub application_id: Option<u64>,
    /// Served guilds.
    pub allowed_guilds: Vec<u64>,
    /// Served channels (empty: all channels of the allowed guilds).
    pub allowed_channels: Vec<u64>,
    /// Engineer roles.
    pub engineer_roles: Vec<RoleRef>,
    /// Summary channel.
    pub summary_channel: Option<u64>,
    /// Register slash commands on connect.
    pub slash_commands: bool,
    /// The shard range of this process; `None`: all shards here.
    pub shards: Option<crate::shards::ShardRange>,
}

/// Validated configuration (phase two).
#[derive(Debug, Clone)]
pub struct Config {
    /// Discord settings.
    pub discord: DiscordConfig,
    /// Store directory (sled) or bundle cache directory (postgres): `store.data_dir`.
    pub data_dir: PathBuf,
    /// Which store.
    pub store: StoreConfig,
    /// Token file, if configured.
    pub token_file: Option<PathBuf>,
    /// Settings handed to the handlers.
    pub handlers: HandlersConfig,
    /// Rules loaded from (and reloaded from) a directory; `None`: the built-in catalogue.
    pub rules: Option<RulesReload>,
    /// Days after a case is closed when `serve` deletes its bundles and pastes; `None` keeps
    /// them.
    pub bundle_days: Option<u64>,
}

/// Default of `retention.bundle_days`.
pub const DEFAULT_BUNDLE_DAYS: u64 = 90;

/// Every problem found in a config, listed together.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {} problem(s):\n  - {}", .problems.len(), .problems.join("\n  - "))]
pub struct ConfigError {
    /// Where the config came from (file path or "built-in defaults").
    pub source_name: String,
    /// One line per problem.
    pub problems: Vec<String>,
}

const TOKEN_IN_FILE: &str = "a Discord token must not be written in the config file: \
     set DISCORD_TOKEN or point `token_file` at a file holding it";

impl Config {
    /// The store of the offline commands (`console`, `cases`): the sled store in `data`
    /// (`--data`) if given, else the store `serve` would use (`[store]` of the config).
    pub fn offline_store(
        config: Option<&Path>,
        data: Option<PathBuf>,
    ) -> anyhow::Result<StoreConfig> {
        match data {
            Some(dir) => Ok(StoreConfig {
                kind: StoreKind::Sled,
                data_dir: dir,
                lease: store::pg::DEFAULT_LEASE,
            }),
            None => Ok(Config::load(config)
                .context("cannot find the store from the config (or pass --data DIR)")?
                .store),
        }
    }

    /// Load the config: `path` if given (must exist), else `./casebot.toml` if present, else the
    /// built-in defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let default = Path::new(DEFAULT_CONFIG_FILE);
        let path = match path {
            Some(p) => Some(p),
            None if default.exists() => Some(default),
            None => None,
        };
        let Some(path) = path else {
            return Ok(Config::from_raw(RawConfig::default(), "built-in defaults")?);
        };
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config {name}: {e}"))?;
        Ok(Config::parse(&text, &name)?)
    }

    /// Parse and validate TOML text; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError {
            source_name: source_name.to_owned(),
            problems: vec![e.message().to_owned() + &toml_location(text, e.span())],
        })?;
        Config::from_raw(raw, source_name)
    }

    /// Check a raw config; the error lists every problem found.
    pub fn from_raw(raw: RawConfig, source_name: &str) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        if raw.token.is_some() || raw.discord.token.is_some() {
            problems.push(TOKEN_IN_FILE.to_owned());
        }
        let default_lang = match raw.lang.as_deref() {
            None => Lang::Zh,
            Some(s) => s.parse().unwrap_or_else(|_| {
                problems.push(format!("lang = {s:?}: expected \"zh\" or \"en\""));
                Lang::Zh
            }),
        };
        let discord = validate_discord(raw.discord, &mut problems);
        let download = validate_download(raw.download, &mut problems);
        let max_total_disk_bytes = raw
            .limits
            .max_total_disk_bytes
            .unwrap_or(handlers::disk::DEFAULT_MAX_TOTAL_DISK_BYTES);
        if max_total_disk_bytes < 1 << 20 {
            problems.push(format!(
                "limits.max_total_disk_bytes = {max_total_disk_bytes}: must be at least 1048576 (1 MiB)"
            ));
        }
        let limits = validate_limits(raw.limits, &mut problems);
        let rate = validate_rate(raw.rate, &mut problems);
        let max_concurrent = raw.diagnoses.max_concurrent.unwrap_or(2);
        if max_concurrent == 0 {
            problems.push("diagnoses.max_concurrent must be at least 1".to_owned());
        }
        let rules = validate_rules(&raw.diagnoses, &mut problems);
        let progress_after = Duration::from_millis(raw.diagnoses.progress_after_ms.unwrap_or(2000));
        let progress_every = raw.diagnoses.progress_every_ms.unwrap_or(2000);
        if progress_every < 100 {
            problems.push(format!(
                "diagnoses.progress_every_ms = {progress_every}: must be at least 100"
            ));
        }
        let store = crate::store_config::validate_store(raw.store, &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError {
                source_name: source_name.to_owned(),
                problems,
            });
        }
        Ok(Config {
            discord,
            data_dir: store.data_dir.clone(),
            store,
            token_file: raw.token_file,
            handlers: HandlersConfig {
                default_lang,
                download,
                limits,
                max_concurrent_diagnoses: max_concurrent,
                max_total_disk_bytes,
                rate,
                progress_after,
                progress_every: Duration::from_millis(progress_every),
            },
            rules,
            bundle_days: match raw.retention.bundle_days.unwrap_or(DEFAULT_BUNDLE_DAYS) {
                0 => None,
                days => Some(days),
            },
        })
    }

    /// Problems that stop `serve` but not the console: without allowed guilds casebot would
    /// ignore every message, which looks exactly like a broken bot.
    pub fn serve_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.discord.allowed_guilds.is_empty() {
            problems.push(
                "discord.allowed_guilds is empty: casebot would ignore every message".to_owned(),
            );
        }
        problems
    }

    /// The Discord token from `DISCORD_TOKEN` (passed in as `env`) or `token_file`; exactly one.
    pub fn token(&self, env: Option<String>) -> Result<SecretString, String> {
        let env = env.filter(|t| !t.trim().is_empty());
        match (env, &self.token_file) {
            (Some(_), Some(file)) => Err(format!(
                "the Discord token is set twice: {TOKEN_ENV} and token_file = {}; keep one",
                file.display()
            )),
            (Some(t), None) => Ok(SecretString::from(t.trim().to_owned())),
            (None, Some(file)) => read_token_file(file),
            (None, None) => Err(format!(
                "no Discord token: set {TOKEN_ENV} or `token_file` in the config"
            )),
        }
    }
}

fn read_token_file(file: &Path) -> Result<SecretString, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read token_file {}: {e}", file.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("token_file {} is empty", file.display()));
    }
    Ok(SecretString::from(token.to_owned()))
}

fn toml_location(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return String::new();
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    // Name the key as well: a type error ("invalid type: integer `5`, expected a string")
    // does not, and the operator should not have to count lines.
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_text = text[line_start..].lines().next().unwrap_or("");
    let key = line_text
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.starts_with(['#', '[']));
    let section = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(['[', ']']).trim());
    match (section, key) {
        (Some(section), Some(key)) => format!(" (line {line}, key {section}.{key})"),
        (None, Some(key)) => format!(" (line {line}, key {key})"),
        _ => format!(" (line {line})"),
    }
}

/// `[diagnoses] rules_dir`: the directory must hold a rule set that compiles now, so a typo is
/// reported at startup rather than at the first reload.
fn validate_rules(raw: &RawDiagnoses, problems: &mut Vec<String>) -> Option<RulesReload> {
    let every = Duration::from_secs(raw.rules_poll_secs.unwrap_or(30));
    if every.is_zero() {
        problems.push("diagnoses.rules_poll_secs must be at least 1".to_owned());
    }
    let dir = raw.rules_dir.clone()?;
    if !dir.is_dir() {
        problems.push(format!(
            "diagnoses.rules_dir = {:?}: not a directory",
            dir.display().to_string()
        ));
        return None;
    }
    match diagnosis::RuleSet::load_dir(&dir) {
        Ok(set) => Some(RulesReload {
            dir,
            every,
            loaded: Some(std::sync::Arc::new(set)),
        }),
        Err(e) => {
            problems.push(format!("diagnoses.rules_dir: {e}"));
            None
        }
    }
}

fn validate_discord(raw: RawDiscord, problems: &mut Vec<String>) -> DiscordConfig {
    if let Some(url) = &raw.api_base_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        problems.push(format!(
            "discord.api_base_url = {url:?}: expected an http:// or https:// URL"
        ));
    }
    let mut roles = Vec::new();
    for role in raw.engineer_roles {
        let role = role.trim();
        if role.is_empty() {
            problems.push("discord.engineer_roles has an empty entry".to_owned());
        } else if let Ok(id) = role.parse::<u64>() {
            roles.push(RoleRef::Id(id));
        } else {
            roles.push(RoleRef::Name(role.to_owned()));
        }
    }
    for (key, ids) in [
        ("allowed_guilds", &raw.allowed_guilds),
        ("allowed_channels", &raw.allowed_channels),
    ] {
        if ids.contains(&0) {
            problems.push(format!(
                "discord.{key} contains 0, which is not a Discord id"
            ));
        }
    }
    if raw.summary_channel == Some(0) {
        problems.push("discord.summary_channel = 0 is not a Discord id".to_owned());
    }
    let shards = crate::shards::ShardRange::validate(
        raw.shards.as_deref(),
        raw.total_shards,
        ("discord.shards", "discord.total_shards"),
    )
    .unwrap_or_else(|p| {
        problems.push(p);
        None
    });
    DiscordConfig {
        shards,
        api_base_url: raw.api_base_url.map(|u| u.trim_end_matches('/').to_owned()),
        application_id: raw.application_id,
        allowed_guilds: raw.allowed_guilds,
        allowed_channels: raw.allowed_channels,
        engineer_roles: roles,
        summary_channel: raw.summary_channel,
        slash_commands: raw.slash_commands.unwrap_or(true),
    }
}

fn validate_download(raw: RawDownload, problems: &mut Vec<String>) -> DownloadConfig {
    let default = DownloadConfig::default();
    let allowed_hosts = raw.allowed_hosts.unwrap_or(default.allowed_hosts);
    for host in &allowed_hosts {
        if host.is_empty() || host.contains('/') || host.contains(char::is_whitespace) {
            problems.push(format!(
                "download.allowed_hosts entry {host:?} is not a host name (no scheme, no path)"
            ));
        }
    }
    let max_bytes = raw.max_bytes.unwrap_or(default.max_bytes);
    if max_bytes == 0 {
        problems.push("download.max_bytes must be at least 1".to_owned());
    }
    let timeout_secs = raw.timeout_secs.unwrap_or(default.timeout.as_secs());
    if timeout_secs == 0 {
        problems.push("download.timeout_secs must be at least 1".to_owned());
    }
    DownloadConfig {
        allowed_hosts,
        max_bytes,
        timeout: Duration::from_secs(timeout_secs),
    }
}

fn validate_limits(raw: RawLimits, problems: &mut Vec<String>) -> Limits {
    let d = Limits::default();
    let limits = Limits {
        max_unpacked_bytes: raw.max_unpacked_bytes.unwrap_or(d.max_unpacked_bytes),
        max_disk_bytes: raw.max_disk_bytes.unwrap_or(d.max_disk_bytes),
        max_entries: raw.max_entries.unwrap_or(d.max_entries),
        max_depth: raw.max_depth.unwrap_or(d.max_depth),
        max_ratio: raw.max_ratio.unwrap_or(d.max_ratio),
        max_line_bytes: raw.max_line_bytes.unwrap_or(d.max_line_bytes),
    };
    for (key, value) in [
        ("max_unpacked_bytes", limits.max_unpacked_bytes),
        ("max_disk_bytes", limits.max_disk_bytes),
        ("max_entries", limits.max_entries as u64),
        ("max_depth", limits.max_depth as u64),
        ("max_ratio", limits.max_ratio),
        ("max_line_bytes", limits.max_line_bytes as u64),
    ] {
        if value == 0 {
            problems.push(format!("limits.{key} must be at least 1"));
        }
    }
    limits
}

fn validate_rate(raw: RawRate, problems: &mut Vec<String>) -> RateConfig {
    let d = RateConfig::default();
    let rate = RateConfig {
        messages_per_minute: raw.messages_per_minute.unwrap_or(d.messages_per_minute),
        uploads_per_minute: raw.uploads_per_minute.unwrap_or(d.uploads_per_minute),
        engineer_messages_per_minute: raw
            .engineer_messages_per_minute
            .unwrap_or(d.engineer_messages_per_minute),
        engineer_uploads_per_minute: raw
            .engineer_uploads_per_minute
            .unwrap_or(d.engineer_uploads_per_minute),
        attachments_per_message: raw
            .attachments_per_message
            .unwrap_or(d.attachments_per_message),
        diagnoses_per_guild: raw.diagnoses_per_guild.unwrap_or(d.diagnoses_per_guild),
    };
    for (key, value) in [
        ("messages_per_minute", u64::from(rate.messages_per_minute)),
        ("uploads_per_minute", u64::from(rate.uploads_per_minute)),
        (
            "engineer_messages_per_minute",
            u64::from(rate.engineer_messages_per_minute),
        ),
        (
            "engineer_uploads_per_minute",
            u64::from(rate.engineer_uploads_per_minute),
        ),
        (
            "attachments_per_message",
            rate.attachments_per_message as u64,
        ),
        ("diagnoses_per_guild", rate.diagnoses_per_guild as u64),
    ] {
        if value == 0 {
            problems.push(format!("rate.{key} must be at least 1"));
        }
    }
    rate
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const EXAMPLE: &str = include_str!("../../config.example.toml");

    #[test]
    fn example_config_parses_and_validates() {
        let cfg = Config::parse(EXAMPLE, "config.example.toml").unwrap();
        assert!(cfg.serve_problems().is_empty());
        assert!(!cfg.discord.allowed_guilds.is_empty());
        assert!(cfg.discord.summary_channel.is_some());
        assert!(!cfg.discord.engineer_roles.is_empty());
        assert_eq!(cfg.handlers.max_concurrent_diagnoses, 2);
        assert!(
            cfg.token_file.is_none(),
            "the example must not point at a secret"
        );
    }

    #[test]
    fn example_config_documents_every_key() {
        // Every key of every section appears (commented or not) in the example file.
        for key in [
            "lang",
            "token_file",
            "api_base_url",
            "application_id",
            "allowed_guilds",
            "allowed_channels",
            "engineer_roles",
            "summary_channel",
            "slash_commands",
            "shards",
            "total_shards",
            "lease_secs",
            "data_dir",
            "kind",
            "url_file",
            "allowed_hosts",
            "max_bytes",
            "timeout_secs",
            "max_unpacked_bytes",
            "max_disk_bytes",
            "max_entries",
            "max_depth",
            "max_ratio",
            "max_line_bytes",
            "max_concurrent",
            "messages_per_minute",
            "uploads_per_minute",
            "engineer_messages_per_minute",
            "engineer_uploads_per_minute",
            "attachments_per_message",
            "diagnoses_per_guild",
            "bundle_days",
        ] {
            assert!(EXAMPLE.contains(&format!("{key} =")), "{key} undocumented");
        }
    }

    #[test]
    fn rate_limits_default_and_zero_is_refused_by_name() {
        let cfg = Config::parse("", "empty").unwrap();
        assert_eq!(cfg.handlers.rate, RateConfig::default());
        let text = "[rate]\nmessages_per_minute = 5\nengineer_uploads_per_minute = 0\n\
                    diagnoses_per_guild = 0\n";
        let err = Config::parse(text, "t").unwrap_err().to_string();
        assert!(err.contains("2 problem(s)"), "{err}");
        assert!(
            err.contains("rate.engineer_uploads_per_minute must be at least 1")
                && err.contains("rate.diagnoses_per_guild must be at least 1"),
            "{err}"
        );
        let err = Config::parse("[rate]\nper_user = 3\n", "t").unwrap_err();
        assert!(err.to_string().contains("per_user"), "{err}");
        let cfg = Config::parse("[rate]\nattachments_per_message = 3\n", "t").unwrap();
        assert_eq!(cfg.handlers.rate.attachments_per_message, 3);
    }

    #[test]
    fn empty_config_gives_defaults() {
        let cfg = Config::parse("", "t").unwrap();
        assert_eq!(cfg.data_dir, PathBuf::from("./casebot-data"));
        assert_eq!(cfg.handlers.default_lang, Lang::Zh);
        assert_eq!(cfg.serve_problems().len(), 1);
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let text = "lang = \"fr\"\n[download]\nmax_bytes = 0\ntimeout_secs = 0\n\
                    [diagnoses]\nmax_concurrent = 0\n[discord]\napi_base_url = \"ftp://x\"\n";
        let err = Config::parse(text, "t.toml").unwrap_err();
        assert_eq!(err.problems.len(), 5, "{err}");
        let shown = err.to_string();
        assert!(shown.starts_with("t.toml: 5 problem(s)"), "{shown}");
        assert!(shown.contains("lang = \"fr\""), "{shown}");
        assert!(shown.contains("download.timeout_secs"), "{shown}");
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err = Config::parse("[discord]\nallowed_guild = [1]\n", "t").unwrap_err();
        assert!(err.to_string().contains("allowed_guild"), "{err}");
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn a_token_in_the_file_is_rejected() {
        for text in ["token = \"abc\"", "[discord]\ntoken = \"abc\""] {
            let err = Config::parse(text, "t").unwrap_err();
            assert!(err.to_string().contains("DISCORD_TOKEN"), "{err}");
            assert!(
                !err.to_string().contains("abc"),
                "the token is echoed: {err}"
            );
        }
    }

    #[test]
    fn roles_by_id_or_name() {
        let cfg = Config::parse("[discord]\nengineer_roles = [\"42\", \"Support\"]", "t").unwrap();
        assert_eq!(
            cfg.discord.engineer_roles,
            vec![RoleRef::Id(42), RoleRef::Name("Support".into())]
        );
    }

    #[test]
    fn token_from_env_or_file_but_not_both() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "file-token\n").unwrap();
        let mut cfg = Config::parse("", "t").unwrap();
        assert!(cfg.token(None).unwrap_err().contains("no Discord token"));
        let env = cfg.token(Some("env-token".into())).unwrap();
        assert_eq!(env.expose_secret(), "env-token");
        cfg.token_file = Some(file.clone());
        assert_eq!(cfg.token(None).unwrap().expose_secret(), "file-token");
        assert!(cfg.token(Some("x".into())).unwrap_err().contains("twice"));
        cfg.token_file = Some(dir.path().join("missing"));
        assert!(
            cfg.token(None)
                .unwrap_err()
                .contains("cannot read token_file")
        );
    }
}

#[cfg(test)]
#[path = "config_props.rs"]
mod props;
