//! Fragments: log lines as people share them, not as Windows wrote them.
//!
//! A paste in a chat, a quote from a forum or an article, or a `log.txt` with a few lines copied
//! out of CBS.log has no header and often no timestamps. It may sit in a Markdown code fence, be
//! quoted with `>`, carry line numbers, HTML entities, smart quotes, collapsed column padding,
//! `…` elisions, lines wrapped at 80–120 columns, and CBS, DISM, WindowsUpdate and event lines
//! mixed together. A fragment is read line by line: each line is cleaned ([`normalise`]),
//! classified by the grammar it matches ([`classify`]) and handed to the parser of that family,
//! so every record keeps the line number of the original text and carries its own kind.
//!
//! Whole log files never come here: kind detection sends a file to the fragment reader only
//! when no single log family recognises it. The grammars themselves live in `grammar`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::Line;
use super::cbs::{CbsParser, PlainParser};
use super::event_table::TextParser;
use super::event_text::EventTextParser;
use super::event_xml::{EventInfo, EventXmlParser, decode_entities, event_record};
use super::grammar::{Grammar, classify, event_message, level_cut};
use super::services::ServicesParser;
use super::{Level, LineParser, LogKind, Record};

/// A physical line shorter than this is never taken for the first half of a wrapped line.
const WRAP_MIN: usize = 40;

/// What [`normalise`] made of one physical line.
#[derive(Debug, PartialEq)]
pub(crate) enum Norm<'a> {
    /// Markup only (a code fence, an empty quote): nothing to read.
    Drop,
    /// An elision (`…`, `...`, `[snip]`): the records before and after are not adjacent.
    Break,
    /// The line's text without the markup around it.
    Text(Cow<'a, str>),
}

/// Strip what chat, Markdown and web pages add around a log line.
pub(crate) fn normalise(raw: &str) -> Norm<'_> {
    let mut t: Cow<'_, str> = Cow::Borrowed(raw.trim_end_matches(['\r', '\n']));
    if t.contains('&') {
        t = Cow::Owned(decode_entities(&t));
    }
    if t.chars().any(needs_mapping) {
        t = Cow::Owned(t.chars().filter_map(map_char).collect());
    }
    let s = strip_quote_and_numbers(&t);
    let s = strip_fences(s);
    let s = strip_html_tags(s);
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return if t.trim().is_empty() {
            Norm::Text(Cow::Borrowed(""))
        } else {
            Norm::Drop
        };
    }
    if is_elision(trimmed) {
        return Norm::Break;
    }
    let s = s.trim_end();
    if let Some(unescaped) = unescape_markdown(s) {
        return Norm::Text(Cow::Owned(unescaped));
    }
    if s.len() == t.len() {
        return Norm::Text(t);
    }
    Norm::Text(Cow::Owned(s.to_string()))
}

/// Markdown backslash escapes as a page's source shows them: `\>>> [Device Install]`,
/// `*\<DateTime>*`. Only `\<` and `\>` anywhere (never in a Windows path) and a block marker
/// at the start of the line are unescaped, so `C:\_SMSTaskSequence` and `C:\$Windows.~BT` stay.
fn unescape_markdown(s: &str) -> Option<String> {
    let lead = s.trim_start();
    let at_start =
        lead.starts_with('\\') && lead[1..].starts_with(['!', '#', '-', '+', '*', '[', '<', '>']);
    if !at_start && !s.contains("\\<") && !s.contains("\\>") {
        return None;
    }
    let indent = &s[..s.len() - lead.len()];
    let lead = if at_start { &lead[1..] } else { lead };
    Some(format!(
        "{indent}{}",
        lead.replace("\\<", "<").replace("\\>", ">")
    ))
}

fn needs_mapping(c: char) -> bool {
    matches!(
        c,
        '\u{2018}'
            | '\u{2019}'
            | '\u{201a}'
            | '\u{201c}'
            | '\u{201d}'
            | '\u{201e}'
            | '\u{00a0}'
            | '\u{2007}'
            | '\u{202f}'
            | '\u{200b}'
            | '\u{200c}'
            | '\u{200d}'
            | '\u{2060}'
            | '\u{feff}'
    )
}

/// Smart quotes to ASCII quotes, no-break spaces to spaces, zero-width characters dropped.
fn map_char(c: char) -> Option<char> {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201a}' => Some('\''),
        '\u{201c}' | '\u{201d}' | '\u{201e}' => Some('"'),
        '\u{00a0}' | '\u{2007}' | '\u{202f}' => Some(' '),
        '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' => None,
        c => Some(c),
    }
}

