//! Dashboard benchmark: time to compute and render the fleet dashboard over 10,000 cases.
//!
//! `cargo bench -p web --bench dashboard` prints the figures. The cases carry the founding
//! case's real diagnoses (`tests/fixtures/bundles/device1.zip` and `device2.zip`, diagnosed with
//! the built-in rules) with their root causes spread over the catalogue, one or two devices each,
//! opened over the last 16 weeks, two thirds of them closed. Without `--bench` (as
//! `cargo test --all-targets` runs it) it does a small smoke run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use diagnosis::{Diagnosis, Lang, Limits, RuleSet};
use handlers::Role;
use handlers::link::LinkClaims;
use store::{Case, CaseId, CaseStatus, DeviceRecord, DeviceStatus, TimelineEntry};

const NOW: u64 = 1_767_225_600; // 2026-01-01 00:00 UTC

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (count, runs) = if full { (10_000, 10) } else { (300, 1) };
    let samples = sample_diagnoses();
    let cases: Vec<Case> = (0..count).map(|i| case(i, &samples)).collect();
    let claims = LinkClaims {
        case: None,
        user: "bench".into(),
        role: Role::Engineer,
        expires: NOW + 3600,
    };
    let rules = std::sync::Arc::new(diagnosis::RuleSet::builtin().expect("built-in rules"));
    for lang in [Lang::En, Lang::Zh] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..runs {
            let page = web::page::Page::new(
                &claims,
                "token",
                (lang, false),
                "/dashboard",
                std::sync::Arc::clone(&rules),
            );
            let started = Instant::now();
            let html = web::dashboard::render(page, &cases, NOW).expect("render");
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            bytes = html.len();
            assert!(html.contains("<svg"), "the dashboard draws its charts");
        }
        times.sort_by(f64::total_cmp);
        println!(
            "dashboard ({lang}): {count} cases, {runs} runs: median {:.1} ms, min {:.1} ms, \
             max {:.1} ms; page {} KiB",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1],
            bytes / 1024
        );
    }
}

/// The two founding devices' diagnoses.
fn sample_diagnoses() -> Vec<Diagnosis> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/bundles");
    let rules = RuleSet::builtin().expect("built-in rules");
    ["device1.zip", "device2.zip"]
        .iter()
        .map(|name| {
            diagnosis::diagnose_path(&root.join(name), &rules, &Limits::default())
                .expect("fixture bundle")
        })
        .collect()
}

fn case(i: usize, samples: &[Diagnosis]) -> Case {
    let id = CaseId::parse(&format!("CAS-{:05}-B{:05}", i % 100_000, i % 100_000)).expect("id");
    let created = NOW - ((i as u64 * 7_919) % (16 * 7 * 86_400));
    let closed = !i.is_multiple_of(3);
    let resolve = 3_600 * (1 + (i as u64 * 37) % 200);
    let mut devices = BTreeMap::new();
    for d in 0..=(i % 2) {
        let mut diag = samples[(i + d) % samples.len()].clone();
        if let Some(top) = diag.findings.first_mut() {
            let causes = diagnosis::rule::ROOT_CAUSES;
            top.root_cause = causes[(i * 7 + d) % 9 * (i % 4 + 1) % causes.len()].to_string();
        }
        let name = format!("wcc{i:06}{d}");
        devices.insert(
            name.clone(),
            DeviceRecord {
                name,
                status: if closed {
                    DeviceStatus::Fixed
                } else {
                    DeviceStatus::Diagnosed
                },
                bundles: Vec::new(),
                diagnosis: Some(diag),
                verification: None,
            },
        );
    }
    let mut timeline = vec![event(created, "open", "KB5034763 rolled back")];
    if closed {
        timeline.push(event(created + resolve, "close", "fixed"));
    }
    Case {
        id,
        title: format!("KB5034763 rolled back on fleet {i}"),
        problem: "KB5034763 installs, reboots and rolls back".into(),
        lang: Lang::Zh,
        opener: "li.wei".into(),
        opener_id: None,
        guild_id: None,
        channel_id: None,
        thread_id: None,
        status: if closed {
            CaseStatus::Closed
        } else {
            CaseStatus::Diagnosed
        },
        devices,
        timeline,
        close_reason: None,
        summary: None,
        created_at: created,
        updated_at: if closed { created + resolve } else { created },
    }
}

fn event(at: u64, kind: &str, text: &str) -> TimelineEntry {
    TimelineEntry {
        at,
        author: "li.wei".into(),
        kind: kind.into(),
        text: text.into(),
    }
}
