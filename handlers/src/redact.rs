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
static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{8,}").expect("static regex")
});
// Discord bot tokens: three base64url parts joined by dots (id . timestamp . hmac).
static DISCORD_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}")
        .expect("static regex")
});
// `password=…`, `密码：…`, `token: …`: an explicit separator always marks a secret value.
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)((?:upload\s*)?(?:password|passwd|passphrase|pwd|passcode|secret|token|",
        r"api[_ -]?key|access[_ -]?key|secret[_ -]?key|private[_ -]?key|client[_ -]?secret|",
        r"密码|口令|密钥|令牌|秘钥))(\s*(?:[:=：]|is|是|为)\s*)",
        r#"("[^"]*"|'[^']*'|[^\s"']+)"#
    ))
    .expect("static regex")
});
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
    let t = KEY_VALUE.replace_all(&t, |c: &Captures| {
        if &c[3] == MASK {
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
}
