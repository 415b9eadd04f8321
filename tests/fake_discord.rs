//! A fake Discord gateway (WebSocket) and REST API on 127.0.0.1 for end-to-end tests.
//!
//! The real serenity client is pointed at it (`discord.api_base_url`). The gateway speaks the
//! parts of the protocol serenity uses: HELLO → IDENTIFY → READY, heartbeat ACKs, RESUME with
//! replay of missed events, and dispatches injected by the test (MESSAGE_CREATE,
//! INTERACTION_CREATE). REST records every posted message, file, thread, typing call, command
//! registration and interaction answer so tests can assert on what users would see. Attachments
//! are served from `/attachments/<name>` on the same server.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The guild casebot serves in the tests.
pub const GUILD: u64 = 1000;
/// The support channel (allowed).
pub const SUPPORT: u64 = 2000;
/// A channel casebot must ignore.
pub const OFF_TOPIC: u64 = 2001;
/// The summary channel.
pub const SUMMARIES: u64 = 2002;
/// The engineer role (named [`ENGINEER_ROLE_NAME`]).
pub const ENGINEER_ROLE: u64 = 3000;
/// Its name, as configured by tests that refer to roles by name.
pub const ENGINEER_ROLE_NAME: &str = "Support Engineers";
/// casebot's user id.
pub const BOT_USER: u64 = 10;
/// casebot's application id.
pub const APPLICATION: u64 = 20;

/// A chat user injected by the test.
#[derive(Debug, Clone)]
pub struct FakeUser {
    /// Snowflake.
    pub id: u64,
    /// User name.
    pub name: &'static str,
    /// Role ids of the member in [`GUILD`].
    pub roles: Vec<u64>,
}

impl FakeUser {
    /// A support engineer.
    pub fn engineer() -> FakeUser {
        FakeUser {
            id: 500,
            name: "alice-engineer",
            roles: vec![ENGINEER_ROLE],
        }
    }

    /// A customer (no roles).
    pub fn customer() -> FakeUser {
        FakeUser {
            id: 501,
            name: "bob-customer",
            roles: vec![],
        }
    }
}

/// A message casebot posted.
#[derive(Debug, Clone)]
pub struct Posted {
    /// Message id.
    pub id: u64,
    /// Channel or thread it was posted in.
    pub channel: u64,
    /// Text.
    pub content: String,
    /// Attached files: name and bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// True when posted as a slash-command follow-up.
    pub followup: bool,
}

/// A thread casebot created.
#[derive(Debug, Clone)]
pub struct Thread {
    /// Thread id.
    pub id: u64,
    /// Parent channel.
    pub parent: u64,
    /// Thread name.
    pub name: String,
    /// The message it hangs on, if any.
    pub message: Option<u64>,
}

/// An attachment to put on an injected message.
#[derive(Debug, Clone)]
pub struct FakeAttachment {
    /// File name.
    pub name: String,
    /// Announced size.
    pub size: u64,
    /// Download URL.
    pub url: String,
}

enum WsCmd {
    Send(String),
    Close(u16),
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    seq: u64,
    /// Every dispatch sent, for RESUME replay.
    events: Vec<(u64, String)>,
    /// The live gateway connection (after IDENTIFY or RESUME).
    conn: Option<(u64, mpsc::UnboundedSender<WsCmd>)>,
    next_conn: u64,
    sessions: Vec<String>,
    identifies: usize,
    resumes: usize,
    heartbeats: usize,
    posted: Vec<Posted>,
    threads: Vec<Thread>,
    typing: Vec<u64>,
    commands: HashMap<u64, Vec<String>>,
    callbacks: Vec<(u64, u64)>,
    /// Interaction token → channel, for follow-ups.
    tokens: HashMap<String, u64>,
    files: HashMap<String, Vec<u8>>,
    slow: HashMap<String, (Vec<u8>, Duration)>,
    /// Channel id → (name, parent).
    channels: HashMap<u64, (String, Option<u64>)>,
    /// Requests the fake did not understand (a test fails on them).
    unknown: Vec<String>,
}

