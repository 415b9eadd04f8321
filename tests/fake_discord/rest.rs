//! The fake's REST API: records what casebot posts and answers with the JSON serenity expects.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use serde_json::{Value, json};

use super::gateway::gateway;
use super::{
    APPLICATION, BOT_USER, ENGINEER_ROLE, ENGINEER_ROLE_NAME, Edit, Posted, REVOKED_TOKEN, Shared,
    Thread, channel_json, message_json, user_json,
};

pub(super) type St = State<Arc<Shared>>;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/gateway", get(gateway))
        .route("/api/v10/gateway", get(get_gateway))
        .route("/api/v10/gateway/bot", get(get_gateway))
        .route("/api/v10/users/@me", get(get_me))
        .route("/api/v10/channels/:id", get(get_channel))
        .route("/api/v10/channels/:id/messages", post(post_message))
        .route("/api/v10/channels/:id/messages/:mid", patch(patch_message))
        .route("/api/v10/channels/:id/threads", post(post_thread))
        .route(
            "/api/v10/channels/:id/messages/:mid/threads",
            post(post_message_thread),
        )
        .route("/api/v10/channels/:id/typing", post(post_typing))
        .route("/api/v10/guilds/:id/roles", get(get_roles))
        .route(
            "/api/v10/applications/:app/guilds/:guild/commands",
            put(put_commands),
        )
        .route(
            "/api/v10/interactions/:id/:token/callback",
            post(post_callback),
        )
        .route("/api/v10/webhooks/:app/:token", post(post_followup))
        .route("/attachments/:name", get(get_attachment))
        .route("/slow/:name", get(get_slow_attachment))
        .fallback(unknown)
        .with_state(shared)
}

async fn unknown(State(s): St, req: Request) -> StatusCode {
    s.lock()
        .unknown
        .push(format!("{} {}", req.method(), req.uri()));
    StatusCode::NOT_FOUND
}

async fn get_gateway(State(s): St) -> axum::Json<Value> {
    let url = s.base.replace("http://", "ws://") + "/gateway";
    axum::Json(json!({"url": url, "shards": 1, "session_start_limit":
        {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}}))
}

async fn get_me(headers: axum::http::HeaderMap) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth == Some(&format!("Bot {REVOKED_TOKEN}")) {
        let body = json!({"message": "401: Unauthorized", "code": 0});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    axum::Json(user_json(BOT_USER, "casebot", true)).into_response()
}

async fn get_channel(State(s): St, Path(id): Path<u64>) -> Response {
    let inner = s.lock();
    match inner.channels.get(&id) {
        Some((name, parent)) => {
            axum::Json(channel_json(id, inner.guild_of(id), name, *parent)).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Unknown Channel", "code": 10003})),
        )
            .into_response(),
    }
}

async fn get_roles(Path(guild): Path<u64>) -> axum::Json<Value> {
    let role = |id: u64, name: &str, position: u64| {
        json!({"id": id.to_string(), "name": name, "color": 0, "colors": {"primary_color": 0},
               "hoist": false, "managed": false, "mentionable": false, "permissions": "0",
               "position": position})
    };
    axum::Json(json!([
        role(guild, "@everyone", 0),
        role(ENGINEER_ROLE, ENGINEER_ROLE_NAME, 1)
    ]))
}

