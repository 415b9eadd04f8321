//! `bundle.missing`: what the bundle lacks to decide, with zh and en instructions holding the
//! exact commands to collect it. Rules add their own entries (`[[missing]]`); these are the
//! bundle-level ones every diagnosis needs.

use super::facts::Facts;
use crate::report::Missing;

fn entry(kind: &str, why: &str, how: &str, why_zh: &str, how_zh: &str) -> Missing {
    Missing {
        kind: kind.to_string(),
        why: why.to_string(),
        how: how.to_string(),
        why_zh: why_zh.to_string(),
        how_zh: how_zh.to_string(),
    }
}

fn cbs() -> Missing {
    entry(
        "cbs",
        "CBS.log records every servicing step; without it the failing step cannot be identified.",
        "Copy the whole folder C:\\Windows\\Logs\\CBS\\* (CBS.log and every CbsPersist_*.log/.cab) into the bundle.",
        "CBS.log 记录了每个更新步骤；没有它就无法确定失败的步骤。",
        "把整个 C:\\Windows\\Logs\\CBS\\* 文件夹（CBS.log 以及所有 CbsPersist_*.log/.cab）复制到日志包中。",
    )
}

fn cbs_persist() -> Missing {
    entry(
        "cbs-persist",
        "CBS.log holds no failure: the failing reboot is usually in an older CbsPersist_*.log/.cab after the log rotated.",
        "Copy every C:\\Windows\\Logs\\CBS\\CbsPersist_*.log and CbsPersist_*.cab into the bundle.",
        "CBS.log 中没有失败记录：日志轮转后，失败的那次重启通常记录在较早的 CbsPersist_*.log/.cab 中。",
        "把所有 C:\\Windows\\Logs\\CBS\\CbsPersist_*.log 和 CbsPersist_*.cab 复制到日志包中。",
    )
}

fn system() -> Missing {
    entry(
        "event-system",
        "The System event log shows Windows Update results and service and disk errors at the failing boots.",
        "In an elevated prompt run `wevtutil epl System System.evtx` and add System.evtx to the bundle.",
        "系统事件日志记录了 Windows 更新结果以及失败启动时的服务和磁盘错误。",
        "在管理员命令提示符中运行 `wevtutil epl System System.evtx`，并把 System.evtx 加入日志包。",
    )
}

fn setup() -> Missing {
    entry(
        "event-setup",
        "The Setup event log names each update package (KB) and the final error code of its install or rollback.",
        "In an elevated prompt run `wevtutil epl Setup Setup.evtx` and add Setup.evtx to the bundle.",
        "Setup 事件日志记录了每个更新包（KB）及其安装或回滚的最终错误代码。",
        "在管理员命令提示符中运行 `wevtutil epl Setup Setup.evtx`，并把 Setup.evtx 加入日志包。",
    )
}

fn dism() -> Missing {
    entry(
        "dism",
        "DISM.log shows updates installed with DISM and component store repairs.",
        "Copy C:\\Windows\\Logs\\DISM\\dism.log into the bundle.",
        "DISM.log 记录了通过 DISM 安装的更新和组件存储修复。",
        "把 C:\\Windows\\Logs\\DISM\\dism.log 复制到日志包中。",
    )
}

fn windowsupdate() -> Missing {
    entry(
        "windowsupdate",
        "WindowsUpdate.log shows scan, download and install errors before servicing starts.",
        "In PowerShell run `Get-WindowsUpdateLog -LogPath .\\WindowsUpdate.log` and add WindowsUpdate.log to the bundle.",
        "WindowsUpdate.log 记录了更新扫描、下载和安装阶段（进入 CBS 之前）的错误。",
        "在 PowerShell 中运行 `Get-WindowsUpdateLog -LogPath .\\WindowsUpdate.log`，并把 WindowsUpdate.log 加入日志包。",
    )
}

/// Bundle-level missing entries. `top` is the highest finding confidence (0 if none).
pub(crate) fn bundle_missing(facts: &Facts, top: f64) -> Vec<Missing> {
    let has = |k: &str| facts.has(k);
    let decided = top >= 0.9;
    let mut out = Vec::new();
    if !has("cbs") {
        out.push(cbs());
    } else if !facts.servicing_failure && top < 0.5 {
        out.push(cbs_persist());
    }
    if !decided {
        if !has("event-system") {
            out.push(system());
        }
        if !has("event-setup") {
            out.push(setup());
        }
    }
    if top < 0.5 {
        if !has("dism") {
            out.push(dism());
        }
        if !has("windowsupdate") {
            out.push(windowsupdate());
        }
    }
    out
}
