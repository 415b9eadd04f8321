//! `bundle.missing`: what the bundle lacks to decide, with zh and en instructions holding the
//! exact commands to collect it. Rules add their own entries (`[[missing]]`); these are the
//! bundle-level ones every diagnosis needs.

use super::facts::Facts;
use crate::report::Missing;
use crate::rule::{RuleSet, Texts};

/// `(kind, why, how)` of every bundle-level entry.
const BUILTIN: &[(&str, Texts<'static>, Texts<'static>)] = &[
    (
        "cbs",
        Texts {
            en: "CBS.log records every servicing step; without it the failing step cannot be identified.",
            zh: "CBS.log 记录了每个更新步骤；没有它就无法确定失败的步骤。",
        },
        Texts {
            en: "Copy the whole folder C:\\Windows\\Logs\\CBS\\* (CBS.log and every CbsPersist_*.log/.cab) into the bundle.",
            zh: "把整个 C:\\Windows\\Logs\\CBS\\* 文件夹（CBS.log 以及所有 CbsPersist_*.log/.cab）复制到日志包中。",
        },
    ),
    (
        "cbs-persist",
        Texts {
            en: "CBS.log holds no failure: the failing reboot is usually in an older CbsPersist_*.log/.cab after the log rotated.",
            zh: "CBS.log 中没有失败记录：日志轮转后，失败的那次重启通常记录在较早的 CbsPersist_*.log/.cab 中。",
        },
        Texts {
            en: "Copy every C:\\Windows\\Logs\\CBS\\CbsPersist_*.log and CbsPersist_*.cab into the bundle.",
            zh: "把所有 C:\\Windows\\Logs\\CBS\\CbsPersist_*.log 和 CbsPersist_*.cab 复制到日志包中。",
        },
    ),
    (
        "event-system",
        Texts {
            en: "The System event log shows Windows Update results and service and disk errors at the failing boots.",
            zh: "系统事件日志记录了 Windows 更新结果以及失败启动时的服务和磁盘错误。",
        },
        Texts {
            en: "In an elevated prompt run `wevtutil epl System System.evtx` and add System.evtx to the bundle.",
            zh: "在管理员命令提示符中运行 `wevtutil epl System System.evtx`，并把 System.evtx 加入日志包。",
        },
    ),
    (
        "event-setup",
        Texts {
            en: "The Setup event log names each update package (KB) and the final error code of its install or rollback.",
            zh: "Setup 事件日志记录了每个更新包（KB）及其安装或回滚的最终错误代码。",
        },
        Texts {
            en: "In an elevated prompt run `wevtutil epl Setup Setup.evtx` and add Setup.evtx to the bundle.",
            zh: "在管理员命令提示符中运行 `wevtutil epl Setup Setup.evtx`，并把 Setup.evtx 加入日志包。",
        },
    ),
    (
        "dism",
        Texts {
            en: "DISM.log shows updates installed with DISM and component store repairs.",
            zh: "DISM.log 记录了通过 DISM 安装的更新和组件存储修复。",
        },
        Texts {
            en: "Copy C:\\Windows\\Logs\\DISM\\dism.log into the bundle.",
            zh: "把 C:\\Windows\\Logs\\DISM\\dism.log 复制到日志包中。",
        },
    ),
    (
        "windowsupdate",
        Texts {
            en: "WindowsUpdate.log shows scan, download and install errors before servicing starts.",
            zh: "WindowsUpdate.log 记录了更新扫描、下载和安装阶段（进入 CBS 之前）的错误。",
        },
        Texts {
            en: "In PowerShell run `Get-WindowsUpdateLog -LogPath .\\WindowsUpdate.log` and add WindowsUpdate.log to the bundle.",
            zh: "在 PowerShell 中运行 `Get-WindowsUpdateLog -LogPath .\\WindowsUpdate.log`，并把 WindowsUpdate.log 加入日志包。",
        },
    ),
];

/// Why a bundle-level missing log of `kind` is needed and how to collect it, in every language
/// (a [`Missing`] without a rule is one of these).
pub fn missing_texts(kind: &str) -> Option<(Texts<'static>, Texts<'static>)> {
    BUILTIN
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map(|(_, why, how)| (*why, *how))
}

fn entry(kind: &str) -> Missing {
    let (why, how) =
        missing_texts(kind).unwrap_or((Texts { en: "", zh: "" }, Texts { en: "", zh: "" }));
    Missing {
        kind: kind.to_string(),
        why: why.en.to_string(),
        how: how.en.to_string(),
        rule: None,
        vars: Default::default(),
    }
}

/// Bundle-level missing entries. `top` is the highest finding confidence (0 if none).
pub(crate) fn bundle_missing(facts: &Facts, top: f64) -> Vec<Missing> {
    let has = |k: &str| facts.has(k);
    let decided = top >= 0.9;
    let mut out = Vec::new();
    if !has("cbs") {
        out.push(entry("cbs"));
    } else if !facts.servicing_failure && top < 0.5 {
        out.push(entry("cbs-persist"));
    }
    if !decided {
        if !has("event-system") {
            out.push(entry("event-system"));
        }
        if !has("event-setup") {
            out.push(entry("event-setup"));
        }
    }
    if top < 0.5 {
        if !has("dism") {
            out.push(entry("dism"));
        }
        if !has("windowsupdate") {
            out.push(entry("windowsupdate"));
        }
    }
    out
}

/// Every entry `bundle.missing` can hold, with a rule's placeholders (`{service|lower}`) left
/// unfilled: the bundle-level entries above and every rule's `[[missing]]`, in that order. The
/// log collector that `collect` hands out is generated to gather each of their kinds.
pub fn requestable(rules: &RuleSet) -> Vec<Missing> {
    let mut out: Vec<Missing> = BUILTIN.iter().map(|(kind, _, _)| entry(kind)).collect();
    for rule in rules.rules() {
        out.extend(rule.missing.iter().map(|m| Missing {
            kind: m.kind.clone(),
            why: m.why.clone(),
            how: m.how.clone(),
            rule: Some(rule.id.clone()),
            vars: Default::default(),
        }));
    }
    out
}
