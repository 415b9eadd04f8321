//! Progress of a diagnosis, for whoever shows it: a chat message edited as the work goes on, a
//! progress bar on a terminal. The engine reports to an [`Observer`] as it unpacks the bundle
//! and as it reads each file; it never waits for the observer, which should only note the
//! latest [`Progress`] and return (showing it, at its own pace, is the caller's business).

/// How far a diagnosis has come.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Files unpacked from the bundle so far (every file of the bundle once reading starts).
    pub files_unpacked: usize,
    /// Bytes of the input read while unpacking (archives count their unpacked bytes).
    pub bytes_unpacked: u64,
    /// Files the engine has read so far.
    pub files_read: usize,
    /// Files to read; 0 until unpacking is done.
    pub files_total: usize,
    /// Bytes of the files read so far.
    pub bytes_read: u64,
    /// Bytes to read in all; 0 until unpacking is done.
    pub bytes_total: u64,
    /// The file being unpacked or read, as a path inside the bundle.
    pub current: String,
}

impl Progress {
    /// Bytes scanned so far: unpacking reads every byte once, the engine reads them again.
    pub fn bytes_scanned(&self) -> u64 {
        self.bytes_unpacked + self.bytes_read
    }

    /// Whether the engine is reading files (unpacking is done).
    pub fn reading(&self) -> bool {
        self.files_total > 0
    }
}

/// Receives [`Progress`] while a diagnosis runs. Called on the diagnosing thread, often (once
/// per file unpacked and per file read): keep it cheap.
pub trait Observer: Sync {
    /// The work has come this far.
    fn progress(&self, progress: &Progress);
}

/// No observer: progress is not shown.
impl Observer for () {
    fn progress(&self, _: &Progress) {}
}

impl<F: Fn(&Progress) + Sync> Observer for F {
    fn progress(&self, progress: &Progress) {
        self(progress);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn every_file_is_reported_unpacked_then_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let line = "2024-02-14 10:00:00, Info                  CBS    Starting TrustedInstaller initialization.\r\n";
        for name in ["a.log", "b.log"] {
            std::fs::write(dir.path().join(name), line.repeat(100)).expect("write log");
        }
        let seen = Mutex::new(Vec::new());
        let observer = |p: &Progress| seen.lock().expect("lock").push(p.clone());
        let rules = crate::RuleSet::default();
        crate::diagnose_observed(
            dir.path(),
            "bundle",
            &rules,
            &crate::Limits::default(),
            &observer,
        )
        .expect("diagnosed");
        let seen = seen.into_inner().expect("lock");
        let currents: Vec<(&str, bool)> = seen
            .iter()
            .map(|p| (p.current.as_str(), p.reading()))
            .collect();
        assert_eq!(
            currents,
            [
                ("a.log", false),
                ("b.log", false),
                ("a.log", true),
                ("b.log", true),
                ("", true)
            ]
        );
        let size = line.len() as u64 * 100;
        assert_eq!(seen[1].bytes_unpacked, 2 * size);
        let last = seen.last().expect("a last report");
        assert_eq!((last.files_read, last.files_total), (2, 2));
        assert_eq!((last.bytes_read, last.bytes_total), (2 * size, 2 * size));
        assert_eq!(last.bytes_scanned(), 4 * size);
        // Scanned bytes never go back.
        assert!(
            seen.windows(2)
                .all(|w| w[0].bytes_scanned() <= w[1].bytes_scanned())
        );
    }
}
