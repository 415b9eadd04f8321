//! A static check of Windows PowerShell 5.1 scripts, for machines without PowerShell.
//!
//! It reads the script the way PowerShell's tokenizer does for the constructs a collector
//! uses: `#` and `<# #>` comments, single-quoted strings (`''` escapes a quote), double-quoted
//! strings (a backtick escapes the next character), `@' '@` and `@" "@` here-strings, and the
//! brackets `()`, `{}`, `[]` (also `$(…)` and `@(…)`); a `$(…)` inside a double-quoted string is
//! not read (the collector uses none). On what is left it checks:
//! - everything that opens closes, in order;
//! - nothing from bash or from PowerShell 7 only: `&&`, `||`, `??`, `?.`, `==`, `!=`, `[[`,
//!   `fi`/`then`/`done`/`esac`/`export` as statements, `/dev/null`, a `\` continuation;
//! - the first word of every statement, and every `Verb-Noun` word anywhere, is a keyword, a
//!   function the script defines, a Windows PowerShell 5.1 built-in cmdlet of [`CMDLETS`], or
//!   a Windows program of [`PROGRAMS`] called by its `.exe` name (`sc` alone is `Set-Content`).

/// Built-in cmdlets of Windows PowerShell 5.1 (Microsoft.PowerShell.Management, .Utility and
/// .Core, Microsoft.PowerShell.Archive, CimCmdlets, WindowsUpdate) a collector may use. None
/// of them needs a module installed from the gallery.
const CMDLETS: &[&str] = &[
    "Add-Content",
    "Compress-Archive",
    "Copy-Item",
    "ForEach-Object",
    "Format-List",
    "Format-Table",
    "Get-ChildItem",
    "Get-CimInstance",
    "Get-Content",
    "Get-Date",
    "Get-Item",
    "Get-ItemProperty",
    "Get-Service",
    "Get-WindowsUpdateLog",
    "Join-Path",
    "New-Item",
    "Out-File",
    "Out-Null",
    "Out-String",
    "Remove-Item",
    "Select-Object",
    "Set-Content",
    "Sort-Object",
    "Test-Path",
    "Where-Object",
    "Write-Host",
    "Write-Output",
    "Write-Warning",
];

/// Windows programs a collector may run.
const PROGRAMS: &[&str] = &["fsutil.exe", "reg.exe", "sc.exe", "wevtutil.exe"];

/// Language keywords that may start a statement.
const KEYWORDS: &[&str] = &[
    "break", "catch", "continue", "do", "else", "elseif", "exit", "finally", "for", "foreach",
    "function", "if", "param", "return", "switch", "throw", "try", "while",
];

/// Words that start a statement in bash but nothing in PowerShell.
const BASH_WORDS: &[&str] = &["done", "esac", "export", "fi", "then", "echo", "local"];

/// What the tokenizer leaves of a script: code with strings and comments blanked, and the
/// problems found on the way.
struct Scan {
    /// Each line's code; strings become `''`, comments disappear.
    code: Vec<String>,
    problems: Vec<String>,
}

fn scan(script: &str) -> Scan {
    let mut code = Vec::new();
    let mut problems = Vec::new();
    let mut stack: Vec<(char, usize)> = Vec::new();
    // Open here-string (`'` or `"`) or block comment (`#`) and the line it started on.
    let mut open: Option<(char, usize)> = None;
    for (n, line) in script.lines().enumerate() {
        let n = n + 1;
        let mut out = String::new();
        if let Some((kind, _)) = open {
            let end = match kind {
                '#' => line.find("#>").map(|i| i + 2),
                q => line.starts_with(&format!("{q}@")).then_some(2),
            };
            if let Some(i) = end {
                open = None;
                if kind != '#' {
                    out.push_str("''");
                }
                scan_line(
                    &line[i..],
                    n,
                    &mut out,
                    &mut stack,
                    &mut open,
                    &mut problems,
                );
            }
            code.push(out);
            continue;
        }
        scan_line(line, n, &mut out, &mut stack, &mut open, &mut problems);
        code.push(out);
    }
    if let Some((kind, from)) = open {
        let what = if kind == '#' {
            "block comment <#"
        } else {
            "here-string"
        };
        problems.push(format!("line {from}: {what} never closes"));
    }
    for (c, line) in stack {
        problems.push(format!("line {line}: `{c}` never closes"));
    }
    Scan { code, problems }
}

