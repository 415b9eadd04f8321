//! Configuration: `RawConfig` (serde, deny_unknown_fields) → `Config::validate()`. OWNER: Discord helper.
