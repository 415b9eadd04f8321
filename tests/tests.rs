//! Integration tests: one binary, one module per area (ripgrep's layout).

mod console;
mod diagnose;
mod discord;
mod store;
mod util;
