//! Required literals of a regex: a set of strings such that every match of the regex contains
//! at least one of them. They feed the buffer prefilter (see `search`), so a new rule is
//! covered by its own pattern; a pattern without such a set sends its file kind to the line
//! path.
//!
//! Literals are ASCII-lowercased (the prefilter searches ASCII case-insensitively, a superset of
//! both case-sensitive and `(?i)` matching). Non-ASCII characters of mixed classes (`K` for
//! `(?i)k`) become literals of their own. A literal is cut at whitespace other than the space
//! and its rarest piece kept: records join their physical lines with `\n`, so only such a piece
//! is certain to lie on one physical line. (Lines joined with a space, wrapped by a mail client,
//! are the searcher's concern: it reads such records whole.)

use std::cell::RefCell;

use regex_syntax::hir::{Class, Hir, HirKind};

/// Most strings one sub-expression may stand for before it counts as "too many".
const MAX_SET: usize = 64;
/// Longest literal kept (longer ones are as selective as their prefix).
const MAX_LEN: usize = 48;
/// Largest character class expanded into alternatives.
const MAX_CLASS: usize = 16;

/// A set of byte strings.
type Set = Vec<Vec<u8>>;

/// Required literals of a Unicode regex (as `regex::Regex` parses it); `None` when some match
/// may contain none of a small set of literals.
#[cfg(test)]
pub(crate) fn of_pattern(pattern: &str) -> Option<Set> {
    let hir = regex_syntax::parse(pattern).ok()?;
    extract(&hir)
}

/// Required literals of a byte regex (as `regex::bytes::Regex` parses it).
pub(crate) fn of_bytes_pattern(pattern: &str) -> Option<Set> {
    let hir = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()?;
    extract(&hir)
}

thread_local! {
    /// Non-ASCII members dropped from classes that also hold ASCII (see [`class_set`]).
    static DROPPED: RefCell<Set> = const { RefCell::new(Vec::new()) };
}

/// The required set of `hir`, plus every non-ASCII character dropped from a mixed class: a
/// match either avoids those characters (and then contains a literal of the ASCII-only
/// pattern) or contains one of them. This keeps `(?i)s` from doubling every literal for `ſ`.
fn extract(hir: &Hir) -> Option<Set> {
    DROPPED.with(|d| d.borrow_mut().clear());
    let mut set = required(hir)?;
    set.extend(DROPPED.with(|d| std::mem::take(&mut *d.borrow_mut())));
    finish(set)
}