/// One line outside here-strings and block comments.
fn scan_line(
    line: &str,
    n: usize,
    out: &mut String,
    stack: &mut Vec<(char, usize)>,
    open: &mut Option<(char, usize)>,
    problems: &mut Vec<String>,
) {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '<' if next == Some('#') => {
                let rest: String = chars[i + 2..].iter().collect();
                match rest.find("#>") {
                    Some(end) => i += 2 + rest[..end].chars().count() + 2,
                    None => {
                        *open = Some(('#', n));
                        return;
                    }
                }
                continue;
            }
            '#' => return,
            '@' if matches!(next, Some('\'' | '"'))
                && chars[i + 2..].iter().all(|c| c.is_whitespace()) =>
            {
                *open = Some((next.unwrap_or('"'), n));
                return;
            }
            '\'' | '"' => {
                match string_end(&chars, i) {
                    Some(end) => i = end,
                    None => {
                        problems.push(format!("line {n}: string never closes"));
                        return;
                    }
                }
                out.push_str("''");
                continue;
            }
            '(' | '{' | '[' => stack.push((c, n)),
            ')' | '}' | ']' => {
                let want = match c {
                    ')' => '(',
                    '}' => '{',
                    _ => '[',
                };
                match stack.pop() {
                    Some((o, _)) if o == want => {}
                    Some((o, from)) => {
                        problems.push(format!("line {n}: `{c}` closes `{o}` of line {from}"))
                    }
                    None => problems.push(format!("line {n}: `{c}` closes nothing")),
                }
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
}

/// The index after the string starting at `start`, or `None` if it does not close on its line.
fn string_end(chars: &[char], start: usize) -> Option<usize> {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if quote == '"' && c == '`' {
            i += 2;
            continue;
        }
        if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

/// The script without its comments (strings kept), to search the code itself.
pub fn without_comments(script: &str) -> String {
    let mut out = String::new();
    let mut in_block = false;
    for line in script.lines() {
        let mut rest = line;
        if in_block {
            match rest.find("#>") {
                Some(i) => {
                    in_block = false;
                    rest = &rest[i + 2..];
                }
                None => continue,
            }
        }
        if let Some(i) = rest.find("<#") {
            in_block = !rest[i..].contains("#>");
            rest = &rest[..i];
        }
        let chars: Vec<char> = rest.chars().collect();
        let mut i = 0;
        let mut kept = String::new();
        while i < chars.len() {
            match chars[i] {
                '#' => break,
                '\'' | '"' => {
                    let end = string_end(&chars, i).unwrap_or(chars.len());
                    kept.extend(&chars[i..end]);
                    i = end;
                }
                c => {
                    kept.push(c);
                    i += 1;
                }
            }
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

fn is_verb_noun(word: &str) -> bool {
    let Some((verb, noun)) = word.split_once('-') else {
        return false;
    };
    verb.len() > 1
        && verb.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && verb.chars().all(|c| c.is_ascii_alphabetic())
        && noun.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && noun.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The words of a code line (letters, digits, `-`, `.`, `_`, `$`, `:`).
fn words(code: &str) -> Vec<&str> {
    code.split(|c: char| !(c.is_ascii_alphanumeric() || "-._$:".contains(c)))
        .filter(|w| !w.is_empty())
        .collect()
}

/// The first word of each statement of a code line: at its start and after `;`, `|`, `{`,
/// `}` and the call operator `&`.
fn statement_heads(code: &str) -> Vec<&str> {
    code.split([';', '|', '{', '}', '&'])
        .filter_map(|part| {
            let part = part.trim_start();
            // An expression, a variable, a string, a type or a parameter: not a command.
            if part.starts_with(['(', '$', '\'', '[', '@', '-', '"', ')', ',']) {
                return None;
            }
            words(part).first().copied()
        })
        .collect()
}

/// Check `script`; `Err` lists every problem with its line.
pub fn check(script: &str) -> Result<(), Vec<String>> {
    let Scan { code, mut problems } = scan(script);
    let defined: Vec<String> = code
        .iter()
        .filter_map(|l| l.trim_start().strip_prefix("function "))
        .filter_map(|rest| words(rest).first().map(|w| w.to_lowercase()))
        .collect();
    let known = |w: &str| {
        let lower = w.to_lowercase();
        CMDLETS.iter().any(|c| c.eq_ignore_ascii_case(w))
            || PROGRAMS.contains(&lower.as_str())
            || defined.contains(&lower)
    };
    for (n, line) in code.iter().enumerate() {
        let n = n + 1;
        for bad in ["&&", "||", "??", "?.", "==", "!=", "[[", "/dev/null"] {
            if line.contains(bad) {
                problems.push(format!("line {n}: `{bad}` is not Windows PowerShell 5.1"));
            }
        }
        if line.trim_end().ends_with('\\') {
            problems.push(format!(
                "line {n}: `\\` does not continue a line in PowerShell"
            ));
        }
        for head in statement_heads(line) {
            let lower = head.to_lowercase();
            if BASH_WORDS.contains(&lower.as_str()) {
                problems.push(format!("line {n}: `{head}` is bash, not PowerShell"));
            } else if !(KEYWORDS.contains(&lower.as_str())
                || known(head)
                || head.chars().all(|c| c.is_ascii_digit()))
            {
                problems.push(format!("line {n}: unknown command `{head}`"));
            }
        }
        for word in words(line).into_iter().filter(|w| is_verb_noun(w)) {
            if !known(word) {
                problems.push(format!(
                    "line {n}: `{word}` is not a Windows PowerShell 5.1 built-in"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(script: &str) -> Vec<String> {
        check(script).err().unwrap_or_default()
    }

    #[test]
    fn a_plain_script_passes() {
        let script = "function Save-It([string]$To) {\n    Copy-Item -LiteralPath 'a' -Destination $To\n}\n\
                      $x = @('a', 'b') # a comment with ( and {\n<# block\n } #>\n\
                      $h = @\"\nhere ( { \" '\n\"@\nforeach ($i in $x) { Save-It (Join-Path $env:TEMP \"x`\"y\") }\n\
                      & sc.exe qc wuauserv 2>&1 | Out-Null; Write-Host 'it''s done'\n";
        assert_eq!(check(script), Ok(()));
    }

    #[test]
    fn broken_scripts_are_caught_with_their_line() {
        let cases: &[(&str, &str)] = &[
            ("if ($a) {\n  Write-Host 'x'\n", "line 1: `{` never closes"),
            ("Write-Host (1]\n", "line 1: `]` closes `(`"),
            ("Write-Host 'open\n", "line 1: string never closes"),
            (
                "$s = @'\nnever closed\n",
                "line 1: here-string never closes",
            ),
            ("<# comment\n", "block comment"),
            ("Test-Path a && Write-Host b\n", "`&&`"),
            ("$a = $b ?? 'c'\n", "`??`"),
            ("if [[ -f x ]]; then\n  echo hi\nfi\n", "`[[`"),
            ("fi\n", "`fi` is bash"),
            ("Copy-Item a b \\\n", "`\\` does not continue"),
            ("Join-String -Separator ','\n", "`Join-String` is not"),
            ("sc qc wuauserv\n", "unknown command `sc`"),
            ("curl.exe http://x\n", "unknown command `curl.exe`"),
            ("Write-Host a > /dev/null\n", "`/dev/null`"),
        ];
        for (script, expected) in cases {
            let found = problems(script);
            assert!(
                found.iter().any(|p| p.contains(expected)),
                "{script:?}: expected {expected:?}, got {found:?}"
            );
        }
    }
}
