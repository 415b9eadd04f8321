//! Gateway shard ranges: which of the bot's shards this process runs.
//!
//! Discord splits a bot's guilds over `total` shards (guild `g` is on shard
//! `(g >> 22) % total`); each `casebot serve` process on a shared PostgreSQL store runs a range of
//! them (`--shards 0-1 --total-shards 4`, or `[discord] shards` and `total_shards`).

use clap::Args;

/// `first..=last` of `total` shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardRange {
    /// First shard id.
    pub first: u32,
    /// Last shard id (inclusive).
    pub last: u32,
    /// Shards over all processes.
    pub total: u32,
}

impl ShardRange {
    /// Check a range and its total as written; `keys` name them in errors.
    pub fn validate(
        range: Option<&str>,
        total: Option<u32>,
        keys: (&str, &str),
    ) -> Result<Option<ShardRange>, String> {
        let (range_key, total_key) = keys;
        let (range, total) = match (range, total) {
            (None, None) => return Ok(None),
            (Some(_), None) => return Err(format!("{range_key} needs {total_key} as well")),
            (None, Some(_)) => return Err(format!("{total_key} needs {range_key} as well")),
            (Some(r), Some(t)) => (r, t),
        };
        if total == 0 {
            return Err(format!("{total_key} must be at least 1"));
        }
        let parse = |s: &str| s.trim().parse::<u32>().ok();
        let (first, last) = match range.split_once('-') {
            Some((a, b)) => (parse(a), parse(b)),
            None => (parse(range), parse(range)),
        };
        let (Some(first), Some(last)) = (first, last) else {
            return Err(format!(
                "{range_key} = {range:?}: expected \"FIRST-LAST\" or one shard number"
            ));
        };
        if first > last || last >= total {
            return Err(format!(
                "{range_key} = {range:?}: expected shards between 0 and {} in increasing order",
                total - 1
            ));
        }
        Ok(Some(ShardRange { first, last, total }))
    }

    /// The shard that receives guild `guild`'s events.
    pub fn shard_of(guild: u64, total: u32) -> u32 {
        u32::try_from((guild >> 22) % u64::from(total.max(1))).unwrap_or(0)
    }
}

/// `casebot serve` arguments.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Gateway shards this process runs, "FIRST-LAST" or one number (overrides
    /// `[discord] shards`); with --total-shards.
    #[arg(long, value_name = "RANGE")]
    pub shards: Option<String>,
    /// Shards over all processes (overrides `[discord] total_shards`); with --shards.
    #[arg(long, value_name = "N")]
    pub total_shards: Option<u32>,
    /// The read-only web view.
    #[command(flatten)]
    pub web: crate::web_cmd::WebArgs,
}

impl ServeArgs {
    /// The range given on the command line, if any.
    pub fn range(&self) -> Result<Option<ShardRange>, String> {
        ShardRange::validate(
            self.shards.as_deref(),
            self.total_shards,
            ("--shards", "--total-shards"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: (&str, &str) = ("discord.shards", "discord.total_shards");

    #[test]
    fn ranges_parse_and_bad_ones_name_the_key() {
        assert_eq!(ShardRange::validate(None, None, KEYS), Ok(None));
        assert_eq!(
            ShardRange::validate(Some("0-1"), Some(4), KEYS),
            Ok(Some(ShardRange {
                first: 0,
                last: 1,
                total: 4
            }))
        );
        assert_eq!(
            ShardRange::validate(Some("3"), Some(4), KEYS),
            Ok(Some(ShardRange {
                first: 3,
                last: 3,
                total: 4
            }))
        );
        for (range, total, want) in [
            (Some("2-4"), Some(4), "discord.shards = \"2-4\""),
            (Some("1-0"), Some(4), "increasing order"),
            (Some("a-b"), Some(4), "expected \"FIRST-LAST\""),
            (Some("0-1"), None, "needs discord.total_shards"),
            (None, Some(2), "needs discord.shards"),
            (
                Some("0"),
                Some(0),
                "discord.total_shards must be at least 1",
            ),
        ] {
            let err = ShardRange::validate(range, total, KEYS).unwrap_err();
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn guilds_map_to_shards_as_discord_does() {
        assert_eq!(ShardRange::shard_of(41771983423143937, 4), 2);
        assert_eq!(ShardRange::shard_of(1 << 22, 4), 1);
        assert_eq!(ShardRange::shard_of(7 << 22, 4), 3);
    }
}
