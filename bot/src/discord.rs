//! The Discord adapter, and the only serenity code in casebot.
//!
//! Layout: [`run`] builds the serenity client (pointed at `api_base_url` when configured, so
//! tests can use a fake Discord on loopback) and drives it until `shutdown` resolves. Gateway
//! events arrive in `Bot`'s `EventHandler`; messages, slash commands, button clicks and submitted
//! forms all become one `handlers::Incoming` and are handled in a spawned task, so a slow
//! diagnosis never holds up the next event. Each task owns an outbox, which `outbox` turns into
//! REST calls (messages, threads, typing).

mod button;
mod components;
mod outbox;
mod slash;

use outbox::{Delivery, Origin};

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use handlers::{Attachment, AttachmentSource, Incoming, Outgoing, Reply, Role, Target};
use secrecy::{ExposeSecret, SecretString};
use serenity::all::{
    ApplicationId, Channel, ChannelId, ClientBuilder, Context, EventHandler, GatewayIntents, Guild,
    GuildId, HttpBuilder, Interaction, Message, Ready, RoleId, UserId,
};
use serenity::async_trait;
use tokio::sync::mpsc;

use crate::config::{DiscordConfig, RoleRef, RulesReload};

/// Every REST call gets this long before it is abandoned (and logged).
const REST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for in-flight messages before leaving them to the journal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Message ids remembered in memory to drop a redelivered event that races its first copy
/// (the store catches redeliveries across restarts).
const RECENT_IDS: usize = 4096;

/// Connect to Discord and serve until `shutdown` resolves; then stop accepting events, let
/// in-flight work finish (or leave it journaled), and return. The caller flushes the store.
pub async fn run(
    cfg: DiscordConfig,
    rules: Option<RulesReload>,
    token: SecretString,
    ctx: handlers::Context,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut http = HttpBuilder::new(token.expose_secret()).client(rest_client(&cfg)?);
    if let Some(base) = &cfg.api_base_url {
        http = http.proxy(base.as_str()).ratelimiter_disabled(true);
    }
    if let Some(id) = cfg.application_id {
        http = http.application_id(ApplicationId::new(id));
    }
    let intents =
        GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT;
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let bot = Arc::new(Bot {
        cfg,
        live: Mutex::new(Some(Live { ctx, done: done_tx })),
        accepting: AtomicBool::new(true),
        resumed: AtomicBool::new(false),
        rules,
        stopping: tokio::sync::watch::Sender::new(false),
        recent: Mutex::new(RecentIds::default()),
        roles: tokio::sync::Mutex::new(HashMap::new()),
        parents: Mutex::new(HashMap::new()),
        me: Mutex::new(None),
    });
    let http = http.build();
    preflight(&http, cfg_base(&bot.cfg)).await?;
    let mut client = ClientBuilder::new_with_http(http, intents)
        .event_handler_arc(Arc::clone(&bot))
        .await
        .map_err(|e| anyhow::anyhow!("cannot build the Discord client: {e}"))?;
    let shards = Arc::clone(&client.shard_manager);
    let range = bot.cfg.shards;
    let start = async {
        match range {
            Some(r) => {
                tracing::info!(first = r.first, last = r.last, total = r.total, "shards");
                // serenity 0.12's `start_shard_range` runs `range.start..=range.end`: the end
                // is included, so the range passed is `first..last`.
                client.start_shard_range(r.first..r.last, r.total).await
            }
            None => client.start().await,
        }
    };
    tokio::select! {
        res = start => {
            if let Err(e) = res {
                return Err(gateway_failure(&e));
            }
        }
        () = shutdown => {
            tracing::info!("shutdown requested: closing the gateway");
            bot.accepting.store(false, Ordering::SeqCst);
            shards.shutdown_all().await;
        }
    }
    bot.accepting.store(false, Ordering::SeqCst);
    bot.stopping.send_replace(true);
    // Serenity's shard tasks may outlive this function and they hold `bot`: release the store
    // handle here so the caller's flush and close are the last word on it.
    drop(bot.live.lock().map(|mut g| g.take()));
    if tokio::time::timeout(DRAIN_TIMEOUT, done_rx.recv())
        .await
        .is_err()
    {
        tracing::warn!("in-flight work did not finish in time; journaled work resumes on restart");
    }
    Ok(())
}

