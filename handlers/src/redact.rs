//! Purpose: remove secrets (passwords, tokens, upload credentials, keys) from user text before
//! it is parsed, stored or repeated. The case that defines the product had an upload password in
//! plain text in an email; casebot never echoes such a value and warns the poster instead.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What replaces a secret.
pub const MASK: &str = "[REDACTED]";

/// Text with secrets masked, and how many were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The text with every secret replaced by [`MASK`].
    pub text: String,
    /// Number of secrets replaced.
    pub found: usize,
}

// Compiled once: these patterns are fixed program data like the built-in rule set.
static URL_CREDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@").expect("static regex")
});
// `Authorization: Bearer …`, `Basic …`, Azure's `SharedKey account:signature` and Service Bus's
// `SharedAccessSignature sr=…&sig=…`.
static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\b(bearer|basic|sharedkey|sharedaccesssignature)(\s+)",
        r"[A-Za-z0-9._~+/=%&:-]{8,}"
    ))
    .expect("static regex")
});
// Discord bot tokens: three base64url parts joined by dots (id . timestamp . hmac).
static DISCORD_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}")
        .expect("static regex")
});
// `password=…`, `密码：…`, `token: …`, `"pwd": "…"`, connection-string parts such as
// `Password=…;` and `AccountKey=…;`: an explicit separator always marks a secret value. A value
// ends at white space, a quote or `;` (the separator of connection strings).
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)((?:upload\s*)?(?:password|passwd|passphrase|pwd|passcode|secret|token|",
        r"api[_ -]?key|access[_ -]?key|secret[_ -]?key|private[_ -]?key|client[_ -]?secret|",
        r"account[_ -]?key|shared[_ -]?access[_ -]?key|shared[_ -]?access[_ -]?signature|",
        r"密码|口令|密钥|令牌|秘钥))",
        r#"(["']?\s*(?:[:=：]|is|是|为)\s*)"#,
        r#"("[^"]*"|'[^']*'|[^\s"';]+)"#
    ))
    .expect("static regex")
});
// The signature of a shared access signature URL (`…?sv=…&sig=…`): the other parameters say
// only what it grants and until when.
static SAS_SIG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)([?&;]sig=)[^\s&\x22']+").expect("static regex"));
// `pwd Abc123!`: without a separator only values that look like secrets (digits or symbols).
static KEY_SPACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(password|passwd|pwd|密码|口令)(\s+)(\S{4,})").expect("static regex")
});

fn looks_secret(value: &str) -> bool {
    value != MASK
        && value
            .chars()
            .any(|c| c.is_ascii_digit() || (c.is_ascii_punctuation() && c != '.' && c != ','))
}

/// Whether the key of a `KEY_VALUE` match at `start` is the tail of a public name: servicing
/// logs name every component by its `PublicKeyToken=31bf3856ad364e35`, which is no secret.
fn public_name(text: &str, start: usize) -> bool {
    text[..start].to_ascii_lowercase().ends_with("publickey")
}

/// Mask every secret in `text`.
pub fn redact(text: &str) -> Redacted {
    let mut found = 0;
    let mut count = |_: &Captures| found += 1;
    let t = URL_CREDS.replace_all(text, |c: &Captures| {
        count(c);
        format!("{}{MASK}@", &c[1])
    });
    let t = BEARER.replace_all(&t, |c: &Captures| {
        count(c);
        format!("{}{}{MASK}", &c[1], &c[2])
    });
    let t = DISCORD_TOKEN.replace_all(&t, |c: &Captures| {
        count(c);
        MASK.to_string()
    });
    let t = SAS_SIG.replace_all(&t, |c: &Captures| {
        count(c);
        format!("{}{MASK}", &c[1])
    });
    let before = t.clone();
    let t = KEY_VALUE.replace_all(&t, |c: &Captures| {
        let key = c.get(1).map_or(0, |m| m.start());
        if &c[3] == MASK || public_name(&before, key) {
            return c[0].to_string();
        }
        count(c);
        format!("{}{}{MASK}", &c[1], &c[2])
    });
    let t = KEY_SPACE.replace_all(&t, |c: &Captures| {
        if !looks_secret(&c[3]) {
            return c[0].to_string();
        }
        count(c);
        format!("{}{}{MASK}", &c[1], &c[2])
    });
    Redacted {
        text: t.into_owned(),
        found,
    }
}

