//! The routes: check the link, pick the language, read the store off the async threads, render.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use diagnosis::Lang;
use handlers::link::{LinkClaims, LinkError};
use handlers::render::msg;
use serde::Deserialize;
use store::{Case, CaseId, CaseStore};

use crate::WebState;
use crate::access::{self, Refusal};
use crate::page::{Page, choose_lang};

/// A response that ends a request early (a refusal, a missing case, an internal error); boxed
/// because a response is large and most requests do not end this way.
type Early = Box<Response>;

/// Query parameters every page understands.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    /// The link token.
    t: Option<String>,
    /// `zh` or `en`.
    lang: Option<String>,
    /// Search query.
    q: Option<String>,
}

pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/dashboard", get(dashboard))
        .route("/search", get(search))
        .route("/case/:id", get(case))
        .route("/case/:id/evidence/:device", get(evidence))
        .route("/static/casebot.css", get(css))
        .route("/static/casebot.js", get(js))
        .fallback(not_found)
        .layer(axum::middleware::map_response(access::harden))
        .with_state(state)
}

/// The refusal page (401/403/404): no navigation, nothing from the store.
#[derive(Template)]
#[template(path = "refused.html")]
struct RefusedPage {
    lang_code: &'static str,
    heading: &'static str,
    message: String,
}

fn lang_of(params: &Params, headers: &HeaderMap) -> (Lang, bool) {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    choose_lang(params.lang.as_deref(), accept)
}

fn refused(status: StatusCode, lang: Lang, message: String) -> Response {
    let heading = match status {
        StatusCode::UNAUTHORIZED => msg(lang, "web.this_link_does_not_open"),
        StatusCode::FORBIDDEN => msg(lang, "web.not_for_this_link"),
        _ => msg(lang, "web.not_found"),
    };
    let page = RefusedPage {
        lang_code: if lang == Lang::Zh { "zh" } else { "en" },
        heading,
        message,
    };
    (status, html(page.render())).into_response()
}

fn refusal(r: Refusal, lang: Lang) -> Response {
    let message = match &r {
        Refusal::Link(LinkError::Missing) => msg(lang, "web.every_page_needs_a_signed"),
        Refusal::Link(LinkError::Expired) => msg(lang, "web.this_link_has_expired_ask"),
        Refusal::Link(LinkError::BadSignature) => msg(lang, "web.this_link_s_signature_is"),
        Refusal::Link(_) => msg(lang, "web.this_link_is_malformed"),
        Refusal::Forbidden => msg(lang, "web.this_link_does_not_open_2"),
    };
    refused(r.status(), lang, message.to_string())
}

