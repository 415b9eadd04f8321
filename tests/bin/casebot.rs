//! The casebot binary, rebuilt inside the test package so tests get `CARGO_BIN_EXE_casebot-cli`.

fn main() -> std::process::ExitCode {
    casebot::entry()
}
