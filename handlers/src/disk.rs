//! Purpose: temp disk across diagnoses. One bundle's unpacking is bounded by
//! `limits.max_disk_bytes`, charged byte by byte while it streams (`diagnosis::bundle`); the
//! [`DiskPool`] bounds all diagnoses of the process together (`max_total_disk_bytes`) by
//! granting each a share before it starts, which becomes that bundle's `max_disk_bytes`. The sum
//! of the grants never exceeds the pool, so neither does the temp disk written.
//!
//! [`claim_temp_root`] gives the process a private temp directory for those bundles and removes
//! the ones processes killed earlier (SIGKILL, power cut) left behind.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default `max_total_disk_bytes`: 1600 MiB, two bundles at the default per-bundle budget of
/// 800 MiB (`diagnoses.max_concurrent` defaults to 2).
pub const DEFAULT_MAX_TOTAL_DISK_BYTES: u64 = 1600 << 20;

/// The pool counts in KiB: a semaphore takes at most `u32::MAX` permits at once.
const UNIT: u64 = 1024;

/// A diagnosis starts once this much (or its whole want, if smaller) is free; it then takes
/// what is free up to its want.
const MIN_GRANT: u64 = 64 << 20;

/// Temp disk shared by the diagnoses of one process.
#[derive(Debug)]
pub struct DiskPool {
    /// Bytes all diagnoses together may write.
    total: u64,
    /// Free KiB; a grant holds its share until dropped.
    free: Arc<Semaphore>,
}

/// A diagnosis's share of the pool, returned when dropped (also on error and panic).
#[derive(Debug)]
pub struct DiskGrant {
    /// Bytes granted: the bundle's temp disk budget.
    pub bytes: u64,
    _permit: Option<OwnedSemaphorePermit>,
}

impl DiskPool {
    /// A pool of `total` bytes.
    pub fn new(total: u64) -> DiskPool {
        let units = usize::try_from(total / UNIT).unwrap_or(Semaphore::MAX_PERMITS);
        DiskPool {
            total,
            free: Arc::new(Semaphore::new(units.min(Semaphore::MAX_PERMITS))),
        }
    }

    /// The configured total in bytes.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Up to `want` bytes: waits (first come, first served) until the smaller of `want` and
    /// 64 MiB is free, then takes everything free up to `want`. A grant smaller than `want`
    /// means other diagnoses hold the rest.
    pub async fn grant(&self, want: u64) -> DiskGrant {
        let want_units = want.div_ceil(UNIT).min(self.total / UNIT);
        let floor = want_units.min(MIN_GRANT / UNIT);
        let Ok(floor32) = u32::try_from(floor) else {
            return DiskGrant::none();
        };
        if floor32 == 0 {
            return DiskGrant::none();
        }
        let Ok(mut permit) = Arc::clone(&self.free).acquire_many_owned(floor32).await else {
            return DiskGrant::none();
        };
        let mut units = floor;
        // Take what else is free now, without waiting; a racing grant may take part of it.
        while units < want_units {
            let more = (want_units - units).min(self.free.available_permits() as u64);
            let Ok(more32) = u32::try_from(more) else {
                break;
            };
            match Arc::clone(&self.free).try_acquire_many_owned(more32) {
                Ok(extra) if more32 > 0 => {
                    permit.merge(extra);
                    units += more;
                }
                _ => break,
            }
        }
        DiskGrant {
            bytes: units * UNIT,
            _permit: Some(permit),
        }
    }
}

impl DiskGrant {
    fn none() -> DiskGrant {
        DiskGrant {
            bytes: 0,
            _permit: None,
        }
    }
}

/// Whether diagnosing the file at `path` may write temp disk: archives (zip, gzip, cab by their
/// magic) and binary files that might be damaged archives may; text and evtx files are read
/// in place and never unpack anything.
pub fn may_unpack(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    let read = File::open(path).and_then(|f| f.take(4096).read_to_end(&mut head));
    if read.is_err() {
        // The engine reports the unreadable file; budget it as an archive meanwhile.
        return true;
    }
    let archive = [&b"PK\x03\x04"[..], b"PK\x05\x06", &[0x1f, 0x8b], b"MSCF"];
    if archive.iter().any(|m| head.starts_with(m)) {
        return true;
    }
    let plain = [
        &b"ElfFile\0"[..],
        &[0xef, 0xbb, 0xbf],
        &[0xff, 0xfe],
        &[0xfe, 0xff],
    ];
    if plain.iter().any(|m| head.starts_with(m)) {
        return false;
    }
    head.contains(&0)
}

