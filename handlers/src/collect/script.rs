//! The text of `casebot-collect.ps1`. One section per kind of log the engine can ask for; a
//! kind with no section here is caught by the tests (every kind in
//! `diagnosis::engine::requestable_logs` must be collected).
//!
//! The script is ASCII only: Windows PowerShell 5.1 reads a `.ps1` without a byte-order mark in
//! the legacy code page, so any other character would be garbled on a Chinese Windows.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use diagnosis::RuleSet;

/// The file name of the collector, as attached and as the run command names it.
pub const SCRIPT_NAME: &str = "casebot-collect.ps1";

/// Services whose configuration is always exported: the update services themselves. The
/// services advanced installers need come from the rules' `installer-services` table.
const UPDATE_SERVICES: &[&str] = &[
    "wuauserv",
    "BITS",
    "CryptSvc",
    "TrustedInstaller",
    "UsoSvc",
    "msiserver",
];

/// Header: what the script does, how to run it, and the working folders.
const HEAD: &str = r#"# casebot-collect.ps1 - collects the logs casebot needs to diagnose a Windows update failure.
# Run it in PowerShell opened as administrator, in the folder where you saved it:
#   powershell -NoProfile -ExecutionPolicy Bypass -File .\casebot-collect.ps1
# It copies update logs, exports event logs and service configuration, and writes one zip named
# after this computer. It collects no passwords, credentials, keys, registry hives or user files.
#Requires -Version 5.1
#Requires -RunAsAdministrator

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$computer = $env:COMPUTERNAME
$work = Join-Path $env:TEMP ('casebot-' + (Get-Date -Format 'yyyyMMdd-HHmmss'))
$logs = Join-Path $work $computer
$zip = Join-Path $env:SystemDrive ($computer + '.zip')
New-Item -ItemType Directory -Force -Path $logs | Out-Null
$script:step = 0

function Write-Step([string]$What) {
    $script:step++
    Write-Host ('[' + $script:step + '] ' + $What)
}

# Copy the files matching $Filter from $From into the folder $To of the bundle.
function Copy-Logs([string]$From, [string]$Filter, [string]$To) {
    if (-not (Test-Path -LiteralPath $From)) {
        Write-Warning ('Not found: ' + $From)
        return
    }
    $dest = Join-Path $logs $To
    New-Item -ItemType Directory -Force -Path $dest | Out-Null
    foreach ($file in Get-ChildItem -LiteralPath $From -Filter $Filter -File -ErrorAction SilentlyContinue) {
        try {
            Copy-Item -LiteralPath $file.FullName -Destination $dest -Force -ErrorAction Stop
        } catch {
            Write-Warning ('Cannot copy ' + $file.FullName + ': ' + $_.Exception.Message)
        }
    }
}

# Export the event log $Channel to <bundle>\EventLogs\<File>.evtx.
function Export-EventLog([string]$Channel, [string]$File) {
    $dest = Join-Path $logs 'EventLogs'
    New-Item -ItemType Directory -Force -Path $dest | Out-Null
    & wevtutil.exe epl $Channel (Join-Path $dest ($File + '.evtx')) /ow:true
    if ($LASTEXITCODE -ne 0) {
        Write-Warning ('wevtutil could not export the ' + $Channel + ' event log')
    }
}
"#;

/// Footer: zip the bundle, say where it is, clean up.
const TAIL: &str = r#"
Write-Step 'Zipping'
if (Test-Path -LiteralPath $zip) {
    Remove-Item -LiteralPath $zip -Force
}
try {
    Compress-Archive -Path $logs -DestinationPath $zip -Force -ErrorAction Stop
} catch {
    Write-Warning ('Cannot create ' + $zip + ': ' + $_.Exception.Message)
    Write-Host ('The collected files are in ' + $logs + ' - zip that folder and attach it instead.')
    exit 1
}
Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
Write-Host ''
Write-Host ('Done. Attach this file in the case thread: ' + $zip)
"#;

/// A section of the script: the kinds it collects and its PowerShell text.
struct Section {
    kinds: &'static [&'static str],
    text: String,
}

