//! Versioned schema migrations, applied at start-up.
//!
//! The migrations are the SQL files in `store/migrations/`, numbered from 1 and compiled into the
//! binary. The table `casebot_schema` records every version applied. At start-up, under a
//! transaction-scoped advisory lock (so processes starting together apply each migration once),
//! the missing versions are applied in order, each in the same transaction as its record. A
//! database whose schema is newer than this binary knows is refused: an older casebot must not
//! write records it does not understand.

use tokio_postgres::Client;

use super::conn::{pg_err, wait};
use crate::StoreError;

/// Every migration, in order; version = index + 1.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_created_by.sql"),
    include_str!("../../migrations/0003_recurrence.sql"),
    include_str!("../../migrations/0004_encryption.sql"),
];

/// The version whose tables the binary fills after the SQL ran (the recurrence index).
const FILL_RECURRENCE: i32 = 3;

/// Key of the advisory lock that serialises migrations ("casebot" in ASCII).
const LOCK_KEY: i64 = 0x0063_6173_6562_6f74;

/// The newest schema version this binary knows.
pub(crate) fn latest() -> i32 {
    i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX)
}

/// Bring the schema up to [`latest`]; refuse a newer database. Returns the versions applied.
pub(crate) fn migrate(client: &mut Client, target: &str) -> Result<Vec<i32>, StoreError> {
    wait(async {
        let tx = client.transaction().await.map_err(pg_err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
            .await
            .map_err(pg_err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS casebot_schema (
                 version integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(pg_err)?;
        let row = tx
            .query_one("SELECT coalesce(max(version), 0) FROM casebot_schema", &[])
            .await
            .map_err(pg_err)?;
        let current: i32 = row.get(0);
        if current > latest() {
            return Err(StoreError::TooNew {
                target: target.to_string(),
                found: current,
                supported: latest(),
            });
        }
        let mut applied = Vec::new();
        for (version, sql) in (1..).zip(MIGRATIONS).skip(current as usize) {
            tx.batch_execute(sql).await.map_err(|e| {
                StoreError::Io(format!(
                    "PostgreSQL migration {version} failed: {}",
                    super::conn::describe(&e)
                ))
            })?;
            if version == FILL_RECURRENCE {
                super::recurrence::fill(&tx).await?;
            }
            tx.execute(
                "INSERT INTO casebot_schema (version) VALUES ($1)",
                &[&version],
            )
            .await
            .map_err(pg_err)?;
            applied.push(version);
        }
        tx.commit().await.map_err(pg_err)?;
        Ok(applied)
    })
}
