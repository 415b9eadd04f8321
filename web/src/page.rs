//! What every page shares: the viewer's language, who the link was issued to, and internal links
//! that carry the token (and an explicit language choice) along.

use std::sync::Arc;

use diagnosis::{Lang, RuleSet};
use handlers::Role;
use handlers::link::LinkClaims;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Characters left as they are in a path segment or query value.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encode one path segment or query value.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, KEEP).to_string()
}

/// The viewer's language: `?lang=zh|en` first, then the first zh or en tag of
/// `Accept-Language` (in the browser's order of preference), else English.
pub fn choose_lang(query: Option<&str>, accept: Option<&str>) -> (Lang, bool) {
    if let Some(lang) = query.and_then(parse_lang) {
        return (lang, true);
    }
    let mut tags: Vec<(f32, usize, Lang)> = accept
        .unwrap_or_default()
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut bits = part.split(';');
            let lang = parse_lang(bits.next()?.trim())?;
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q="))
                .and_then(|q| q.parse().ok())
                .unwrap_or(1.0);
            Some((q, i, lang))
        })
        .collect();
    tags.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    (tags.first().map_or(Lang::En, |t| t.2), false)
}

fn parse_lang(tag: &str) -> Option<Lang> {
    let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
    match primary.as_str() {
        "zh" => Some(Lang::Zh),
        "en" => Some(Lang::En),
        _ => None,
    }
}

/// The shared part of every page.
#[derive(Debug, Clone)]
pub struct Page {
    /// Display language.
    pub lang: Lang,
    /// `zh` / `en`, for `<html lang>`.
    pub lang_code: &'static str,
    /// The language was chosen in the URL (so links keep it).
    explicit_lang: bool,
    /// The link token (carried by every internal link).
    token: String,
    /// Who the link was issued to.
    pub user: String,
    /// Engineer view (codes, evidence, log lines) or customer view.
    pub engineer: bool,
    /// May open the fleet pages (dashboard, search) and every case.
    pub fleet: bool,
    /// The case the link is limited to.
    pub own_case: Option<String>,
    /// Path of this page (for the language switch).
    here: String,
    /// The rule set the texts of a diagnosis come from.
    pub rules: Arc<RuleSet>,
}

impl Page {
    /// A page at `here` for a verified link; diagnoses are worded from `rules`.
    pub fn new(
        claims: &LinkClaims,
        token: &str,
        lang: (Lang, bool),
        here: &str,
        rules: Arc<RuleSet>,
    ) -> Page {
        Page {
            lang: lang.0,
            lang_code: lang_code(lang.0),
            explicit_lang: lang.1,
            token: token.to_string(),
            user: claims.user.clone(),
            engineer: claims.role == Role::Engineer,
            fleet: claims.role == Role::Engineer && claims.case.is_none(),
            own_case: claims.case.as_ref().map(|c| c.to_string()),
            here: here.to_string(),
            rules,
        }
    }

    /// The catalogue text of `key` in the page's language.
    pub fn msg(&self, key: &str) -> &'static str {
        handlers::render::msg(self.lang, key)
    }

    /// An internal link to `path` (already encoded) carrying the token and the language.
    pub fn url(&self, path: &str) -> String {
        let mut url = format!("{path}?t={}", encode(&self.token));
        if self.explicit_lang {
            url.push_str("&lang=");
            url.push_str(self.lang_code);
        }
        url
    }

    /// This page in the other language.
    pub fn switch_url(&self) -> String {
        let other = match self.lang {
            Lang::En => "zh",
            Lang::Zh => "en",
        };
        format!("{}?t={}&lang={other}", self.here, encode(&self.token))
    }

    /// Label of the language switch.
    pub fn switch_label(&self) -> &'static str {
        self.msg("web.text")
    }

    /// The token, for forms that submit it as a hidden field.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The language as given in the URL, for forms (empty when it came from the browser).
    pub fn lang_param(&self) -> &'static str {
        if self.explicit_lang {
            self.lang_code
        } else {
            ""
        }
    }

    /// Link to a case page.
    pub fn case_url(&self, id: &str) -> String {
        self.url(&format!("/case/{}", encode(id)))
    }

    /// Link to a device's evidence view.
    pub fn evidence_url(&self, id: &str, device: &str) -> String {
        self.url(&format!("/case/{}/evidence/{}", encode(id), encode(device)))
    }
}

fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en",
        Lang::Zh => "zh",
    }
}

/// A Unix time as `YYYY-MM-DD HH:MM UTC`.
pub fn time(secs: u64) -> String {
    handlers::summary::utc(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_wins_then_the_browser_preference() {
        assert_eq!(choose_lang(Some("zh"), Some("en")), (Lang::Zh, true));
        assert_eq!(
            choose_lang(None, Some("fr;q=0.9, en;q=0.5, zh-CN;q=0.8")),
            (Lang::Zh, false)
        );
        assert_eq!(choose_lang(Some("xx"), Some("en-GB")), (Lang::En, false));
        assert_eq!(choose_lang(None, None), (Lang::En, false));
    }

    /// Every `web.*` message key of the pages and templates is in the handlers' catalogue, in
    /// both languages (the catalogue's own tests only scan the handlers' sources).
    #[test]
    fn every_key_the_pages_ask_for_is_in_the_catalogue() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut seen = 0;
        for dir in ["src", "templates"] {
            for entry in std::fs::read_dir(root.join(dir)).expect("read dir") {
                let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
                for (i, _) in text.match_indices("\"web.") {
                    let key = text[i + 1..].split('"').next().unwrap_or_default();
                    let well_formed = key.len() > 4
                        && key[4..]
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                    if !well_formed {
                        continue;
                    }
                    seen += 1;
                    for lang in [Lang::En, Lang::Zh] {
                        assert_ne!(
                            handlers::render::msg(lang, key),
                            "[missing message]",
                            "{key} ({lang})"
                        );
                    }
                }
            }
        }
        assert!(seen > 80, "the scan found only {seen} keys");
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode("a b/c?<"), "a%20b%2Fc%3F%3C");
    }
}