/// Leading `>` quote markers (any depth) and line-number gutters (`12: `, `12 | `, `12\t`), in
/// either order (a quoted numbered copy, or a numbered copy of a quote).
/// setupapi's own `>>>  [` section markers are log text, not quoting.
fn strip_quote_and_numbers(t: &str) -> &str {
    let mut s = t;
    loop {
        let lead = s.trim_start();
        if lead.starts_with(">>>  [") || lead.starts_with(">>> [") {
            return s;
        }
        if let Some(rest) = lead.strip_prefix('>') {
            s = rest.strip_prefix(' ').unwrap_or(rest);
            continue;
        }
        let unnumbered = strip_line_number(s);
        if unnumbered.len() == s.len() || !unnumbered.trim_start().starts_with('>') {
            return unnumbered;
        }
        s = unnumbered;
    }
}

fn strip_line_number(s: &str) -> &str {
    let lead = s.trim_start();
    let digits = lead.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 6 {
        return s;
    }
    let rest = &lead[digits..];
    for sep in [": ", " | ", "| ", "|", "\t", ". ", ") "] {
        if let Some(after) = rest.strip_prefix(sep) {
            // `2024-…` and `00000029 (F)` never get here (a dash or 8 digits follow); a time
            // `10:01:02` would: keep it.
            if sep == ": " || !after.trim_start().is_empty() {
                return after;
            }
        }
    }
    s
}

/// Markdown fences (```` ``` ````, ```` ```text ````, `~~~`) at either end of the line, and an
/// inline-code pair around the whole line.
fn strip_fences(s: &str) -> &str {
    let mut s = s;
    let lead = s.trim_start();
    for fence in ["```", "~~~"] {
        if let Some(rest) = lead.strip_prefix(fence) {
            // ```` ```log ```` opens a block: the word is a language tag, not log text.
            let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let tag = &rest[..word_end];
            s = if tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                &rest[word_end..]
            } else {
                rest
            };
            break;
        }
    }
    let end = s.trim_end();
    for fence in ["```", "~~~"] {
        if let Some(rest) = end.strip_suffix(fence) {
            s = rest;
            break;
        }
    }
    let t = s.trim();
    if t.len() > 2 && t.starts_with('`') && t.ends_with('`') && t.matches('`').count() == 2 {
        return &t[1..t.len() - 1];
    }
    // One half of an inline-code pair whose line was wrapped in between.
    if t.len() > 1 && t.matches('`').count() == 1 {
        if let Some(rest) = t.strip_prefix('`') {
            return rest;
        }
        if let Some(rest) = t.strip_suffix('`') {
            return rest;
        }
    }
    s
}

/// Block markup a web page leaves around a copied log (`<pre class="…">`, `</pre>`, `<code>`,
/// `<br>`), at either end of the line. Event XML tags are log text and stay.
fn strip_html_tags(s: &str) -> &str {
    const TAGS: [&str; 9] = [
        "pre",
        "code",
        "br",
        "p",
        "div",
        "span",
        "tt",
        "samp",
        "blockquote",
    ];
    let is_markup = |tag: &str| {
        let name = tag
            .trim_start_matches(['<', '/'])
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        TAGS.contains(&name.as_str())
    };
    let mut s = s;
    while let Some(rest) = s.trim_start().strip_prefix('<') {
        match rest.find('>') {
            Some(end) if is_markup(&rest[..end]) => s = &rest[end + 1..],
            _ => break,
        }
    }
    while let Some(head) = s.trim_end().strip_suffix('>') {
        match head.rfind('<') {
            Some(start) if is_markup(&head[start..]) => s = &head[..start],
            _ => break,
        }
    }
    s
}

fn is_elision(t: &str) -> bool {
    let bare: String = t
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '[' | ']' | '(' | ')' | '<' | '>'))
        .collect();
    !bare.is_empty() && bare.chars().all(|c| c == '.' || c == '…')
        || matches!(
            bare.to_ascii_lowercase().as_str(),
            "snip" | "snipped" | "truncated" | "etc" | "omitted"
        )
}

/// True when `text` holds at least one line of a log family: what chat handlers use to tell a
/// pasted log from a message, and kind detection uses to tell a fragment from prose.
pub fn looks_like_log(text: &str) -> bool {
    // `Source:` or `Date:` alone is chat; an event needs at least two of its field labels.
    let mut labels = 0;
    text.lines().take(2_000).any(|raw| {
        let Norm::Text(t) = normalise(raw) else {
            return false;
        };
        match classify(&t) {
            Grammar::EventText => {
                labels += 1;
                labels >= 2
            }
            Grammar::Services => false,
            g => g.is_log(),
        }
    })
}