/// The reason a skipped file or an unreadable bundle gives when its share of the pool, not its
/// own budget, stopped it: the engine names `max_disk_bytes ({granted})`; readers are told the
/// pool's limit instead.
pub fn name_pool_limit(reason: &mut String, granted: u64, total: u64) {
    let engine = format!("exceeds max_disk_bytes ({granted})");
    if let Some(at) = reason.find(&engine) {
        reason.truncate(at);
        reason.push_str(&format!(
            "exceeds max_total_disk_bytes ({total}): the diagnoses running at the same time may \
             write at most that many bytes of temp disk together; send it again when fewer run"
        ));
    }
}

/// Name prefix of a process's private temp root under the system temp directory.
const ROOT_PREFIX: &str = "casebot-run-";
/// The lock file in a temp root, held (flock) for as long as its process lives.
const LOCK_FILE: &str = ".lock";
/// Bundle temp directories older versions made directly under the system temp directory; no
/// live process's directory is that old without being written to.
const STALE_LEGACY: Duration = Duration::from_secs(24 * 3600);

/// What [`claim_temp_root`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempRoot {
    /// The process's temp root (bundles unpack below it).
    pub path: PathBuf,
    /// Leftover directories removed.
    pub removed: Vec<PathBuf>,
}

/// [`claim_temp_root`] for a process that starts serving (`casebot serve`, the console): logs
/// the temp directories it removed and, when no private root can be made, warns and leaves
/// bundles to unpack under the system temp directory.
pub fn claim_temp_root_or_warn() {
    match claim_temp_root() {
        Ok(root) => {
            for dir in &root.removed {
                tracing::info!(dir = %dir.display(), "removed a temp directory left by a stopped casebot");
            }
            tracing::debug!(root = %root.path.display(), "temp directory for bundles");
        }
        Err(e) => tracing::warn!("cannot make a private temp directory, using the system one: {e}"),
    }
}

/// The lock of this process's temp root: held until the process ends, because every temp file
/// of the process goes below the root from then on (`tempfile`'s default directory is
/// process-wide too).
static ROOT: OnceLock<(PathBuf, File)> = OnceLock::new();

/// Remove the temp roots of processes that are gone (their lock is free) and stale bundle
/// directories of older versions, then make a root for this process and send every later temp
/// file there. The first call in a process does the work; later calls return the same root.
pub fn claim_temp_root() -> io::Result<TempRoot> {
    if let Some((path, _)) = ROOT.get() {
        return Ok(TempRoot {
            path: path.clone(),
            removed: Vec::new(),
        });
    }
    let base = std::env::temp_dir();
    let removed = sweep(&base);
    let dir = tempfile::Builder::new()
        .prefix(ROOT_PREFIX)
        .tempdir_in(&base)?
        .keep();
    // Locked before it gets its name: a sweep by another process starting now sees either no
    // lock file (a root this young is kept) or a held one.
    let pending = dir.join(".lock.new");
    let lock = File::create(&pending)?;
    lock.try_lock().map_err(io::Error::other)?;
    std::fs::rename(&pending, dir.join(LOCK_FILE))?;
    let path = match ROOT.set((dir.clone(), lock)) {
        Ok(()) => dir,
        // Another thread claimed one meanwhile: use it and drop ours.
        Err(_) => {
            let _ = std::fs::remove_dir_all(&dir);
            ROOT.get().map(|(p, _)| p.clone()).unwrap_or(dir)
        }
    };
    let _ = tempfile::env::override_temp_dir(&path);
    Ok(TempRoot { path, removed })
}

