//! Delivery: performs the handlers' `Outgoing` items for one incoming message (or for resumed
//! work) as Discord REST calls, in the order the handler produced them. A status message (a
//! diagnosis's "Diagnosing …") is remembered by its key: progress edits it, and the answer
//! carrying the same key replaces it.

use handlers::{Outgoing, Reply, Target};
use serenity::all::{
    AutoArchiveDuration, Channel, ChannelId, ChannelType, Context, CreateAttachment, CreateMessage,
    CreateThread, EditMessage, MessageId,
};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use super::slash::InteractionReply;
use super::timeout;
use crate::config::DiscordConfig;

/// Where the replies of one incoming message go.
#[derive(Debug, Clone)]
pub(super) struct Origin {
    /// Channel or thread of the message; `None` for resumed work, which has no origin.
    pub(super) channel: Option<ChannelId>,
    /// The message to hang a new case thread on (none for slash commands).
    pub(super) message: Option<MessageId>,
    /// A slash command answers through its interaction.
    pub(super) interaction: Option<InteractionReply>,
}

impl Origin {
    /// For work with no originating message (resumed after a restart).
    pub(super) fn none() -> Origin {
        Origin {
            channel: None,
            message: None,
            interaction: None,
        }
    }
}

/// What a spawned task needs: cheap clones, no serenity state.
#[derive(Clone)]
pub(super) struct Delivery {
    pub(super) cfg: DiscordConfig,
    pub(super) ctx: handlers::Context,
}

impl Delivery {
    /// An outbox for one piece of handler work and the task delivering what is put into it;
    /// drop the outbox, then await the task, to know everything was delivered.
    pub(super) fn open(
        &self,
        ctx: Context,
        origin: Origin,
    ) -> (handlers::Outbox, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (tx, tokio::spawn(self.clone().drain(ctx, origin, rx)))
    }

    /// Perform the handlers' `Outgoing` items in order, until the handler drops its sender.
    pub(super) async fn drain(
        self,
        ctx: Context,
        mut origin: Origin,
        mut rx: mpsc::UnboundedReceiver<Outgoing>,
    ) {
        let mut answered = false;
        let mut typing: Option<tokio::task::JoinHandle<()>> = None;
        // Status messages posted so far, by key, for progress edits.
        let mut statuses: HashMap<String, Status> = HashMap::new();
        let every = self.ctx.progress_every;
        while let Some(item) = rx.recv().await {
            match item {
                Outgoing::Reply { target, reply } => {
                    let key = reply.status.clone();
                    if let Some(status) = key.as_ref().and_then(|k| statuses.get_mut(k)) {
                        // The answer replaces the status message that showed the progress,
                        // no sooner after the last edit than any other edit.
                        if let Some(wait) = status.wait(every) {
                            tokio::time::sleep(wait).await;
                        }
                        status.edit(&ctx, reply).await;
                        continue;
                    }
                    let (sent_to_origin, posted) = self.reply(&ctx, &origin, target, reply).await;
                    answered |= sent_to_origin;
                    if let (Some(key), Some((channel, message))) = (key, posted) {
                        let status = Status {
                            channel,
                            message,
                            posted: Instant::now(),
                            edited: None,
                        };
                        statuses.insert(key, status);
                    }
                }
                Outgoing::Progress { key, text } => {
                    // Only a status message posted in a channel is edited (an interaction's
                    // answer shows no progress), and at most once every `progress_every`: a
                    // progress line that comes sooner is dropped, a newer one follows.
                    // The first edit also waits until the status message has been shown for
                    // `progress_after`: the handler counts from when it queued the message,
                    // and a busy Discord may have shown it later.
                    if let Some(status) = statuses.get_mut(&key)
                        && status.wait(every).is_none()
                    {
                        if let Some(wait) = status.first_wait(self.ctx.progress_after) {
                            tokio::time::sleep(wait).await;
                        }
                        let reply = Reply {
                            text,
                            ..Reply::default()
                        };
                        status.edit(&ctx, reply).await;
                    }
                }
                Outgoing::CreateThread { case_id, name } => {
                    if let Some(thread) = self.create_thread(&ctx, &origin, &name).await {
                        if let Err(e) =
                            handlers::bind_thread(&self.ctx, &case_id, thread.get()).await
                        {
                            tracing::error!(case_id = %case_id.as_str(), "cannot bind thread: {e:#}");
                        }
                        // A slash command's own answer stays in the interaction.
                        if origin.interaction.is_none() {
                            origin.channel = Some(thread);
                            origin.message = None;
                        }
                    }
                }
                Outgoing::Typing => {
                    if let (None, Some(channel)) = (&typing, origin.channel) {
                        typing = Some(tokio::spawn(keep_typing(ctx.clone(), channel)));
                    }
                }
                Outgoing::SwitchCase(_) => {}
            }
        }
        if let Some(typing) = typing {
            typing.abort();
        }
        if let Some(reply) = &origin.interaction
            && !answered
        {
            let lang = self.ctx.reply_lang(&reply.user_id());
            reply.finish(&ctx, lang).await;
        }
    }

