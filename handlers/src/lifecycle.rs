//! Purpose: the case lifecycle as pure transitions on a [`Case`] (docs/ARCHITECTURE.md, "Cases").
//!
//! Case status: open → awaiting-logs → diagnosed → awaiting-verification → resolved → closed, and
//! `reopen` goes back. Device status: awaiting-logs, diagnosed, fixed, still-failing. Except for
//! `closed`, the case status is derived from its devices, so it can never disagree with them.
//! Every transition validates first and mutates only on success, because the store's `update`
//! closure must leave the case untouched when a command is refused.

use std::collections::BTreeMap;

use diagnosis::{Diagnosis, Lang};
use store::{BundleRef, Case, CaseId, CaseStatus, DeviceRecord, DeviceStatus, TimelineEntry};

use crate::command::Verdict;
use crate::error::UserError;

/// Who and when, for timeline entries.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    /// Author name.
    pub author: &'a str,
    /// Unix seconds.
    pub now: u64,
}

/// Append a timeline event (text must already be redacted).
pub fn log(case: &mut Case, at: Stamp<'_>, kind: &str, text: &str) {
    case.timeline.push(TimelineEntry {
        at: at.now,
        author: at.author.to_string(),
        kind: kind.to_string(),
        text: text.to_string(),
    });
    case.updated_at = at.now;
}

/// A new case: status `open`, nothing else happened yet.
pub fn new_case(id: CaseId, title: &str, lang: Lang, channel_id: u64, at: Stamp<'_>) -> Case {
    let mut case = Case {
        id,
        title: title.to_string(),
        problem: title.to_string(),
        lang,
        opener: at.author.to_string(),
        opener_id: None,
        guild_id: None,
        channel_id: Some(channel_id),
        thread_id: None,
        status: CaseStatus::Open,
        devices: BTreeMap::new(),
        timeline: Vec::new(),
        close_reason: None,
        summary: None,
        created_at: at.now,
        updated_at: at.now,
    };
    log(&mut case, at, "open", title);
    case
}

/// The first reply asked for logs: open → awaiting-logs.
pub fn request_logs(case: &mut Case, at: Stamp<'_>) {
    if case.status == CaseStatus::Open {
        case.status = CaseStatus::AwaitingLogs;
        log(case, at, "collect", "log collection requested");
    }
}

/// The key of a device, matched case-insensitively (device names arrive in either case).
pub fn find_device(case: &Case, name: &str) -> Option<String> {
    case.devices
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
}

fn device_or_err(case: &Case, name: &str) -> Result<String, UserError> {
    find_device(case, name).ok_or_else(|| UserError::UnknownDevice {
        name: name.to_string(),
        known: case.devices.keys().cloned().collect(),
    })
}

fn ensure_open(case: &Case) -> Result<(), UserError> {
    if case.status == CaseStatus::Closed {
        Err(UserError::CaseClosed(case.id.clone()))
    } else {
        Ok(())
    }
}

/// Derive the case status from its devices (closed stays closed).
pub fn derive_status(case: &Case) -> CaseStatus {
    if case.status == CaseStatus::Closed {
        return CaseStatus::Closed;
    }
    let devs: Vec<&DeviceRecord> = case.devices.values().collect();
    let any_asked = case.status != CaseStatus::Open;
    if devs.is_empty() {
        return if any_asked {
            CaseStatus::AwaitingLogs
        } else {
            CaseStatus::Open
        };
    }
    if devs.iter().all(|d| d.status == DeviceStatus::Fixed) {
        return CaseStatus::Resolved;
    }
    let waiting_logs = devs.iter().any(|d| d.status == DeviceStatus::AwaitingLogs);
    let all_waiting = devs.iter().all(|d| d.status == DeviceStatus::AwaitingLogs);
    if all_waiting {
        return CaseStatus::AwaitingLogs;
    }
    // A fix was sent for every device still open exactly when each has a confident finding.
    let fix_sent = devs
        .iter()
        .filter(|d| {
            matches!(
                d.status,
                DeviceStatus::Diagnosed | DeviceStatus::StillFailing
            )
        })
        .all(|d| d.diagnosis.as_ref().and_then(Diagnosis::top).is_some());
    if !waiting_logs && fix_sent {
        CaseStatus::AwaitingVerification
    } else {
        CaseStatus::Diagnosed
    }
}

fn refresh(case: &mut Case) {
    case.status = derive_status(case);
}

