//! A throwaway PostgreSQL cluster for tests: `initdb` into a temporary directory, `postgres` on a
//! free loopback port, one database per test, everything removed when the test process exits.
//!
//! One cluster serves the whole test process ([`TestCluster::shared`]); each test asks it for a
//! fresh database ([`TestCluster::database`]), so tests stay independent and run in parallel.
//!
//! PostgreSQL refuses to run as root. When the tests run as root (as CI does), the server runs
//! as the unprivileged user named by `CASEBOT_PG_USER` (default `postgres`, the account the
//! Debian package creates) through `runuser`.
//!
//! The server is started by a small shell supervisor whose standard input is a pipe held by the
//! test process: when the test process ends, however it ends, the pipe closes and the supervisor
//! stops the server and deletes the cluster directory. No server outlives the test run.
//!
//! When no server can be started, [`TestCluster::shared`] returns the reason. Callers skip with
//! that reason printed, unless `CASEBOT_REQUIRE_PG` is set (CI sets it), where they fail.

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Variable that turns "cannot start PostgreSQL" from a skip into a failure.
pub const REQUIRE_ENV: &str = "CASEBOT_PG_REQUIRE";
/// Variable naming the unprivileged user that runs the server when tests run as root.
pub const USER_ENV: &str = "CASEBOT_PG_USER";
/// Variable naming the directory holding `initdb` and `postgres`.
pub const BIN_ENV: &str = "CASEBOT_PG_BIN";

/// A running throwaway cluster.
#[derive(Debug)]
pub struct TestCluster {
    port: u16,
    dir: PathBuf,
    /// Closing this pipe stops the server and removes `dir`.
    _stdin: Mutex<ChildStdin>,
    _supervisor: Mutex<Child>,
    next_db: AtomicU64,
}

static SHARED: OnceLock<Result<TestCluster, String>> = OnceLock::new();

impl TestCluster {
    /// The cluster of this test process, started on first use; `Err` says why there is none.
    pub fn shared() -> Result<&'static TestCluster, String> {
        SHARED.get_or_init(start).as_ref().map_err(Clone::clone)
    }

    /// The shared cluster, or `None` after printing why the calling test is skipped. Panics
    /// instead when `CASEBOT_PG_REQUIRE` is set: CI must never pass by skipping.
    pub fn or_skip(test: &str) -> Option<&'static TestCluster> {
        match TestCluster::shared() {
            Ok(cluster) => Some(cluster),
            Err(reason) if required() => {
                panic!("{REQUIRE_ENV} is set but PostgreSQL is unavailable: {reason}")
            }
            Err(reason) => {
                // Written to the process's stderr directly, not through the test harness's
                // capture, so a skip is visible in a normal `cargo test` run.
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED {test}: PostgreSQL is unavailable ({reason}); \
                     set {REQUIRE_ENV}=1 to make this a failure"
                );
                None
            }
        }
    }

    /// A new, empty database; returns its connection URL.
    pub fn database(&self) -> String {
        let n = self.next_db.fetch_add(1, Ordering::Relaxed);
        let name = format!("t{}_{n}", std::process::id());
        let out = self
            .psql("postgres", &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        drop(out);
        self.url(&name)
    }

    /// URL of database `name` in this cluster.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://casebot@127.0.0.1:{}/{name}", self.port)
    }

    /// Loopback port of the server.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Run one SQL statement with `psql` against database `db`; returns its output.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(bin_dir()?.join("psql"))
            .args([
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "casebot",
                "-d",
                db,
                "-c",
                sql,
            ])
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The cluster's data directory (removed when the test process exits).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn required() -> bool {
    std::env::var_os(REQUIRE_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Where `initdb` and `postgres` live: `CASEBOT_PG_BIN`, else the `PATH`, else the newest
/// `/usr/lib/postgresql/<version>/bin` (the Debian layout, which is not on the `PATH`).
fn bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os(BIN_ENV) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            // The directory the server's programs really live in (PATH may hold symlinks).
            let real = std::fs::canonicalize(dir.join("initdb"))
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf));
            if let Some(real) = real
                && ["postgres", "psql"].iter().all(|p| real.join(p).is_file())
            {
                return Ok(real);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "no PostgreSQL server installed (initdb not found)".to_string())?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no PostgreSQL server installed (initdb not found)".to_string())
}