/// Cut at whitespace, reject empty pieces and replacement characters (a raw UTF-8 buffer holds
/// the invalid bytes, not U+FFFD), deduplicate.
fn finish(set: Set) -> Option<Set> {
    let mut out: Set = Vec::new();
    for lit in set {
        if lit.windows(3).any(|w| w == "\u{FFFD}".as_bytes()) {
            return None;
        }
        // The rarest piece; the first of equals.
        let piece = lit
            .split(|b| is_break(*b))
            .filter(|p| !p.is_empty())
            .fold(None, |best: Option<&[u8]>, p| match best {
                Some(b) if rarity(b) >= rarity(p) => Some(b),
                _ => Some(p),
            })
            .unwrap_or_default();
        if piece.iter().all(|b| *b == b' ') {
            return None;
        }
        if !out.iter().any(|o| o == piece) {
            out.push(piece.to_vec());
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Every string `hir` can match, when there are few (assertions count as empty: dropping a
/// condition only widens the set, which a prefilter may do).
fn exact(hir: &Hir) -> Option<Set> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(vec![Vec::new()]),
        HirKind::Literal(lit) => Some(vec![lower(&lit.0)]),
        HirKind::Class(class) => class_set(class),
        HirKind::Capture(c) => exact(&c.sub),
        HirKind::Repetition(r) => match (r.min, r.max) {
            (1, Some(1)) => exact(&r.sub),
            (0, Some(1)) => {
                let mut s = exact(&r.sub)?;
                s.push(Vec::new());
                Some(dedup(s))
            }
            _ => None,
        },
        HirKind::Concat(subs) => {
            let mut acc: Set = vec![Vec::new()];
            for sub in subs {
                acc = product(&acc, &exact(sub)?)?;
            }
            Some(acc)
        }
        HirKind::Alternation(alts) => {
            let mut out = Vec::new();
            for alt in alts {
                out.extend(exact(alt)?);
                if out.len() > MAX_SET {
                    return None;
                }
            }
            Some(dedup(out))
        }
    }
}

/// A set every match of `hir` contains one member of (members non-empty).
fn required(hir: &Hir) -> Option<Set> {
    if let Some(set) = exact(hir).filter(|s| !s.iter().any(Vec::is_empty)) {
        return Some(set);
    }
    match hir.kind() {
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub),
        HirKind::Alternation(alts) => {
            let mut out = Vec::new();
            for alt in alts {
                out.extend(required(alt)?);
            }
            Some(dedup(out))
        }
        HirKind::Concat(subs) => best_of_concat(subs),
        _ => None,
    }
}

/// The most selective choice in a concatenation: a run of consecutive children with exact
/// sets (multiplied out), or one child's required set.
fn best_of_concat(subs: &[Hir]) -> Option<Set> {
    concat_sets(subs).into_iter().max_by_key(score)
}

/// Every set a concatenation requires: its runs of exact children and its other children's
/// required sets (each needed: a match contains a member of every one).
fn concat_sets(subs: &[Hir]) -> Vec<Set> {
    // Groups do not change what matches: a group's own sequence joins this one.
    let mut flat: Vec<&Hir> = Vec::new();
    flatten(subs, &mut flat);
    let mut sets: Vec<Set> = Vec::new();
    let mut consider = |s: Set| {
        if !s.is_empty() && !s.iter().any(Vec::is_empty) {
            sets.push(s);
        }
    };
    let mut run: Set = vec![Vec::new()];
    for sub in flat {
        match exact(sub).and_then(|e| product(&run, &e)) {
            Some(next) => run = next,
            None => {
                consider(std::mem::replace(&mut run, vec![Vec::new()]));
                // The child itself may start a new run.
                if let Some(e) = exact(sub) {
                    run = e;
                }
                if let Some(r) = required(sub) {
                    consider(r);
                }
            }
        }
    }
    consider(run);
    sets
}

/// For verifying a prefilter hit: per branch of a top-level alternation (one branch if there is
/// none), the sets a match of that branch must each hit, its most selective first. A match of
/// the regex is a match of some branch. `None` as for [`of_pattern`].
pub(crate) fn branches_of_pattern(pattern: &str) -> Option<Vec<Vec<Set>>> {
    let hir = regex_syntax::parse(pattern).ok()?;
    let top = unwrap_groups(&hir);
    let branches: Vec<&Hir> = match top.kind() {
        HirKind::Alternation(alts) => alts.iter().collect(),
        _ => vec![top],
    };
    branches.into_iter().map(branch_sets).collect()
}

fn unwrap_groups(mut hir: &Hir) -> &Hir {
    while let HirKind::Capture(c) = hir.kind() {
        hir = &c.sub;
    }
    hir
}

/// The sets one branch needs, the most selective first; `None` if it needs no literal.
fn branch_sets(branch: &Hir) -> Option<Vec<Set>> {
    let branch = unwrap_groups(branch);
    DROPPED.with(|d| d.borrow_mut().clear());
    let mut sets = match branch.kind() {
        HirKind::Concat(subs) => concat_sets(subs),
        _ => vec![required(branch)?],
    };
    let dropped = DROPPED.with(|d| std::mem::take(&mut *d.borrow_mut()));
    sets.sort_by_key(|s| std::cmp::Reverse(score(s)));
    let mut out: Vec<Set> = Vec::new();
    for mut set in sets {
        set.extend(dropped.iter().cloned());
        if let Some(set) = finish(set)
            && !out.contains(&set)
        {
            out.push(set);
        }
    }
    (!out.is_empty()).then_some(out)
}

fn flatten<'h>(subs: &'h [Hir], out: &mut Vec<&'h Hir>) {
    for sub in subs {
        let inner = match sub.kind() {
            HirKind::Capture(c) => &*c.sub,
            _ => sub,
        };
        match inner.kind() {
            HirKind::Concat(more) => flatten(more, out),
            _ => out.push(inner),
        }
    }
}

/// Rarer weakest member first, then fewer members.
fn score(s: &Set) -> (u32, std::cmp::Reverse<usize>) {
    let weakest = s
        .iter()
        .map(|l| l.split(|b| is_break(*b)).map(rarity).max().unwrap_or(0))
        .min()
        .unwrap_or(0);
    (weakest, std::cmp::Reverse(s.len()))
}

/// Whitespace that may stand where a record joins two lines (`\n`) or never in one line.
fn is_break(b: u8) -> bool {
    b.is_ascii_whitespace() && b != b' '
}

/// Words on nearly every line of a healthy servicing log: no use as a prefilter, nor any piece
/// of them.
const COMMON: &[&str] = &[
    "package",
    "session",
    "component",
    "windows",
    "microsoft",
    "transaction",
    "amd64",
    "applicab",
];

/// Whole words on many lines of a healthy CBS log (alone or with separators around them): CBS
/// names `TrustedInstaller` at every start, stop and lock of a session, and `detectParent` in
/// every applicability check. Their pieces (`installer`) are rarer.
const COMMON_WORDS: &[&str] = &["trustedinstaller", "detectparent"];

