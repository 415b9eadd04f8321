//! Integration tests: one binary, one module per area (ripgrep's layout).

mod catalogue;
mod chat;
mod collect;
mod console;
mod diagnose;
mod discord;
mod disk;
mod encryption;
mod fake_discord;
mod pg;
mod redaction;
mod store;
mod store_faults;
mod stored_case;
mod util;
mod web;