async fn get_attachment(State(s): St, Path(name): Path<String>) -> Response {
    match s.lock().files.get(&name) {
        Some(bytes) => bytes.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn get_slow_attachment(State(s): St, Path(name): Path<String>) -> Response {
    let found = s.lock().slow.get(&name).cloned();
    match found {
        Some((bytes, delay)) => {
            tokio::time::sleep(delay).await;
            bytes.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A message body: JSON, or multipart with `payload_json` and `files[n]` parts.
async fn read_message(req: Request) -> (Value, Vec<(String, Vec<u8>)>) {
    let is_multipart = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    if !is_multipart {
        let body = Bytes::from_request(req, &()).await.unwrap_or_default();
        return (serde_json::from_slice(&body).unwrap_or(Value::Null), vec![]);
    }
    let mut payload = Value::Null;
    let mut files = Vec::new();
    let Ok(mut multipart) = Multipart::from_request(req, &()).await else {
        return (payload, files);
    };
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.unwrap_or_default().to_vec();
        if name == "payload_json" {
            payload = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        } else {
            files.push((file_name.unwrap_or(name), bytes));
        }
    }
    (payload, files)
}

fn record_post(
    s: &Shared,
    channel: u64,
    payload: &Value,
    files: Vec<(String, Vec<u8>)>,
    followup: bool,
) -> Value {
    let mut inner = s.lock();
    inner.next_id += 10;
    let id = inner.next_id;
    let content = payload["content"].as_str().unwrap_or_default().to_owned();
    let (buttons, menus) = components(payload);
    inner.posted.push(Posted {
        id,
        channel,
        at: std::time::Instant::now(),
        content: content.clone(),
        files,
        followup,
        ephemeral: payload["flags"].as_u64().is_some_and(|f| f & 64 != 0),
        buttons,
        menus,
    });
    message_json(id, channel, user_json(BOT_USER, "casebot", true), &content)
}

/// The buttons (label, custom id) and select menus (custom id, option values) of a message.
type Components = (Vec<(String, String)>, Vec<(String, Vec<String>)>);

fn components(payload: &Value) -> Components {
    let components: Vec<Value> = payload["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .collect();
    let text = |c: &Value, k: &str| c[k].as_str().unwrap_or_default().to_owned();
    let buttons = components
        .iter()
        .filter(|c| c["type"] == 2)
        .map(|b| (text(b, "label"), text(b, "custom_id")))
        .collect();
    // String select menus (type 3): custom id and the values of their options.
    let menus = components
        .iter()
        .filter(|c| c["type"] == 3)
        .map(|m| {
            let values = m["options"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| text(o, "value"))
                .collect();
            (text(m, "custom_id"), values)
        })
        .collect();
    (buttons, menus)
}

/// An edit: the message's text, components and new files are replaced as Discord shows them,
/// and the edit is recorded with the time it arrived.
async fn patch_message(
    State(s): St,
    Path((channel, message)): Path<(u64, u64)>,
    req: Request,
) -> Response {
    let (payload, files) = read_message(req).await;
    let (buttons, menus) = components(&payload);
    let content = payload["content"].as_str().unwrap_or_default().to_owned();
    let mut inner = s.lock();
    let Some(posted) = inner
        .posted
        .iter_mut()
        .find(|p| p.id == message && p.channel == channel)
    else {
        let body = json!({"message": "Unknown Message", "code": 10008});
        return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    };
    posted.content.clone_from(&content);
    posted.buttons = buttons;
    posted.menus = menus;
    posted.files.extend(files);
    inner.edits.push(Edit {
        message,
        at: std::time::Instant::now(),
        content: content.clone(),
    });
    axum::Json(message_json(
        message,
        channel,
        user_json(BOT_USER, "casebot", true),
        &content,
    ))
    .into_response()
}

async fn post_message(State(s): St, Path(channel): Path<u64>, req: Request) -> axum::Json<Value> {
    let (payload, files) = read_message(req).await;
    axum::Json(record_post(&s, channel, &payload, files, false))
}

fn record_thread(s: &Shared, parent: u64, message: Option<u64>, payload: &Value) -> Value {
    let mut inner = s.lock();
    inner.next_id += 10;
    let id = inner.next_id;
    let name = payload["name"].as_str().unwrap_or_default().to_owned();
    inner.threads.push(Thread {
        id,
        parent,
        name: name.clone(),
        message,
    });
    inner.channels.insert(id, (name.clone(), Some(parent)));
    channel_json(id, inner.guild_of(parent), &name, Some(parent))
}

async fn post_thread(
    State(s): St,
    Path(parent): Path<u64>,
    axum::Json(payload): axum::Json<Value>,
) -> axum::Json<Value> {
    axum::Json(record_thread(&s, parent, None, &payload))
}

async fn post_message_thread(
    State(s): St,
    Path((parent, message)): Path<(u64, u64)>,
    axum::Json(payload): axum::Json<Value>,
) -> Response {
    // As Discord: a message inside a thread cannot start another thread.
    let in_thread = s
        .lock()
        .channels
        .get(&parent)
        .is_some_and(|(_, p)| p.is_some());
    if in_thread {
        let body = json!({"code": 50024, "message": "Cannot execute action on this channel type"});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    axum::Json(record_thread(&s, parent, Some(message), &payload)).into_response()
}

async fn post_typing(State(s): St, Path(channel): Path<u64>) -> StatusCode {
    s.lock().typing.push(channel);
    StatusCode::NO_CONTENT
}

async fn put_commands(
    State(s): St,
    Path((_app, guild)): Path<(u64, u64)>,
    axum::Json(payload): axum::Json<Value>,
) -> axum::Json<Value> {
    let commands: Vec<Value> = payload.as_array().cloned().unwrap_or_default();
    let names = commands
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    s.lock().commands.insert(guild, names);
    let answer: Vec<Value> = commands
        .into_iter()
        .enumerate()
        .map(|(n, mut c)| {
            c["id"] = json!((9000 + n).to_string());
            c["application_id"] = json!(APPLICATION.to_string());
            c["guild_id"] = json!(guild.to_string());
            c["version"] = json!("1");
            c["type"] = json!(1);
            c["default_member_permissions"] = Value::Null;
            c
        })
        .collect();
    axum::Json(Value::Array(answer))
}

async fn post_callback(
    State(s): St,
    Path((id, _token)): Path<(u64, String)>,
    req: Request,
) -> StatusCode {
    let (payload, _) = read_message(req).await;
    let kind = payload["type"].as_u64().unwrap_or(0);
    let mut inner = s.lock();
    inner.callbacks.push((id, kind));
    // A modal (callback type 9): kept for the test to fill in and submit.
    if kind == 9 {
        inner.modals.insert(id, payload["data"].clone());
    }
    // Autocomplete suggestions (callback type 8).
    if kind == 8 {
        let values = payload["data"]["choices"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["value"].as_str().map(str::to_owned))
            .collect();
        inner.suggestions.insert(id, values);
    }
    StatusCode::NO_CONTENT
}

async fn post_followup(
    State(s): St,
    Path((_app, token)): Path<(u64, String)>,
    req: Request,
) -> axum::Json<Value> {
    let (payload, files) = read_message(req).await;
    let channel = s.lock().tokens.get(&token).copied().unwrap_or(0);
    axum::Json(record_post(&s, channel, &payload, files, true))
}