/// The user to run the server as: `None` to run as ourselves (not root).
fn server_user() -> Result<Option<String>, String> {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("cannot run id: {e}"))?;
    if String::from_utf8_lossy(&out.stdout).trim() != "0" {
        return Ok(None);
    }
    let user = std::env::var(USER_ENV).unwrap_or_else(|_| "postgres".into());
    let exists = Command::new("id")
        .arg("-u")
        .arg(&user)
        .output()
        .is_ok_and(|o| o.status.success());
    if !exists {
        return Err(format!(
            "running as root and the unprivileged user {user:?} does not exist \
             (create it, or name another with {USER_ENV})"
        ));
    }
    Ok(Some(user))
}

/// A command run as `user` (through `runuser`), or as ourselves.
fn as_user(user: Option<&str>, program: &Path) -> Command {
    match user {
        Some(user) => {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", user, "--"]).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("cannot find a free loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn start() -> Result<TestCluster, String> {
    let bin = bin_dir()?;
    let user = server_user()?;
    let root = tempfile::Builder::new()
        .prefix("casebot-pg-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?
        .keep();
    let dir = root.join("data");
    if let Some(user) = &user {
        let out = Command::new("chown")
            .arg(user)
            .arg(&root)
            .output()
            .map_err(|e| format!("cannot run chown: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cannot hand {} to {user}: {}",
                root.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    let init = as_user(user.as_deref(), &bin.join("initdb"))
        .args([
            "-A",
            "trust",
            "-U",
            "casebot",
            "-E",
            "UTF8",
            "--no-sync",
            "-D",
        ])
        .arg(&dir)
        .output()
        .map_err(|e| format!("cannot run initdb: {e}"))?;
    if !init.status.success() {
        let _ = std::fs::remove_dir_all(&root);
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr).trim()
        ));
    }
    // On failure the supervisor has already removed `root`.
    launch(&bin, user.as_deref(), &root, &dir)
}

/// Start the server under its supervisor and wait until it accepts connections.
fn launch(bin: &Path, user: Option<&str>, root: &Path, dir: &Path) -> Result<TestCluster, String> {
    let port = free_port()?;
    // The supervisor: run postgres in the background, wait for stdin to close (the test process
    // ended), then stop the server (fast shutdown) and delete the cluster.
    let script = r#"
        "$1" -D "$2" -p "$3" -h 127.0.0.1 -k "$2" -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300 -c shared_buffers=32MB \
             >"$4/server.log" 2>&1 &
        pid=$!
        cat >/dev/null
        kill -INT "$pid" 2>/dev/null
        wait "$pid"
        rm -rf "$4"
    "#;
    let mut supervisor = as_user(user, Path::new("/bin/sh"))
        .args(["-c", script, "casebot-pg"])
        .arg(bin.join("postgres"))
        .arg(dir)
        .arg(port.to_string())
        .arg(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start postgres: {e}"))?;
    let stdin = supervisor.stdin.take().ok_or("no supervisor stdin")?;
    let cluster = TestCluster {
        port,
        dir: dir.to_path_buf(),
        _stdin: Mutex::new(stdin),
        _supervisor: Mutex::new(supervisor),
        next_db: AtomicU64::new(0),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match cluster.psql("postgres", "SELECT 1") {
            Ok(_) => return Ok(cluster),
            Err(e) if Instant::now() > deadline => {
                let log = std::fs::read_to_string(root.join("server.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(3).collect();
                return Err(format!(
                    "postgres did not start on port {port}: {e}; server log ends: {}",
                    tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
                ));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}