/// The family parser a grammar feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Family {
    Cbs,
    Wu,
    Setupapi,
    EventText,
    EventXml,
    Services,
    Text,
}

struct Sub {
    parser: Box<dyn LineParser>,
    /// Kind given to the records of this parser (`cbs` or `dism` for the CBS family follows the
    /// component of the line that started the record).
    kind: LogKind,
}

/// Line-driven fragment reader: routes each line to the parser of its grammar.
pub(super) struct FragmentParser {
    subs: BTreeMap<Family, Sub>,
    last: Option<Family>,
    /// The last physical line, held back until the next one shows whether it was wrapped.
    pending: Option<(Line, Grammar)>,
    /// Longest physical line so far: a wrapped text has many lines close to its wrap width.
    width: usize,
}

impl FragmentParser {
    pub(super) fn new() -> Self {
        FragmentParser {
            subs: BTreeMap::new(),
            last: None,
            pending: None,
            width: 0,
        }
    }

    fn sub(&mut self, family: Family) -> &mut Sub {
        self.subs.entry(family).or_insert_with(|| {
            let (parser, kind): (Box<dyn LineParser>, LogKind) = match family {
                Family::Cbs => (Box::new(CbsParser::new()), LogKind::Cbs),
                Family::Wu => (
                    Box::new(PlainParser::new(LogKind::Windowsupdate)),
                    LogKind::Windowsupdate,
                ),
                Family::Setupapi => (
                    Box::new(PlainParser::new(LogKind::Setupapi)),
                    LogKind::Setupapi,
                ),
                Family::EventText => (Box::new(EventTextParser::new()), LogKind::EventText),
                Family::EventXml => (Box::new(EventXmlParser::new()), LogKind::EventXml),
                Family::Services => (Box::new(ServicesParser::new()), LogKind::Services),
                Family::Text => (Box::new(TextParser::new()), LogKind::Text),
            };
            Sub { parser, kind }
        })
    }

    /// Feed one complete (unwrapped) line to the parser of its grammar.
    fn route(&mut self, mut line: Line, grammar: Grammar, sink: &mut dyn FnMut(Record)) {
        let indented = line.text.starts_with(char::is_whitespace);
        if let Grammar::Prefixed(_) | Grammar::WindowsUpdate = grammar
            && indented
        {
            // A record start indented by a list or a quote block: the indent is markup.
            line.text = line.text.trim_start().to_string();
        }
        let family = match grammar {
            Grammar::Prefixed(_) | Grammar::Bare(_) | Grammar::Tail(_) => Family::Cbs,
            Grammar::WindowsUpdate => Family::Wu,
            Grammar::Setupapi => Family::Setupapi,
            Grammar::EventText => Family::EventText,
            Grammar::EventXml => Family::EventXml,
            Grammar::Services => Family::Services,
            // Inside an event's description the message is that event's text.
            Grammar::EventMessage if self.last == Some(Family::EventText) => Family::EventText,
            Grammar::EventMessage => {
                self.event_message(line, sink);
                return;
            }
            // Continuations belong to the record above; an event description runs on unindented.
            Grammar::Continuation => self.last.unwrap_or(Family::Cbs),
            Grammar::Other => match self.last {
                Some(
                    f
                    @ (Family::EventText | Family::EventXml | Family::Services | Family::Setupapi),
                ) => f,
                Some(Family::Cbs) if indented => Family::Cbs,
                _ => Family::Text,
            },
        };
        if let Some(prev) = self.last.filter(|&p| p != family) {
            // Another family's line ends the other parser's open record: records stay in order.
            self.finish_family(prev, sink);
        }
        self.last = Some(family);
        let sub = self.sub(family);
        // Records come out when the next one starts: they keep the kind of their own first line.
        let kind = sub.kind;
        let emit = &mut |mut r: Record| {
            r.kind.get_or_insert(kind);
            sink(r);
        };
        let bare = match grammar {
            Grammar::Bare(_) | Grammar::Tail(_) => true,
            // The level went with the timestamp: the wording decides, as for a bare message.
            Grammar::Prefixed(_) => level_cut(&line.text),
            _ => false,
        };
        if bare {
            let level = bare_level(&line.text);
            sub.parser.start_bare(line, level, emit);
        } else {
            sub.parser.line(line, emit);
        }
        if let Grammar::Prefixed(k) | Grammar::Bare(k) | Grammar::Tail(k) = grammar {
            sub.kind = k;
        }
    }

