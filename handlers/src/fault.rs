//! Purpose: fault points for crash tests. Compiled in but inert: a point acts only when the
//! environment variable `CASEBOT_FAULT` names it, which no deployment sets. The crash test of
//! idempotency (docs/ARCHITECTURE.md, "Idempotency") sets it to stop the real process with
//! SIGKILL between a committed change and its reply.

/// After a change made for a message committed, before any reply to it is posted.
pub(crate) const AFTER_COMMIT: &str = "after-commit-before-reply";

/// The environment variable that names the fault point to act on.
const FAULT_ENV: &str = "CASEBOT_FAULT";

/// At fault point `name`: if `CASEBOT_FAULT` names it, kill this process with SIGKILL (no
/// destructor, flush or reply runs, as in a power cut or an OOM kill).
pub(crate) fn point(name: &str) {
    if std::env::var(FAULT_ENV).is_ok_and(|v| v == name) {
        kill_self(name);
    }
}

#[cfg(unix)]
fn kill_self(name: &str) {
    eprintln!("casebot: {FAULT_ENV}={name}: killing this process with SIGKILL");
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status();
    // `kill` returns once the signal is sent; the signal may land an instant later.
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

#[cfg(not(unix))]
fn kill_self(name: &str) {
    eprintln!("casebot: {FAULT_ENV}={name}: aborting this process");
    std::process::abort();
}
