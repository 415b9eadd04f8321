//! Sled-only tests: persistence, migration, startup errors.