/// The gateway gave up for good: say what the operator must change.
fn gateway_failure(e: &serenity::Error) -> anyhow::Error {
    use serenity::gateway::GatewayError as G;
    match e {
        serenity::Error::Gateway(G::DisallowedGatewayIntents) => anyhow::anyhow!(
            "Discord refused the Message Content intent: enable it for the bot in the Discord \
             Developer Portal (Bot → Privileged Gateway Intents), then start casebot again"
        ),
        serenity::Error::Gateway(G::InvalidAuthentication) => anyhow::anyhow!(
            "the Discord gateway rejected the token: check DISCORD_TOKEN or token_file"
        ),
        other => anyhow::anyhow!("the Discord connection ended: {other}"),
    }
}

fn cfg_base(cfg: &DiscordConfig) -> &str {
    cfg.api_base_url.as_deref().unwrap_or("https://discord.com")
}

/// Fail fast, before any gateway connection, when Discord cannot be reached or rejects the
/// token; serenity itself would fall back to the public gateway URL and retry forever.
async fn preflight(http: &serenity::http::Http, base: &str) -> anyhow::Result<()> {
    match tokio::time::timeout(REST_TIMEOUT, http.get_current_user()).await {
        Ok(Ok(user)) => tracing::info!(user = %user.name, "Discord token accepted"),
        Ok(Err(serenity::Error::Http(e))) if e.status_code().map(|s| s.as_u16()) == Some(401) => {
            anyhow::bail!(
                "Discord rejected the token (401 Unauthorized): check DISCORD_TOKEN or token_file"
            )
        }
        Ok(Err(e)) => anyhow::bail!("cannot reach the Discord API at {base}: {e}"),
        Err(_) => anyhow::bail!("the Discord API at {base} did not answer within {REST_TIMEOUT:?}"),
    }
    timeout(http.get_gateway())
        .await
        .map_err(|e| anyhow::anyhow!("cannot get the gateway URL from {base}: {e:#}"))?;
    Ok(())
}

/// The HTTP client serenity uses: every call times out, and a loopback base URL (a test's fake
/// Discord) never goes through a proxy configured in the environment.
fn rest_client(cfg: &DiscordConfig) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(REST_TIMEOUT);
    let loopback = cfg.api_base_url.as_deref().is_some_and(|u| {
        let host = u.split("://").nth(1).unwrap_or("");
        host.starts_with("127.0.0.1") || host.starts_with("localhost") || host.starts_with("[::1]")
    });
    if loopback {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))
}

/// Shared state of the adapter.
struct Bot {
    cfg: DiscordConfig,
    /// The handlers' context and the in-flight token, until shutdown takes them.
    live: Mutex<Option<Live>>,
    /// False once shutdown started: new events are ignored.
    accepting: AtomicBool,
    /// `handlers::resume` runs once per process, not on every re-identify.
    resumed: AtomicBool,
    /// Where to reload the rules from while serving, if anywhere.
    rules: Option<RulesReload>,
    /// Set when `run` returns, so background tasks let go of the store.
    stopping: tokio::sync::watch::Sender<bool>,
    recent: Mutex<RecentIds>,
    /// Role name (lowercase) → id per guild, fetched once when engineer roles are given by name.
    roles: tokio::sync::Mutex<HashMap<GuildId, HashMap<String, RoleId>>>,
    /// Thread → parent channel, to serve threads under allowed channels.
    parents: Mutex<HashMap<ChannelId, Option<ChannelId>>>,
    me: Mutex<Option<UserId>>,
}

