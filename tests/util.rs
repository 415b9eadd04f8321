//! Shared test helpers: fixture paths, chat messages for the handlers.

use std::path::PathBuf;

use handlers::{Attachment, AttachmentSource, Author, Incoming, Role};
use store::CaseId;

/// Path of a fixture under `tests/fixtures/`.
#[allow(dead_code)]
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Message `id`, from the engineer `li.wei` or the customer `bank.ops` (by `role`), in channel
/// 7 outside a guild, for `case` when given, with `files` attached from disk.
pub fn incoming(
    id: String,
    role: Role,
    case: Option<&CaseId>,
    text: &str,
    files: Vec<PathBuf>,
) -> Incoming {
    let name = match role {
        Role::Engineer => "li.wei",
        Role::Customer => "bank.ops",
    };
    Incoming {
        message_id: id,
        author: Author {
            id: name.into(),
            name: name.into(),
            role,
        },
        channel_id: 7,
        guild_id: None,
        case_hint: case.cloned(),
        text: text.into(),
        command: None,
        attachments: files
            .into_iter()
            .map(|p| Attachment {
                name: p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                size: None,
                source: AttachmentSource::Path(p),
            })
            .collect(),
    }
}
