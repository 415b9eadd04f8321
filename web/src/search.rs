//! Search: find cases by case id, device name, KB number, error code (as logged or decoded) or
//! root cause (id or title). Every word of the query must match somewhere in the case
//! (case-insensitive); each hit says where its words matched.

use askama::Template;
use diagnosis::{Lang, RuleSet};
use handlers::render::{finding_title, msg};
use store::Case;

use crate::case_page::case_status;
use crate::page::{Page, time};

/// Most hits listed.
pub const MAX_HITS: usize = 200;

/// One matching case.
pub struct Hit {
    pub id: String,
    pub url: String,
    pub title: String,
    pub status: &'static str,
    pub devices: String,
    pub updated: String,
    /// What matched, e.g. `device: wcc0021z675842`.
    pub matched: Vec<String>,
}

/// The search page.
#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    pub page: Page,
    pub query: String,
    pub hits: Vec<Hit>,
    pub more: bool,
    pub searched: bool,
}

/// A searchable field of a case: what it is and its text.
struct Field {
    what: &'static str,
    text: String,
}

fn fields(case: &Case, rules: &RuleSet, lang: Lang) -> Vec<Field> {
    let mut out = vec![
        Field {
            what: msg(lang, "web.case_2"),
            text: case.id.to_string(),
        },
        Field {
            what: msg(lang, "web.title_3"),
            text: format!("{} {}", case.title, case.problem),
        },
    ];
    for d in case.devices.values() {
        out.push(Field {
            what: msg(lang, "web.device"),
            text: d.name.clone(),
        });
        let Some(diag) = &d.diagnosis else { continue };
        for kb in &diag.device.updates {
            out.push(Field {
                what: msg(lang, "web.kb"),
                text: kb.clone(),
            });
        }
        for f in &diag.findings {
            out.push(Field {
                what: msg(lang, "web.root_cause_2"),
                text: format!("{} {}", f.root_cause, finding_title(f, rules, lang)),
            });
            for c in &f.codes {
                out.push(Field {
                    what: msg(lang, "web.code_2"),
                    text: format!("{} {}", c.code, c.name),
                });
            }
        }
        for u in &diag.unexplained {
            if let Some(code) = &u.code {
                out.push(Field {
                    what: msg(lang, "web.code_2"),
                    text: code.clone(),
                });
            }
        }
    }
    out
}

/// Where each word of `words` matched in `case`, or `None` if one of them matched nowhere.
fn matches(case: &Case, words: &[String], rules: &RuleSet, lang: Lang) -> Option<Vec<String>> {
    let fields = fields(case, rules, lang);
    let mut found = Vec::new();
    for w in words {
        let hit = fields
            .iter()
            .find(|f| f.text.to_lowercase().contains(w.as_str()))?;
        let shown = format!("{}: {}", hit.what, hit.text);
        if !found.contains(&shown) {
            found.push(shown);
        }
    }
    Some(found)
}

/// Search `cases` (newest first in the result) for `query`.
pub fn build(page: Page, cases: &[Case], query: &str) -> SearchPage {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let lang = page.lang;
    let mut hits = Vec::new();
    let mut more = false;
    if !words.is_empty() {
        for case in cases.iter().rev() {
            let Some(matched) = matches(case, &words, &page.rules, lang) else {
                continue;
            };
            if hits.len() == MAX_HITS {
                more = true;
                break;
            }
            hits.push(Hit {
                id: case.id.to_string(),
                url: page.case_url(case.id.as_str()),
                title: case.title.clone(),
                status: case_status(case.status, lang),
                devices: case.devices.keys().cloned().collect::<Vec<_>>().join(", "),
                updated: time(case.updated_at),
                matched,
            });
        }
    }
    SearchPage {
        page,
        query: query.to_string(),
        searched: !words.is_empty(),
        hits,
        more,
    }
}