/// Remove dead roots and stale legacy bundle directories under `base`; returns what went.
fn sweep(base: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let dead = if !is_dir {
            false
        } else if name.starts_with(ROOT_PREFIX) {
            root_is_dead(&path)
        } else if name.starts_with("casebot-bundle-") {
            older_than(&path, STALE_LEGACY)
        } else {
            false
        };
        if dead && std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// A root whose lock can be taken belongs to no running process. One without a lock file is a
/// process killed between making the root and locking it, unless it is brand new.
fn root_is_dead(root: &Path) -> bool {
    match File::open(root.join(LOCK_FILE)) {
        Ok(lock) => lock.try_lock().is_ok(),
        Err(_) => older_than(root, Duration::from_secs(60)),
    }
}

fn older_than(path: &Path, age: Duration) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|d| d > age)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[tokio::test]
    async fn grants_never_exceed_the_pool_and_come_back_when_dropped() {
        let pool = DiskPool::new(1000 * MIB);
        let first = pool.grant(800 * MIB).await;
        assert_eq!(first.bytes, 800 * MIB);
        // The rest is above the 64 MiB floor: the second diagnosis starts with what is left.
        let second = pool.grant(800 * MIB).await;
        assert_eq!(second.bytes, 200 * MIB);
        // Nothing is free: a third waits until one finishes.
        let waiting = tokio::time::timeout(Duration::from_millis(50), pool.grant(800 * MIB));
        assert!(waiting.await.is_err(), "granted beyond the pool");
        drop(first);
        let third = pool.grant(800 * MIB).await;
        assert_eq!(third.bytes, 800 * MIB);
        assert!(second.bytes + third.bytes <= pool.total());
    }

    #[tokio::test]
    async fn a_pool_smaller_than_one_bundle_budget_grants_all_of_it() {
        let pool = DiskPool::new(MIB);
        assert_eq!(pool.grant(800 * MIB).await.bytes, MIB);
        assert_eq!(pool.grant(0).await.bytes, 0);
    }

    #[test]
    fn a_pool_share_is_named_instead_of_the_bundle_budget() {
        let mut reason = "exceeds max_disk_bytes (1048576): the bundle's unpacked files may take \
                          at most that many bytes of temp disk"
            .to_string();
        name_pool_limit(&mut reason, MIB, 3 * MIB);
        assert!(
            reason.starts_with("exceeds max_total_disk_bytes (3145728): "),
            "{reason}"
        );
        let mut own = "exceeds max_disk_bytes (838860800): …".to_string();
        name_pool_limit(&mut own, MIB, 3 * MIB);
        assert!(
            own.starts_with("exceeds max_disk_bytes (838860800)"),
            "{own}"
        );
    }

    #[test]
    fn only_archives_and_binary_files_take_a_share() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).expect("write");
            p
        };
        assert!(may_unpack(&file("a.zip", b"PK\x03\x04rest")));
        assert!(may_unpack(&file("a.gz", &[0x1f, 0x8b, 8, 0])));
        assert!(may_unpack(&file("a.cab", b"MSCF\0\0")));
        assert!(may_unpack(&file("renamed.log", b"\0\x01junk")));
        assert!(!may_unpack(&file(
            "CBS.log",
            b"2024-02-14 10:20:01, Info CBS x\r\n"
        )));
        assert!(!may_unpack(&file("u16.log", &[0xff, 0xfe, b'a', 0])));
        assert!(!may_unpack(&file("System.evtx", b"ElfFile\0\0\0")));
    }

    #[test]
    fn dead_roots_are_swept_and_live_ones_kept() {
        let base = tempfile::tempdir().expect("tempdir");
        let dead = base.path().join("casebot-run-dead");
        std::fs::create_dir_all(dead.join("casebot-bundle-x")).expect("mkdir");
        std::fs::write(dead.join("casebot-bundle-x/000001"), b"left over").expect("write");
        File::create(dead.join(LOCK_FILE)).expect("lock file");
        let live = base.path().join("casebot-run-live");
        std::fs::create_dir_all(&live).expect("mkdir");
        let held = File::create(live.join(LOCK_FILE)).expect("lock file");
        held.try_lock().expect("lock");
        let fresh = base.path().join("casebot-bundle-fresh");
        std::fs::create_dir_all(&fresh).expect("mkdir");
        let other = base.path().join("someone-else");
        std::fs::create_dir_all(&other).expect("mkdir");

        let removed = sweep(base.path());
        assert_eq!(removed, vec![dead.clone()]);
        assert!(!dead.exists());
        assert!(live.exists() && fresh.exists() && other.exists());
    }
}
