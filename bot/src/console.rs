//! `casebot console`: the bot in a terminal, on the same store and handlers as Discord.
//! OWNER: handlers helper.
//!
//! Every stdin line is one message addressed to casebot; `file:<path>` tokens become
//! attachments. Replies are printed; reply files are written to `<data>/files/` and their paths
//! printed. After `open` the console works inside the new case; `case <id>` switches.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use diagnosis::{Lang, RuleSet};
use handlers::{
    Attachment, AttachmentSource, Author, Context, HandlersConfig, Incoming, Outgoing, Role, Target,
};
use store::{CaseId, SledStore};
use tokio::io::AsyncBufReadExt;

use crate::cli::ConsoleArgs;

/// A console session's fixed settings.
struct Session {
    ctx: Context,
    author: Author,
    files_dir: PathBuf,
    current: Option<CaseId>,
    counter: u64,
    interactive: bool,
}

fn parse_role(s: &str) -> anyhow::Result<Role> {
    match s.to_ascii_lowercase().as_str() {
        // Empty when started as the no-token fallback (`ConsoleArgs::default()`).
        "" | "engineer" | "eng" => Ok(Role::Engineer),
        "customer" | "cust" => Ok(Role::Customer),
        other => anyhow::bail!("--as must be `engineer` or `customer`, not `{other}`"),
    }
}

/// Run the console until end of input.
pub fn run(config: Option<&Path>, args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    let role = parse_role(&args.role)?;
    let lang = args
        .lang
        .as_deref()
        .map(str::parse::<Lang>)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--lang: {e}"))?;
    let data = crate::config::Config::store_dir(config, args.data)?;
    let store =
        SledStore::open(&data).with_context(|| format!("opening store {}", data.display()))?;
    let rules = RuleSet::builtin().context("loading the built-in rules")?;
    let user = args
        .user
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "console".into());
    let ctx = Context::new(Arc::new(store), rules, HandlersConfig::default());
    if let Some(l) = lang {
        ctx.set_user_lang(&user, l);
    }
    let mut session = Session {
        ctx,
        author: Author {
            id: user.clone(),
            name: user,
            role,
        },
        files_dir: data.join("files"),
        current: None,
        counter: 0,
        interactive: std::io::stdin().is_terminal(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(session.run())?;
    Ok(ExitCode::SUCCESS)
}

/// Split `file:<path>` tokens off a line.
pub fn parse_line(line: &str) -> (String, Vec<Attachment>) {
    let mut words = Vec::new();
    let mut attachments = Vec::new();
    for tok in line.split_whitespace() {
        match tok.strip_prefix("file:").filter(|p| !p.is_empty()) {
            Some(p) => {
                let path = PathBuf::from(p);
                attachments.push(Attachment {
                    name: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| p.to_string()),
                    size: std::fs::metadata(&path).ok().map(|m| m.len()),
                    source: AttachmentSource::Path(path),
                });
            }
            None => words.push(tok),
        }
    }
    (words.join(" "), attachments)
}

impl Session {
    async fn run(&mut self) -> anyhow::Result<()> {
        println!(
            "casebot console — {} ({}). Type `help` for commands, `open <title>` to start a case; `file:<path>` attaches a file; Ctrl-D exits.",
            self.author.name,
            match self.author.role {
                Role::Engineer => "engineer",
                Role::Customer => "customer",
            }
        );
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        handlers::resume(&self.ctx, &tx).await?;
        while let Ok(o) = rx.try_recv() {
            self.show(o)?;
        }
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        loop {
            self.prompt()?;
            let Some(line) = lines.next_line().await.context("reading stdin")? else {
                break;
            };
            if line.trim().is_empty() {
                continue;
            }
            self.message(&line).await?;
        }
        self.ctx.store.flush()?;
        Ok(())
    }

    fn prompt(&self) -> anyhow::Result<()> {
        if self.interactive {
            let here = self
                .current
                .as_ref()
                .map(CaseId::as_str)
                .unwrap_or("casebot");
            print!("{here}> ");
            std::io::stdout().flush()?;
        }
        Ok(())
    }

    fn message_id(&mut self) -> String {
        self.counter += 1;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("console-{}-{nanos}-{}", std::process::id(), self.counter)
    }

    async fn message(&mut self, line: &str) -> anyhow::Result<()> {
        let (text, attachments) = parse_line(line);
        let msg = Incoming {
            message_id: self.message_id(),
            author: self.author.clone(),
            channel_id: 0,
            case_hint: self.current.clone(),
            text,
            attachments,
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let ctx = self.ctx.clone();
        // Print progress while the handler works.
        let work = tokio::spawn(async move { handlers::handle_message(&ctx, msg, &tx).await });
        while let Some(o) = rx.recv().await {
            self.show(o)?;
        }
        match work.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("casebot: {e:#}"),
            Err(e) => eprintln!("casebot: handler task failed: {e}"),
        }
        Ok(())
    }

    fn show(&mut self, o: Outgoing) -> anyhow::Result<()> {
        match o {
            Outgoing::Reply { target, reply } => {
                let tag = match &target {
                    Target::Origin => String::new(),
                    Target::Case(id) if Some(id) == self.current.as_ref() => String::new(),
                    Target::Case(id) => format!("[{id}] "),
                    Target::SummaryChannel => "[summary channel] ".to_string(),
                };
                if !reply.text.is_empty() {
                    println!("{tag}{}\n", reply.text);
                }
                for f in reply.files {
                    let path = self.write_file(&f.name, &f.bytes)?;
                    println!("{tag}📎 {} → {}\n", f.name, path.display());
                }
            }
            Outgoing::SwitchCase(id) => self.current = Some(id),
            Outgoing::CreateThread { .. } | Outgoing::Typing => {}
        }
        std::io::stdout().flush()?;
        Ok(())
    }

    fn write_file(&self, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
        std::fs::create_dir_all(&self.files_dir)
            .with_context(|| format!("creating {}", self.files_dir.display()))?;
        // Names come from handlers (case ids, device names); keep only the last component.
        let safe = Path::new(name)
            .file_name()
            .map(|n| n.to_owned())
            .unwrap_or_default();
        let path = self.files_dir.join(safe);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_tokens_become_attachments() {
        let (text, att) = parse_line("here device:pc1 file:/tmp/x/device1.zip thanks");
        assert_eq!(text, "here device:pc1 thanks");
        assert_eq!(att.len(), 1);
        assert_eq!(att[0].name, "device1.zip");
        assert_eq!(
            att[0].source,
            AttachmentSource::Path("/tmp/x/device1.zip".into())
        );
    }

    #[test]
    fn roles() {
        assert_eq!(parse_role("customer").unwrap(), Role::Customer);
        assert!(parse_role("admin").is_err());
        assert_eq!(parse_role("").unwrap(), Role::Engineer);
    }
}
