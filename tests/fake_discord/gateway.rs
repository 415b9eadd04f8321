//! The fake's gateway: HELLO, IDENTIFY → READY, heartbeat ACKs, RESUME with replay, and the
//! events a test injects.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::rest::St;
use super::{APPLICATION, BOT_USER, GUILD, Inner, Shared, WsCmd, shard_of, user_json};

pub(super) async fn gateway(State(s): St, ws: WebSocketUpgrade) -> Response {
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
    inner.shards.retain(|_, (id, _)| *id != conn_id);
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
        Some(2) if inner.refuse_intents => {
            let _ = tx.send(WsCmd::Close(4014));
            vec![]
        }
        Some(2) => {
            inner.identifies += 1;
            let session = format!("session-{}", inner.identifies);
            inner.sessions.push(session.clone());
            let ws_url = s.base.replace("http://", "ws://") + "/gateway";
            // `"shard": [id, total]` when the client runs several shards: it gets the guilds of
            // its shard, and their events from now on.
            let shard = v["d"]["shard"].as_array().and_then(|a| {
                Some((
                    u32::try_from(a.first()?.as_u64()?).ok()?,
                    u32::try_from(a.get(1)?.as_u64()?).ok()?,
                ))
            });
            let mut guilds = vec![GUILD];
            guilds.extend(inner.guilds.iter().copied());
            let session_shard = if let Some((id, total)) = shard.filter(|&(_, total)| total > 1) {
                inner.total_shards = total;
                inner.shards.insert(id, (conn_id, tx.clone()));
                guilds.retain(|&g| shard_of(g, total) == id);
                // A new session of this shard: its sequence starts again.
                inner.shard_seq.insert(id, 0);
                Some(id)
            } else {
                None
            };
            let ready = json!({"op": 0, "s": inner.next_seq_of(session_shard), "t": "READY", "d": {
                "v": 10, "user": user_json(BOT_USER, "casebot", true),
                "guilds": guilds.iter().map(|g| json!({"id": g.to_string(), "unavailable": true})).collect::<Vec<_>>(),
                "session_id": session, "resume_gateway_url": ws_url,
                "shard": shard.map(|(id, total)| json!([id, total])),
                "application": {"id": APPLICATION.to_string(), "flags": 0}}});
            inner.conn = Some((conn_id, tx.clone()));
            let mut out = vec![ready.to_string()];
            for g in guilds {
                let create = json!({"op": 0, "s": inner.next_seq_of(session_shard), "t": "GUILD_CREATE",
                                    "d": guild_json(&inner, g)});
                out.push(create.to_string());
            }
            out
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
                .filter(|(seq, _, _)| *seq > from)
                .map(|(_, _, e)| e.clone())
                .collect();
            inner.seq += 1;
            out.push(json!({"op": 0, "s": inner.seq, "t": "RESUMED", "d": {}}).to_string());
            inner.conn = Some((conn_id, tx.clone()));
            out
        }
        _ => vec![],
    }
}

/// The GUILD_CREATE payload of `guild` with its channels: every field serenity's `Guild`
/// requires.
fn guild_json(inner: &Inner, guild: u64) -> Value {
    let channels: Vec<Value> = inner
        .channels
        .iter()
        .filter(|(id, (_, parent))| parent.is_none() && inner.guild_of(**id) == guild)
        .map(|(id, (name, _))| super::channel_json(*id, guild, name, None))
        .collect();
    json!({
        "id": guild.to_string(), "name": "Support", "owner_id": "1", "verification_level": 0,
        "default_message_notifications": 0, "explicit_content_filter": 0, "roles": [],
        "emojis": [], "features": [], "mfa_level": 0, "system_channel_flags": 0,
        "premium_tier": 0, "preferred_locale": "en-US", "nsfw_level": 0, "stickers": [],
        "premium_progress_bar_enabled": false, "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "large": false, "unavailable": false, "member_count": 3, "voice_states": [],
        "members": [], "channels": channels, "threads": [], "presences": [],
        "stage_instances": [], "guild_scheduled_events": []})
}
