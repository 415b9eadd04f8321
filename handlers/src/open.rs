//! Purpose: `open <title>` and `collect`. The first reply of a case restates the problem
//! definition (product, update, codes, devices) and the scope, then asks for logs with exact
//! collection steps, as the engineer did in the case that defines the product (docs/ARCHITECTURE.md, "The founding case").

use std::fmt::Write as _;
use std::sync::LazyLock;

use diagnosis::Lang;
use regex::Regex;

use crate::dispatch::{Req, now};
use crate::error::HandlerError;
use crate::lifecycle::{self, Stamp};
use crate::render::{View, t};
use crate::{Outgoing, Target};

/// Facts recognised in a problem statement.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProblemFacts {
    /// KB numbers.
    pub updates: Vec<String>,
    /// Error codes (`0x…`).
    pub codes: Vec<String>,
    /// OS builds / versions (`19041`, `21H2`).
    pub builds: Vec<String>,
    /// Number of devices mentioned.
    pub devices: Option<u32>,
}

// Compiled once; fixed program data.
static KB: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bKB ?(\d{6,7})\b").expect("static regex"));
static CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b0x[0-9a-f]{8}\b").expect("static regex"));
static BUILD: LazyLock<Regex> = LazyLock::new(|| {
    // Known Windows 10/11/Server builds only, so case ids and counts are not taken for builds.
    Regex::new(concat!(
        r"(?i)\b(?:10240|10586|14393|15063|16299|17134|17763|18362|18363|19041|19042|19043|",
        r"19044|19045|20348|22000|22621|22631|26100)(?:\.\d+)?\b|\b2[0-5]H[12]\b"
    ))
    .expect("static regex")
});
static COUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\d+)\s*(?:devices?|machines?|computers?|pcs?|hosts?|台|个设备)")
        .expect("static regex")
});

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// Recognise update, code, build and device-count facts in a problem statement.
pub fn parse_facts(text: &str) -> ProblemFacts {
    let mut f = ProblemFacts::default();
    for c in KB.captures_iter(text) {
        push_unique(&mut f.updates, format!("KB{}", &c[1]));
    }
    for m in CODE.find_iter(text) {
        push_unique(&mut f.codes, m.as_str().to_ascii_lowercase());
    }
    let without_kb = KB.replace_all(text, "");
    for c in BUILD.captures_iter(&without_kb) {
        push_unique(&mut f.builds, c[0].to_ascii_uppercase());
    }
    f.devices = COUNT.captures(text).and_then(|c| c[1].parse().ok());
    f
}

/// Log collection instructions, per language.
pub fn collect_text(lang: Lang) -> String {
    let intro = t(
        lang,
        "**How to collect logs** — on *each* failing device, in an administrator command prompt:",
        "**如何收集日志** —— 请在*每台*失败的设备上，以管理员身份打开命令提示符执行：",
    );
    let cmds = "```\nmkdir C:\\casebot-logs\ncopy /y C:\\Windows\\Logs\\CBS\\*.* C:\\casebot-logs\\\ncopy /y C:\\Windows\\Logs\\DISM\\dism.log C:\\casebot-logs\\\nwevtutil epl System C:\\casebot-logs\\System.evtx\nwevtutil epl Setup C:\\casebot-logs\\Setup.evtx\nwevtutil epl Application C:\\casebot-logs\\Application.evtx\nsc queryex type= service state= all > C:\\casebot-logs\\services.txt\nsc qc winmgmt >> C:\\casebot-logs\\services.txt\n```";
    let ps = "```\npowershell -NoProfile -Command \"Get-WindowsUpdateLog -LogPath C:\\casebot-logs\\WindowsUpdate.log; Compress-Archive C:\\casebot-logs C:\\$env:COMPUTERNAME.zip -Force\"\n```";
    let outro = match lang {
        Lang::En => {
            "Then attach `C:\\<computer name>.zip` here, one zip per device. The zip is named after the device; otherwise add `device:<name>` to your message. Do not post passwords or upload credentials in chat."
        }
        Lang::Zh => {
            "然后把 `C:\\<计算机名>.zip` 上传到这里，每台设备一个 zip。zip 以设备名命名；否则请在消息中加上 `device:<设备名>`。请不要在聊天中发送密码或上传凭据。"
        }
    };
    format!(
        "{intro}\n{cmds}\n{}\n{ps}\n{outro}",
        t(lang, "Then:", "然后：")
    )
}