/// A bundle arrived for `device` (created if new). Returns the device key.
pub fn add_bundle(
    case: &mut Case,
    device: &str,
    bundle: BundleRef,
    at: Stamp<'_>,
) -> Result<String, UserError> {
    ensure_open(case)?;
    let key = find_device(case, device).unwrap_or_else(|| device.to_string());
    let rec = case
        .devices
        .entry(key.clone())
        .or_insert_with(|| DeviceRecord {
            name: key.clone(),
            status: DeviceStatus::AwaitingLogs,
            bundles: Vec::new(),
            diagnosis: None,
            verification: None,
        });
    if !rec.bundles.iter().any(|b| b.sha256 == bundle.sha256) {
        let text = format!("{key}: {} ({} bytes)", bundle.name, bundle.bytes);
        rec.bundles.push(bundle);
        log(case, at, "bundle", &text);
    }
    if case.status == CaseStatus::Open {
        case.status = CaseStatus::AwaitingLogs;
    }
    refresh(case);
    Ok(key)
}

/// A diagnosis finished for `device`. A new diagnosis replaces an earlier verdict, because it
/// describes a newer state of the device.
pub fn record_diagnosis(
    case: &mut Case,
    device: &str,
    diag: Diagnosis,
    at: Stamp<'_>,
) -> Result<(), UserError> {
    ensure_open(case)?;
    let key = device_or_err(case, device)?;
    let text = match diag.top() {
        Some(f) => format!("{key}: {} ({})", f.root_cause, f.rule),
        None => format!("{key}: no confident finding"),
    };
    if let Some(rec) = case.devices.get_mut(&key) {
        rec.diagnosis = Some(diag);
        rec.status = DeviceStatus::Diagnosed;
        rec.verification = None;
    }
    log(case, at, "diagnosis", &text);
    refresh(case);
    Ok(())
}

/// `device <name> fixed|failing [note]`.
pub fn verify(
    case: &mut Case,
    device: &str,
    verdict: Verdict,
    note: Option<&str>,
    at: Stamp<'_>,
) -> Result<String, UserError> {
    ensure_open(case)?;
    let key = device_or_err(case, device)?;
    let (status, word) = match verdict {
        Verdict::Fixed => (DeviceStatus::Fixed, "fixed"),
        Verdict::Failing => (DeviceStatus::StillFailing, "still failing"),
    };
    if let Some(rec) = case.devices.get_mut(&key) {
        rec.status = status;
        rec.verification = Some(note.unwrap_or(word).to_string());
    }
    let text = match note {
        Some(n) => format!("{key}: {word} — {n}"),
        None => format!("{key}: {word}"),
    };
    log(case, at, "device", &text);
    refresh(case);
    Ok(key)
}

/// The device a bare `fixed` / `still failing` refers to: the only one waiting for it.
pub fn verify_target(case: &Case) -> Result<String, UserError> {
    let waiting: Vec<String> = case
        .devices
        .values()
        .filter(|d| {
            matches!(
                d.status,
                DeviceStatus::Diagnosed | DeviceStatus::StillFailing
            )
        })
        .map(|d| d.name.clone())
        .collect();
    match waiting.as_slice() {
        [] => Err(UserError::NothingToVerify),
        [one] => Ok(one.clone()),
        _ => Err(UserError::WhichDevice(waiting)),
    }
}

/// The device of the latest verification on the timeline (`<device>: fixed|still failing`).
pub fn last_verified(case: &Case) -> Option<String> {
    case.timeline
        .iter()
        .rev()
        .filter(|e| e.kind == "device")
        .find_map(|e| {
            case.devices
                .keys()
                .find(|k| e.text.starts_with(&format!("{k}: ")))
                .cloned()
        })
}

/// Devices not verified fixed.
pub fn unverified(case: &Case) -> Vec<String> {
    case.devices
        .values()
        .filter(|d| d.status != DeviceStatus::Fixed)
        .map(|d| d.name.clone())
        .collect()
}

/// May the case be closed now? Unverified devices need `force` or a reason.
pub fn check_close(case: &Case, force: bool, reason: Option<&str>) -> Result<(), UserError> {
    ensure_open(case)?;
    let open = unverified(case);
    if !open.is_empty() && !force && reason.is_none() {
        return Err(UserError::CloseNeedsConfirmation(open));
    }
    Ok(())
}

/// Close with a summary (call [`check_close`] first; this re-checks).
pub fn close(
    case: &mut Case,
    force: bool,
    reason: Option<&str>,
    summary: String,
    at: Stamp<'_>,
) -> Result<(), UserError> {
    check_close(case, force, reason)?;
    case.status = CaseStatus::Closed;
    case.close_reason = reason.map(str::to_string);
    case.summary = Some(summary);
    log(case, at, "close", reason.unwrap_or(""));
    Ok(())
}