    /// Post one reply: whether it went to the origin, and the message posted in a channel (an
    /// interaction's follow-up is not kept).
    async fn reply(
        &self,
        ctx: &Context,
        origin: &Origin,
        target: Target,
        reply: Reply,
    ) -> (bool, Option<(ChannelId, MessageId)>) {
        let channel = match &target {
            Target::Origin => None,
            Target::Case(case_id) => match handlers::case_thread(&self.ctx, case_id) {
                Ok(thread) => thread.map(ChannelId::new),
                Err(e) => {
                    tracing::warn!(case_id = %case_id.as_str(), "cannot load case: {e:#}");
                    None
                }
            },
            Target::SummaryChannel => match self.cfg.summary_channel {
                Some(id) => Some(ChannelId::new(id)),
                None => return (false, None),
            },
        };
        match (channel, &origin.interaction, origin.channel) {
            (Some(channel), _, _) => {
                let posted = post(ctx, channel, reply).await;
                (false, posted.map(|m| (channel, m)))
            }
            (None, Some(interaction), _) => {
                interaction.followup(ctx, reply).await;
                (true, None)
            }
            (None, None, Some(channel)) => {
                let posted = post(ctx, channel, reply).await;
                (true, posted.map(|m| (channel, m)))
            }
            (None, None, None) => {
                tracing::warn!(?target, "reply with nowhere to go dropped");
                (false, None)
            }
        }
    }

    /// Create the thread of a new case: on the message when there is one, else in the channel.
    async fn create_thread(&self, ctx: &Context, origin: &Origin, name: &str) -> Option<ChannelId> {
        let channel = origin.channel?;
        let name: String = name.chars().take(100).collect();
        let err = match try_create_thread(ctx, channel, origin.message, &name).await {
            Ok(thread) => return Some(thread),
            Err(e) => e,
        };
        // A message inside a thread cannot carry a thread of its own: open the case thread in
        // the parent channel instead.
        if let Ok(Channel::Guild(c)) = timeout(channel.to_channel(&ctx.http)).await
            && let Some(parent) = c.parent_id
        {
            match try_create_thread(ctx, parent, None, &name).await {
                Ok(thread) => return Some(thread),
                Err(e) => tracing::error!(%parent, "cannot create thread {name:?}: {e:#}"),
            }
        }
        tracing::error!(%channel, "cannot create thread {name:?}: {err:#}");
        None
    }
}

/// One attempt at creating a thread, hung on `message` if given.
async fn try_create_thread(
    ctx: &Context,
    channel: ChannelId,
    message: Option<MessageId>,
    name: &str,
) -> anyhow::Result<ChannelId> {
    let builder = CreateThread::new(name).auto_archive_duration(AutoArchiveDuration::OneWeek);
    let thread = match message {
        Some(message) => {
            timeout(channel.create_thread_from_message(&ctx.http, message, builder)).await?
        }
        None => {
            let builder = builder.kind(ChannelType::PublicThread);
            timeout(channel.create_thread(&ctx.http, builder)).await?
        }
    };
    Ok(thread.id)
}

/// Discord shows "casebot is typing…" for about 10 seconds; renew it until the work is done
/// (the task is aborted when the handler finishes).
async fn keep_typing(ctx: Context, channel: ChannelId) {
    loop {
        if let Err(e) = timeout(channel.broadcast_typing(&ctx.http)).await {
            tracing::debug!(%channel, "typing indicator failed: {e:#}");
        }
        tokio::time::sleep(Duration::from_secs(8)).await;
    }
}

/// Send a message with its files; failures are logged (the user cannot be told either).
async fn post(ctx: &Context, channel: ChannelId, reply: Reply) -> Option<MessageId> {
    let rows = super::components::reply_rows(&reply);
    let mut message = CreateMessage::new();
    if !reply.text.is_empty() {
        message = message.content(reply.text);
    }
    if !rows.is_empty() {
        message = message.components(rows);
    }
    for file in reply.files {
        message = message.add_file(CreateAttachment::bytes(file.bytes, file.name));
    }
    match timeout(channel.send_message(&ctx.http, message)).await {
        Ok(posted) => Some(posted.id),
        Err(e) => {
            tracing::error!(%channel, "cannot post reply: {e:#}");
            None
        }
    }
}

/// A status message posted for a piece of work, and when its last edit finished.
struct Status {
    channel: ChannelId,
    message: MessageId,
    /// When posting it finished.
    posted: Instant,
    edited: Option<Instant>,
}

impl Status {
    /// Before its first edit: how long to wait so that it has been shown for `after`; `None`
    /// when it may be edited now.
    fn first_wait(&self, after: Duration) -> Option<Duration> {
        if self.edited.is_some() {
            return None;
        }
        after.checked_sub(self.posted.elapsed())
    }

    /// How long to wait before the next edit so that edits are `every` apart, counted from
    /// the end of the last one; `None` when it may be edited now.
    fn wait(&self, every: Duration) -> Option<Duration> {
        let since = self.edited?.elapsed();
        (since < every).then(|| every - since)
    }

    /// Edit the message to show `reply` (its text, buttons, menu and files).
    async fn edit(&mut self, ctx: &Context, reply: Reply) {
        let rows = super::components::reply_rows(&reply);
        let mut edit = EditMessage::new().content(reply.text).components(rows);
        for file in reply.files {
            edit = edit.new_attachment(CreateAttachment::bytes(file.bytes, file.name));
        }
        let (channel, message) = (self.channel, self.message);
        if let Err(e) = timeout(channel.edit_message(&ctx.http, message, edit)).await {
            tracing::error!(%channel, %message, "cannot edit a status message: {e:#}");
        }
        self.edited = Some(Instant::now());
    }
}
