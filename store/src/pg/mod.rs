//! `PgStore`: the shared store for several casebot processes, on PostgreSQL.
//!
//! Built on `tokio-postgres` rather than sqlx: the store needs plain parameterised SQL and
//! transactions, not sqlx's compile-time query checking (which wants a database or an offline
//! cache at build time) or its macro and multi-database machinery, and `tokio-postgres` adds a
//! handful of small crates to a build that already has tokio. See `pg/conn.rs` for how the blocking
//! [`CaseStore`] calls drive it.
//!
//! What the tables are (`store/migrations/`), and how each guarantee of the
//! embedded store holds across processes:
//! - **Idempotency**: `processed.message_id` is the primary key. A change and the message id that
//!   caused it commit in one transaction; a second process handling the same event inserts
//!   nothing (`ON CONFLICT DO NOTHING`) and returns [`Applied::Duplicate`].
//! - **Optimistic concurrency**: every case row has a `version`. An update reads the case, applies
//!   the change in memory, and writes it only `WHERE version = <the version read>`; if another
//!   process got there first, nothing is written and the update starts again from the new
//!   version. No update is lost, and no lock is held while the caller's closure runs.
//! - **Diagnosis jobs** live in `jobs`, each leased to the process that accepted it
//!   (`lease_owner`, `lease_until`). The process renews its leases while it lives
//!   ([`CaseStore::journal_renew`]); when it dies they expire, and another process takes the jobs
//!   over ([`CaseStore::journal_take_over`]) with `FOR UPDATE SKIP LOCKED`, so two processes
//!   looking at once never take the same job.
//! - **Bundles** are stored in the database as 1 MiB `bytea` chunks, so every process (on any
//!   machine) reads every bundle and a database backup holds everything. Each process keeps a
//!   local, content-addressed cache directory: `bundle_path` fetches a bundle into it on first
//!   use and checks its sha256.
//! - **Encryption at rest** (optional, [`PgStore::open_keyed`]): cases' `doc` and jobs' `entry`
//!   hold `{"sealed":"<base64>"}` (the record sealed as in the embedded store, bound to its table
//!   and id), bundle chunks hold the sealed file, and the local cache keeps bundles sealed too;
//!   `store_encryption` holds the key check. Ids, thread bindings, processed message ids and the
//!   recurrence index stay plain.
//! - **Durability**: a call returns after PostgreSQL has committed (with the server's default
//!   `synchronous_commit = on`, after the commit is on disk). `flush` has nothing left to do.

pub(crate) mod conn;
mod migrate;
mod recurrence;

#[cfg(any(test, feature = "test-cluster"))]
pub mod cluster;

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_postgres::config::Host;
use tokio_postgres::{Config, GenericClient, Transaction};

use self::conn::{Pool, pg_err, wait};
use crate::bundles::BundleDir;
use crate::crypt::{KeyDecision, Seal, StoreKey, decide};
use crate::exchange::{Dump, DumpBundle, MergeTarget, merge};
use crate::record::{
    CURRENT, EncryptionRecord, case_id_from_counter, decode, decode_case, encode_case, now_secs,
    tree,
};
use crate::{
    Applied, Case, CaseId, CaseStore, Conclusion, JournalEntry, Recurrence, StoreError,
    StoredBundle,
};

/// Bytes per stored bundle chunk.
const CHUNK_BYTES: usize = 1024 * 1024;

/// How many times an update is retried after losing to a concurrent writer.
const MAX_ATTEMPTS: u32 = 100;

/// A job row's stored value (versioned like every record).
#[derive(Serialize, Deserialize)]
struct JobRecord {
    v: u32,
    entry: JournalEntry,
}

/// How long a job stays leased without renewal, unless configured.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// The PostgreSQL-backed `CaseStore`.
#[derive(Debug)]
pub struct PgStore {
    pool: Pool,
    cache: BundleDir,
    /// Seals case docs and job entries in an encrypted store.
    seal: Seal,
    /// This process's name on the jobs it holds.
    owner: String,
    lease: Duration,
}

impl PgStore {
    /// Connect to the database at `url` (a `postgres://` URL or `key=value` string), apply any
    /// missing schema migrations, and keep fetched bundles in `cache_dir`.
    ///
    /// Fails with `Connect` (naming host, port and database, never the password) when the
    /// server cannot be reached, and `TooNew` when a newer casebot has migrated the database.
    pub fn open(url: &str, cache_dir: impl Into<PathBuf>) -> Result<PgStore, StoreError> {
        PgStore::open_keyed(url, cache_dir, None)
    }