/// What in-flight work needs while the bot is running.
#[derive(Clone)]
struct Live {
    ctx: handlers::Context,
    /// Each in-flight task holds a clone; shutdown waits until all are dropped.
    done: mpsc::Sender<()>,
}

/// A bounded set of recently seen message ids.
#[derive(Default)]
struct RecentIds {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl RecentIds {
    /// True if `id` is new (and remembers it).
    fn insert(&mut self, id: u64) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > RECENT_IDS
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

#[async_trait]
impl EventHandler for Bot {
    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
        if let Ok(mut me) = self.me.lock() {
            *me = Some(ready.user.id);
        }
        if self.cfg.slash_commands {
            slash::register(&ctx, &self.cfg.allowed_guilds).await;
        }
        if !self.resumed.swap(true, Ordering::SeqCst) {
            self.resume_journal(ctx.clone()).await;
            if let Some(rules) = self.rules.clone() {
                self.watch_rules(ctx, rules);
            }
        }
    }

    async fn guild_create(&self, _ctx: Context, guild: Guild, _is_new: Option<bool>) {
        if self.cfg.allowed_guilds.contains(&guild.id.get()) {
            tracing::info!(guild = %guild.name, id = %guild.id, "serving guild");
        } else {
            // Invited somewhere it was not configured for: say so once, then stay silent there.
            tracing::warn!(guild = %guild.name, id = %guild.id,
                "casebot is a member of a guild that is not in discord.allowed_guilds; ignoring it");
        }
    }