    /// A localised event message standing alone: an event of its provider and id.
    fn event_message(&mut self, line: Line, sink: &mut dyn FnMut(Record)) {
        let Some((provider, id)) = event_message(&line.text) else {
            return;
        };
        let ev = EventInfo {
            provider: provider.to_string(),
            id,
            level: Level::Error,
            message: Some(line.text.trim().to_string()),
            ..EventInfo::default()
        };
        let mut rec = event_record(line.no, ev);
        rec.kind = Some(LogKind::EventText);
        sink(rec);
    }

    fn flush_pending(&mut self, sink: &mut dyn FnMut(Record)) {
        if let Some((line, g)) = self.pending.take() {
            self.route(line, g, sink);
        }
    }

    fn finish_family(&mut self, family: Family, sink: &mut dyn FnMut(Record)) {
        if let Some(sub) = self.subs.get_mut(&family) {
            let kind = sub.kind;
            sub.parser.finish(&mut |mut r| {
                r.kind.get_or_insert(kind);
                sink(r);
            });
        }
    }

    /// An elision: whatever came before is complete.
    fn finish_all(&mut self, sink: &mut dyn FnMut(Record)) {
        self.flush_pending(sink);
        if let Some(last) = self.last.take() {
            self.finish_family(last, sink);
        }
    }
}

/// Level of a CBS/DISM message whose level word was cut off.
fn bare_level(t: &str) -> Level {
    if t.contains("(F)")
        || t.contains("FATAL")
        || t.contains("Error")
        || t.contains("Failed")
        || t.contains("failed")
    {
        Level::Error
    } else {
        Level::Info
    }
}

/// True when `next` continues `prev` because a mail client, forum or terminal wrapped it at
/// about `width` columns: `prev` reaches close to the width and `next` starts no record. A
/// wrapped line is indented no deeper than the line it continues (a code block nested in a
/// list indents every line alike); a line indented deeper is a log continuation line instead.
fn is_wrapped(
    prev: &Line,
    prev_grammar: Grammar,
    next: &str,
    next_grammar: Grammar,
    width: usize,
) -> bool {
    let len = prev.text.chars().count();
    // A word-wrapper breaks a line early only when the next word would not fit.
    let next_word = next
        .split_whitespace()
        .next()
        .map_or(0, |w| w.chars().count());
    let near_width = len >= WRAP_MIN && len * 4 >= width * 3;
    // No line of text starts with `= 0x…` or `: 0x…`: that is the rest of the line above,
    // wrapped by a console narrower than anything seen here (PowerShell's `… エラー コード` /
    // `= 0x800f0954`).
    if prev_grammar == Grammar::Other
        && next_grammar == Grammar::Other
        && next.trim_start().starts_with(['=', ':'])
        && next.contains("0x")
    {
        return true;
    }
    // A Service Control Manager message goes on, after its colon, with the error's text.
    if prev_grammar == Grammar::EventMessage
        && next_grammar == Grammar::Other
        && super::grammar::scm_opens(&prev.text)
    {
        return true;
    }
    // Plain text continues plain text (a pasted line that says what failed, its code wrapped
    // onto the next line); a log record never continues into plain text's line.
    let continues = match prev_grammar {
        Grammar::Other => next_grammar == Grammar::Other,
        _ => matches!(next_grammar, Grammar::Other | Grammar::Tail(_)),
    };
    continues
        // Until a line as long as a wrap width was seen, a short line is just short.
        && width >= WRAP_MIN
        && (near_width || len + 1 + next_word > width)
        && indent(next) <= indent(&prev.text)
        && !next.trim().is_empty()
        // An event field of its own (`Aufgabenkategorie: Keine`) is never the rest of a line.
        && !super::event_text::is_field_line(next)
}

fn indent(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

impl LineParser for FragmentParser {
    fn line(&mut self, line: Line, sink: &mut dyn FnMut(Record)) {
        let text = match normalise(&line.text) {
            Norm::Drop => return,
            Norm::Break => {
                self.finish_all(sink);
                return;
            }
            Norm::Text(t) => t.into_owned(),
        };
        if text.trim().is_empty() {
            // A blank line ends an event description and any wrapped line.
            self.flush_pending(sink);
            return;
        }
        let grammar = classify(&text);
        self.width = self.width.max(line.text.chars().count());
        if let Some((prev, g)) = &mut self.pending
            && is_wrapped(prev, *g, &text, grammar, self.width)
        {
            if !prev.text.ends_with(char::is_whitespace) {
                prev.text.push(' ');
            }
            prev.text.push_str(&text);
            return;
        }
        self.flush_pending(sink);
        self.pending = Some((Line { no: line.no, text }, grammar));
    }

    fn finish(&mut self, sink: &mut dyn FnMut(Record)) {
        self.finish_all(sink);
    }
}

#[cfg(test)]
mod tests;
