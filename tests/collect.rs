//! The log collector `collect` hands out (`casebot-collect.ps1`): it gathers every log the
//! engine can ask for in `bundle.missing`, parses as Windows PowerShell 5.1, and collects no
//! credentials.
//!
//! No PowerShell runs here: Debian has no `powershell` package, so the syntax is checked by
//! the small static checker below (`powershell`), itself tested on broken scripts. It checks
//! that every string, here-string, comment and bracket closes, that nothing from bash or from
//! PowerShell 7 only (`&&`, `||`, `??`, `fi`, `/dev/null` …) slipped in, and that every command
//! the script calls is a function it defines, a Windows PowerShell 5.1 built-in cmdlet of the
//! allow-list, or an allowed Windows program.

mod powershell;

use std::collections::BTreeSet;

use diagnosis::RuleSet;

fn script() -> String {
    handlers::collect::script(&RuleSet::builtin().expect("builtin rules compile"))
}

/// `(folder, filter)` of every `Copy-Logs "<folder>" '<filter>'` call, folders as written.
fn copies(script: &str) -> Vec<(String, String)> {
    script
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Copy-Logs \""))
        .filter_map(|rest| {
            let (dir, rest) = rest.split_once('"')?;
            let filter = rest.trim().strip_prefix('\'')?.split('\'').next()?;
            Some((dir.to_lowercase(), filter.to_lowercase()))
        })
        .collect()
}

/// Whether glob `pattern` (`*` only) matches `name`.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.starts_with(head)
                && (0..=name.len() - head.len()).any(|i| {
                    name.is_char_boundary(head.len() + i) && glob(tail, &name[head.len() + i..])
                })
        }
    }
}

/// The services of the script's `$services = @('a', 'b')` list, lowercased.
fn services(script: &str) -> BTreeSet<String> {
    script
        .lines()
        .find_map(|l| l.trim().strip_prefix("$services = @("))
        .unwrap_or_default()
        .trim_end_matches(')')
        .split(',')
        .map(|s| s.trim().trim_matches('\'').to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Check that the script does what one `how` text of `bundle.missing` asks: each Windows path it
/// names is copied, and each command it quotes is run. Returns what was checked.
fn check_how(script: &str, rules: &RuleSet, kind: &str, how: &str) -> Vec<String> {
    let mut checked = Vec::new();
    let copied = copies(script);
    for word in how.split([' ', '(', ')', ',', '`']) {
        let Some(rest) = word.strip_prefix("C:\\Windows\\") else {
            continue;
        };
        let path = format!("$env:systemroot\\{}", rest.trim_end_matches(['.', ';'])).to_lowercase();
        // `…\CBS\*`, `…\CBS\CbsPersist_*.log`, `…\DISM\dism.log`: a folder and a file name.
        let (dir, name) = path.rsplit_once('\\').expect("a path has a folder");
        let name = name.replace('*', "x");
        assert!(
            copied.iter().any(|(d, f)| d == dir && glob(f, &name)),
            "`{kind}` asks for {word}, which the script does not copy; it copies {copied:?}"
        );
        checked.push(word.to_string());
    }
    let lowered = script.to_lowercase();
    for quoted in how.split('`').skip(1).step_by(2) {
        let words: Vec<&str> = quoted.split_whitespace().collect();
        match words.as_slice() {
            ["wevtutil", "epl", channel, ..] => assert!(
                script.contains(&format!("Export-EventLog '{channel}'"))
                    && script.contains("& wevtutil.exe epl $Channel"),
                "`{kind}`: the script does not export the {channel} event log"
            ),
            ["Get-WindowsUpdateLog", ..] => assert!(
                script.contains("Get-WindowsUpdateLog -LogPath"),
                "`{kind}`: the script does not run Get-WindowsUpdateLog"
            ),
            ["sc", "qc", ..] => {
                let listed = services(script);
                let wanted: Vec<String> = if quoted.contains("{service") {
                    rules.table_values("installer-services")
                } else {
                    // `sc qc a > f & sc qc b >> f`: every service named after `sc qc`.
                    words
                        .windows(3)
                        .filter(|w| w[0] == "sc" && w[1] == "qc")
                        .map(|w| w[2].to_string())
                        .collect()
                };
                for service in wanted {
                    assert!(
                        listed.contains(&service.to_lowercase()),
                        "`{kind}`: service {service} is not exported ({listed:?})"
                    );
                }
                assert!(lowered.contains("& sc.exe qc $name"));
            }
            ["fsutil", "volume", "diskfree", ..] => {
                assert!(lowered.contains("& fsutil.exe volume diskfree"), "`{kind}`");
            }
            // A command the collector does not know yet: teach the script (and this test).
            _ => panic!("`{kind}` asks to run `{quoted}`; the collector does not run it"),
        }
        checked.push(quoted.to_string());
    }
    checked
}

#[test]
fn the_collector_gathers_every_log_the_engine_can_ask_for() {
    let rules = RuleSet::builtin().expect("builtin rules compile");
    let script = handlers::collect::script(&rules);
    let asked = diagnosis::engine::requestable_logs(&rules);
    let kinds: BTreeSet<&str> = asked.iter().map(|m| m.kind.as_str()).collect();
    // The bundle-level kinds and the ones rules add.
    for kind in [
        "cbs",
        "cbs-persist",
        "event-system",
        "event-setup",
        "dism",
        "windowsupdate",
        "services",
        "setupapi",
    ] {
        assert!(kinds.contains(kind), "{kind} missing from {kinds:?}");
    }
    for m in &asked {
        let checked = check_how(&script, &rules, &m.kind, &m.how);
        assert!(
            !checked.is_empty(),
            "`{}`: its instructions name no path or command to check: {}",
            m.kind,
            m.how
        );
        let section = script.lines().any(|l| {
            l.strip_prefix("# Collects: ")
                .is_some_and(|k| k.trim_end().split(", ").any(|k| k == m.kind))
        });
        assert!(section, "no section collects `{}`", m.kind);
    }
}

#[test]
fn the_collector_parses_as_windows_powershell_5_1() {
    let script = script();
    if let Err(problems) = powershell::check(&script) {
        panic!(
            "casebot-collect.ps1 does not pass the check:\n{}",
            problems.join("\n")
        );
    }
    assert!(
        script.is_ascii(),
        "PowerShell 5.1 reads a .ps1 without BOM in the ANSI code page"
    );
}

#[test]
fn the_collector_zips_after_the_computer_and_collects_no_credentials() {
    let script = script();
    assert!(script.contains("$computer = $env:COMPUTERNAME"));
    assert!(script.contains("$zip = Join-Path $env:SystemDrive ($computer + '.zip')"));
    assert!(script.contains("Compress-Archive -Path $logs -DestinationPath $zip"));
    let last = script
        .lines()
        .rev()
        .find(|l| l.starts_with("Write-Host"))
        .unwrap_or_default();
    assert!(
        last.contains("$zip"),
        "the last line says where the zip is: {last}"
    );
    let code = powershell::without_comments(&script).to_lowercase();
    for forbidden in [
        "password",
        "credential",
        "cmdkey",
        "vaultcmd",
        "\\sam",
        "\\security",
        "reg.exe save",
        "microsoft\\protect",
        ".pfx",
        "hkcu",
        "userprofile",
        "appdata",
        "export-pfx",
    ] {
        assert!(
            !code.contains(forbidden),
            "the script touches {forbidden:?}"
        );
    }
}