    async fn message(&self, ctx: Context, msg: Message) {
        if !self.accepting.load(Ordering::SeqCst) {
            return;
        }
        let Some(incoming) = self.incoming_from_message(&ctx, &msg).await else {
            return;
        };
        let origin = Origin {
            channel: Some(msg.channel_id),
            message: Some(msg.id),
            interaction: None,
        };
        self.spawn_handle(ctx, incoming, origin);
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        if !self.accepting.load(Ordering::SeqCst) {
            return;
        }
        match interaction {
            Interaction::Command(cmd) => {
                let member = cmd.member.as_deref();
                let Some(role) = self
                    .interaction_role(&ctx, cmd.guild_id, cmd.channel_id, cmd.id.get(), member)
                    .await
                else {
                    return;
                };
                let (incoming, reply) = slash::incoming(&cmd, role);
                self.answer_interaction(ctx, incoming, reply, cmd.channel_id)
                    .await;
            }
            Interaction::Component(comp) => {
                let member = comp.member.as_ref();
                let Some(role) = self
                    .interaction_role(&ctx, comp.guild_id, comp.channel_id, comp.id.get(), member)
                    .await
                else {
                    return;
                };
                if let Some(form) = self.live().and_then(|l| {
                    handlers::click_form(
                        &l.ctx,
                        &comp.data.custom_id,
                        &comp.user.id.to_string(),
                        role,
                    )
                }) {
                    // The form is the click's answer; its submission is handled below.
                    if let Err(e) =
                        timeout(comp.create_response(&ctx.http, button::modal(&form))).await
                    {
                        tracing::warn!(custom_id = %comp.data.custom_id, "cannot open a form: {e:#}");
                    }
                    return;
                }
                match button::incoming(&comp, role) {
                    Ok((incoming, reply)) => {
                        self.answer_interaction(ctx, incoming, reply, comp.channel_id)
                            .await;
                    }
                    Err(e) => {
                        tracing::warn!(custom_id = %comp.data.custom_id, "unreadable button: {e}");
                        let answer = self.unreadable(&comp.user);
                        if let Err(e) = timeout(comp.create_response(&ctx.http, answer)).await {
                            tracing::warn!("cannot answer a click: {e:#}");
                        }
                    }
                }
            }
            Interaction::Autocomplete(cmd) => {
                let member = cmd.member.as_deref();
                let role = self
                    .interaction_role(&ctx, cmd.guild_id, cmd.channel_id, cmd.id.get(), member)
                    .await;
                let Some(live) = self.live().filter(|_| role.is_some()) else {
                    return;
                };
                let choices = slash::completions(&live.ctx, &cmd);
                let answer = serenity::all::CreateInteractionResponse::Autocomplete(choices);
                if let Err(e) = timeout(cmd.create_response(&ctx.http, answer)).await {
                    tracing::warn!(command = %cmd.data.name, "cannot suggest: {e:#}");
                }
            }
            Interaction::Modal(modal) => {
                let member = modal.member.as_ref();
                let Some(role) = self
                    .interaction_role(
                        &ctx,
                        modal.guild_id,
                        modal.channel_id,
                        modal.id.get(),
                        member,
                    )
                    .await
                else {
                    return;
                };
                match button::form_incoming(&modal, role) {
                    Ok((incoming, reply)) => {
                        self.answer_interaction(ctx, incoming, reply, modal.channel_id)
                            .await;
                    }
                    Err(e) => {
                        tracing::warn!(custom_id = %modal.data.custom_id, "unreadable form: {e}");
                        let answer = self.unreadable(&modal.user);
                        if let Err(e) = timeout(modal.create_response(&ctx.http, answer)).await {
                            tracing::warn!("cannot answer a form: {e:#}");
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

impl Bot {
    /// The role of an interaction's user, or `None` when casebot ignores the interaction (not
    /// an allowed guild or channel, or a redelivery it is already handling).
    async fn interaction_role(
        &self,
        ctx: &Context,
        guild: Option<GuildId>,
        channel: ChannelId,
        id: u64,
        member: Option<&serenity::all::Member>,
    ) -> Option<Role> {
        let guild = guild?;
        if !self.cfg.allowed_guilds.contains(&guild.get())
            || !self.channel_allowed(ctx, channel).await
            || !self.remember(id)
        {
            return None;
        }
        let roles = member.map(|m| m.roles.clone()).unwrap_or_default();
        Some(self.role_of(ctx, guild, &roles).await)
    }

    /// Acknowledge an interaction at once, then handle it like a message; the answers go to
    /// the interaction.
    async fn answer_interaction(
        &self,
        ctx: Context,
        incoming: Incoming,
        reply: slash::InteractionReply,
        channel: ChannelId,
    ) {
        if let Err(e) = reply.defer(&ctx).await {
            tracing::warn!(message_id = %incoming.message_id, "cannot acknowledge interaction: {e:#}");
        }
        let origin = Origin {
            channel: Some(channel),
            message: None,
            interaction: Some(reply),
        };
        self.spawn_handle(ctx, incoming, origin);
    }

    /// The private answer to a click or form whose custom id casebot cannot read (a button of
    /// a command this version no longer has): type the command instead.
    fn unreadable(&self, user: &serenity::all::User) -> serenity::all::CreateInteractionResponse {
        let lang = self
            .live()
            .map_or(handlers::HandlersConfig::default().default_lang, |l| {
                l.ctx.reply_lang(&user.id.to_string())
            });
        let text = handlers::render::msg(lang, "adapter.unreadable_button");
        serenity::all::CreateInteractionResponse::Message(
            serenity::all::CreateInteractionResponseMessage::new()
                .content(text)
                .ephemeral(true),
        )
    }

    /// The live context, or `None` once shutdown began.
    fn live(&self) -> Option<Live> {
        self.live.lock().ok().and_then(|g| g.clone())
    }

    /// Where handler output goes, and the in-flight token shutdown waits for; `None` once the
    /// bot is stopping.
    fn delivery(&self) -> Option<(Delivery, mpsc::Sender<()>)> {
        let Live { ctx, done } = self.live()?;
        let cfg = self.cfg.clone();
        Some((Delivery { cfg, ctx }, done))
    }

    /// Remember a message id; false if it was already seen (a redelivered event).
    fn remember(&self, id: u64) -> bool {
        self.recent.lock().map(|mut r| r.insert(id)).unwrap_or(true)
    }

    /// casebot's own user id: from READY, or asked for when a message overtakes READY (events
    /// are dispatched concurrently).
    async fn me(&self, ctx: &Context) -> Option<UserId> {
        if let Some(id) = self.me.lock().ok().and_then(|m| *m) {
            return Some(id);
        }
        match timeout(ctx.http.get_current_user()).await {
            Ok(user) => {
                if let Ok(mut me) = self.me.lock() {
                    *me = Some(user.id);
                }
                Some(user.id)
            }
            Err(e) => {
                tracing::warn!("cannot learn casebot's own user id: {e:#}");
                None
            }
        }
    }

    /// The `Incoming` for a message casebot should answer, or `None` to ignore it.
    async fn incoming_from_message(&self, ctx: &Context, msg: &Message) -> Option<Incoming> {
        let me = self.me(ctx).await?;
        if msg.author.bot || msg.author.id == me {
            return None;
        }
        let guild = msg.guild_id?;
        if !self.cfg.allowed_guilds.contains(&guild.get()) {
            return None;
        }
        let mentioned = msg.mentions.iter().any(|u| u.id == me);
        // In a case thread an upload or pasted log lines need no mention; everywhere else
        // casebot speaks only when spoken to, so ordinary chatter never gets a usage reply.
        let logs = !msg.attachments.is_empty() || diagnosis::parse::looks_like_log(&msg.content);
        let in_case_thread = logs && self.case_of_thread(msg.channel_id);
        if !(mentioned || in_case_thread) {
            return None;
        }
        // A case thread is always allowed: no second store lookup for it.
        if !in_case_thread && !self.channel_allowed(ctx, msg.channel_id).await {
            return None;
        }
        if !self.remember(msg.id.get()) {
            tracing::debug!(message_id = %msg.id, "redelivered message ignored");
            return None;
        }
        let roles = msg
            .member
            .as_ref()
            .map(|m| m.roles.clone())
            .unwrap_or_default();
        let role = self.role_of(ctx, guild, &roles).await;
        let nick = msg.member.as_ref().and_then(|m| m.nick.as_ref());
        Some(Incoming {
            message_id: msg.id.to_string(),
            author: components::author(&msg.author, nick, role),
            channel_id: msg.channel_id.get(),
            guild_id: msg.guild_id.map(|g| g.get()),
            case_hint: None,
            text: strip_mention(&msg.content, me),
            command: None,
            attachments: msg
                .attachments
                .iter()
                .map(|a| Attachment {
                    name: a.filename.clone(),
                    size: Some(u64::from(a.size)),
                    source: AttachmentSource::Url(a.url.clone()),
                })
                .collect(),
        })
    }

    fn case_of_thread(&self, channel: ChannelId) -> bool {
        self.live()
            .is_some_and(|l| matches!(handlers::is_case_thread(&l.ctx, channel.get()), Ok(true)))
    }

    /// Allowed channels, threads under them, and casebot's own case threads.
    async fn channel_allowed(&self, ctx: &Context, channel: ChannelId) -> bool {
        let allowed = &self.cfg.allowed_channels;
        if allowed.is_empty() || allowed.contains(&channel.get()) || self.case_of_thread(channel) {
            return true;
        }
        let cached = self
            .parents
            .lock()
            .ok()
            .and_then(|p| p.get(&channel).copied());
        let parent = match cached {
            Some(parent) => parent,
            None => {
                let parent = match timeout(channel.to_channel(&ctx.http)).await {
                    Ok(Channel::Guild(c)) => c.parent_id,
                    Ok(_) => None,
                    Err(e) => {
                        tracing::warn!(%channel, "cannot look up channel: {e:#}");
                        return false;
                    }
                };
                if let Ok(mut p) = self.parents.lock() {
                    p.insert(channel, parent);
                }
                parent
            }
        };
        parent.is_some_and(|p| allowed.contains(&p.get()))
    }

    /// Engineer if any of the member's roles is a configured engineer role (by id or by name).
    async fn role_of(&self, ctx: &Context, guild: GuildId, roles: &[RoleId]) -> Role {
        let wanted = &self.cfg.engineer_roles;
        if wanted
            .iter()
            .any(|r| matches!(r, RoleRef::Id(id) if roles.iter().any(|x| x.get() == *id)))
        {
            return Role::Engineer;
        }
        if !wanted.iter().any(|r| matches!(r, RoleRef::Name(_))) {
            return Role::Customer;
        }
        let mut cache = self.roles.lock().await;
        let names = match cache.entry(guild) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => match timeout(guild.roles(&ctx.http)).await {
                Ok(map) => slot.insert(
                    map.into_values()
                        .map(|r| (r.name.to_lowercase(), r.id))
                        .collect(),
                ),
                Err(e) => {
                    // Not cached, so the next message tries again.
                    tracing::warn!(%guild, "cannot fetch guild roles: {e:#}");
                    return Role::Customer;
                }
            },
        };
        let engineer = wanted.iter().any(|r| match r {
            RoleRef::Name(n) => names
                .get(&n.to_lowercase())
                .is_some_and(|id| roles.contains(id)),
            RoleRef::Id(_) => false,
        });
        if engineer {
            Role::Engineer
        } else {
            Role::Customer
        }
    }

    /// Handle one message in its own task, draining its outbox as replies are produced.
    fn spawn_handle(&self, ctx: Context, incoming: Incoming, origin: Origin) {
        let Some((bot, done)) = self.delivery() else {
            return;
        };
        tokio::spawn(async move {
            let (tx, drain) = bot.open(ctx, origin.clone());
            let message_id = incoming.message_id.clone();
            let lang = bot.ctx.reply_lang(&incoming.author.id);
            let handled = handlers::handle_message(&bot.ctx, incoming, &tx).await;
            if let Err(e) = &handled {
                tracing::error!(%message_id, "handling failed: {e:#}");
                // The generic line a user sees when casebot itself fails.
                let text = handlers::render::fmt(
                    lang,
                    "adapter.internal_error",
                    &[("reference", &message_id)],
                );
                let reply = Reply {
                    text,
                    ..Reply::default()
                };
                let _ = tx.send(Outgoing::Reply {
                    target: Target::Origin,
                    reply,
                });
            }
            drop(tx);
            let _ = drain.await;
            // Only now is the message answered: a redelivery before this point (casebot was
            // stopped mid-way) is handled again, without applying its changes twice.
            // Recording it waits for an fsync: off the async threads.
            if handled.is_ok() {
                let (ctx, id) = (bot.ctx.clone(), message_id.clone());
                let recorded = tokio::task::spawn_blocking(move || handlers::delivered(&ctx, &id))
                    .await
                    .unwrap_or_else(|e| Err(anyhow::anyhow!("task failed: {e}")));
                if let Err(e) = recorded {
                    tracing::error!(%message_id, "cannot record the message as answered: {e:#}");
                }
            }
            drop(done);
        });
    }

    /// Check the rules directory every `rules.every`; when the rule-set version changes, swap
    /// the rules in and re-diagnose open cases (changed conclusions go to the case threads). A
    /// rule set that does not compile is logged and the running one kept.
    fn watch_rules(&self, ctx: Context, rules: RulesReload) {
        let Some((bot, _)) = self.delivery() else {
            return;
        };
        let mut stopping = self.stopping.subscribe();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(rules.every);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopping.changed() => return,
                }
                let dir = rules.dir.clone();
                let loaded =
                    tokio::task::spawn_blocking(move || diagnosis::RuleSet::load_dir(&dir)).await;
                let set = match loaded {
                    Ok(Ok(set)) => set,
                    Ok(Err(e)) => {
                        tracing::warn!("rules in {} not reloaded: {e:#}", rules.dir.display());
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!("rules reload task failed: {e}");
                        continue;
                    }
                };
                if set.version() == bot.ctx.rule_set().version() {
                    continue;
                }
                tracing::info!(
                    version = set.version(),
                    "rules changed: re-diagnosing open cases"
                );
                let (tx, drain) = bot.open(ctx.clone(), Origin::none());
                if let Err(e) = handlers::reload_rules(&bot.ctx, set, &tx).await {
                    tracing::error!("re-diagnosis after a rules change failed: {e:#}");
                }
                drop(tx);
                let _ = drain.await;
            }
        });
    }

    /// After a restart: resume journaled diagnoses; their replies go to the case threads. On a
    /// store shared by several processes, keep this process's job leases alive and take over
    /// the jobs of processes that died, for as long as the bot runs.
    async fn resume_journal(&self, ctx: Context) {
        let Some((bot, done)) = self.delivery() else {
            return;
        };
        let mut stopping = self.stopping.subscribe();
        tokio::spawn(async move {
            let (tx, drain) = bot.open(ctx.clone(), Origin::none());
            if let Err(e) = handlers::resume(&bot.ctx, &tx).await {
                tracing::error!("resuming journaled work failed: {e:#}");
            }
            drop(tx);
            let _ = drain.await;
            drop(done);
            let Some(lease) = bot.ctx.store.lease() else {
                return;
            };
            // Renewals run on their own, so a long diagnosis taken over below never lets this
            // process's leases lapse.
            let store = Arc::clone(&bot.ctx.store);
            let mut renew_stopping = stopping.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(lease / 3);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = renew_stopping.changed() => return,
                    }
                    let store = Arc::clone(&store);
                    match tokio::task::spawn_blocking(move || store.journal_renew()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!("cannot renew job leases: {e}"),
                        Err(e) => tracing::warn!("job lease task failed: {e}"),
                    }
                }
            });
            let mut tick = tokio::time::interval(lease / 3);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopping.changed() => return,
                }
                let (tx, drain) = bot.open(ctx.clone(), Origin::none());
                if let Err(e) = handlers::take_over(&bot.ctx, &tx).await {
                    tracing::error!("taking over unfinished work failed: {e:#}");
                }
                drop(tx);
                let _ = drain.await;
            }
        });
    }
}

