//! The one error type of the `store` crate.

use std::path::PathBuf;

/// Store failures. Startup failures name the path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process holds the store.
    #[error("store {path} is in use by another casebot process")]
    Locked {
        /// Store directory.
        path: PathBuf,
    },
    /// The store cannot be opened because its files are damaged.
    #[error("store {path} is corrupt: {reason}")]
    Corrupt {
        /// Store directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The store directory cannot be written.
    #[error("store {path} is not writable: {reason}")]
    NotWritable {
        /// Store directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The directory holds other files and no store: refuse rather than scatter files into it.
    #[error(
        "{path} is not a casebot store: it already holds other files (such as `{example}`); \
         choose an empty or new directory"
    )]
    NotAStore {
        /// The directory.
        path: PathBuf,
        /// One of the files found.
        example: String,
    },
    /// The store is encrypted and no key was given: nothing was read or changed.
    #[error(
        "store {path} is encrypted and no store key was given; give the key it was created \
         with"
    )]
    KeyRequired {
        /// Store directory or database.
        path: PathBuf,
    },
    /// The key given does not open the store: nothing was read or changed.
    #[error(
        "the store key given does not open store {path}: it was encrypted with another key \
         (nothing was changed)"
    )]
    WrongKey {
        /// Store directory or database.
        path: PathBuf,
    },
    /// A key was given for a store that holds unencrypted records: refuse rather than mix
    /// plain and encrypted records.
    #[error(
        "store {path} holds unencrypted records, but a store key was given; to encrypt it, \
         export it without the key and import the export into a new store with the key \
         (`casebot cases export`, then `casebot cases import`), or give no key to use it \
         unencrypted (nothing was changed)"
    )]
    NotEncrypted {
        /// Store directory or database.
        path: PathBuf,
    },
    /// The database server cannot be reached or refused the connection.
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    Connect {
        /// `host:port/database`, never the password.
        target: String,
        /// Why.
        reason: String,
    },
    /// The database was migrated by a newer casebot: this one must not write to it.
    #[error(
        "the PostgreSQL database {target} has schema version {found}, newer than this casebot \
         knows (up to {supported}); run a casebot at least as new as the one that migrated it"
    )]
    TooNew {
        /// `host:port/database`.
        target: String,
        /// Schema version found.
        found: i32,
        /// Newest version this build knows.
        supported: i32,
    },
    /// An optimistic update kept losing to concurrent writers.
    #[error("case {0} is being changed by others too often; try again")]
    Contended(String),
    /// No such case.
    #[error("no case {0}")]
    NotFound(String),
    /// `create` with an id that is already stored.
    #[error("case {0} already exists")]
    Exists(String),
    /// An update tried to change the case id (a case keeps its id for life).
    #[error("an update may not change the id of case {0}")]
    IdChanged(String),
    /// A record could not be decoded or migrated.
    #[error("cannot decode {what}: {reason}")]
    Codec {
        /// Which record.
        what: String,
        /// Why.
        reason: String,
    },
    /// Import input is invalid.
    #[error("import line {line}: {reason}")]
    Import {
        /// 1-based line.
        line: u64,
        /// Why.
        reason: String,
    },
    /// A write failed because the disk is full or the store may no longer be written (a
    /// read-only file system, changed permissions). Nothing of the failed write is kept and
    /// what was stored before is intact; reads still work.
    #[error("the store cannot save changes: {reason} ({detail})")]
    CannotWrite {
        /// Why, in words for users (`the disk is full`, …).
        reason: String,
        /// The operating system's error, for the log.
        detail: String,
    },
    /// Other I/O or database failure.
    #[error("store I/O: {0}")]
    Io(String),
}

impl StoreError {
    /// [`StoreError::CannotWrite`] for a write the file system refused (full, read-only, not
    /// permitted, over a file size limit), else `None`. Once sled has seen one it refuses every
    /// later write until the process restarts, and keeps reading.
    pub(crate) fn cannot_write(io: &std::io::Error) -> Option<StoreError> {
        use std::io::ErrorKind as K;
        let reason = match io.kind() {
            K::StorageFull | K::QuotaExceeded => "the disk is full",
            K::FileTooLarge => "a store file may not grow any further (file size limit)",
            K::ReadOnlyFilesystem => "the file system is read-only",
            K::PermissionDenied => "the store directory is not writable (permission denied)",
            _ => return None,
        };
        Some(StoreError::CannotWrite {
            reason: reason.to_string(),
            detail: io.to_string(),
        })
    }
}
