//! Shared test helpers: fixture paths, the casebot binary.

use std::path::PathBuf;

/// Path of a fixture under `tests/fixtures/`.
#[allow(dead_code)]
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}