/// `reopen`: back to the status the devices imply.
pub fn reopen(case: &mut Case, at: Stamp<'_>) -> Result<(), UserError> {
    if case.status != CaseStatus::Closed {
        return Err(UserError::NotClosed(case.id.clone()));
    }
    // Any non-open, non-closed value lets derive_status treat logs as requested.
    case.status = CaseStatus::AwaitingLogs;
    refresh(case);
    log(case, at, "reopen", "");
    Ok(())
}

/// `split`: move `devices` out of `case` into a new case `new_id` and return it.
pub fn split(
    case: &mut Case,
    devices: &[String],
    new_id: CaseId,
    title: &str,
    at: Stamp<'_>,
) -> Result<Case, UserError> {
    ensure_open(case)?;
    let keys = devices
        .iter()
        .map(|d| device_or_err(case, d))
        .collect::<Result<Vec<_>, _>>()?;
    if keys.len() >= case.devices.len() {
        return Err(UserError::SplitAll);
    }
    let mut new = new_case(
        new_id.clone(),
        title,
        case.lang,
        case.channel_id.unwrap_or(0),
        at,
    );
    new.channel_id = case.channel_id;
    new.guild_id = case.guild_id;
    new.problem = format!("{title} (split from {})", case.id);
    new.status = CaseStatus::AwaitingLogs;
    for key in &keys {
        if let Some(rec) = case.devices.remove(key) {
            new.devices.insert(key.clone(), rec);
        }
    }
    let moved = keys.join(", ");
    log(case, at, "split", &format!("{moved} → {new_id}"));
    log(&mut new, at, "split", &format!("{moved} ← {}", case.id));
    refresh(case);
    refresh(&mut new);
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diagnosis::report::{BundleSummary, Device, Finding};

    const AT: Stamp<'static> = Stamp {
        author: "eng",
        now: 100,
    };

    fn case() -> Case {
        let id = CaseId::parse("CAS-11694-G2W9Y6").unwrap();
        let mut c = new_case(id, "KB5034763 rolls back", Lang::Zh, 7, AT);
        request_logs(&mut c, AT);
        c
    }

    fn bundle(sha: &str) -> BundleRef {
        BundleRef {
            sha256: sha.into(),
            name: format!("{sha}.zip"),
            bytes: 10,
            added_at: 1,
        }
    }

    fn diag(confidence: Option<f64>) -> Diagnosis {
        let findings = confidence
            .map(|c| Finding {
                root_cause: "txf-transaction-log-corrupt".into(),
                rule: "txf".into(),
                title: "TxF log corrupt".into(),
                confidence: c,
                subject: Default::default(),
                codes: vec![],
                evidence: vec![],
                steps: vec![],
                confirm: vec![],
                vars: Default::default(),
            })
            .into_iter()
            .collect();
        Diagnosis {
            schema: diagnosis::report::SCHEMA.into(),
            bundle: BundleSummary::default(),
            device: Device::default(),
            findings,
            unexplained: vec![],
            rules_version: "v1".into(),
        }
    }

    #[test]
    fn founding_case_walks_every_status() {
        let mut c = case();
        assert_eq!(c.status, CaseStatus::AwaitingLogs);
        add_bundle(&mut c, "pc1", bundle("a"), AT).unwrap();
        add_bundle(&mut c, "PC2", bundle("b"), AT).unwrap();
        assert_eq!(c.status, CaseStatus::AwaitingLogs);
        record_diagnosis(&mut c, "pc1", diag(Some(0.9)), AT).unwrap();
        assert_eq!(
            c.status,
            CaseStatus::Diagnosed,
            "pc2 still waits for its diagnosis"
        );
        record_diagnosis(&mut c, "pc2", diag(Some(0.9)), AT).unwrap();
        assert_eq!(c.status, CaseStatus::AwaitingVerification);
        verify(&mut c, "PC1", Verdict::Fixed, None, AT).unwrap();
        assert_eq!(c.status, CaseStatus::AwaitingVerification);
        verify(&mut c, "pc2", Verdict::Fixed, Some("installed"), AT).unwrap();
        assert_eq!(c.status, CaseStatus::Resolved);
        close(&mut c, false, None, "summary".into(), AT).unwrap();
        assert_eq!(c.status, CaseStatus::Closed);
        assert_eq!(c.summary.as_deref(), Some("summary"));
        reopen(&mut c, AT).unwrap();
        assert_eq!(c.status, CaseStatus::Resolved);
    }

    #[test]
    fn a_diagnosis_without_a_confident_finding_stays_diagnosed() {
        let mut c = case();
        add_bundle(&mut c, "pc1", bundle("a"), AT).unwrap();
        record_diagnosis(&mut c, "pc1", diag(Some(0.3)), AT).unwrap();
        assert_eq!(c.status, CaseStatus::Diagnosed);
        assert_eq!(c.devices["pc1"].status, DeviceStatus::Diagnosed);
    }

    #[test]
    fn still_failing_and_rediagnosis() {
        let mut c = case();
        add_bundle(&mut c, "pc1", bundle("a"), AT).unwrap();
        record_diagnosis(&mut c, "pc1", diag(Some(0.9)), AT).unwrap();
        verify(&mut c, "pc1", Verdict::Failing, None, AT).unwrap();
        assert_eq!(c.devices["pc1"].status, DeviceStatus::StillFailing);
        assert_eq!(c.status, CaseStatus::AwaitingVerification);
        record_diagnosis(&mut c, "pc1", diag(Some(0.9)), AT).unwrap();
        assert_eq!(c.devices["pc1"].status, DeviceStatus::Diagnosed);
    }

    #[test]
    fn close_without_verification_needs_force_or_reason() {
        let mut c = case();
        add_bundle(&mut c, "pc1", bundle("a"), AT).unwrap();
        let before = c.clone();
        assert_eq!(
            close(&mut c, false, None, "s".into(), AT),
            Err(UserError::CloseNeedsConfirmation(vec!["pc1".into()]))
        );
        assert_eq!(c, before, "a refused close changes nothing");
        close(
            &mut c,
            false,
            Some("duplicate of another case"),
            "s".into(),
            AT,
        )
        .unwrap();
        assert_eq!(c.close_reason.as_deref(), Some("duplicate of another case"));
        assert_eq!(
            verify(&mut c, "pc1", Verdict::Fixed, None, AT),
            Err(UserError::CaseClosed(c.id.clone()))
        );
        assert_eq!(
            close(&mut c, true, None, "s".into(), AT),
            Err(UserError::CaseClosed(c.id.clone()))
        );
    }

    #[test]
    fn reopen_only_closed_cases() {
        let mut c = case();
        assert_eq!(reopen(&mut c, AT), Err(UserError::NotClosed(c.id.clone())));
    }

    #[test]
    fn bare_verdict_needs_exactly_one_waiting_device() {
        let mut c = case();
        assert_eq!(verify_target(&c), Err(UserError::NothingToVerify));
        add_bundle(&mut c, "pc1", bundle("a"), AT).unwrap();
        record_diagnosis(&mut c, "pc1", diag(Some(0.9)), AT).unwrap();
        assert_eq!(verify_target(&c), Ok("pc1".into()));
        add_bundle(&mut c, "pc2", bundle("b"), AT).unwrap();
        record_diagnosis(&mut c, "pc2", diag(Some(0.9)), AT).unwrap();
        assert!(matches!(verify_target(&c), Err(UserError::WhichDevice(d)) if d.len() == 2));
    }

    #[test]
    fn same_bundle_twice_is_recorded_once() {
        let mut c = case();
        add_bundle(&mut c, "pc1", bundle("a"), AT).unwrap();
        add_bundle(&mut c, "PC1", bundle("a"), AT).unwrap();
        assert_eq!(c.devices.len(), 1);
        assert_eq!(c.devices["pc1"].bundles.len(), 1);
    }

    #[test]
    fn split_moves_devices_to_a_new_case() {
        let mut c = case();
        add_bundle(&mut c, "pc1", bundle("a"), AT).unwrap();
        add_bundle(&mut c, "pc2", bundle("b"), AT).unwrap();
        record_diagnosis(&mut c, "pc2", diag(Some(0.9)), AT).unwrap();
        let new_id = CaseId::parse("CAS-00001-AAAAAA").unwrap();
        let new = split(&mut c, &["PC2".into()], new_id.clone(), "printer", AT).unwrap();
        assert_eq!(new.id, new_id);
        assert!(new.devices.contains_key("pc2"));
        assert!(!c.devices.contains_key("pc2"));
        assert_eq!(new.status, CaseStatus::AwaitingVerification);
        assert_eq!(c.status, CaseStatus::AwaitingLogs);
        assert_eq!(
            split(&mut c, &["pc1".into()], new_id.clone(), "x", AT),
            Err(UserError::SplitAll)
        );
        assert!(matches!(
            split(&mut c, &["nope".into()], new_id, "x", AT),
            Err(UserError::UnknownDevice { .. })
        ));
    }
}