struct Shared {
    base: String,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// A running fake Discord; stops when dropped.
pub struct FakeDiscord {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeDiscord {
    /// Start on 127.0.0.1, port 0.
    pub async fn start() -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let mut inner = Inner {
            next_id: 100_000,
            ..Inner::default()
        };
        for (id, name) in [
            (SUPPORT, "support"),
            (OFF_TOPIC, "off-topic"),
            (SUMMARIES, "case-summaries"),
        ] {
            inner.channels.insert(id, (name.to_owned(), None));
        }
        let shared = Arc::new(Shared {
            base: format!("http://{addr}"),
            inner: Mutex::new(inner),
        });
        let app = router(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeDiscord { shared, server }
    }

    /// The base URL to configure as `discord.api_base_url`.
    pub fn base_url(&self) -> String {
        self.shared.base.clone()
    }

    /// Serve `bytes` at `/attachments/<name>` and describe it as an attachment.
    pub fn attachment(&self, name: &str, bytes: Vec<u8>) -> FakeAttachment {
        let size = bytes.len() as u64;
        self.shared.lock().files.insert(name.to_owned(), bytes);
        FakeAttachment {
            name: name.to_owned(),
            size,
            url: format!("{}/attachments/{name}", self.shared.base),
        }
    }

    /// Serve `bytes` at `/slow/<name>` only after `delay`: a bundle on a slow link.
    pub fn slow_attachment(&self, name: &str, bytes: Vec<u8>, delay: Duration) -> FakeAttachment {
        let size = bytes.len() as u64;
        self.shared
            .lock()
            .slow
            .insert(name.to_owned(), (bytes, delay));
        FakeAttachment {
            name: name.to_owned(),
            size,
            url: format!("{}/slow/{name}", self.shared.base),
        }
    }

    /// An attachment whose URL answers 404.
    pub fn missing_attachment(&self, name: &str, size: u64) -> FakeAttachment {
        FakeAttachment {
            name: name.to_owned(),
            size,
            url: format!("{}/attachments/missing-{name}", self.shared.base),
        }
    }

    /// Wait until casebot identified and registered its commands (it has processed READY).
    pub async fn wait_ready(&self) {
        self.wait_for("READY processed", |i| {
            (i.identifies > 0 && i.conn.is_some() && i.commands.contains_key(&GUILD)).then_some(())
        })
        .await;
    }

    /// Wait until casebot has identified `n` times in all (a restarted bot identifies anew).
    pub async fn wait_identified(&self, n: usize) {
        self.wait_for(&format!("IDENTIFY number {n}"), |i| {
            (i.identifies >= n && i.conn.is_some()).then_some(())
        })
        .await;
    }

    /// Wait until casebot resumed its session after a [`FakeDiscord::disconnect`].
    pub async fn wait_for_resume(&self) {
        self.wait_for("a RESUME", |i| {
            (i.resumes > 0 && i.conn.is_some()).then_some(())
        })
        .await;
    }

