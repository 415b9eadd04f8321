//! The fleet dashboard: cases opened, closed and still open per week; root causes by week; mean
//! time to resolution; root causes that recur across cases. Figures are computed from the case
//! records in one pass each and drawn as server-side SVG charts (`chart`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use askama::Template;
use diagnosis::Lang;
use handlers::render::{finding_title, msg};
use store::{Case, CaseStatus};

use crate::chart::{self, Axes, Chart, Series};
use crate::page::{Page, encode, time};

/// Weeks shown in the charts (ending with the current week).
pub const WEEKS: i64 = 12;
/// Root causes drawn separately in the by-week chart; the rest are "other".
const TOP_CAUSES: usize = 5;
/// Recurring root causes listed.
const RECURRING: usize = 10;

/// A root cause seen in more than one case.
pub struct Recurring {
    pub root_cause: String,
    pub title: String,
    pub cases: usize,
    pub devices: usize,
    pub last_seen: String,
    pub search_url: String,
}

/// The dashboard page.
#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub page: Page,
    pub total: usize,
    pub open: usize,
    pub closed: usize,
    pub devices: usize,
    pub mttr: String,
    pub resolved: usize,
    pub charts: Vec<Chart>,
    pub recurring: Vec<Recurring>,
}

/// Render the dashboard over `cases` at time `now` (Unix seconds) for `page`'s viewer.
pub fn render(page: Page, cases: &[Case], now: u64) -> Result<String, askama::Error> {
    build(page, cases, now).render()
}

/// Monday-based week number of a Unix time (1970-01-01 was a Thursday).
fn week_of(secs: u64) -> i64 {
    ((secs / 86_400) as i64 + 3).div_euclid(7)
}

/// `MM-DD` of the Monday starting week `w`.
fn week_label(w: i64) -> String {
    let day = (w * 7 - 3).max(0) as u64;
    let date = time(day * 86_400);
    date.get(5..10).unwrap_or_default().to_string()
}

/// When a closed case was closed: its last `close` event (or its last update).
fn closed_at(case: &Case) -> Option<u64> {
    if case.status != CaseStatus::Closed {
        return None;
    }
    let close = case.timeline.iter().rev().find(|e| e.kind == "close");
    Some(close.map_or(case.updated_at, |e| e.at))
}

/// The root cause of each diagnosed device: its top confident finding, else its first hint.
fn causes(case: &Case) -> impl Iterator<Item = &diagnosis::report::Finding> {
    case.devices.values().filter_map(|d| {
        let diag = d.diagnosis.as_ref()?;
        diag.top().or_else(|| diag.findings.first())
    })
}

fn duration(secs: f64, lang: Lang) -> String {
    let hours = secs / 3600.0;
    match lang {
        Lang::En if hours < 48.0 => format!("{hours:.1} h"),
        Lang::En => format!("{:.1} d", hours / 24.0),
        Lang::Zh if hours < 48.0 => format!("{hours:.1} 小时"),
        Lang::Zh => format!("{:.1} 天", hours / 24.0),
    }
}

/// Build the page's figures.
pub fn build(page: Page, cases: &[Case], now: u64) -> DashboardPage {
    let lang = page.lang;
    let rules = std::sync::Arc::clone(&page.rules);
    let last = week_of(now);
    let first = last - WEEKS + 1;
    let weeks: Vec<String> = (first..=last).map(week_label).collect();
    let slot = |secs: u64| {
        let w = week_of(secs);
        (first..=last).contains(&w).then(|| (w - first) as usize)
    };
    let n = weeks.len();
    let mut opened = vec![0.0; n];
    let mut closed = vec![0.0; n];
    let mut backlog = vec![0.0; n];
    let mut ttr_sum = vec![0.0; n];
    let mut ttr_n = vec![0.0; n];
    let (mut total_ttr, mut resolved) = (0.0, 0usize);
    let mut by_week: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut cause_cases = CauseCases::new();
    let mut devices = 0;
    for case in cases {
        devices += case.devices.len();
        let closed_time = closed_at(case);
        if let Some(i) = slot(case.created_at) {
            opened[i] += 1.0;
        }
        if let Some(at) = closed_time {
            let ttr = at.saturating_sub(case.created_at) as f64;
            total_ttr += ttr;
            resolved += 1;
            if let Some(i) = slot(at) {
                closed[i] += 1.0;
                ttr_sum[i] += ttr;
                ttr_n[i] += 1.0;
            }
        }
        // Still open at the end of each week: opened by then and not closed by then.
        let open_from = week_of(case.created_at).max(first);
        let open_to = closed_time.map_or(last, |at| week_of(at) - 1).min(last);
        for w in open_from..=open_to {
            backlog[(w - first) as usize] += 1.0;
        }
        for f in causes(case) {
            if let Some(i) = slot(case.created_at) {
                by_week
                    .entry(f.root_cause.as_str())
                    .or_insert_with(|| vec![0.0; n])[i] += 1.0;
            }
            let entry = cause_cases
                .entry(f.root_cause.as_str())
                .or_insert_with(|| CauseStats {
                    cases: BTreeSet::new(),
                    devices: 0,
                    last: 0,
                    title: finding_title(f, &rules, lang),
                });
            entry.cases.insert(case.id.as_str());
            entry.devices += 1;
            entry.last = entry.last.max(case.updated_at);
        }
    }
    let open = cases
        .iter()
        .filter(|c| c.status != CaseStatus::Closed)
        .count();
    let mttr_week: Vec<f64> = ttr_sum
        .iter()
        .zip(&ttr_n)
        .map(|(s, k)| if *k > 0.0 { s / k / 3600.0 } else { 0.0 })
        .collect();
    let charts = vec![
        chart::vertical(
            "cases-per-week",
            msg(lang, "web.cases_opened_closed_and_still"),
            Axes {
                x: msg(lang, "web.week_starting_utc"),
                y: msg(lang, "web.cases_3"),
                whole: true,
            },
            &weeks,
            &[
                series(msg(lang, "web.opened_2"), opened),
                series(msg(lang, "web.closed_2"), closed),
                series(msg(lang, "web.open_at_week_end"), backlog),
            ],
            false,
        ),
        causes_chart(lang, &weeks, by_week),
        chart::vertical(
            "mttr-per-week",
            msg(lang, "web.mean_time_to_resolution_of"),
            Axes {
                x: msg(lang, "web.week_closed_utc"),
                y: msg(lang, "web.hours"),
                whole: false,
            },
            &weeks,
            &[series(msg(lang, "web.mean_hours"), mttr_week)],
            false,
        ),
        recurring_chart(lang, &cause_cases),
    ];
    let nothing = msg(lang, "web.nothing_in_these_weeks");
    let charts = charts
        .into_iter()
        .map(|c| {
            if c.id == "recurring-causes" {
                c.or_empty(msg(lang, "web.no_root_cause_recurs_yet"))
            } else {
                c.or_empty(nothing)
            }
        })
        .collect();
    let recurring = recurring_rows(&page, &cause_cases);
    DashboardPage {
        total: cases.len(),
        open,
        closed: cases.len() - open,
        devices,
        mttr: if resolved == 0 {
            msg(lang, "web.no_closed_case_yet").to_string()
        } else {
            duration(total_ttr / resolved as f64, lang)
        },
        resolved,
        charts,
        recurring,
        page,
    }
}

