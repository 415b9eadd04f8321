//! The crate's error type.

/// Why the web view could not start or serve.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// The listening socket failed.
    #[error("web view: {0}")]
    Io(#[source] std::io::Error),
}
