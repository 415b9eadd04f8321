//! Purpose: signed, expiring links to the read-only web view (docs/ARCHITECTURE.md, "The web
//! view"), and the `link` command that hands them out in a case. A link carries a token: the claims (case id, user, role, expiry) as JSON, and an
//! HMAC-SHA256 over exactly those bytes. The key never appears in the configuration file; it
//! comes from the environment or a key file, so replacing the key revokes every link issued
//! with the old one.
//!
//! Token text: `base64url(claims JSON) "." base64url(mac)`, both without padding, so a token
//! needs no escaping in a URL query.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use store::CaseId;

use crate::error::HandlerError;
use crate::render::{fmt, msg, reply};
use crate::request::Req;
use crate::{Role, Target};

/// Shortest key accepted, in bytes: HMAC-SHA256's block of security (32 bytes).
pub const MIN_KEY_BYTES: usize = 32;

/// Default lifetime of a link.
pub const DEFAULT_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The signing key. Its bytes are never printed.
#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey([hidden])")
    }
}

impl LinkKey {
    /// A key from its text (an environment variable or a key file; surrounding whitespace,
    /// such as a file's final newline, is not part of the key).
    pub fn from_text(text: &str) -> Result<LinkKey, LinkError> {
        let key = text.trim().as_bytes().to_vec();
        if key.len() < MIN_KEY_BYTES {
            return Err(LinkError::ShortKey(key.len()));
        }
        Ok(LinkKey(key))
    }

    /// A fresh random key as text (64 hex digits), for a new key file.
    pub fn generate() -> String {
        let bytes: [u8; 32] = rand::random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC accepts any key length")
    }
}

/// Why a link was refused (shown to the visitor, so it names no secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// No token in the request.
    #[error("this page needs a signed link: ask casebot for one (`link`)")]
    Missing,
    /// Not a token at all.
    #[error("the link is malformed")]
    Malformed,
    /// The signature does not match (forged, altered, or signed with a key since replaced).
    #[error("the link's signature is not valid (it was altered, or the key was rotated)")]
    BadSignature,
    /// Past its expiry.
    #[error("the link expired; ask casebot for a new one (`link`)")]
    Expired,
    /// A customer link without a case.
    #[error("a customer link must name a case")]
    CustomerWithoutCase,
    /// The key is too short.
    #[error("the web link key is {0} bytes long; it needs at least {MIN_KEY_BYTES}")]
    ShortKey(usize),
}

/// What a link grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaims {
    /// The only case it opens. Without one (engineers only) it opens every case and the fleet
    /// pages (dashboard, search).
    pub case: Option<CaseId>,
    /// Who it was issued to (shown on the pages and in logs).
    pub user: String,
    /// Engineer view (codes, evidence in context) or customer view (no log lines).
    pub role: Role,
    /// Unix seconds after which the link is refused.
    pub expires: u64,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    case: Option<String>,
    #[serde(rename = "u")]
    user: String,
    #[serde(rename = "r")]
    role: String,
    #[serde(rename = "e")]
    expires: u64,
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Engineer => "engineer",
        Role::Customer => "customer",
    }
}

/// Sign `claims` into a token.
pub fn sign(key: &LinkKey, claims: &LinkClaims) -> Result<String, LinkError> {
    if claims.role == Role::Customer && claims.case.is_none() {
        return Err(LinkError::CustomerWithoutCase);
    }
    let wire = Wire {
        case: claims.case.as_ref().map(|c| c.as_str().to_string()),
        user: claims.user.clone(),
        role: role_name(claims.role).to_string(),
        expires: claims.expires,
    };
    let payload = serde_json::to_vec(&wire).map_err(|_| LinkError::Malformed)?;
    let mut mac = key.mac();
    mac.update(&payload);
    let tag = mac.finalize().into_bytes();
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// Check a token's signature (in constant time), then its expiry against `now` (Unix seconds).
pub fn verify(key: &LinkKey, token: &str, now: u64) -> Result<LinkClaims, LinkError> {
    let (payload, tag) = token.trim().split_once('.').ok_or(LinkError::Malformed)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| LinkError::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| LinkError::Malformed)?;
    let mut mac = key.mac();
    mac.update(&payload);
    mac.verify_slice(&tag)
        .map_err(|_| LinkError::BadSignature)?;
    // Only signed bytes are parsed from here on.
    let wire: Wire = serde_json::from_slice(&payload).map_err(|_| LinkError::Malformed)?;
    let role = match wire.role.as_str() {
        "engineer" => Role::Engineer,
        "customer" => Role::Customer,
        _ => return Err(LinkError::Malformed),
    };
    let case = match wire.case {
        Some(c) => Some(CaseId::parse(&c).map_err(|_| LinkError::Malformed)?),
        None => None,
    };
    if role == Role::Customer && case.is_none() {
        return Err(LinkError::CustomerWithoutCase);
    }
    if now >= wire.expires {
        return Err(LinkError::Expired);
    }
    Ok(LinkClaims {
        case,
        user: wire.user,
        role,
        expires: wire.expires,
    })
}

