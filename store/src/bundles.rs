//! Content-addressed bundle files beside the store: `<dir>/<sha256>`.
//!
//! A bundle is streamed to a temporary file in the same directory while it is hashed (by a
//! [`BundleWriter`], which a download writes into directly), fsynced, then renamed to its hash; the directory is fsynced so the rename survives a crash. Same-directory
//! rename is atomic, so a reader never sees a half-written bundle under its final name.
//!
//! In an encrypted store the file holds the bundle sealed (see `crypt`), still named by the
//! sha256 of its plain content, so a re-upload is recognised. The engine reads a bundle by its
//! path, so [`BundleDir::open_plain`] decrypts it into a private temporary file beside it
//! (removed when the returned [`PlainBundle`] is dropped, and on the next open after a crash).

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::crypt::{Cipher, SealWriter, plain_len};
use crate::{PlainBundle, StoreError, StoredBundle};

/// Prefix of in-progress files; left-overs from a crash are removed on open.
const TEMP_PREFIX: &str = ".incoming-";
/// Prefix of decrypted copies handed to readers; left-overs from a crash are removed on open.
const PLAIN_PREFIX: &str = ".plain-";

/// The bundle directory.
#[derive(Debug, Clone)]
pub(crate) struct BundleDir {
    dir: PathBuf,
    /// Seals every bundle written, opens every bundle read (an encrypted store).
    cipher: Option<Cipher>,
}

impl BundleDir {
    /// Create (if needed) and open the directory, removing temp files left by a crash.
    pub fn open(dir: PathBuf) -> Result<BundleDir, StoreError> {
        fs::create_dir_all(&dir).map_err(|e| StoreError::NotWritable {
            path: dir.clone(),
            reason: e.to_string(),
        })?;
        if let Ok(entries) = fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(TEMP_PREFIX) || name.starts_with(PLAIN_PREFIX) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(BundleDir { dir, cipher: None })
    }

    /// A directory created on the first `put`.
    pub fn lazy(dir: PathBuf) -> BundleDir {
        BundleDir { dir, cipher: None }
    }

    /// Seal bundles written from now on, and open the ones read, with `cipher`.
    pub fn seal_with(&mut self, cipher: Cipher) {
        self.cipher = Some(cipher);
    }

    /// Store `data`; recognise content already stored.
    pub fn put(&self, data: &mut dyn Read) -> Result<StoredBundle, StoreError> {
        let mut writer = self.writer()?;
        copy_into(data, &mut writer)?;
        self.adopt(writer)
    }

    /// A writer receiving a bundle into a temporary file in this directory (sealed as it is
    /// written, in an encrypted store), hashing it as the bytes arrive: [`BundleDir::adopt`]
    /// then stores it by a rename, with no second copy and no second read.
    pub fn writer(&self) -> Result<BundleWriter, StoreError> {
        fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        let temp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(&self.dir)
            .map_err(|e| io(&self.dir, e))?;
        let (file, temp) = temp.into_parts();
        let sink = match &self.cipher {
            Some(cipher) => Sink::Sealed(cipher.seal_writer(file).map_err(|e| io(&temp, e))?),
            None => Sink::Plain(BufWriter::with_capacity(WRITE_BUFFER, file)),
        };
        Ok(BundleWriter {
            sink: Some(sink),
            temp,
            hasher: Sha256::new(),
            bytes: 0,
            home: Some(self.dir.clone()),
        })
    }

    /// Store what `writer` received: fsync the file, name it by its sha256 (a rename within
    /// the directory) and fsync the directory. When that content is already stored the new
    /// copy is dropped and the stored one reported as a duplicate. A writer made elsewhere (by
    /// [`BundleWriter::staging`]) is copied in instead.
    pub fn adopt(&self, writer: BundleWriter) -> Result<StoredBundle, StoreError> {
        if writer.home.as_deref() != Some(self.dir.as_path()) {
            return writer.copy_into(|data| self.put(data));
        }
        let (sha256, bytes, temp) = writer.finish()?;
        let path = self.dir.join(&sha256);
        if path.is_file() {
            // Dropping `temp` removes the new copy.
            return Ok(StoredBundle {
                sha256,
                bytes,
                path,
                duplicate: true,
            });
        }
        temp.persist(&path).map_err(|e| io(&path, e.error))?;
        sync_dir(&self.dir)?;
        Ok(StoredBundle {
            sha256,
            bytes,
            path,
            duplicate: false,
        })
    }

