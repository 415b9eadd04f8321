//! A fake Discord gateway (WebSocket) and REST API on 127.0.0.1 for end-to-end tests.
//!
//! The real serenity client is pointed at it (`discord.api_base_url`). The gateway speaks the
//! parts of the protocol serenity uses: HELLO → IDENTIFY → READY, heartbeat ACKs, RESUME with
//! replay of missed events, and dispatches injected by the test (MESSAGE_CREATE; INTERACTION_CREATE
//! for slash commands, button clicks and modal submits). REST records every posted message,
//! file, thread, typing call, command registration, interaction answer and opened modal so tests
//! can assert on what users would see. Attachments are served from `/attachments/<name>` on the
//! same server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

mod gateway;
mod rest;

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
    /// When the fake received it.
    pub at: std::time::Instant,
    /// Text.
    pub content: String,
    /// Attached files: name and bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// True when posted as an interaction follow-up (slash command or button click).
    pub followup: bool,
    /// True when only the user of the interaction sees it (an ephemeral follow-up).
    pub ephemeral: bool,
    /// Buttons under it: (label, custom id), row after row.
    pub buttons: Vec<(String, String)>,
    /// Select menus under it: (custom id, the values to pick from).
    pub menus: Vec<(String, Vec<String>)>,
}

impl Posted {
    /// The custom id of the button labelled `label`; panics naming the buttons there are.
    pub fn button(&self, label: &str) -> String {
        self.buttons
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, id)| id.clone())
            .unwrap_or_else(|| panic!("no button {label:?} in {:?}", self.buttons))
    }
}

/// An edit of a message casebot posted.
#[derive(Debug, Clone)]
pub struct Edit {
    /// The message edited.
    pub message: u64,
    /// When the fake received the edit.
    pub at: std::time::Instant,
    /// The new text.
    pub content: String,
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
    /// Every dispatch sent, for RESUME replay: sequence, guild, frame.
    events: Vec<(u64, u64, String)>,
    /// The live gateway connection (after IDENTIFY or RESUME); with shards, the last one.
    conn: Option<(u64, mpsc::UnboundedSender<WsCmd>)>,
    /// Shard id → its live connection, when the client identifies with shards.
    shards: HashMap<u32, (u64, mpsc::UnboundedSender<WsCmd>)>,
    /// Shards over all of the bot's connections (0 until a client identifies with shards).
    total_shards: u32,
    /// Each shard's session has its own sequence numbers.
    shard_seq: HashMap<u32, u64>,
    /// Guilds besides [`GUILD`], and the guild of each of their top-level channels.
    guilds: Vec<u64>,
    channel_guild: HashMap<u64, u64>,
    next_conn: u64,
    sessions: Vec<String>,
    identifies: usize,
    resumes: usize,
    heartbeats: usize,
    posted: Vec<Posted>,
    /// Edits of posted messages, in the order they arrived.
    edits: Vec<Edit>,
    threads: Vec<Thread>,
    typing: Vec<u64>,
    commands: HashMap<u64, Vec<String>>,
    callbacks: Vec<(u64, u64)>,
    /// Modals casebot opened: interaction id → the modal (custom id, title, components).
    modals: HashMap<u64, Value>,
    /// Autocomplete answers: interaction id → the values suggested.
    suggestions: HashMap<u64, Vec<String>>,
    /// Interaction token → channel, for follow-ups.
    tokens: HashMap<String, u64>,
    /// Served without a copy per download, as a CDN serves them to the bot at no cost to it.
    files: HashMap<String, axum::body::Bytes>,
    slow: HashMap<String, (Vec<u8>, Duration)>,
    /// Channel id → (name, parent).
    channels: HashMap<u64, (String, Option<u64>)>,
    /// Requests the fake did not understand (a test fails on them).
    unknown: Vec<String>,
    /// Answer IDENTIFY with close code 4014, as Discord does when the bot's privileged intents
    /// (Message Content) are not enabled in the Developer Portal.
    refuse_intents: bool,
}

impl Inner {
    /// The guild of a channel or thread ([`GUILD`] unless the test added another).
    fn guild_of(&self, channel: u64) -> u64 {
        let top = match self.channels.get(&channel) {
            Some((_, Some(parent))) => *parent,
            _ => channel,
        };
        self.channel_guild.get(&top).copied().unwrap_or(GUILD)
    }

    /// The next sequence number of the session that receives `guild`'s events.
    fn next_seq(&mut self, guild: u64) -> u64 {
        let shard = (self.total_shards > 1).then(|| shard_of(guild, self.total_shards));
        self.next_seq_of(shard)
    }

    /// The next sequence number of shard `shard`'s session, or of the one unsharded session.
    fn next_seq_of(&mut self, shard: Option<u32>) -> u64 {
        let seq = match shard {
            Some(id) => self.shard_seq.entry(id).or_default(),
            None => &mut self.seq,
        };
        *seq += 1;
        *seq
    }