fn sections(services: &[String]) -> Vec<Section> {
    let list = services
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        Section {
            kinds: &["cbs", "cbs-persist"],
            text: "Write-Step 'CBS logs (CBS.log, CbsPersist_*.log and .cab)'\n\
                   Copy-Logs \"$env:SystemRoot\\Logs\\CBS\" '*' 'CBS'\n"
                .into(),
        },
        Section {
            kinds: &["dism"],
            text: "Write-Step 'DISM log'\n\
                   Copy-Logs \"$env:SystemRoot\\Logs\\DISM\" 'dism*.log' 'DISM'\n"
                .into(),
        },
        Section {
            kinds: &["setupapi"],
            text: "Write-Step 'Driver install logs (setupapi)'\n\
                   Copy-Logs \"$env:SystemRoot\\INF\" 'setupapi*.log' 'setupapi'\n"
                .into(),
        },
        Section {
            kinds: &["panther"],
            text: "Write-Step 'Setup logs (Panther)'\n\
                   Copy-Logs \"$env:SystemRoot\\Panther\" 'setup*.log' 'Panther'\n\
                   Copy-Logs (Join-Path $env:SystemDrive '$WINDOWS.~BT\\Sources\\Panther') 'setup*.log' 'Panther-upgrade'\n"
                .into(),
        },
        Section {
            kinds: &["windowsupdate"],
            text: "Write-Step 'WindowsUpdate.log (Get-WindowsUpdateLog)'\n\
                   try {\n    \
                       Get-WindowsUpdateLog -LogPath (Join-Path $logs 'WindowsUpdate.log') -ErrorAction Stop | Out-Null\n\
                   } catch {\n    \
                       Write-Warning ('Get-WindowsUpdateLog failed: ' + $_.Exception.Message)\n\
                   }\n\
                   Copy-Logs \"$env:SystemRoot\\SoftwareDistribution\" 'ReportingEvents.log' 'WindowsUpdate'\n"
                .into(),
        },
        Section {
            kinds: &["event-system", "event-setup", "event-application"],
            text: "Write-Step 'Event logs (System, Setup, Application)'\n\
                   Export-EventLog 'System' 'System'\n\
                   Export-EventLog 'Setup' 'Setup'\n\
                   Export-EventLog 'Application' 'Application'\n"
                .into(),
        },
        Section {
            kinds: &["services"],
            text: format!(
                "Write-Step 'Service configuration (sc.exe qc, registry export of the service keys)'\n\
                 $services = @({list})\n\
                 $dest = Join-Path $logs 'Services'\n\
                 New-Item -ItemType Directory -Force -Path $dest | Out-Null\n\
                 $report = Join-Path $dest 'sc_qc.txt'\n\
                 foreach ($name in $services) {{\n    \
                     & sc.exe qc $name 2>&1 | Out-File -FilePath $report -Append -Encoding utf8\n    \
                     & reg.exe export ('HKLM\\SYSTEM\\CurrentControlSet\\Services\\' + $name) (Join-Path $dest ($name + '.reg')) /y 2>&1 | Out-Null\n\
                 }}\n\
                 Get-Service | Select-Object Name, StartType, Status | Format-Table -AutoSize | Out-String -Width 200 |\n    \
                     Out-File -FilePath (Join-Path $dest 'Get-Service.txt') -Encoding utf8\n"
            ),
        },
        Section {
            kinds: &["disk"],
            text: "Write-Step 'Free space and volumes'\n\
                   $disk = Join-Path $logs 'disk.txt'\n\
                   & fsutil.exe volume diskfree $env:SystemDrive 2>&1 | Out-File -FilePath $disk -Encoding utf8\n\
                   Get-CimInstance -ClassName Win32_Volume | Select-Object Name, Label, FileSystem, Capacity, FreeSpace |\n    \
                       Format-Table -AutoSize | Out-String -Width 200 | Out-File -FilePath $disk -Append -Encoding utf8\n"
                .into(),
        },
    ]
}

/// The services whose configuration the script exports: the update services and every service
/// of the rules' `installer-services` table.
fn services(rules: &RuleSet) -> Vec<String> {
    let mut seen = BTreeSet::new();
    UPDATE_SERVICES
        .iter()
        .map(|s| (*s).to_string())
        .chain(rules.table_values("installer-services"))
        .filter(|s| seen.insert(s.to_lowercase()))
        .collect()
}

/// The collector script for `rules`, with Windows line endings.
pub fn script(rules: &RuleSet) -> String {
    let mut out = String::from(HEAD);
    for section in sections(&services(rules)) {
        let _ = write!(
            out,
            "\n# Collects: {}\n{}",
            section.kinds.join(", "),
            section.text
        );
    }
    out.push_str(TAIL);
    out.replace('\n', "\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_the_engine_can_ask_for_has_a_section() {
        let rules = RuleSet::builtin().expect("builtin rules compile");
        let covered: BTreeSet<&str> = sections(&services(&rules))
            .iter()
            .flat_map(|s| s.kinds.iter().copied())
            .collect();
        for m in diagnosis::engine::requestable_logs(&rules) {
            assert!(
                covered.contains(m.kind.as_str()),
                "the collector has no section for `{}` ({})",
                m.kind,
                m.how
            );
        }
    }

    #[test]
    fn the_script_is_ascii_with_windows_line_endings() {
        let text = script(&RuleSet::builtin().expect("builtin rules compile"));
        assert!(text.is_ascii());
        assert!(!text.replace("\r\n", "").contains('\n'));
        assert!(
            text.contains("'Winmgmt'"),
            "installer services are exported"
        );
    }
}