fn series(name: &str, values: Vec<f64>) -> Series {
    Series {
        name: name.to_string(),
        values,
    }
}

/// Stacked root causes per week: the most frequent few by name, the rest as "other".
fn causes_chart(lang: Lang, weeks: &[String], by_week: HashMap<&str, Vec<f64>>) -> Chart {
    let mut ranked: Vec<(&str, Vec<f64>)> = by_week.into_iter().collect();
    ranked.sort_by(|a, b| {
        let (sa, sb): (f64, f64) = (a.1.iter().sum(), b.1.iter().sum());
        sb.total_cmp(&sa).then(a.0.cmp(b.0))
    });
    let mut shown: Vec<Series> = Vec::new();
    let mut other = vec![0.0; weeks.len()];
    for (i, (cause, values)) in ranked.into_iter().enumerate() {
        if i < TOP_CAUSES {
            shown.push(series(cause, values));
        } else {
            for (o, v) in other.iter_mut().zip(values) {
                *o += v;
            }
        }
    }
    if other.iter().any(|v| *v > 0.0) {
        shown.push(series(msg(lang, "web.other"), other));
    }
    chart::vertical(
        "causes-per-week",
        msg(lang, "web.root_causes_by_week_devices"),
        Axes {
            x: msg(lang, "web.week_starting_utc"),
            y: msg(lang, "web.devices_4"),
            whole: true,
        },
        weeks,
        &shown,
        true,
    )
}

/// Where a root cause was found.
struct CauseStats<'a> {
    /// Cases it was found in.
    cases: BTreeSet<&'a str>,
    /// Devices it was found on.
    devices: usize,
    /// Last change of a case it was found in.
    last: u64,
    /// Its title in the page's language.
    title: String,
}

type CauseCases<'a> = BTreeMap<&'a str, CauseStats<'a>>;

/// Root causes found in two cases or more, most cases first.
fn recurring_list<'a>(causes: &'a CauseCases<'a>) -> Vec<(&'a str, &'a CauseStats<'a>)> {
    let mut list: Vec<_> = causes
        .iter()
        .filter(|(_, v)| v.cases.len() >= 2)
        .map(|(k, v)| (*k, v))
        .collect();
    list.sort_by(|a, b| b.1.cases.len().cmp(&a.1.cases.len()).then(a.0.cmp(b.0)));
    list.truncate(RECURRING);
    list
}

fn recurring_chart(lang: Lang, causes: &CauseCases<'_>) -> Chart {
    let items: Vec<(String, f64)> = recurring_list(causes)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.cases.len() as f64))
        .collect();
    chart::horizontal(
        "recurring-causes",
        msg(lang, "web.recurring_root_causes_in_two"),
        Axes {
            x: msg(lang, "web.cases_3"),
            y: msg(lang, "web.root_cause_2"),
            whole: true,
        },
        &items,
    )
}

fn recurring_rows(page: &Page, causes: &CauseCases<'_>) -> Vec<Recurring> {
    recurring_list(causes)
        .into_iter()
        .map(|(k, v)| Recurring {
            root_cause: k.to_string(),
            title: v.title.to_string(),
            cases: v.cases.len(),
            devices: v.devices,
            last_seen: time(v.last),
            search_url: format!("{}&q={}", page.url("/search"), encode(k)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        // 2024-02-12 was a Monday, 2024-02-18 a Sunday.
        let monday = 1_707_696_000;
        assert_eq!(week_of(monday), week_of(monday + 6 * 86_400 + 86_399));
        assert_eq!(week_of(monday) + 1, week_of(monday + 7 * 86_400));
        assert_eq!(week_label(week_of(monday + 3 * 86_400)), "02-12");
    }
}