    /// [`PgStore::open`], encrypted with `key` if one is given: like the embedded store
    /// (`SledStore::open_keyed`), an empty database opened with a key is encrypted for life, and
    /// `KeyRequired`, `WrongKey` and `NotEncrypted` refuse the other mixes, changing nothing.
    pub fn open_keyed(
        url: &str,
        cache_dir: impl Into<PathBuf>,
        key: Option<&StoreKey>,
    ) -> Result<PgStore, StoreError> {
        let config = Config::from_str(url).map_err(|e| StoreError::Connect {
            target: "the configured URL".into(),
            reason: format!("not a valid PostgreSQL URL: {e}"),
        })?;
        let pool = Pool::new(config.clone(), describe_target(&config))?;
        let cache = BundleDir::open(cache_dir.into())?;
        let mut store = PgStore {
            pool,
            cache,
            seal: Seal::default(),
            owner: format!("{}-{:016x}", std::process::id(), rand::random::<u64>()),
            lease: DEFAULT_LEASE,
        };
        let mut client = store.pool.get()?;
        migrate::migrate(&mut client, store.pool.target())?;
        drop(client);
        store.check_key(key)?;
        Ok(store)
    }

    /// Is the store encrypted?
    pub fn is_encrypted(&self) -> bool {
        self.seal.cipher().is_some()
    }

    /// Check `key` against the database (see [`PgStore::open_keyed`]) and start sealing.
    fn check_key(&mut self, key: Option<&StoreKey>) -> Result<(), StoreError> {
        let client = self.pool.get()?;
        let target = PathBuf::from(self.pool.target());
        let read = || -> Result<Option<EncryptionRecord>, StoreError> {
            let row = wait(client.query_opt("SELECT cipher, key_check FROM store_encryption", &[]))
                .map_err(pg_err)?;
            Ok(row.map(|r| EncryptionRecord {
                v: CURRENT,
                cipher: r.get(0),
                check: r.get(1),
            }))
        };
        let empty: bool = wait(client.query_one(
            "SELECT NOT EXISTS (SELECT 1 FROM cases) AND NOT EXISTS (SELECT 1 FROM jobs)
                 AND NOT EXISTS (SELECT 1 FROM bundles)",
            &[],
        ))
        .map_err(pg_err)?
        .get(0);
        let cipher = match decide(read()?, key, empty, &target)? {
            KeyDecision::Plain => return Ok(()),
            KeyDecision::Encrypted(cipher) => cipher,
            KeyDecision::Start(cipher, record) => {
                let n = wait(client.execute(
                    "INSERT INTO store_encryption (cipher, key_check) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                    &[&record.cipher, &record.check],
                ))
                .map_err(pg_err)?;
                if n == 1 {
                    cipher
                } else {
                    // Another process encrypted it first: its key must be this one.
                    match decide(read()?, key, false, &target)? {
                        KeyDecision::Encrypted(cipher) => cipher,
                        _ => return Err(StoreError::WrongKey { path: target }),
                    }
                }
            }
        };
        self.cache.seal_with(cipher.clone());
        self.seal = Seal::new(Some(cipher));
        Ok(())
    }

    /// Set how long a job stays with this process without a renewal (default 30 s).
    pub fn with_lease(mut self, lease: Duration) -> PgStore {
        self.lease = lease;
        self
    }