    /// Where a dispatch for `guild` goes: its shard's connection, else the one connection.
    fn conn_for(&self, guild: u64) -> Option<&mpsc::UnboundedSender<WsCmd>> {
        if self.total_shards > 1 {
            return self
                .shards
                .get(&shard_of(guild, self.total_shards))
                .map(|(_, tx)| tx);
        }
        self.conn.as_ref().map(|(_, tx)| tx)
    }
}

/// The shard that receives guild `guild`'s events, as Discord computes it.
pub fn shard_of(guild: u64, total: u32) -> u32 {
    u32::try_from((guild >> 22) % u64::from(total.max(1))).unwrap_or(0)
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
        let app = rest::router(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeDiscord { shared, server }
    }

    /// Add guild `guild` with one support channel `channel` called `name` (for sharding tests:
    /// the guild's events go to the connection of shard [`shard_of`]).
    pub fn add_guild(&self, guild: u64, channel: u64, name: &str) {
        let mut inner = self.shared.lock();
        if !inner.guilds.contains(&guild) {
            inner.guilds.push(guild);
        }
        inner.channels.insert(channel, (name.to_owned(), None));
        inner.channel_guild.insert(channel, guild);
    }

    /// Wait until the shards `ids` each have a live connection.
    pub async fn wait_shards(&self, ids: std::ops::RangeInclusive<u32>) {
        let what = format!("gateway connections of shards {ids:?}");
        self.wait_for(&what, |i| {
            ids.clone()
                .all(|id| i.shards.contains_key(&id))
                .then_some(())
        })
        .await;
    }

    /// The base URL to configure as `discord.api_base_url`.
    pub fn base_url(&self) -> String {
        self.shared.base.clone()
    }

    /// The `[discord]` section of a bot config pointed at this fake: its API, the guild, the
    /// support channel and the engineer role (no newline at the end; more keys may follow).
    pub fn discord_config(&self) -> String {
        format!(
            r#"[discord]
api_base_url = "{base}"
allowed_guilds = [{GUILD}]
allowed_channels = [{SUPPORT}]
engineer_roles = ["{ENGINEER_ROLE}"]"#,
            base = self.base_url(),
        )
    }

    /// Serve `bytes` at `/attachments/<name>` and describe it as an attachment.
    pub fn attachment(&self, name: &str, bytes: Vec<u8>) -> FakeAttachment {
        let size = bytes.len() as u64;
        self.shared
            .lock()
            .files
            .insert(name.to_owned(), bytes.into());
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

    /// A thread someone else opened under `parent`; returns its id.
    pub fn user_thread(&self, parent: u64, name: &str) -> u64 {
        let id = self.new_id();
        self.shared
            .lock()
            .channels
            .insert(id, (name.to_owned(), Some(parent)));
        id
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
        let id = event_id(&event);
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
        let guild = self.shared.lock().guild_of(channel);
        msg["guild_id"] = json!(guild.to_string());
        msg["mentions"] = json!(mentions);
        msg["attachments"] = json!(attachments);
        msg["member"] = json!({
            "roles": user.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "joined_at": "2024-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false});
        msg
    }

    /// Invoke slash command `name` with string options (name, value) as `user`.
    pub fn slash(&self, channel: u64, user: &FakeUser, name: &str, options: &[(&str, &str)]) {
        self.slash_with_file(channel, user, name, options, None);
    }

    /// Invoke slash command `name`, with a file in its `bundle` attachment option if given.
    pub fn slash_with_file(
        &self,
        channel: u64,
        user: &FakeUser,
        name: &str,
        options: &[(&str, &str)],
        file: Option<&FakeAttachment>,
    ) {
        let id = self.new_id();
        let mut options: Vec<Value> = options
            .iter()
            .map(|(n, v)| json!({"name": n, "type": 3, "value": v}))
            .collect();
        let mut resolved = json!({});
        if let Some(a) = file {
            let att = (id + 1).to_string();
            options.push(json!({"name": "bundle", "type": 11, "value": att}));
            resolved = json!({"attachments": {att.clone(): {"id": att, "filename": a.name,
                "size": a.size, "url": a.url, "proxy_url": a.url}}});
        }
        let data =
            json!({"id": "1", "name": name, "type": 1, "options": options, "resolved": resolved});
        let event = self.interaction(id, channel, user, 2, data, None);
        self.dispatch("INTERACTION_CREATE", event);
    }

    /// `user` types `typed` into option `option` of slash command `name` in `channel`
    /// (an autocomplete interaction); returns the event, for [`FakeDiscord::suggestions_for`].
    pub fn autocomplete(
        &self,
        channel: u64,
        user: &FakeUser,
        name: &str,
        option: &str,
        typed: &str,
    ) -> Value {
        let options = json!([{"name": option, "type": 3, "value": typed, "focused": true}]);
        let data = json!({"id": "1", "name": name, "type": 1, "options": options});
        let event = self.interaction(self.new_id(), channel, user, 4, data, None);
        self.dispatch("INTERACTION_CREATE", event.clone());
        event
    }

    /// Wait for the suggestions casebot answered the autocomplete interaction `event` with.
    pub async fn suggestions_for(&self, event: &Value) -> Vec<String> {
        let id = event_id(event);
        self.wait_for(&format!("suggestions for interaction {id}"), |i| {
            i.suggestions.get(&id).cloned()
        })
        .await
    }

    /// An INTERACTION_CREATE payload (not sent) of `kind` (2 command, 3 component, 4
    /// autocomplete, 5 modal submit) with `data`, by `user` in `channel`, under the message
    /// `posted` when it comes from one; its token answers into `channel`.
    fn interaction(
        &self,
        id: u64,
        channel: u64,
        user: &FakeUser,
        kind: u8,
        data: Value,
        posted: Option<&Posted>,
    ) -> Value {
        let token = format!("token-{id}");
        self.shared.lock().tokens.insert(token.clone(), channel);
        let mut event = json!({
            "id": id.to_string(), "application_id": APPLICATION.to_string(), "type": kind,
            "data": data,
            "guild_id": GUILD.to_string(), "channel_id": channel.to_string(),
            "member": {"user": user_json(user.id, user.name, false),
                       "roles": user.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                       "joined_at": "2024-01-01T00:00:00.000000+00:00",
                       "deaf": false, "mute": false, "flags": 0},
            "token": token, "version": 1, "locale": "en-US", "entitlements": [],
            "attachment_size_limit": 10_485_760, "app_permissions": "0"});
        if let Some(posted) = posted {
            event["message"] = message_json(
                posted.id,
                posted.channel,
                user_json(BOT_USER, "casebot", true),
                &posted.content,
            );
        }
        event
    }

    /// The INTERACTION_CREATE payload of `user` clicking the button `custom_id` under message
    /// `posted` (not sent), for redelivery tests.
    pub fn click_event(&self, posted: &Posted, user: &FakeUser, custom_id: &str) -> Value {
        let data = json!({"custom_id": custom_id, "component_type": 2});
        self.interaction(self.new_id(), posted.channel, user, 3, data, Some(posted))
    }

    /// `user` picks `value` from the first menu under `posted`; returns the event.
    pub fn choose(&self, posted: &Posted, user: &FakeUser, value: &str) -> Value {
        let (custom_id, _) = posted
            .menus
            .first()
            .unwrap_or_else(|| panic!("no menu under {posted:?}"));
        let mut event = self.click_event(posted, user, custom_id);
        event["data"]["component_type"] = json!(3);
        event["data"]["values"] = json!([value]);
        self.dispatch("INTERACTION_CREATE", event.clone());
        event
    }

    /// Wait for the first post in `channel` with a menu.
    pub async fn wait_menu(&self, channel: u64) -> Posted {
        self.wait_for(&format!("a menu in {channel}"), |i| {
            i.posted
                .iter()
                .find(|p| p.channel == channel && !p.menus.is_empty())
                .cloned()
        })
        .await
    }

    /// `user` clicks the button labelled `label` under `posted`; returns the event, so a test
    /// can deliver it again.
    pub fn click(&self, posted: &Posted, user: &FakeUser, label: &str) -> Value {
        let event = self.click_event(posted, user, &posted.button(label));
        self.dispatch("INTERACTION_CREATE", event.clone());
        event
    }

    /// Wait for the modal casebot opened in answer to the interaction `event` (a click).
    pub async fn modal_for(&self, event: &Value) -> Value {
        let id = event_id(event);
        self.wait_for(&format!("a modal for interaction {id}"), |i| {
            i.modals.get(&id).cloned()
        })
        .await
    }

    /// Whether casebot answered the interaction `event` with a modal.
    pub fn opened_modal(&self, event: &Value) -> bool {
        let id = event_id(event);
        self.shared.lock().modals.contains_key(&id)
    }

    /// The INTERACTION_CREATE payload of `user` submitting `modal` (as casebot opened it) from
    /// under `posted`, with `values` typed into its text inputs by custom id (not sent).
    pub fn submit_event(
        &self,
        posted: &Posted,
        user: &FakeUser,
        modal: &Value,
        values: &[(&str, &str)],
    ) -> Value {
        // What Discord sends back: each text input's custom id and typed value, row by row.
        let rows: Vec<Value> = modal["components"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| {
                let inputs: Vec<Value> = row["components"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|input| {
                        let name = input["custom_id"].as_str().unwrap_or_default();
                        let value = values
                            .iter()
                            .find(|(n, _)| *n == name)
                            .map_or("", |(_, v)| v);
                        json!({"type": 4, "custom_id": name, "value": value})
                    })
                    .collect();
                json!({"type": 1, "components": inputs})
            })
            .collect();
        let data = json!({"custom_id": modal["custom_id"], "components": rows});
        self.interaction(self.new_id(), posted.channel, user, 5, data, Some(posted))
    }

    /// `user` submits `modal` with `values`; returns the event, so a test can deliver it again.
    pub fn submit(
        &self,
        posted: &Posted,
        user: &FakeUser,
        modal: &Value,
        values: &[(&str, &str)],
    ) -> Value {
        let event = self.submit_event(posted, user, modal, values);
        self.dispatch("INTERACTION_CREATE", event.clone());
        event
    }

    /// Send a dispatch event (queued for RESUME replay when disconnected).
    pub fn dispatch(&self, kind: &str, data: Value) {
        let mut inner = self.shared.lock();
        let guild = data["guild_id"]
            .as_str()
            .and_then(|g| g.parse().ok())
            .unwrap_or(GUILD);
        let seq = inner.next_seq(guild);
        let text = json!({"op": 0, "s": seq, "t": kind, "d": data}).to_string();
        inner.events.push((seq, guild, text.clone()));
        if let Some(tx) = inner.conn_for(guild) {
            let _ = tx.send(WsCmd::Send(text));
        }
    }

    /// From now on, refuse IDENTIFY because of disallowed intents (close code 4014).
    pub fn refuse_privileged_intents(&self) {
        self.shared.lock().refuse_intents = true;
    }

    /// Close the gateway socket with a resumable close code, as Discord does on a restart.
    pub fn disconnect(&self) {
        if let Some((_, tx)) = self.shared.lock().conn.take() {
            let _ = tx.send(WsCmd::Close(4000));
        }
    }

    /// Wait (polling) until `check` yields a value; panics with `what` after 60 s.
    async fn wait_for<T>(&self, what: &str, check: impl Fn(&Inner) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
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

    /// Wait for a file attached in `channel` whose name contains `part` and ends with `suffix`.
    pub async fn wait_file(&self, channel: u64, part: &str, suffix: &str) -> (String, Vec<u8>) {
        self.wait_for(&format!("a file *{part}*{suffix} in {channel}"), |i| {
            i.posted
                .iter()
                .filter(|p| p.channel == channel)
                .flat_map(|p| p.files.iter())
                .find(|f| f.0.contains(part) && f.0.ends_with(suffix))
                .cloned()
        })
        .await
    }

    /// Wait for the first post in `channel` with a button whose custom id contains `part`.
    pub async fn wait_buttons(&self, channel: u64, part: &str) -> Posted {
        self.wait_for(&format!("buttons for {part:?} in {channel}"), |i| {
            i.posted
                .iter()
                .find(|p| p.channel == channel && p.buttons.iter().any(|(_, id)| id.contains(part)))
                .cloned()
        })
        .await
    }

    /// Wait for a typing indicator in `channel`.
    pub async fn wait_typing(&self, channel: u64) {
        self.wait_for(&format!("typing in {channel}"), |i| {
            i.typing.contains(&channel).then_some(())
        })
        .await;
    }

    /// How many typing indicators casebot sent in `channel` so far.
    pub fn typing_count(&self, channel: u64) -> usize {
        let inner = self.shared.lock();
        inner.typing.iter().filter(|c| **c == channel).count()
    }

    /// Wait until casebot sent `n` typing indicators in `channel` in all.
    pub async fn wait_typing_count(&self, channel: u64, n: usize) {
        self.wait_for(&format!("{n} typing indicators in {channel}"), |i| {
            (i.typing.iter().filter(|c| **c == channel).count() >= n).then_some(())
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

    /// The edits of message `id` so far, oldest first.
    pub fn edits_of(&self, id: u64) -> Vec<Edit> {
        self.shared
            .lock()
            .edits
            .iter()
            .filter(|e| e.message == id)
            .cloned()
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

/// The id of a MESSAGE_CREATE or INTERACTION_CREATE payload (0 when it has none).
fn event_id(event: &Value) -> u64 {
    event["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
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

fn channel_json(id: u64, guild: u64, name: &str, parent: Option<u64>) -> Value {
    json!({"id": id.to_string(), "guild_id": guild.to_string(),
           "type": if parent.is_some() { 11 } else { 0 }, "name": name,
           "parent_id": parent.map(|p| p.to_string())})
}

/// The token the fake rejects with 401, as Discord does for a revoked token.
pub const REVOKED_TOKEN: &str = "revoked-token";