/// Where links point and how long they live: given to the `link` command when the web view is on.
#[derive(Debug, Clone)]
pub struct LinkIssuer {
    /// The signing key.
    pub key: LinkKey,
    /// Base URL of the web view, without a trailing slash (`http://127.0.0.1:8080`).
    pub base_url: String,
    /// Lifetime of a new link.
    pub ttl: std::time::Duration,
}

impl LinkIssuer {
    /// A link for `claims`: the case page, or the dashboard for an engineer link without a case.
    pub fn url(&self, claims: &LinkClaims) -> Result<String, LinkError> {
        let token = sign(&self.key, claims)?;
        let base = self.base_url.trim_end_matches('/');
        Ok(match &claims.case {
            Some(case) => format!("{base}/case/{case}?t={token}"),
            None => format!("{base}/?t={token}"),
        })
    }
}

/// `link [customer]`: a link to the current case's web view, engineer or customer view. It
/// opens only this case (never the dashboard), because everyone in the thread can read it.
pub(crate) fn handle(req: &Req<'_>, customer: bool) -> Result<(), HandlerError> {
    let lang = req.lang();
    let Some(issuer) = req.ctx.links.as_deref() else {
        req.say(msg(lang, "link.web_view_off"));
        return Ok(());
    };
    let case = req.case()?;
    let (role, user) = if customer {
        (Role::Customer, "customer".to_string())
    } else {
        (Role::Engineer, req.msg.author.name.clone())
    };
    let claims = LinkClaims {
        case: Some(case.id.clone()),
        user,
        role,
        expires: crate::request::now() + issuer.ttl.as_secs(),
    };
    let url = issuer
        .url(&claims)
        .map_err(|e| HandlerError::Internal(format!("link: {e}")))?;
    let key = if customer {
        "link.customer_link"
    } else {
        "link.engineer_link"
    };
    let until = crate::summary::utc(claims.expires);
    let text = fmt(
        lang,
        key,
        &[("case", &case.id), ("until", &until), ("url", &url)],
    );
    req.post(Target::Origin, vec![reply(text)]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> LinkKey {
        LinkKey::from_text(text).expect("key")
    }

    fn claims(role: Role, expires: u64) -> LinkClaims {
        LinkClaims {
            case: Some(CaseId::parse("CAS-11694-G2W9Y6").expect("id")),
            user: "li.wei".into(),
            role,
            expires,
        }
    }

    const K1: &str = "0123456789abcdef0123456789abcdef";
    const K2: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let c = claims(Role::Customer, 1_000);
        let token = sign(&key(K1), &c).expect("sign");
        assert_eq!(verify(&key(K1), &token, 999), Ok(c));
        assert_eq!(verify(&key(K1), &token, 1_000), Err(LinkError::Expired));
    }

    #[test]
    fn altered_claims_or_another_key_are_refused() {
        let token = sign(&key(K1), &claims(Role::Customer, 1_000)).expect("sign");
        assert_eq!(verify(&key(K2), &token, 0), Err(LinkError::BadSignature));
        // Promote the customer to engineer by editing the payload but keeping the tag.
        let (_, tag) = token.split_once('.').expect("two parts");
        let forged = sign(&key(K2), &claims(Role::Engineer, 1_000)).expect("sign");
        let (payload, _) = forged.split_once('.').expect("two parts");
        assert_eq!(
            verify(&key(K1), &format!("{payload}.{tag}"), 0),
            Err(LinkError::BadSignature)
        );
        assert_eq!(verify(&key(K1), "nonsense", 0), Err(LinkError::Malformed));
    }

    #[test]
    fn keys_must_be_long_and_customers_need_a_case() {
        assert_eq!(
            LinkKey::from_text("short\n").map(|_| ()),
            Err(LinkError::ShortKey(5))
        );
        assert_eq!(LinkKey::generate().len(), 64);
        let mut c = claims(Role::Customer, 10);
        c.case = None;
        assert_eq!(sign(&key(K1), &c), Err(LinkError::CustomerWithoutCase));
        assert!(!format!("{:?}", key(K1)).contains(K1));
    }
}