    /// Post a message as `user` in `channel`; `text` gets casebot's mention in front when
    /// `mention` is true. Returns the message id.
    pub fn say(
        &self,
        channel: u64,
        user: &FakeUser,
        text: &str,
        mention: bool,
        attachments: &[FakeAttachment],
    ) -> u64 {
        let event = self.message_event(channel, user, text, mention, attachments);
        let id = event["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        self.dispatch("MESSAGE_CREATE", event);
        id
    }

    /// Mention casebot in `channel` with `text` and no attachment.
    pub fn command(&self, channel: u64, user: &FakeUser, text: &str) -> u64 {
        self.say(channel, user, text, true, &[])
    }

    /// The MESSAGE_CREATE payload for a message (not sent), for redelivery tests.
    pub fn message_event(
        &self,
        channel: u64,
        user: &FakeUser,
        text: &str,
        mention: bool,
        attachments: &[FakeAttachment],
    ) -> Value {
        let id = self.new_id();
        let content = if mention {
            format!("<@{BOT_USER}> {text}")
        } else {
            text.to_owned()
        };
        let mentions = if mention {
            vec![user_json(BOT_USER, "casebot", true)]
        } else {
            vec![]
        };
        let attachments: Vec<Value> = attachments
            .iter()
            .enumerate()
            .map(|(n, a)| {
                json!({"id": (id + 1 + n as u64).to_string(), "filename": a.name, "size": a.size,
                       "url": a.url, "proxy_url": a.url})
            })
            .collect();
        let mut msg = message_json(id, channel, user_json(user.id, user.name, false), &content);
        msg["guild_id"] = json!(GUILD.to_string());
        msg["mentions"] = json!(mentions);
        msg["attachments"] = json!(attachments);
        msg["member"] = json!({
            "roles": user.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "joined_at": "2024-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false});
        msg
    }

    /// Invoke slash command `name` with string options (name, value) as `user`.
    pub fn slash(&self, channel: u64, user: &FakeUser, name: &str, options: &[(&str, &str)]) {
        let id = self.new_id();
        let token = format!("token-{id}");
        self.shared.lock().tokens.insert(token.clone(), channel);
        let options: Vec<Value> = options
            .iter()
            .map(|(n, v)| json!({"name": n, "type": 3, "value": v}))
            .collect();
        let event = json!({
            "id": id.to_string(), "application_id": APPLICATION.to_string(), "type": 2,
            "data": {"id": "1", "name": name, "type": 1, "options": options},
            "guild_id": GUILD.to_string(), "channel_id": channel.to_string(),
            "member": {"user": user_json(user.id, user.name, false),
                       "roles": user.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                       "joined_at": "2024-01-01T00:00:00.000000+00:00",
                       "deaf": false, "mute": false, "flags": 0},
            "token": token, "version": 1, "locale": "en-US", "entitlements": [],
            "attachment_size_limit": 10_485_760, "app_permissions": "0"});
        self.dispatch("INTERACTION_CREATE", event);
    }

    /// Send a dispatch event (queued for RESUME replay when disconnected).
    pub fn dispatch(&self, kind: &str, data: Value) {
        let mut inner = self.shared.lock();
        inner.seq += 1;
        let text = json!({"op": 0, "s": inner.seq, "t": kind, "d": data}).to_string();
        let seq = inner.seq;
        inner.events.push((seq, text.clone()));
        if let Some((_, tx)) = &inner.conn {
            let _ = tx.send(WsCmd::Send(text));
        }
    }

    /// Close the gateway socket with a resumable close code, as Discord does on a restart.
    pub fn disconnect(&self) {
        if let Some((_, tx)) = self.shared.lock().conn.take() {
            let _ = tx.send(WsCmd::Close(4000));
        }
    }

    /// Wait (polling) until `check` yields a value; panics with `what` after 30 s.
    async fn wait_for<T>(&self, what: &str, check: impl Fn(&Inner) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(v) = check(&self.shared.lock()) {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; posted:\n{}",
                    self.transcript()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait until at least `n` messages were posted in `channel`; returns them all.
    pub async fn wait_posts(&self, channel: u64, n: usize) -> Vec<Posted> {
        self.wait_for(&format!("{n} post(s) in channel {channel}"), |i| {
            let posts: Vec<Posted> = i
                .posted
                .iter()
                .filter(|p| p.channel == channel)
                .cloned()
                .collect();
            (posts.len() >= n).then_some(posts)
        })
        .await
    }

    /// Wait for the first post in `channel` whose text contains `needle` (case-insensitive).
    pub async fn wait_post_containing(&self, channel: u64, needle: &str) -> Posted {
        let needle = needle.to_lowercase();
        self.wait_for(&format!("a post containing {needle:?} in {channel}"), |i| {
            i.posted
                .iter()
                .find(|p| p.channel == channel && p.content.to_lowercase().contains(&needle))
                .cloned()
        })
        .await
    }

    /// Wait until `n` posts in `channel` contain `needle`.
    pub async fn wait_for_posts_with(&self, channel: u64, needle: &str, n: usize) {
        self.wait_for(&format!("{n} post(s) with {needle:?} in {channel}"), |i| {
            let found = i
                .posted
                .iter()
                .filter(|p| p.channel == channel && p.content.contains(needle))
                .count();
            (found >= n).then_some(())
        })
        .await;
    }

    /// Wait for a typing indicator in `channel`.
    pub async fn wait_typing(&self, channel: u64) {
        self.wait_for(&format!("typing in {channel}"), |i| {
            i.typing.contains(&channel).then_some(())
        })
        .await;
    }

    /// Wait for a slash-command follow-up in `channel`.
    pub async fn wait_for_followup(&self, channel: u64) -> Posted {
        self.wait_for(&format!("a follow-up in {channel}"), |i| {
            i.posted
                .iter()
                .find(|p| p.channel == channel && p.followup)
                .cloned()
        })
        .await
    }

    /// Wait until a thread exists and return the newest.
    pub async fn wait_thread(&self, count: usize) -> Thread {
        self.wait_for(&format!("{count} thread(s)"), |i| {
            (i.threads.len() >= count).then(|| i.threads[count - 1].clone())
        })
        .await
    }

    /// Everything posted so far, readable: channel, text and attached file names.
    pub fn transcript(&self) -> String {
        let mut out = String::new();
        for p in self.posted() {
            let files: Vec<&str> = p.files.iter().map(|f| f.0.as_str()).collect();
            out += &format!("--- #{} files {files:?}\n{}\n", p.channel, p.content);
        }
        out
    }

    /// Everything posted so far.
    pub fn posted(&self) -> Vec<Posted> {
        self.shared.lock().posted.clone()
    }

    /// Posts in one channel so far.
    pub fn posts_in(&self, channel: u64) -> Vec<Posted> {
        self.posted()
            .into_iter()
            .filter(|p| p.channel == channel)
            .collect()
    }

    /// Threads created so far.
    pub fn threads(&self) -> Vec<Thread> {
        self.shared.lock().threads.clone()
    }

    /// (IDENTIFY count, RESUME count).
    pub fn sessions(&self) -> (usize, usize) {
        let inner = self.shared.lock();
        (inner.identifies, inner.resumes)
    }

    /// Slash command names registered in [`GUILD`].
    pub fn commands(&self) -> Vec<String> {
        self.shared
            .lock()
            .commands
            .get(&GUILD)
            .cloned()
            .unwrap_or_default()
    }

    /// Interaction callbacks: (interaction id, callback type).
    pub fn callbacks(&self) -> Vec<(u64, u64)> {
        self.shared.lock().callbacks.clone()
    }

    /// Typing indicators, by channel.
    pub fn typing(&self) -> Vec<u64> {
        self.shared.lock().typing.clone()
    }

    /// Requests the fake did not understand.
    pub fn unknown_requests(&self) -> Vec<String> {
        self.shared.lock().unknown.clone()
    }

    fn new_id(&self) -> u64 {
        let mut inner = self.shared.lock();
        inner.next_id += 10;
        inner.next_id
    }
}

fn user_json(id: u64, name: &str, bot: bool) -> Value {
    json!({"id": id.to_string(), "username": name, "discriminator": "0", "global_name": null,
           "avatar": null, "bot": bot})
}

fn message_json(id: u64, channel: u64, author: Value, content: &str) -> Value {
    json!({
        "id": id.to_string(), "channel_id": channel.to_string(), "author": author,
        "content": content, "timestamp": "2026-01-01T00:00:00.000000+00:00",
        "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
        "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 0})
}

fn channel_json(id: u64, name: &str, parent: Option<u64>) -> Value {
    json!({"id": id.to_string(), "guild_id": GUILD.to_string(),
           "type": if parent.is_some() { 11 } else { 0 }, "name": name,
           "parent_id": parent.map(|p| p.to_string())})
}

type St = State<Arc<Shared>>;

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/gateway", get(gateway))
        .route("/api/v10/gateway", get(get_gateway))
        .route("/api/v10/gateway/bot", get(get_gateway))
        .route("/api/v10/users/@me", get(get_me))
        .route("/api/v10/channels/:id", get(get_channel))
        .route("/api/v10/channels/:id/messages", post(post_message))
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

/// The token the fake rejects with 401, as Discord does for a revoked token.
pub const REVOKED_TOKEN: &str = "revoked-token";

async fn get_me(headers: axum::http::HeaderMap) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth == Some(&format!("Bot {REVOKED_TOKEN}")) {
        let body = json!({"message": "401: Unauthorized", "code": 0});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    axum::Json(user_json(BOT_USER, "casebot", true)).into_response()
}

async fn get_channel(State(s): St, Path(id): Path<u64>) -> Response {
    match s.lock().channels.get(&id) {
        Some((name, parent)) => axum::Json(channel_json(id, name, *parent)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Unknown Channel", "code": 10003})),
        )
            .into_response(),
    }
}

async fn get_roles() -> axum::Json<Value> {
    let role = |id: u64, name: &str, position: u64| {
        json!({"id": id.to_string(), "name": name, "color": 0, "colors": {"primary_color": 0},
               "hoist": false, "managed": false, "mentionable": false, "permissions": "0",
               "position": position})
    };
    axum::Json(json!([
        role(GUILD, "@everyone", 0),
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
    inner.posted.push(Posted {
        id,
        channel,
        content: content.clone(),
        files,
        followup,
    });
    message_json(id, channel, user_json(BOT_USER, "casebot", true), &content)
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
    channel_json(id, &name, Some(parent))
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
) -> axum::Json<Value> {
    axum::Json(record_thread(&s, parent, Some(message), &payload))
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
    s.lock().callbacks.push((id, kind));
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

async fn gateway(State(s): St, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| serve_gateway(s, socket))
}

/// One gateway connection: HELLO, then IDENTIFY or RESUME, heartbeats, and the test's events.
async fn serve_gateway(s: Arc<Shared>, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<WsCmd>();
    let conn_id = {
        let mut inner = s.lock();
        inner.next_conn += 1;
        inner.next_conn
    };
    let hello = json!({"op": 10, "d": {"heartbeat_interval": 41_250}}).to_string();
    if sink.send(WsMessage::Text(hello)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(WsMessage::Text(text))) => {
                    let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                    for out in on_client_op(&s, conn_id, &tx, &v) {
                        if sink.send(WsMessage::Text(out)).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            cmd = rx.recv() => match cmd {
                Some(WsCmd::Send(text)) => {
                    if sink.send(WsMessage::Text(text)).await.is_err() {
                        break;
                    }
                }
                Some(WsCmd::Close(code)) => {
                    let frame = CloseFrame { code, reason: "fake restart".into() };
                    let _ = sink.send(WsMessage::Close(Some(frame))).await;
                    break;
                }
                None => break,
            },
        }
    }
    let mut inner = s.lock();
    if inner.conn.as_ref().is_some_and(|(id, _)| *id == conn_id) {
        inner.conn = None;
    }
}

/// React to one client frame; returns frames to send back.
fn on_client_op(
    s: &Shared,
    conn_id: u64,
    tx: &mpsc::UnboundedSender<WsCmd>,
    v: &Value,
) -> Vec<String> {
    let mut inner = s.lock();
    match v["op"].as_u64() {
        Some(1) => {
            inner.heartbeats += 1;
            vec![json!({"op": 11}).to_string()]
        }
        Some(2) => {
            inner.identifies += 1;
            let session = format!("session-{}", inner.identifies);
            inner.sessions.push(session.clone());
            inner.seq += 1;
            let ws_url = s.base.replace("http://", "ws://") + "/gateway";
            let ready = json!({"op": 0, "s": inner.seq, "t": "READY", "d": {
                "v": 10, "user": user_json(BOT_USER, "casebot", true),
                "guilds": [{"id": GUILD.to_string(), "unavailable": true}],
                "session_id": session, "resume_gateway_url": ws_url,
                "application": {"id": APPLICATION.to_string(), "flags": 0}}});
            inner.conn = Some((conn_id, tx.clone()));
            vec![ready.to_string()]
        }
        Some(6) => {
            inner.resumes += 1;
            let from = v["d"]["seq"].as_u64().unwrap_or(0);
            let known = v["d"]["session_id"]
                .as_str()
                .is_some_and(|id| inner.sessions.iter().any(|s| s == id));
            if !known {
                return vec![json!({"op": 9, "d": false}).to_string()];
            }
            let mut out: Vec<String> = inner
                .events
                .iter()
                .filter(|(seq, _)| *seq > from)
                .map(|(_, e)| e.clone())
                .collect();
            inner.seq += 1;
            out.push(json!({"op": 0, "s": inner.seq, "t": "RESUMED", "d": {}}).to_string());
            inner.conn = Some((conn_id, tx.clone()));
            out
        }
        _ => vec![],
    }
}