    /// This process's name on the jobs it holds.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    fn lease_until(&self) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from((now + self.lease).as_millis()).unwrap_or(i64::MAX)
    }

    /// [`CaseStore::journal_take_over`], taking at most `n` jobs (oldest first).
    pub fn take_over_at_most(&self, n: i64) -> Result<Vec<JournalEntry>, StoreError> {
        let client = self.pool.get()?;
        let now = to_i64(crate::record::now_millis());
        let rows = wait(client.query(
            "UPDATE jobs SET lease_owner = $1, lease_until = $2
             WHERE id IN (SELECT id FROM jobs WHERE lease_until < $3
                          ORDER BY accepted_at, seq LIMIT $4 FOR UPDATE SKIP LOCKED)
             RETURNING accepted_at, seq, entry::text, id",
            &[&self.owner, &self.lease_until(), &now, &n],
        ))
        .map_err(pg_err)?;
        let mut taken = rows
            .iter()
            .map(|r| {
                Ok((
                    (r.get::<_, i64>(0), r.get::<_, i64>(1)),
                    decode_job(&self.seal, r.get(3), r.get(2))?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        taken.sort_by_key(|(order, _)| *order);
        Ok(taken.into_iter().map(|(_, e)| e).collect())
    }

    /// The schema version of the database (the newest migration applied).
    pub fn schema_version(&self) -> Result<i32, StoreError> {
        let client = self.pool.get()?;
        let row =
            wait(client.query_one("SELECT coalesce(max(version), 0) FROM casebot_schema", &[]))
                .map_err(pg_err)?;
        Ok(row.get(0))
    }

    /// The newest schema version this build knows.
    pub fn latest_schema_version() -> i32 {
        migrate::latest()
    }

    /// `host:port/database` of the store, for messages.
    pub fn target(&self) -> &str {
        self.pool.target()
    }
}

/// `host:port/database`, without user or password.
fn describe_target(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

/// Postgres has no unsigned integers: u64 values are stored bit-for-bit in `bigint`.
fn to_i64(n: u64) -> i64 {
    i64::from_ne_bytes(n.to_ne_bytes())
}

fn to_u64(n: i64) -> u64 {
    u64::from_ne_bytes(n.to_ne_bytes())
}

/// The `doc` of a case (sealed in an encrypted store).
fn case_json(seal: &Seal, case: &Case) -> Result<String, StoreError> {
    let json = seal.wrap_json(tree::CASES, case.id.as_str().as_bytes(), encode_case(case)?);
    String::from_utf8(json).map_err(|e| StoreError::Codec {
        what: format!("case {}", case.id),
        reason: e.to_string(),
    })
}

/// A case from the `doc` of row `id`.
fn decode_doc(seal: &Seal, id: &str, doc: &str) -> Result<Case, StoreError> {
    decode_case(&seal.unwrap_json("case", tree::CASES, id.as_bytes(), doc.as_bytes())?)
}

/// The `entry` of a job (sealed in an encrypted store).
fn job_json(seal: &Seal, entry: &JournalEntry) -> Result<String, StoreError> {
    let json = serde_json::to_vec(&JobRecord {
        v: CURRENT,
        entry: entry.clone(),
    })
    .map_err(|e| StoreError::Codec {
        what: format!("job {}", entry.id),
        reason: e.to_string(),
    })?;
    let json = seal.wrap_json(tree::JOURNAL, entry.id.as_bytes(), json);
    String::from_utf8(json).map_err(|e| StoreError::Codec {
        what: format!("job {}", entry.id),
        reason: e.to_string(),
    })
}

/// A job from the `entry` of row `id`.
fn decode_job(seal: &Seal, id: &str, text: &str) -> Result<JournalEntry, StoreError> {
    let json = seal.unwrap_json("job", tree::JOURNAL, id.as_bytes(), text.as_bytes())?;
    Ok(decode::<JobRecord>("job", &json)?.entry)
}

/// The case a thread is bound to.
async fn case_of_thread(
    client: &impl GenericClient,
    thread: u64,
) -> Result<Option<CaseId>, StoreError> {
    let row = client
        .query_opt(
            "SELECT case_id FROM threads WHERE thread_id = $1",
            &[&to_i64(thread)],
        )
        .await
        .map_err(pg_err)?;
    row.map(|r| {
        CaseId::parse(r.get(0)).map_err(|reason| StoreError::Codec {
            what: "thread binding".into(),
            reason,
        })
    })
    .transpose()
}

/// Point thread bindings at `after` (and drop the old binding if it was this case's).
async fn bind_threads(
    tx: &impl GenericClient,
    before: Option<&Case>,
    after: &Case,
) -> Result<(), StoreError> {
    let old = before.and_then(|c| c.thread_id);
    if old == after.thread_id {
        return Ok(());
    }
    if let Some(old) = old {
        tx.execute(
            "DELETE FROM threads WHERE thread_id = $1 AND case_id = $2",
            &[&to_i64(old), &after.id.as_str()],
        )
        .await
        .map_err(pg_err)?;
    }
    if let Some(new) = after.thread_id {
        tx.execute(
            "INSERT INTO threads (thread_id, case_id) VALUES ($1, $2)
             ON CONFLICT (thread_id) DO UPDATE SET case_id = excluded.case_id",
            &[&to_i64(new), &after.id.as_str()],
        )
        .await
        .map_err(pg_err)?;
    }
    Ok(())
}

/// Record `message_id` in `tx`; false if it was already recorded.
async fn record_message(tx: &impl GenericClient, message_id: &str) -> Result<bool, StoreError> {
    record_creation(tx, message_id, None).await
}

/// Record `message_id` in `tx`, naming the case it created if any; false if already recorded.
async fn record_creation(
    tx: &impl GenericClient,
    message_id: &str,
    case: Option<&CaseId>,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "INSERT INTO processed (message_id, at, case_id) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&message_id, &to_i64(now_secs()), &case.map(CaseId::as_str)],
        )
        .await
        .map_err(pg_err)?;
    Ok(n == 1)
}

/// The outcome of one optimistic write attempt.
enum Attempt {
    Written,
    Duplicate,
    /// Another process changed the case since it was read: read again.
    Stale,
}

impl PgStore {
    /// Read a case and its version; `Ok(None)` when the message id was already processed.
    fn read_versioned(
        &self,
        id: &CaseId,
        message_id: Option<&str>,
    ) -> Result<Option<(i64, Case)>, StoreError> {
        let client = self.pool.get()?;
        wait(async {
            if let Some(mid) = message_id {
                let seen = client
                    .query_opt("SELECT 1 FROM processed WHERE message_id = $1", &[&mid])
                    .await
                    .map_err(pg_err)?;
                if seen.is_some() {
                    return Ok(None);
                }
            }
            let row = client
                .query_opt(
                    "SELECT version, doc::text FROM cases WHERE id = $1",
                    &[&id.as_str()],
                )
                .await
                .map_err(pg_err)?
                .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
            let doc: String = row.get(1);
            Ok(Some((
                row.get(0),
                decode_doc(&self.seal, id.as_str(), &doc)?,
            )))
        })
    }

    /// Write `after` if the case is still at `version`, with `message_id`, in one transaction.
    fn write_versioned(
        &self,
        version: i64,
        before: &Case,
        after: &Case,
        message_id: Option<&str>,
    ) -> Result<Attempt, StoreError> {
        let mut client = self.pool.get()?;
        let doc = if after != before {
            Some(case_json(&self.seal, after)?)
        } else {
            None
        };
        wait(async {
            let tx = client.transaction().await.map_err(pg_err)?;
            if let Some(mid) = message_id
                && !record_message(&tx, mid).await?
            {
                return Ok(Attempt::Duplicate);
            }
            let id = after.id.as_str();
            let n = match &doc {
                Some(doc) => tx
                    .execute(
                        "UPDATE cases SET doc = $3::text::jsonb, created_at = $4,
                             version = version + 1
                         WHERE id = $1 AND version = $2",
                        &[&id, &version, doc, &to_i64(after.created_at)],
                    )
                    .await
                    .map_err(pg_err)?,
                // Nothing to write, but the result returned must still be current.
                None => tx
                    .execute(
                        "SELECT 1 FROM cases WHERE id = $1 AND version = $2 FOR SHARE",
                        &[&id, &version],
                    )
                    .await
                    .map_err(pg_err)?,
            };
            if n == 0 {
                return Ok(Attempt::Stale);
            }
            if doc.is_some() {
                bind_threads(&tx, Some(before), after).await?;
                recurrence::index_case(&tx, Some(before), after).await?;
            }
            tx.commit().await.map_err(pg_err)?;
            Ok(Attempt::Written)
        })
    }

    fn snapshot(&self) -> Result<Dump, StoreError> {
        let mut client = self.pool.get()?;
        let mut dump = wait(async {
            let tx = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .map_err(pg_err)?;
            let mut dump = Dump {
                counter: to_u64(
                    tx.query_one("SELECT n FROM counter", &[])
                        .await
                        .map_err(pg_err)?
                        .get(0),
                ),
                ..Dump::default()
            };
            for row in tx
                .query("SELECT id, doc::text FROM cases", &[])
                .await
                .map_err(pg_err)?
            {
                let doc: String = row.get(1);
                dump.cases
                    .push((0, decode_doc(&self.seal, row.get(0), &doc)?));
            }
            for row in tx
                .query("SELECT thread_id, case_id FROM threads", &[])
                .await
                .map_err(pg_err)?
            {
                let case: String = row.get(1);
                let case = CaseId::parse(&case).map_err(|reason| StoreError::Codec {
                    what: "thread binding".into(),
                    reason,
                })?;
                dump.threads.push((0, to_u64(row.get(0)), case));
            }
            for row in tx
                .query("SELECT message_id, at FROM processed", &[])
                .await
                .map_err(pg_err)?
            {
                dump.processed.push((0, row.get(0), to_u64(row.get(1))));
            }
            for row in tx
                .query(
                    "SELECT entry::text, id FROM jobs ORDER BY accepted_at, seq",
                    &[],
                )
                .await
                .map_err(pg_err)?
            {
                let text: String = row.get(0);
                dump.journal
                    .push((0, decode_job(&self.seal, row.get(1), &text)?));
            }
            for row in tx
                .query("SELECT sha256, bytes FROM bundles ORDER BY sha256", &[])
                .await
                .map_err(pg_err)?
            {
                dump.bundles.push(DumpBundle {
                    cipher: self.seal.cipher().cloned(),
                    sha256: row.get(0),
                    bytes: to_u64(row.get(1)),
                    path: PathBuf::new(),
                });
            }
            tx.commit().await.map_err(pg_err)?;
            Ok::<Dump, StoreError>(dump)
        })?;
        drop(client);
        // The same order as the embedded stores, so dumps of equal stores are equal.
        dump.cases
            .sort_by(|(_, a), (_, b)| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        dump.threads.sort_by_key(|(_, t, _)| *t);
        dump.processed.sort_by(|a, b| a.1.cmp(&b.1));
        for bundle in &mut dump.bundles {
            bundle.path = self.bundle_path(&bundle.sha256)?.ok_or_else(|| {
                StoreError::Io(format!("bundle {} vanished during export", bundle.sha256))
            })?;
        }
        Ok(dump)
    }
}

mod bundles;

/// The import merge inside one transaction.
struct TxMerge<'a, 'b> {
    tx: &'a Transaction<'b>,
    seal: &'a Seal,
}

impl MergeTarget for TxMerge<'_, '_> {
    type Err = StoreError;
    fn fail(&self, e: StoreError) -> StoreError {
        e
    }
    fn get_case(&mut self, id: &CaseId) -> Result<Option<Case>, StoreError> {
        let row = wait(
            self.tx
                .query_opt("SELECT doc::text FROM cases WHERE id = $1", &[&id.as_str()]),
        )
        .map_err(pg_err)?;
        row.map(|r| decode_doc(self.seal, id.as_str(), r.get(0)))
            .transpose()
    }
    fn put_case(&mut self, case: &Case) -> Result<(), StoreError> {
        let doc = case_json(self.seal, case)?;
        wait(self.tx.execute(
            "INSERT INTO cases (id, created_at, version, doc) VALUES ($1, $2, 1, $3::text::jsonb)",
            &[&case.id.as_str(), &to_i64(case.created_at), &doc],
        ))
        .map_err(pg_err)?;
        wait(recurrence::index_case(self.tx, None, case))
    }
    fn get_thread(&mut self, thread: u64) -> Result<Option<CaseId>, StoreError> {
        wait(case_of_thread(self.tx, thread))
    }
    fn put_thread(&mut self, thread: u64, case: &CaseId) -> Result<(), StoreError> {
        wait(self.tx.execute(
            "INSERT INTO threads (thread_id, case_id) VALUES ($1, $2)",
            &[&to_i64(thread), &case.as_str()],
        ))
        .map_err(pg_err)?;
        Ok(())
    }
    fn has_processed(&mut self, id: &str) -> Result<bool, StoreError> {
        let row = wait(
            self.tx
                .query_opt("SELECT 1 FROM processed WHERE message_id = $1", &[&id]),
        )
        .map_err(pg_err)?;
        Ok(row.is_some())
    }
    fn put_processed(&mut self, id: &str, at: u64) -> Result<(), StoreError> {
        wait(self.tx.execute(
            "INSERT INTO processed (message_id, at) VALUES ($1, $2)",
            &[&id, &to_i64(at)],
        ))
        .map_err(pg_err)?;
        Ok(())
    }
    fn get_journal(&mut self, id: &str) -> Result<Option<JournalEntry>, StoreError> {
        let row = wait(
            self.tx
                .query_opt("SELECT entry::text FROM jobs WHERE id = $1", &[&id]),
        )
        .map_err(pg_err)?;
        row.map(|r| decode_job(self.seal, id, r.get(0))).transpose()
    }
    fn put_journal(&mut self, entry: &JournalEntry) -> Result<(), StoreError> {
        let json = job_json(self.seal, entry)?;
        wait(self.tx.execute(
            "INSERT INTO jobs (id, accepted_at, entry) VALUES ($1, $2, $3::text::jsonb)",
            &[&entry.id, &to_i64(entry.accepted_at), &json],
        ))
        .map_err(pg_err)?;
        Ok(())
    }
    fn counter(&mut self) -> Result<u64, StoreError> {
        let row = wait(self.tx.query_one("SELECT n FROM counter", &[])).map_err(pg_err)?;
        Ok(to_u64(row.get(0)))
    }
    fn set_counter(&mut self, n: u64) -> Result<(), StoreError> {
        wait(self.tx.execute("UPDATE counter SET n = $1", &[&to_i64(n)])).map_err(pg_err)?;
        Ok(())
    }
}

impl CaseStore for PgStore {
    fn new_case_id(&self) -> Result<CaseId, StoreError> {
        let client = self.pool.get()?;
        wait(async {
            loop {
                let row = client
                    .query_one("UPDATE counter SET n = n + 1 RETURNING n", &[])
                    .await
                    .map_err(pg_err)?;
                let id = case_id_from_counter(to_u64(row.get(0)));
                let taken = client
                    .query_opt("SELECT 1 FROM cases WHERE id = $1", &[&id.as_str()])
                    .await
                    .map_err(pg_err)?;
                if taken.is_none() {
                    return Ok(id);
                }
            }
        })
    }

    fn create(&self, case: Case, message_id: Option<&str>) -> Result<Applied<Case>, StoreError> {
        let doc = case_json(&self.seal, &case)?;
        let mut client = self.pool.get()?;
        wait(async {
            let tx = client.transaction().await.map_err(pg_err)?;
            if let Some(mid) = message_id
                && !record_creation(&tx, mid, Some(&case.id)).await?
            {
                return Ok(Applied::Duplicate);
            }
            let n = tx
                .execute(
                    "INSERT INTO cases (id, created_at, version, doc)
                     VALUES ($1, $2, 1, $3::text::jsonb) ON CONFLICT DO NOTHING",
                    &[&case.id.as_str(), &to_i64(case.created_at), &doc],
                )
                .await
                .map_err(pg_err)?;
            if n == 0 {
                return Err(StoreError::Exists(case.id.to_string()));
            }
            bind_threads(&tx, None, &case).await?;
            recurrence::index_case(&tx, None, &case).await?;
            tx.commit().await.map_err(pg_err)?;
            Ok(Applied::Done(case))
        })
    }

    fn created_by(&self, message_id: &str) -> Result<Option<CaseId>, StoreError> {
        let client = self.pool.get()?;
        let row = wait(client.query_opt(
            "SELECT case_id FROM processed WHERE message_id = $1",
            &[&message_id],
        ))
        .map_err(pg_err)?;
        row.and_then(|r| r.get::<_, Option<String>>(0))
            .map(|id| {
                CaseId::parse(&id).map_err(|reason| StoreError::Codec {
                    what: "processed id".into(),
                    reason,
                })
            })
            .transpose()
    }

    fn get(&self, id: &CaseId) -> Result<Option<Case>, StoreError> {
        let client = self.pool.get()?;
        let row =
            wait(client.query_opt("SELECT doc::text FROM cases WHERE id = $1", &[&id.as_str()]))
                .map_err(pg_err)?;
        row.map(|r| decode_doc(&self.seal, id.as_str(), r.get(0)))
            .transpose()
    }

    fn update(
        &self,
        id: &CaseId,
        message_id: Option<&str>,
        f: &mut dyn FnMut(&mut Case),
    ) -> Result<Applied<Case>, StoreError> {
        for attempt in 0..MAX_ATTEMPTS {
            let Some((version, before)) = self.read_versioned(id, message_id)? else {
                return Ok(Applied::Duplicate);
            };
            let mut after = before.clone();
            f(&mut after);
            if after.id != before.id {
                return Err(StoreError::IdChanged(before.id.to_string()));
            }
            match self.write_versioned(version, &before, &after, message_id)? {
                Attempt::Written => return Ok(Applied::Done(after)),
                Attempt::Duplicate => return Ok(Applied::Duplicate),
                Attempt::Stale => {
                    // Back off a little, more after repeated losses, so writers spread out.
                    let ms = rand::random::<u64>() % (2 + u64::from(attempt.min(20)));
                    std::thread::sleep(Duration::from_millis(ms));
                }
            }
        }
        Err(StoreError::Contended(id.to_string()))
    }

    fn is_processed(&self, message_id: &str) -> Result<bool, StoreError> {
        let client = self.pool.get()?;
        let row = wait(client.query_opt(
            "SELECT 1 FROM processed WHERE message_id = $1",
            &[&message_id],
        ))
        .map_err(pg_err)?;
        Ok(row.is_some())
    }

    fn mark_processed(&self, message_id: &str) -> Result<bool, StoreError> {
        let client = self.pool.get()?;
        wait(record_message(&*client, message_id))
    }

    fn prune_processed(&self, before: u64) -> Result<u64, StoreError> {
        let client = self.pool.get()?;
        // Times are far below 2^63; a larger bound means "everything".
        let before = i64::try_from(before).unwrap_or(i64::MAX);
        wait(client.execute("DELETE FROM processed WHERE at < $1", &[&before])).map_err(pg_err)
    }

    fn list(&self) -> Result<Vec<Case>, StoreError> {
        let client = self.pool.get()?;
        let rows = wait(client.query("SELECT id, doc::text FROM cases", &[])).map_err(pg_err)?;
        let mut cases = rows
            .iter()
            .map(|r| decode_doc(&self.seal, r.get(0), r.get(1)))
            .collect::<Result<Vec<Case>, StoreError>>()?;
        cases.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(cases)
    }

    /// Newest first through the `(created_at, id)` index, a page at a time, decoding cases only
    /// until `limit` of them are kept. Ids compare bytewise (`COLLATE "C"`), as the other stores
    /// order them, whatever the database's collation.
    fn latest(
        &self,
        keep: &mut dyn FnMut(&Case) -> bool,
        limit: usize,
    ) -> Result<Vec<Case>, StoreError> {
        const PAGE: i64 = 100;
        let client = self.pool.get()?;
        let mut out = Vec::new();
        let mut after: Option<(i64, String)> = None;
        while out.len() < limit {
            let rows = match &after {
                None => wait(client.query(
                    "SELECT id, doc::text, created_at FROM cases \
                     ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $1",
                    &[&PAGE],
                )),
                Some((at, id)) => wait(client.query(
                    "SELECT id, doc::text, created_at FROM cases \
                     WHERE created_at < $1 OR (created_at = $1 AND id COLLATE \"C\" < $2) \
                     ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $3",
                    &[at, id, &PAGE],
                )),
            }
            .map_err(pg_err)?;
            for row in &rows {
                let case = decode_doc(&self.seal, row.get(0), row.get(1))?;
                if keep(&case) {
                    out.push(case);
                    if out.len() >= limit {
                        break;
                    }
                }
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == PAGE => after = Some((last.get(2), last.get(0))),
                _ => break,
            }
        }
        Ok(out)
    }

    fn recurrence(
        &self,
        conclusion: &Conclusion,
        this: &CaseId,
        limit: usize,
    ) -> Result<Recurrence, StoreError> {
        self.recurrence_indexed(conclusion, this, limit)
    }

    fn case_by_thread(&self, thread_id: u64) -> Result<Option<CaseId>, StoreError> {
        let client = self.pool.get()?;
        wait(case_of_thread(&*client, thread_id))
    }

    fn put_bundle(&self, data: &mut dyn Read) -> Result<StoredBundle, StoreError> {
        self.put_bundle_shared(data)
    }

    fn bundle_writer(&self) -> Result<crate::BundleWriter, StoreError> {
        self.cache.writer()
    }

    fn adopt_bundle(&self, writer: crate::BundleWriter) -> Result<StoredBundle, StoreError> {
        let local = self.cache.adopt(writer)?;
        self.share_bundle(local)
    }

    fn bundle_path(&self, sha256: &str) -> Result<Option<PathBuf>, StoreError> {
        self.fetch_bundle(sha256)
    }

    fn open_bundle(&self, sha256: &str) -> Result<Option<crate::PlainBundle>, StoreError> {
        if self.fetch_bundle(sha256)?.is_none() {
            return Ok(None);
        }
        self.cache.open_plain(&sha256.to_ascii_lowercase())
    }

    fn delete_bundle(&self, sha256: &str) -> Result<bool, StoreError> {
        let sha256 = sha256.to_ascii_lowercase();
        let client = self.pool.get()?;
        // The chunks go with their row (ON DELETE CASCADE).
        let n = wait(client.execute("DELETE FROM bundles WHERE sha256 = $1", &[&sha256]))
            .map_err(pg_err)?;
        let cached = self.cache.remove(&sha256)?;
        Ok(n > 0 || cached)
    }

    fn delete_case(&self, id: &CaseId) -> Result<bool, StoreError> {
        if !crate::forget_conclusions(self, id)? {
            return Ok(false);
        }
        let mut client = self.pool.get()?;
        wait(async {
            let tx = client.transaction().await.map_err(pg_err)?;
            let n = tx
                .execute("DELETE FROM cases WHERE id = $1", &[&id.as_str()])
                .await
                .map_err(pg_err)?;
            tx.execute("DELETE FROM threads WHERE case_id = $1", &[&id.as_str()])
                .await
                .map_err(pg_err)?;
            // Entries may be sealed: find the case's jobs here rather than in SQL.
            let mut jobs = Vec::new();
            for row in tx
                .query("SELECT id, entry::text FROM jobs", &[])
                .await
                .map_err(pg_err)?
            {
                let job: String = row.get(0);
                if decode_job(&self.seal, &job, row.get(1))?.case_id == *id {
                    jobs.push(job);
                }
            }
            tx.execute("DELETE FROM jobs WHERE id = ANY($1)", &[&jobs])
                .await
                .map_err(pg_err)?;
            tx.commit().await.map_err(pg_err)?;
            Ok(n > 0)
        })
    }

    fn journal_add(&self, entry: &JournalEntry) -> Result<(), StoreError> {
        let json = job_json(&self.seal, entry)?;
        let client = self.pool.get()?;
        wait(client.execute(
            "INSERT INTO jobs (id, accepted_at, entry, lease_owner, lease_until)
             VALUES ($1, $2, $3::text::jsonb, $4, $5)
             ON CONFLICT (id) DO UPDATE SET accepted_at = excluded.accepted_at,
                 entry = excluded.entry, lease_owner = excluded.lease_owner,
                 lease_until = excluded.lease_until",
            &[
                &entry.id,
                &to_i64(entry.accepted_at),
                &json,
                &self.owner,
                &self.lease_until(),
            ],
        ))
        .map_err(pg_err)?;
        Ok(())
    }

    fn journal_take_over(&self) -> Result<Vec<JournalEntry>, StoreError> {
        self.take_over_at_most(100)
    }

    fn journal_renew(&self) -> Result<(), StoreError> {
        let client = self.pool.get()?;
        wait(client.execute(
            "UPDATE jobs SET lease_until = $2 WHERE lease_owner = $1",
            &[&self.owner, &self.lease_until()],
        ))
        .map_err(pg_err)?;
        Ok(())
    }

    fn lease(&self) -> Option<Duration> {
        Some(self.lease)
    }

    fn journal_remove(&self, id: &str) -> Result<(), StoreError> {
        let client = self.pool.get()?;
        wait(client.execute("DELETE FROM jobs WHERE id = $1", &[&id])).map_err(pg_err)?;
        Ok(())
    }

    fn journal_list(&self) -> Result<Vec<JournalEntry>, StoreError> {
        let client = self.pool.get()?;
        let rows = wait(client.query(
            "SELECT entry::text, id FROM jobs ORDER BY accepted_at, seq",
            &[],
        ))
        .map_err(pg_err)?;
        rows.iter()
            .map(|r| decode_job(&self.seal, r.get(1), r.get(0)))
            .collect()
    }

    fn export(&self, out: &mut dyn Write) -> Result<u64, StoreError> {
        self.snapshot()?.write(out)
    }

    fn import(&self, input: &mut dyn BufRead) -> Result<u64, StoreError> {
        let dump = Dump::read(input)?;
        let bundles = dump.put_bundles(&|r| self.put_bundle_shared(r))?;
        let mut client = self.pool.get()?;
        let tx = wait(client.transaction()).map_err(pg_err)?;
        // Writers wait while the merge checks and writes, so it sees a store that holds still.
        wait(tx.batch_execute(
            "LOCK TABLE counter, cases, threads, processed, jobs IN SHARE ROW EXCLUSIVE MODE",
        ))
        .map_err(pg_err)?;
        let written = merge(
            &dump,
            &mut TxMerge {
                tx: &tx,
                seal: &self.seal,
            },
        )?;
        wait(tx.commit()).map_err(pg_err)?;
        Ok(bundles + written)
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