/// Remove casebot's own mention (`<@id>` or `<@!id>`) and trim.
fn strip_mention(content: &str, me: UserId) -> String {
    content
        .replace(&format!("<@{me}>"), "")
        .replace(&format!("<@!{me}>"), "")
        .trim()
        .to_owned()
}

/// Run a REST call with [`REST_TIMEOUT`].
async fn timeout<T>(fut: impl Future<Output = serenity::Result<T>>) -> Result<T, anyhow::Error> {
    match tokio::time::timeout(REST_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(anyhow::anyhow!(
            "Discord did not answer within {REST_TIMEOUT:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mention_is_stripped_in_both_forms() {
        let me = UserId::new(42);
        assert_eq!(strip_mention("<@42> open printer", me), "open printer");
        assert_eq!(strip_mention("hey <@!42>  help ", me), "hey   help");
        assert_eq!(strip_mention("<@43> help", me), "<@43> help");
    }

    #[test]
    fn recent_ids_forget_the_oldest() {
        let mut recent = RecentIds::default();
        assert!(recent.insert(1));
        assert!(!recent.insert(1));
        for id in 2..=(RECENT_IDS as u64 + 1) {
            assert!(recent.insert(id));
        }
        assert!(recent.insert(1), "id 1 should have been forgotten");
    }
}
