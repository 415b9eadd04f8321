//! Access control and response hardening (docs/ARCHITECTURE.md, "The web view").
//!
//! There are no anonymous pages: every page checks the link token in `?t=` with
//! `handlers::link::verify` (signature first, then expiry). A link that names a case opens only
//! that case: an engineer's with the evidence view, a customer's in the customer view (no raw
//! log lines). Only an engineer link without a case (from `casebot link` on the server) opens
//! the fleet pages (dashboard, search) and every case, because a link posted in a case thread is
//! seen by everyone in it. Replacing the key revokes every link at once.
//!
//! Every response carries a strict Content-Security-Policy: scripts and styles only from this
//! server's own static files (no inline script can run even if markup were ever injected), no
//! framing, no plugins, forms only to this server, and no referrer (links carry tokens).

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use handlers::Role;
use handlers::link::{LinkClaims, LinkError};
use store::CaseId;

/// The Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The link is missing, forged, altered, signed with a replaced key, or expired.
    Link(LinkError),
    /// A valid link that does not open this page (a customer link elsewhere).
    Forbidden,
}

impl Refusal {
    /// HTTP status: 401 for a bad or missing link, 403 for a page the link does not open.
    pub fn status(&self) -> axum::http::StatusCode {
        match self {
            Refusal::Link(_) => axum::http::StatusCode::UNAUTHORIZED,
            Refusal::Forbidden => axum::http::StatusCode::FORBIDDEN,
        }
    }
}

/// Check `token` with the state's key at the current time.
pub fn check(state: &crate::WebState, token: Option<&str>) -> Result<LinkClaims, Refusal> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or(Refusal::Link(LinkError::Missing))?;
    handlers::link::verify(&state.key, token, crate::now()).map_err(|e| {
        tracing::info!("web link refused: {e}");
        Refusal::Link(e)
    })
}

/// May these claims open the page of `case`? A link naming a case opens that case only; a
/// fleet link (engineer, no case) opens every case.
pub fn may_open_case(claims: &LinkClaims, case: &CaseId) -> Result<(), Refusal> {
    match (&claims.case, claims.role) {
        (Some(own), _) if own == case => Ok(()),
        (None, Role::Engineer) => Ok(()),
        _ => Err(Refusal::Forbidden),
    }
}

/// Raw log lines (the evidence view): engineer links only.
pub fn engineer_only(claims: &LinkClaims) -> Result<(), Refusal> {
    match claims.role {
        Role::Engineer => Ok(()),
        Role::Customer => Err(Refusal::Forbidden),
    }
}

/// Pages across cases (dashboard, search): engineer links without a case only.
pub fn fleet_only(claims: &LinkClaims) -> Result<(), Refusal> {
    match (&claims.case, claims.role) {
        (None, Role::Engineer) => Ok(()),
        _ => Err(Refusal::Forbidden),
    }
}

/// Add the security headers to a response (an axum `map_response` layer).
pub async fn harden(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 6] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
