//! Connections: a small pool of `tokio_postgres` clients driven by the store's own runtime.
//!
//! `CaseStore` is a blocking trait, called both from plain threads and from the bot's async
//! tasks (like sled calls, they are short). The connections' I/O tasks run on a runtime owned by
//! the store, and callers wait for query futures with a plain executor, so a call never needs
//! (or disturbs) the caller's runtime: it blocks the calling thread for one round trip, as a
//! sled call blocks it for one lookup.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls};

use crate::StoreError;

/// Largest number of connections one store opens.
const MAX_CONNECTIONS: usize = 16;

/// Wait for `fut` on the calling thread. The futures of a `Client` only exchange messages with
/// its connection task (on the store's runtime), so no reactor is needed here.
pub(crate) fn wait<F: Future>(fut: F) -> F::Output {
    futures::executor::block_on(fut)
}

#[derive(Default)]
struct Idle {
    clients: Vec<Client>,
    open: usize,
}

/// The pool.
pub(crate) struct Pool {
    config: Config,
    target: String,
    runtime: Option<tokio::runtime::Runtime>,
    idle: Mutex<Idle>,
    freed: Condvar,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("target", &self.target)
            .finish()
    }
}

impl Pool {
    /// A pool for `config`; `target` names the server in errors (never the password).
    pub fn new(mut config: Config, target: String) -> Result<Pool, StoreError> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("casebot-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Io(format!("cannot start the PostgreSQL runtime: {e}")))?;
        Ok(Pool {
            config,
            target,
            runtime: Some(runtime),
            idle: Mutex::new(Idle::default()),
            freed: Condvar::new(),
        })
    }

    /// Where the pool connects, without credentials (`host:port/database`).
    pub fn target(&self) -> &str {
        &self.target
    }

    fn lock(&self) -> MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A client: an idle one, a new one, or the next one returned.
    pub fn get(&self) -> Result<Pooled<'_>, StoreError> {
        let mut idle = self.lock();
        loop {
            if let Some(client) = idle.clients.pop() {
                if client.is_closed() {
                    idle.open -= 1;
                    continue;
                }
                return Ok(Pooled {
                    pool: self,
                    client: Some(client),
                });
            }
            if idle.open < MAX_CONNECTIONS {
                idle.open += 1;
                drop(idle);
                return match self.connect() {
                    Ok(client) => Ok(Pooled {
                        pool: self,
                        client: Some(client),
                    }),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            idle = self.freed.wait(idle).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn connect(&self) -> Result<Client, StoreError> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| StoreError::Io("the store is closed".into()))?;
        let config = self.config.clone();
        let task = runtime.spawn(async move {
            let (client, connection) = config.connect(NoTls).await?;
            // A broken connection is noticed by the next query on it, which fails and is
            // reported; the pool then drops the client.
            tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok::<Client, tokio_postgres::Error>(client)
        });
        match wait(task) {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(StoreError::Connect {
                target: self.target.clone(),
                reason: describe(&e),
            }),
            Err(e) => Err(StoreError::Io(format!(
                "PostgreSQL connect task failed: {e}"
            ))),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.lock().clients.clear();
        // Never blocks, so the store may be dropped inside an async task.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A client on loan from the pool; returned on drop.
pub(crate) struct Pooled<'a> {
    pool: &'a Pool,
    client: Option<Client>,
}

impl Deref for Pooled<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("present until drop")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let mut idle = self.pool.lock();
            if client.is_closed() {
                idle.open -= 1;
            } else {
                idle.clients.push(client);
            }
            drop(idle);
            self.pool.freed.notify_one();
        }
    }
}

/// A PostgreSQL error as one line: the server's message when there is one.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}

/// Map a query error.
pub(crate) fn pg_err(e: tokio_postgres::Error) -> StoreError {
    StoreError::Io(format!("PostgreSQL: {}", describe(&e)))
}
