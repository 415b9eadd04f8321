//! Purpose: slash-command autocomplete. A device option offers the devices of the case the
//! channel belongs to (its thread), those whose name contains what was typed; elsewhere there
//! is nothing to offer. Read-only: nothing is recorded.

use crate::Context;
use crate::command::ArgKind;

/// Discord shows at most this many suggestions.
const MAX_CHOICES: usize = 25;

/// Suggestions for an option of `kind` typed as `typed` in channel `channel_id`.
pub fn complete(ctx: &Context, channel_id: u64, kind: ArgKind, typed: &str) -> Vec<String> {
    if kind != ArgKind::Word {
        return Vec::new();
    }
    let case = match ctx.store.case_by_thread(channel_id) {
        Ok(Some(id)) => ctx.store.get(&id).ok().flatten(),
        _ => None,
    };
    let Some(case) = case else {
        return Vec::new();
    };
    let typed = typed.trim().to_lowercase();
    case.devices
        .values()
        .map(|d| d.name.clone())
        .filter(|name| name.to_lowercase().contains(&typed))
        .take(MAX_CHOICES)
        .collect()
}