fn html(rendered: Result<String, askama::Error>) -> Response {
    match rendered {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::error!("web page rendering failed: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Check the link and build the page frame, or the refusal response.
fn begin(
    state: &WebState,
    params: &Params,
    headers: &HeaderMap,
    here: &str,
) -> Result<(LinkClaims, Page), Early> {
    let lang = lang_of(params, headers);
    let claims =
        access::check(state, params.t.as_deref()).map_err(|r| Box::new(refusal(r, lang.0)))?;
    let token = params.t.as_deref().unwrap_or_default();
    let page = Page::new(&claims, token, lang, here, state.rule_set());
    Ok((claims, page))
}

/// Run a blocking store read off the async threads.
async fn read<T: Send + 'static>(
    state: &WebState,
    f: impl FnOnce(&dyn CaseStore) -> T + Send + 'static,
) -> Result<T, Early> {
    let store: Arc<dyn CaseStore> = Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| {
            tracing::error!("web store read failed: {e}");
            Box::new((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
        })
}

async fn all_cases(state: &WebState) -> Result<Vec<Case>, Early> {
    read(state, |s| s.list())
        .await?
        .map_err(|e| store_error(&e))
}

fn store_error(e: &store::StoreError) -> Early {
    tracing::error!("web store read failed: {e}");
    Box::new((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
}

async fn home(
    State(state): State<WebState>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let (claims, page) = match begin(&state, &params, &headers, "/") {
        Ok(x) => x,
        Err(r) => return *r,
    };
    match &claims.case {
        Some(case) => Redirect::to(&page.case_url(case.as_str())).into_response(),
        None => Redirect::to(&page.url("/dashboard")).into_response(),
    }
}

async fn dashboard(
    State(state): State<WebState>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let (claims, page) = match begin(&state, &params, &headers, "/dashboard") {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if let Err(r) = access::fleet_only(&claims) {
        return refusal(r, page.lang);
    }
    match all_cases(&state).await {
        Ok(cases) => html(crate::dashboard::render(page, &cases, crate::now())),
        Err(r) => *r,
    }
}

async fn search(
    State(state): State<WebState>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let (claims, page) = match begin(&state, &params, &headers, "/search") {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if let Err(r) = access::fleet_only(&claims) {
        return refusal(r, page.lang);
    }
    match all_cases(&state).await {
        Ok(cases) => {
            let query = params.q.as_deref().unwrap_or_default();
            html(crate::search::build(page, &cases, query).render())
        }
        Err(r) => *r,
    }
}

/// Check the link for `id`'s page and load the case; refusals and 404 as responses.
async fn open_case(
    state: &WebState,
    params: &Params,
    headers: &HeaderMap,
    id: &str,
    here: &str,
) -> Result<(LinkClaims, Page, Case), Early> {
    let (claims, page) = begin(state, params, headers, here)?;
    let not_found = |lang: Lang| {
        let message = format!("{} {id}", msg(lang, "web.there_is_no_case"));
        Box::new(refused(StatusCode::NOT_FOUND, lang, message))
    };
    let Ok(case_id) = CaseId::parse(id) else {
        return Err(not_found(page.lang));
    };
    access::may_open_case(&claims, &case_id).map_err(|r| Box::new(refusal(r, page.lang)))?;
    let found = read(state, move |s| s.get(&case_id))
        .await?
        .map_err(|e| store_error(&e))?;
    match found {
        Some(case) => Ok((claims, page, case)),
        None => Err(not_found(page.lang)),
    }
}

async fn case(
    State(state): State<WebState>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let here = format!("/case/{}", crate::page::encode(&id));
    match open_case(&state, &params, &headers, &id, &here).await {
        Ok((_, page, case)) => html(crate::case_page::CasePage::build(page, &case).render()),
        Err(r) => *r,
    }
}

async fn evidence(
    State(state): State<WebState>,
    Path((id, device)): Path<(String, String)>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let here = format!(
        "/case/{}/evidence/{}",
        crate::page::encode(&id),
        crate::page::encode(&device)
    );
    let (claims, page, case) = match open_case(&state, &params, &headers, &id, &here).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    // Raw log lines are for engineers: a customer's view never shows them.
    if let Err(r) = access::engineer_only(&claims) {
        return refusal(r, page.lang);
    }
    let Some(record) = case.devices.get(&device).cloned() else {
        let message = format!("{} {device}", msg(page.lang, "web.this_case_has_no_device"));
        return refused(StatusCode::NOT_FOUND, page.lang, message);
    };
    // Opening the stored bundle may unpack it: its temp disk is a share of the pool.
    let grant = state.disk.grant(state.limits.max_disk_bytes).await;
    let mut limits = (*state.limits).clone();
    limits.max_disk_bytes = grant.bytes.min(limits.max_disk_bytes);
    let id = case.id.to_string();
    let built = read(&state, move |s| {
        let _grant = grant;
        crate::evidence::build(page, s, &limits, &id, &record).render()
    })
    .await;
    match built {
        Ok(rendered) => html(rendered),
        Err(r) => *r,
    }
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/casebot.css"),
    )
        .into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/casebot.js"),
    )
        .into_response()
}

async fn not_found(Query(params): Query<Params>, headers: HeaderMap) -> Response {
    let lang = lang_of(&params, &headers).0;
    let message = msg(lang, "web.no_such_page").to_string();
    refused(StatusCode::NOT_FOUND, lang, message)
}