    /// Delete a stored bundle; false if it was not there.
    pub fn remove(&self, sha256: &str) -> Result<bool, StoreError> {
        let Some(path) = self.path(sha256)? else {
            return Ok(false);
        };
        match fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&self.dir)?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(&path, e)),
        }
    }

    /// Store a bundle already in its stored form (sealed, in an encrypted store) as `sha256`,
    /// checking that its content has that hash. For copies of bundles another process stored.
    pub fn put_stored(&self, sha256: &str, data: &mut dyn Read) -> Result<PathBuf, StoreError> {
        let Some(cipher) = &self.cipher else {
            let stored = self.put(data)?;
            if stored.sha256 != sha256 {
                let _ = fs::remove_file(&stored.path);
                return Err(StoreError::Codec {
                    what: format!("bundle {sha256}"),
                    reason: format!("its content hashes to {}", stored.sha256),
                });
            }
            return Ok(stored.path);
        };
        fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        let mut temp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(&self.dir)
            .map_err(|e| io(&self.dir, e))?;
        let temp_path = temp.path().to_path_buf();
        std::io::copy(data, temp.as_file_mut())
            .map_err(|e| StoreError::Io(format!("reading bundle {sha256}: {e}")))?;
        temp.as_file().sync_all().map_err(|e| io(&temp_path, e))?;
        let sealed = File::open(&temp_path).map_err(|e| io(&temp_path, e))?;
        let damaged = |reason: String| StoreError::Codec {
            what: format!("stored bundle {sha256}"),
            reason,
        };
        let mut reader = cipher
            .open_reader(sealed)
            .map_err(|e| damaged(e.to_string()))?;
        let (actual, _) = copy_hashed(&mut reader, &mut std::io::sink(), &temp_path)?;
        if actual != sha256 {
            return Err(damaged(format!("its content hashes to {actual}")));
        }
        let path = self.dir.join(sha256);
        temp.persist(&path).map_err(|e| io(&path, e.error))?;
        sync_dir(&self.dir)?;
        Ok(path)
    }

    /// A readable copy of a stored bundle: the file itself in a plain store, a decrypted
    /// temporary copy (checked against its sha256) in an encrypted one.
    pub fn open_plain(&self, sha256: &str) -> Result<Option<PlainBundle>, StoreError> {
        let Some(path) = self.path(sha256)? else {
            return Ok(None);
        };
        let Some(cipher) = &self.cipher else {
            return Ok(Some(PlainBundle::in_place(path)));
        };
        let damaged = |reason: String| StoreError::Codec {
            what: format!("stored bundle {sha256}"),
            reason,
        };
        let sealed = File::open(&path).map_err(|e| io(&path, e))?;
        let mut plain = tempfile::Builder::new()
            .prefix(PLAIN_PREFIX)
            .tempfile_in(&self.dir)
            .map_err(|e| io(&self.dir, e))?;
        let mut reader = cipher
            .open_reader(sealed)
            .map_err(|e| damaged(e.to_string()))?;
        let (actual, _) = copy_hashed(&mut reader, plain.as_file_mut(), &path)?;
        if actual != sha256.to_ascii_lowercase() {
            return Err(damaged(format!("its content has sha256 {actual}")));
        }
        Ok(Some(PlainBundle::temporary(plain.into_temp_path())))
    }

    /// Path of a stored bundle (sealed in an encrypted store: read it with `open_plain`).
    pub fn path(&self, sha256: &str) -> Result<Option<PathBuf>, StoreError> {
        let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Ok(None);
        }
        let path = self.dir.join(sha256.to_ascii_lowercase());
        Ok(path.is_file().then_some(path))
    }
}

impl BundleDir {
    /// Every stored bundle as (sha256, size, path), by sha256.
    pub fn list(&self) -> Result<Vec<(String, u64, PathBuf)>, StoreError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.dir, e)),
        };
        let mut bundles = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io(&self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let named = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
            if named
                && let Ok(meta) = entry.metadata()
                && meta.is_file()
            {
                let bytes = match &self.cipher {
                    Some(_) => plain_len(meta.len()).ok_or_else(|| StoreError::Codec {
                        what: format!("stored bundle {name}"),
                        reason: format!(
                            "{} bytes is not the size of an encrypted bundle",
                            meta.len()
                        ),
                    })?,
                    None => meta.len(),
                };
                bundles.push((name, bytes, entry.path()));
            }
        }
        bundles.sort();
        Ok(bundles)
    }

    /// Every stored bundle, as a dump lists it.
    pub fn dump_list(&self) -> Result<Vec<crate::exchange::DumpBundle>, StoreError> {
        Ok(self
            .list()?
            .into_iter()
            .map(|(sha256, bytes, path)| crate::exchange::DumpBundle {
                sha256,
                bytes,
                path,
                cipher: self.cipher.clone(),
            })
            .collect())
    }
}

/// Where a [`BundleWriter`] puts the bytes.
enum Sink {
    /// Buffered: a download arrives in pieces of a few KiB, written in fewer, larger calls.
    Plain(BufWriter<File>),
    Sealed(SealWriter<File>),
}

