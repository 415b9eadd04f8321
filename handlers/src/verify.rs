//! Purpose: `device <name> fixed|failing [note]` and the customers' bare `fixed` /
//! `still failing` replies: record the verification and say what happens next.

use diagnosis::Lang;

use crate::command::Verdict;
use crate::error::HandlerError;
use crate::lifecycle;
use crate::request::{self, Req};

/// Record a verdict for `device` (or the one device waiting for it).
pub fn handle(
    req: &Req<'_>,
    device: Option<&str>,
    verdict: Verdict,
    note: Option<&str>,
) -> Result<(), HandlerError> {
    let id = req.case_id()?;
    let stamp = req.stamp();
    let (case, key) = request::update(req.ctx, &id, |c| {
        let dev = match device {
            Some(d) => d.to_string(),
            None => lifecycle::verify_target(c)?,
        };
        lifecycle::verify(c, &dev, verdict, note, stamp)
    })?;
    let open = lifecycle::unverified(&case);
    let text = match (verdict, req.lang()) {
        (Verdict::Fixed, Lang::En) if open.is_empty() => format!(
            "Thanks — `{key}` is marked fixed. Every device of {} is now verified; an engineer can `close` the case.",
            case.id
        ),
        (Verdict::Fixed, Lang::Zh) if open.is_empty() => format!(
            "谢谢 —— `{key}` 已标记为已修复。{} 的所有设备均已验证，工程师可以 `close` 关闭案例。",
            case.id
        ),
        (Verdict::Fixed, Lang::En) => format!(
            "Thanks — `{key}` is marked fixed. Still waiting for: {}.",
            open.join(", ")
        ),
        (Verdict::Fixed, Lang::Zh) => {
            format!(
                "谢谢 —— `{key}` 已标记为已修复。仍在等待：{}。",
                open.join(", ")
            )
        }
        (Verdict::Failing, Lang::En) => format!(
            "Sorry the update still fails on `{key}`. Please collect a new log bundle from this device (see `collect`) and attach it here with `device:{key}`; an engineer will follow up."
        ),
        (Verdict::Failing, Lang::Zh) => format!(
            "很抱歉 `{key}` 上的更新仍然失败。请在该设备上重新收集日志（见 `collect`），并附上 `device:{key}` 上传到这里；工程师会跟进。"
        ),
    };
    req.say(&text);
    Ok(())
}
