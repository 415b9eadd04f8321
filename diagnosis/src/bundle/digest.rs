//! The input's sha256. Hashing a large log costs about a tenth of its diagnosis and needs
//! nothing the engine learns, so a single (non-archive) input file is hashed on a thread of its
//! own, started while opening, and the hash is waited for only when it is asked for: after the
//! engine has read the files, which it does on the other cores in the meantime. (Hashing next to
//! the opening pass alone gains nothing: that pass is as fast as the hash.)

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;

use sha2::{Digest as _, Sha256};

/// Bytes hashed per read.
const CHUNK: usize = 256 << 10;

/// A sha256, known or being computed.
#[derive(Debug)]
pub(super) struct Digest {
    hex: OnceLock<String>,
    pending: Mutex<Option<Hashing>>,
}

/// A file being hashed on its own thread.
#[derive(Debug)]
pub(super) struct Hashing {
    handle: Option<JoinHandle<io::Result<String>>>,
    /// Set when the hash is no longer wanted (the bundle went away first).
    stop: Arc<AtomicBool>,
    /// The file, to hash again here if its thread could not.
    path: PathBuf,
}

impl Hashing {
    /// Start hashing the file at `path` (opened here, so that it is the file being opened).
    pub(super) fn start(path: &Path) -> io::Result<Hashing> {
        let mut file = File::open(path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("casebot-sha256".to_string())
            .spawn(move || hash(&mut file, &stopped))?;
        Ok(Hashing {
            handle: Some(handle),
            stop,
            path: path.to_path_buf(),
        })
    }

    /// Wait for the hash; if its thread could not read the file, read it once more here.
    pub(super) fn wait(mut self) -> io::Result<String> {
        let threaded = match self.handle.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Err(io::Error::other("hash already taken")),
        };
        threaded.or_else(|_| hash(&mut File::open(&self.path)?, &AtomicBool::new(false)))
    }
}

impl Drop for Hashing {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            // Ends within one chunk; its result no longer matters.
            let _ = handle.join();
        }
    }
}

/// The sha256 of everything `src` holds, lowercase hex; gives up once `stop` is set.
fn hash(src: &mut impl Read, stop: &AtomicBool) -> io::Result<String> {
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(io::Error::other("hash no longer wanted"));
        }
        match src.read(&mut buf) {
            Ok(0) => return Ok(hex::encode(hash.finalize())),
            Ok(n) => hash.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

impl Digest {
    /// A hash already computed.
    pub(super) fn done(hex: String) -> Digest {
        Digest {
            hex: OnceLock::from(hex),
            pending: Mutex::new(None),
        }
    }

    /// The hash `hashing` computes.
    pub(super) fn pending(hashing: Hashing) -> Digest {
        Digest {
            hex: OnceLock::new(),
            pending: Mutex::new(Some(hashing)),
        }
    }

    /// The hash, lowercase hex, waiting for it if it is still being computed. Empty only when
    /// the file could be read neither on the hash's thread nor again here (it was read whole
    /// while opening, so that takes the file changing under the bundle).
    pub(super) fn get(&self) -> &str {
        self.hex.get_or_init(|| {
            let pending = self
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            pending.and_then(|h| h.wait().ok()).unwrap_or_default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_hashed_on_its_own_thread_has_its_sha256() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.log");
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).expect("write");
        let digest = Digest::pending(Hashing::start(&path).expect("start"));
        assert_eq!(digest.get(), hex::encode(Sha256::digest(&data)));
        // Asked again: the same, without a second hash.
        assert_eq!(digest.get(), hex::encode(Sha256::digest(&data)));
        // A hash no one waits for stops with its bundle.
        drop(Digest::pending(Hashing::start(&path).expect("start")));
    }
}