/// Write buffer of a plain [`BundleWriter`].
const WRITE_BUFFER: usize = 256 * 1024;

/// A bundle being received into the store, from [`crate::CaseStore::bundle_writer`]: what is
/// written lands in a temporary file (sealed, in an encrypted store) and is hashed on the way,
/// so that [`crate::CaseStore::adopt_bundle`] stores it by renaming that file to its sha256
/// instead of copying and hashing it again. Dropped without being adopted (a failed download),
/// it removes its file: nothing is stored.
pub struct BundleWriter {
    /// `None` once finished.
    sink: Option<Sink>,
    /// The temporary file, removed on drop unless persisted.
    temp: tempfile::TempPath,
    hasher: Sha256,
    bytes: u64,
    /// The bundle directory the file is in; `None` for a staging file outside any store.
    home: Option<PathBuf>,
}

impl std::fmt::Debug for BundleWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleWriter")
            .field("temp", &self.temp)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl BundleWriter {
    /// A writer into a plain temporary file in the system's temp directory, for stores that
    /// cannot adopt a file: their `adopt_bundle` copies it in with `put_bundle`.
    pub fn staging() -> Result<BundleWriter, StoreError> {
        let temp = tempfile::NamedTempFile::new().map_err(|e| StoreError::Io(e.to_string()))?;
        let (file, temp) = temp.into_parts();
        Ok(BundleWriter {
            sink: Some(Sink::Plain(BufWriter::with_capacity(WRITE_BUFFER, file))),
            temp,
            hasher: Sha256::new(),
            bytes: 0,
            home: None,
        })
    }

    /// Append `data` (the next piece of the bundle); a write the file system refuses (a full
    /// disk) is reported as the store reports it.
    pub fn append(&mut self, data: &[u8]) -> Result<(), StoreError> {
        self.write_all(data).map_err(|e| io(&self.temp, e))
    }

    /// Bytes received so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The temporary file (sealed, in an encrypted store).
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// End the file (sealing its last chunk) and fsync it: the hex sha256 and length of the
    /// plain content, and the file.
    fn finish(mut self) -> Result<(String, u64, tempfile::TempPath), StoreError> {
        let file = match self.sink.take() {
            Some(Sink::Plain(file)) => file
                .into_inner()
                .map_err(|e| io(&self.temp, e.into_error()))?,
            Some(Sink::Sealed(sealed)) => sealed.finish().map_err(|e| io(&self.temp, e))?,
            None => return Err(StoreError::Io("bundle writer finished twice".into())),
        };
        file.sync_all().map_err(|e| io(&self.temp, e))?;
        let sha256 = hex::encode(std::mem::take(&mut self.hasher).finalize());
        Ok((sha256, self.bytes, self.temp))
    }

    /// Copy what this writer received into `store` with `put_bundle`: the default
    /// `adopt_bundle`, for stores that cannot take the file over.
    pub fn copy_into(
        self,
        put: impl FnOnce(&mut dyn Read) -> Result<StoredBundle, StoreError>,
    ) -> Result<StoredBundle, StoreError> {
        let (_, _, temp) = self.finish()?;
        let mut file = File::open(&temp).map_err(|e| io(&temp, e))?;
        put(&mut file)
    }
}

impl Write for BundleWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = match &mut self.sink {
            Some(Sink::Plain(file)) => file.write(data)?,
            Some(Sink::Sealed(sealed)) => sealed.write(data)?,
            None => return Err(std::io::Error::other("bundle writer already finished")),
        };
        self.hasher.update(&data[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Some(Sink::Plain(file)) => file.flush(),
            Some(Sink::Sealed(sealed)) => sealed.flush(),
            None => Ok(()),
        }
    }
}

/// Copy `data` into `writer`; read errors name the input.
fn copy_into(data: &mut dyn Read, writer: &mut BundleWriter) -> Result<(), StoreError> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match data.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StoreError::Io(format!("reading bundle: {e}"))),
        };
        writer
            .write_all(&buf[..n])
            .map_err(|e| io(&writer.temp, e))?;
    }
}

/// Copy `data` to `out`, returning the hex sha256 and length of what was copied. Read errors
/// (a damaged sealed bundle among them) name the input; write errors name `path`.
fn copy_hashed(
    data: &mut dyn Read,
    out: &mut dyn Write,
    path: &Path,
) -> Result<(String, u64), StoreError> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = match data.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StoreError::Io(format!("reading bundle: {e}"))),
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| io(path, e))?;
        bytes += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// fsync a directory so a rename inside it is durable.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, e))
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::cannot_write(&e)
        .unwrap_or_else(|| StoreError::Io(format!("{}: {e}", path.display())))
}
