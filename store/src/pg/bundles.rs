//! Bundles of a [`PgStore`]: content-addressed rows of 1 MiB `bytea` chunks, with a local cache.
//!
//! `put_bundle` (or `adopt_bundle`, for a download received into the cache by a
//! `BundleWriter`) streams the upload into the local cache (hashing it), then, unless the database
//! already holds that sha256, inserts the bundle row and its chunks in one transaction: readers
//! see a bundle whole or not at all. When two processes store the same bundle at once, the
//! primary key makes the second one wait and then recognise it as a duplicate.
//!
//! `bundle_path` answers from the cache, or fetches the chunks one at a time into it, checking
//! the sha256 of what arrived, so another process's upload is readable here too. In an encrypted
//! store the chunks and the cache hold the sealed file; its plain content is checked.

use std::io::Read;
use std::path::PathBuf;

use super::conn::{pg_err, wait};
use super::{CHUNK_BYTES, PgStore, to_i64};
use crate::{StoreError, StoredBundle};

impl PgStore {
    pub(super) fn put_bundle_shared(
        &self,
        data: &mut dyn Read,
    ) -> Result<StoredBundle, StoreError> {
        let local = self.cache.put(data)?;
        self.share_bundle(local)
    }

    /// Insert a bundle just stored in the local cache into the database, unless it holds that
    /// sha256 already (then the result is a duplicate).
    pub(super) fn share_bundle(&self, local: StoredBundle) -> Result<StoredBundle, StoreError> {
        let mut client = self.pool.get()?;
        // The chunks hold the file as the cache keeps it: sealed, in an encrypted store.
        let file_bytes = std::fs::metadata(&local.path)
            .map_err(|e| StoreError::Io(format!("{}: {e}", local.path.display())))?
            .len();
        let chunks = file_bytes.div_ceil(CHUNK_BYTES as u64).max(1);
        let chunks = i32::try_from(chunks)
            .map_err(|_| StoreError::Io(format!("bundle {} is too large", local.sha256)))?;
        let mut file = std::fs::File::open(&local.path)
            .map_err(|e| StoreError::Io(format!("{}: {e}", local.path.display())))?;
        let new = wait(async {
            let tx = client.transaction().await.map_err(pg_err)?;
            let n = tx
                .execute(
                    "INSERT INTO bundles (sha256, bytes, chunks) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                    &[&local.sha256, &to_i64(local.bytes), &chunks],
                )
                .await
                .map_err(pg_err)?;
            if n == 0 {
                return Ok(false);
            }
            let mut buf = vec![0u8; CHUNK_BYTES];
            for n in 0..chunks {
                let len = crate::exchange::read_full(&mut file, &mut buf)
                    .map_err(|e| StoreError::Io(format!("{}: {e}", local.path.display())))?;
                tx.execute(
                    "INSERT INTO bundle_chunks (sha256, n, data) VALUES ($1, $2, $3)",
                    &[&local.sha256, &n, &&buf[..len]],
                )
                .await
                .map_err(pg_err)?;
            }
            tx.commit().await.map_err(pg_err)?;
            Ok::<bool, StoreError>(true)
        })?;
        Ok(StoredBundle {
            duplicate: !new,
            ..local
        })
    }

    pub(super) fn fetch_bundle(&self, sha256: &str) -> Result<Option<PathBuf>, StoreError> {
        let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Ok(None);
        }
        let sha256 = sha256.to_ascii_lowercase();
        if let Some(path) = self.cache.path(&sha256)? {
            return Ok(Some(path));
        }
        let client = self.pool.get()?;
        let row =
            wait(client.query_opt("SELECT chunks FROM bundles WHERE sha256 = $1", &[&sha256]))
                .map_err(pg_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut reader = ChunkReader {
            client: &client,
            sha256: &sha256,
            next: 0,
            chunks: row.get(0),
            buf: Vec::new(),
            pos: 0,
        };
        let path =
            self.cache
                .put_stored(&sha256, &mut reader)
                .map_err(|e| StoreError::Corrupt {
                    path: PathBuf::from(format!("{}/bundles/{sha256}", self.target())),
                    reason: format!("the stored chunks do not make the bundle: {e}"),
                })?;
        Ok(Some(path))
    }
}

/// Reads a bundle's chunks in order, one query per chunk.
struct ChunkReader<'a> {
    client: &'a tokio_postgres::Client,
    sha256: &'a str,
    next: i32,
    chunks: i32,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.next == self.chunks {
                return Ok(0);
            }
            let row = wait(self.client.query_opt(
                "SELECT data FROM bundle_chunks WHERE sha256 = $1 AND n = $2",
                &[&self.sha256, &self.next],
            ))
            .map_err(|e| std::io::Error::other(pg_err(e).to_string()))?
            .ok_or_else(|| {
                std::io::Error::other(format!(
                    "bundle {} is missing chunk {}",
                    self.sha256, self.next
                ))
            })?;
            self.buf = row.get(0);
            self.pos = 0;
            self.next += 1;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
