//! The recurrence index of a [`PgStore`] (`store/migrations/0003_recurrence.sql`): kept in the
//! transaction that writes the case, filled from the existing cases by the migration that adds
//! it, and read with three indexed queries whatever the number of cases.

use tokio_postgres::GenericClient;

use super::conn::{pg_err, wait};
use super::{PgStore, to_i64, to_u64};
use crate::record::decode_case;
use crate::recurrence::{Conclusion, Recurrence, changes};
use crate::{Case, CaseId, StoreError};

/// Keep the index in step with a case going from `before` to `after`, inside `tx`.
pub(super) async fn index_case(
    tx: &impl GenericClient,
    before: Option<&Case>,
    after: &Case,
) -> Result<(), StoreError> {
    let (lost, gained) = changes(before, Some(after));
    let id = after.id.as_str();
    for c in lost {
        let key = c.key();
        let n = tx
            .execute(
                "DELETE FROM recurrence WHERE conclusion = $1 AND case_id = $2",
                &[&key, &id],
            )
            .await
            .map_err(pg_err)?;
        if n > 0 {
            tx.execute(
                "UPDATE recurrence_counts SET cases = cases - 1 WHERE conclusion = $1",
                &[&key],
            )
            .await
            .map_err(pg_err)?;
        }
    }
    for c in gained {
        let key = c.key();
        let n = tx
            .execute(
                "INSERT INTO recurrence (conclusion, created_at, case_id) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&key, &to_i64(after.created_at), &id],
            )
            .await
            .map_err(pg_err)?;
        if n > 0 {
            tx.execute(
                "INSERT INTO recurrence_counts (conclusion, cases) VALUES ($1, 1)
                 ON CONFLICT (conclusion) DO UPDATE SET cases = recurrence_counts.cases + 1",
                &[&key],
            )
            .await
            .map_err(pg_err)?;
        }
    }
    Ok(())
}

/// Fill the index from every case (the migration that adds it).
pub(super) async fn fill(tx: &impl GenericClient) -> Result<(), StoreError> {
    let rows = tx
        .query("SELECT doc::text FROM cases", &[])
        .await
        .map_err(pg_err)?;
    for row in rows {
        let case = decode_case(row.get::<_, &str>(0).as_bytes())?;
        index_case(tx, None, &case).await?;
    }
    Ok(())
}

impl PgStore {
    pub(super) fn recurrence_indexed(
        &self,
        conclusion: &Conclusion,
        this: &CaseId,
        limit: usize,
    ) -> Result<Recurrence, StoreError> {
        let key = conclusion.key();
        let client = self.pool.get()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        wait(async {
            let Some(row) = client
                .query_opt(
                    "SELECT cases FROM recurrence_counts WHERE conclusion = $1",
                    &[&key],
                )
                .await
                .map_err(pg_err)?
            else {
                return Ok(Recurrence::default());
            };
            let count = to_u64(row.get(0));
            let listed = client
                .query_opt(
                    "SELECT 1 FROM recurrence WHERE conclusion = $1 AND case_id = $2",
                    &[&key, &this.as_str()],
                )
                .await
                .map_err(pg_err)?
                .is_some();
            let rows = client
                .query(
                    "SELECT case_id FROM recurrence WHERE conclusion = $1 AND case_id <> $2
                     ORDER BY created_at DESC, case_id DESC LIMIT $3",
                    &[&key, &this.as_str(), &limit],
                )
                .await
                .map_err(pg_err)?;
            let mut recent = rows
                .iter()
                .map(|r| {
                    CaseId::parse(r.get(0)).map_err(|reason| StoreError::Codec {
                        what: "recurrence index entry".into(),
                        reason,
                    })
                })
                .collect::<Result<Vec<CaseId>, StoreError>>()?;
            recent.reverse();
            Ok(Recurrence {
                count: count.saturating_sub(u64::from(listed)),
                recent,
            })
        })
    }
}