fn definition_text(id: &str, title: &str, facts: &ProblemFacts, lang: Lang) -> String {
    let none = t(lang, "not stated yet", "尚未说明");
    let list = |v: &[String]| {
        if v.is_empty() {
            none.to_string()
        } else {
            v.join(", ")
        }
    };
    let mut out = String::new();
    let _ = match lang {
        Lang::En => writeln!(out, "Opened case **{id}**.\n\n**Problem definition**"),
        Lang::Zh => writeln!(out, "已创建案例 **{id}**。\n\n**问题定义**"),
    };
    let _ = writeln!(out, "- {}: {title}", t(lang, "Problem", "问题"));
    let _ = writeln!(
        out,
        "- {}: {}",
        t(lang, "Update", "更新"),
        list(&facts.updates)
    );
    let _ = writeln!(
        out,
        "- {}: {}",
        t(lang, "Error codes", "错误代码"),
        list(&facts.codes)
    );
    let _ = writeln!(
        out,
        "- {}: {}",
        t(lang, "OS version", "系统版本"),
        list(&facts.builds)
    );
    let devices = facts
        .devices
        .map(|n| n.to_string())
        .unwrap_or_else(|| none.to_string());
    let _ = writeln!(
        out,
        "- {}: {devices}",
        t(lang, "Affected devices", "受影响设备数")
    );
    let scope = t(
        lang,
        "**Scope**: this case covers the problem above only; each device is diagnosed separately. If other problems are mixed in, an engineer will `split` them into their own cases. Please correct anything above that is wrong with `note <text>`.",
        "**范围**：本案例只处理上述问题，每台设备单独诊断。如果混有其他问题，工程师会用 `split` 拆分为单独的案例。如以上信息有误，请用 `note <说明>` 补充。",
    );
    let _ = writeln!(out, "{scope}");
    if facts.updates.len() > 1 || facts.codes.len() > 1 {
        let mixed = t(
            lang,
            "⚠️ This report names several updates or error codes. If they are different problems on different devices, an engineer should `split` them into separate cases.",
            "⚠️ 该报告提到了多个更新或错误代码。如果它们是不同设备上的不同问题，工程师应使用 `split` 拆分为单独的案例。",
        );
        let _ = writeln!(out, "{mixed}");
    }
    out.push('\n');
    out
}

/// `open <title>`.
pub async fn handle(req: &Req<'_>, title: &str) -> Result<(), HandlerError> {
    let ctx = req.ctx;
    let has_cjk = title
        .chars()
        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let lang =
        ctx.user_lang(&req.msg.author.id)
            .unwrap_or(if has_cjk { Lang::Zh } else { req.lang() });
    let id = ctx.store.new_case_id()?;
    let stamp = Stamp {
        author: &req.msg.author.name,
        now: now(),
    };
    let mut case = lifecycle::new_case(id.clone(), title, lang, req.msg.channel_id, stamp);
    lifecycle::request_logs(&mut case, stamp);
    let id = match ctx.store.create(case, Some(&req.msg.message_id))? {
        store::Applied::Done(c) => c.id,
        store::Applied::Duplicate => return Ok(()),
    };
    req.send(Outgoing::CreateThread {
        case_id: id.clone(),
        name: thread_name(&id, title),
    });
    req.send(Outgoing::SwitchCase(id.clone()));
    let facts = parse_facts(title);
    let text = format!(
        "{}{}",
        definition_text(id.as_str(), title, &facts, lang),
        collect_text(lang)
    );
    req.post(
        Target::Case(id.clone()),
        crate::render::replies(&text, None),
    );
    let inner = Req {
        ctx,
        msg: req.msg,
        case_id: Some(id),
        view: View {
            lang,
            role: req.view.role,
        },
        out: req.out,
    };
    // Log lines the author pasted outside any case just before, offered for this case.
    crate::paste::open_with_offer(&inner).await?;
    if !req.msg.attachments.is_empty() {
        let device = crate::command::device_token(&req.msg.text);
        crate::diagnose::attachments(&inner, device).await?;
    }
    Ok(())
}

/// Discord thread names are at most 100 characters.
fn thread_name(id: &store::CaseId, title: &str) -> String {
    let name = format!("{id} {title}");
    name.chars().take(100).collect()
}

/// `collect`.
pub fn collect(req: &Req<'_>) -> Result<(), HandlerError> {
    req.say(&collect_text(req.lang()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_from_the_founding_case_statement() {
        let f = parse_facts("21H2 19044 设备安装 KB5034763 后回滚 0x800F0922，共 2 台");
        assert_eq!(f.updates, vec!["KB5034763"]);
        assert_eq!(f.codes, vec!["0x800f0922"]);
        assert_eq!(f.builds, vec!["21H2", "19044"]);
        assert_eq!(f.devices, Some(2));
    }

    #[test]
    fn definition_restates_and_scopes() {
        let f = parse_facts("KB5034763 rolls back on 2 devices");
        let text = definition_text(
            "CAS-11694-G2W9Y6",
            "KB5034763 rolls back on 2 devices",
            &f,
            Lang::En,
        );
        assert!(text.contains("**Problem definition**"));
        assert!(text.contains("- Update: KB5034763"));
        assert!(text.contains("- Affected devices: 2"));
        assert!(text.contains("**Scope**"));
        assert!(!text.contains("⚠️"));
        let mixed = parse_facts("KB5034763 fails with 0x800f0922, KB5034441 with 0x80070643");
        let text = definition_text("CAS-11694-G2W9Y6", "x", &mixed, Lang::En);
        assert!(text.contains("`split`") && text.contains("⚠️"), "{text}");
        assert!(collect_text(Lang::Zh).contains("wevtutil epl System"));
        assert!(collect_text(Lang::Zh).chars().count() < 1500);
    }
}