/// How rarely a literal occurs in logs (higher is rarer): frequent letters count less than
/// other letters, digits and punctuation, and common log words count nothing.
fn rarity(lit: &[u8]) -> u32 {
    if lit.is_empty() {
        return 0;
    }
    let word = lit.trim_ascii();
    let word = word.strip_suffix(b":").unwrap_or(word);
    if COMMON
        .iter()
        .any(|w| w.as_bytes().windows(lit.len()).any(|x| x == lit))
        || COMMON_WORDS.iter().any(|w| w.as_bytes() == word)
    {
        return 0;
    }
    let score: u32 = lit
        .iter()
        .map(|b| match b {
            b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' | b'h' | b'l' => 2,
            b'a'..=b'z' | b'0'..=b'9' => 3,
            // Separators: in nearly every line.
            b' ' | b':' | b'=' | b',' | b'.' | b'-' | b'_' | b'\\' | b'/' => 1,
            _ => 3,
        })
        .sum();
    score.min(24)
}

fn product(a: &Set, b: &Set) -> Option<Set> {
    if a.len() * b.len() > MAX_SET {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let mut s = x.clone();
            s.extend_from_slice(y);
            if s.len() > MAX_LEN {
                return None;
            }
            out.push(s);
        }
    }
    Some(dedup(out))
}

fn class_set(class: &Class) -> Option<Set> {
    let mut out: Set = Vec::new();
    match class {
        Class::Unicode(c) => {
            let mixed = c.ranges().first().is_some_and(|r| r.start().is_ascii());
            let mut dropped = Vec::new();
            for r in c.ranges() {
                for ch in r.start()..=r.end() {
                    let bytes = ch.encode_utf8(&mut [0; 4]).as_bytes().to_vec();
                    if mixed && !ch.is_ascii() {
                        dropped.push(bytes);
                    } else {
                        out.push(lower(&bytes));
                        out = dedup(out);
                    }
                    if out.len() + dropped.len() > MAX_CLASS {
                        return None;
                    }
                }
            }
            DROPPED.with(|d| d.borrow_mut().extend(dropped));
        }
        Class::Bytes(c) => {
            for r in c.ranges() {
                for b in r.start()..=r.end() {
                    out.push(vec![b.to_ascii_lowercase()]);
                    out = dedup(out);
                    if out.len() > MAX_CLASS {
                        return None;
                    }
                }
            }
        }
    }
    Some(out)
}

fn lower(b: &[u8]) -> Vec<u8> {
    b.to_ascii_lowercase()
}

fn dedup(mut s: Set) -> Set {
    s.sort();
    s.dedup();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(p: &str) -> Option<Vec<String>> {
        of_pattern(p).map(|s| {
            let mut v: Vec<String> = s
                .into_iter()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .collect();
            v.sort();
            v
        })
    }

    #[test]
    fn literal_runs_and_alternations() {
        // A run keeps its spaces (joins with a space are the searcher's concern).
        assert_eq!(
            lits(r"Failed execution of queue item"),
            Some(vec!["failed execution of queue item".to_string()])
        );
        assert_eq!(lits("Failed\tto"), Some(vec!["failed".to_string()]));
        // (The parser factors the common `w` out of the alternation.)
        assert_eq!(
            lits(r"(?i)winmgmt|wmi\s+installer"),
            Some(vec![
                "inmgmt".to_string(),
                "installer".to_string(),
                "\u{17f}".to_string()
            ])
        );
        // A group's sequence continues the run around it.
        assert_eq!(
            lits(r"0x(?P<c>[89])[0-9a-f]{7}"),
            Some(vec!["0x8".to_string(), "0x9".to_string()])
        );
        // Case-insensitive `k` and `s` do not double the literals: `K` and `ſ` become
        // literals of their own.
        assert_eq!(
            lits(r"(?i)kb\d+ disk"),
            Some(vec![
                " disk".to_string(),
                "\u{17f}".to_string(),
                "\u{212a}".to_string()
            ])
        );
    }

    #[test]
    fn patterns_without_required_literals() {
        assert_eq!(lits(r"\d+"), None);
        assert_eq!(lits(r"[A-Z]{3}\d{4}"), None);
        assert_eq!(lits(r"foo|\w+"), None);
        assert_eq!(lits(r"(?:abc)?"), None);
    }

    #[test]
    fn every_match_contains_a_literal() {
        let cases = [
            (r"0x(?P<c>[89a-f][0-9a-f]{7})", "error 0x800f0922 seen"),
            (r"(?i)installer:\s*WMI", "Installer:   wmi"),
            (
                r"Begin executing advanced installer",
                "x Begin executing advanced installer y",
            ),
            (r"(?i)(?:HRESULT|hr)\s*=", "HR = 1"),
        ];
        for (p, text) in cases {
            assert!(regex::Regex::new(p).expect("valid").is_match(text));
            let set = of_pattern(p).expect("literals");
            let hay = text.to_ascii_lowercase();
            assert!(
                set.iter()
                    .any(|l| hay.as_bytes().windows(l.len()).any(|w| w == &l[..])),
                "{p}: {set:?}"
            );
        }
    }
}