/// Mask secrets in everything of `d` that was read from the bundle (log lines, file names, the
/// values rules captured and the texts filled with them), in place; returns how many were
/// found. Ids, codes and confidences are left alone, so the diagnosis itself is unchanged. Run
/// on every diagnosis before it is recorded on a case: replies, summaries, exports and the web
/// view all draw from the recorded diagnosis, and mask again on the way out.
pub fn redact_diagnosis(d: &mut diagnosis::Diagnosis) -> usize {
    let mut found = 0;
    let mut mask = |s: &mut String| {
        let r = redact(s);
        if r.found > 0 {
            found += r.found;
            *s = r.text;
        }
    };
    let b = &mut d.bundle;
    mask(&mut b.name);
    b.files.iter_mut().for_each(|f| mask(&mut f.path));
    for s in &mut b.skipped {
        mask(&mut s.path);
        mask(&mut s.reason);
    }
    for m in &mut b.missing {
        m.vars.values_mut().for_each(&mut mask);
        mask(&mut m.why);
        mask(&mut m.how);
    }
    if let Some(name) = &mut d.device.name {
        mask(name);
    }
    for f in &mut d.findings {
        mask(&mut f.title);
        f.subject.values_mut().for_each(&mut mask);
        f.vars.values_mut().for_each(&mut mask);
        f.confirm.iter_mut().for_each(&mut mask);
        for e in &mut f.evidence {
            mask(&mut e.file);
            mask(&mut e.text);
        }
        for s in &mut f.steps {
            mask(&mut s.text);
            if let Some(c) = &mut s.command {
                mask(c);
            }
        }
    }
    for u in &mut d.unexplained {
        mask(&mut u.file);
        mask(&mut u.text);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(input: &str, secret: &str) -> String {
        let r = redact(input);
        assert!(!r.text.contains(secret), "{input} → {}", r.text);
        assert!(r.found >= 1, "{input}");
        r.text
    }

    #[test]
    fn chinese_password_forms() {
        assert_eq!(
            clean("上传密码: Xy7#kq9", "Xy7#kq9"),
            "上传密码: [REDACTED]"
        );
        assert_eq!(
            clean("密码：Xy7kq9 请查收", "Xy7kq9"),
            "密码：[REDACTED] 请查收"
        );
        clean("密码是 Hunter22", "Hunter22");
    }

    #[test]
    fn english_forms() {
        assert_eq!(clean("password=S3cr3t!", "S3cr3t!"), "password=[REDACTED]");
        clean("use pwd Abc123 for the share", "Abc123");
        clean("Password: \"two words\" ok", "two words");
        clean("token: abcdefgh", "abcdefgh");
        clean("api_key=sk-live-1234", "sk-live-1234");
    }

    #[test]
    fn bearer_discord_and_url_credentials() {
        clean(
            "Authorization: Bearer eyJhbGciOi.J9abc123",
            "eyJhbGciOi.J9abc123",
        );
        let token = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.abcdefghijklmnopqrstuvwxyz0123";
        clean(&format!("my bot token is {token}"), token);
        let t = clean(
            "upload to https://bank:Upl0ad!@files.example.com/x",
            "Upl0ad!",
        );
        assert!(t.contains("https://[REDACTED]@files.example.com/x"), "{t}");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "KB5034763 rolls back on two devices, error 0x800f0922",
            "the password reset did not help",
            "see https://learn.microsoft.com/en-us/troubleshoot",
            "设备 wcc0021z675842 已修复",
        ] {
            let r = redact(text);
            assert_eq!(r.text, text);
            assert_eq!(r.found, 0);
        }
    }

    #[test]
    fn secrets_in_log_lines() {
        let cases = [
            (
                "Server=db01;Database=wsus;User ID=sa;Password=Wsus!2024;Encrypt=true",
                "Wsus!2024",
                "Server=db01;Database=wsus;User ID=sa;Password=[REDACTED];Encrypt=true",
            ),
            (
                "Data Source=.;Initial Catalog=SUSDB;uid=sa;pwd=P4ss;",
                "P4ss",
                "Data Source=.;Initial Catalog=SUSDB;uid=sa;pwd=[REDACTED];",
            ),
            (
                "DefaultEndpointsProtocol=https;AccountName=logs;AccountKey=q9Zx+Lm0/Ab==;EndpointSuffix=core.windows.net",
                "q9Zx+Lm0/Ab==",
                "DefaultEndpointsProtocol=https;AccountName=logs;AccountKey=[REDACTED];EndpointSuffix=core.windows.net",
            ),
            (
                "Endpoint=sb://bus.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=Kk8s+0abc=",
                "Kk8s+0abc=",
                "Endpoint=sb://bus.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=[REDACTED]",
            ),
            (
                "GET https://st.blob.core.windows.net/logs/a.zip?sv=2021-08-06&sr=b&sig=AbC%2Bd3f%3D&se=2024-03-01",
                "AbC%2Bd3f%3D",
                "GET https://st.blob.core.windows.net/logs/a.zip?sv=2021-08-06&sr=b&sig=[REDACTED]&se=2024-03-01",
            ),
            (
                "Authorization: SharedAccessSignature sr=bus&sig=Zm9vYmFy&se=1700000000&skn=send",
                "Zm9vYmFy",
                "Authorization: SharedAccessSignature [REDACTED]",
            ),
            (
                "POST /token client_id=casebot&client_secret=Cs~8Q.x&grant_type=client_credentials",
                "Cs~8Q.x",
                "POST /token client_id=casebot&client_secret=[REDACTED]",
            ),
            (
                r#"{"user": "svc", "password": "Tr0ub4dor&3"}"#,
                "Tr0ub4dor&3",
                r#"{"user": "svc", "password": [REDACTED]}"#,
            ),
            (
                "proxy http://svc_wsus:Pr0xy!pw@proxy.bank.local:8080 refused",
                "Pr0xy!pw",
                "proxy http://[REDACTED]@proxy.bank.local:8080 refused",
            ),
        ];
        for (line, secret, want) in cases {
            assert_eq!(clean(line, secret), want);
        }
        clean(
            "Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi",
            "eyJ0eXAiOiJKV1QiLCJhbGciOi",
        );
    }

    #[test]
    fn public_key_tokens_of_servicing_logs_are_kept() {
        for line in [
            "Package_for_KB5034763~31bf3856ad364e35~amd64~~19041.4046.1.7, PublicKeyToken=31bf3856ad364e35, ProcessorArchitecture=amd64",
            "Microsoft-Windows-Foo, Culture=neutral, VersionScope = 1 nonSxS, PublicKeyToken = {l:8 b:31bf3856ad364e35}, Type neutral",
        ] {
            let r = redact(line);
            assert_eq!(r.text, line);
            assert_eq!(r.found, 0);
        }
    }
}
