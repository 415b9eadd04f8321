//! `casebot console`: the bot in a terminal, on the same store and handlers as Discord.
//! Every stdin line is one message addressed to casebot; `file:<path>` tokens become
//! attachments. Pasted log lines are the exception: consecutive log lines (with their indented
//! continuation lines), or a ``` code block, are gathered into one message until a blank line,
//! a line that is not a log line, the end of input, or — at a terminal — a short pause. Replies are printed; reply files are written to `<data>/files/` and their paths
//! printed. A long diagnosis shows its progress on one updating line when stdout is a terminal. After `open` the console works inside the new case; `case <id>` switches.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use diagnosis::{Lang, RuleSet};
use handlers::{
    Attachment, AttachmentSource, Author, Context, HandlersConfig, Incoming, Outgoing, Role, Target,
};
use store::CaseId;
use tokio::io::AsyncBufReadExt;

use clap::Args;

/// `casebot console` arguments.
#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Speak as an engineer (full diagnosis) or a customer (guided replies).
    #[arg(long = "as", value_name = "ROLE", default_value = "engineer")]
    pub role: String,
    /// User name shown in the case timeline.
    #[arg(long)]
    pub user: Option<String>,
    /// Reply language (zh or en).
    #[arg(long)]
    pub lang: Option<String>,
    /// Store directory.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The web view.
    #[command(flatten)]
    pub web: crate::web_cmd::WebArgs,
}

impl Default for ConsoleArgs {
    /// What `cargo run` without a subcommand uses: an engineer in the default store.
    fn default() -> Self {
        ConsoleArgs {
            role: "engineer".into(),
            user: None,
            lang: None,
            data: None,
            web: crate::web_cmd::WebArgs::default(),
        }
    }
}

/// A console session's fixed settings.
struct Session {
    ctx: Context,
    author: Author,
    files_dir: PathBuf,
    current: Option<CaseId>,
    counter: u64,
    interactive: bool,
    /// stdout is a terminal: progress is shown on one updating line.
    live_progress: bool,
    /// A progress line is on screen (to be cleared before the next output).
    progress_shown: bool,
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
    let store_cfg = crate::config::Config::offline_store(config, args.data)?;
    let data = store_cfg.data_dir.clone();
    let store = store_cfg.open().context("opening the store")?;
    handlers::disk::claim_temp_root_or_warn();
    let rules = RuleSet::builtin().context("loading the built-in rules")?;
    let user = args
        .user
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "console".into());
    let web = crate::web_cmd::WebServe::prepare(&args.web)?;
    let mut ctx = Context::new(Arc::clone(&store), rules, HandlersConfig::default());
    if let Some(web) = &web {
        ctx = ctx.with_links(web.issuer());
    }
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
        live_progress: std::io::stdout().is_terminal(),
        progress_shown: false,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let web = match web {
            Some(web) => Some(web.start(
                store,
                diagnosis::Limits::default(),
                Arc::clone(&session.ctx.rules),
                Arc::clone(&session.ctx.disk),
            )?),
            None => None,
        };
        let result = session.run().await;
        if let Some(web) = web {
            web.stop().await;
        }
        result
    })?;
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

/// At a terminal, a paste is over when no line follows within this time.
const PASTE_IDLE: Duration = Duration::from_millis(300);

/// What a line does to a paste being gathered.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// The line is part of the paste; more may follow.
    More,
    /// The line ends the paste and is part of it (a closing fence) or nothing (a blank line).
    Complete,
    /// The line is not part of the paste: it is the next message.
    End,
}

/// Log lines pasted into the console, gathered into one message.
#[derive(Debug)]
struct Paste {
    lines: Vec<String>,
    /// Inside a ``` block: every line belongs to it until the closing fence.
    fenced: bool,
}

fn is_fence(line: &str) -> bool {
    line.trim_start().starts_with("```")
}

impl Paste {
    /// A paste starting with `line`: an opening fence or a log line.
    fn start(line: &str) -> Option<Paste> {
        let fenced = is_fence(line);
        (fenced || diagnosis::parse::looks_like_log(line)).then(|| Paste {
            lines: vec![line.to_owned()],
            fenced,
        })
    }

    fn push(&mut self, line: &str) -> Step {
        if self.fenced {
            self.lines.push(line.to_owned());
            if is_fence(line) {
                return Step::Complete;
            }
            return Step::More;
        }
        if line.trim().is_empty() {
            return Step::Complete;
        }
        // Indented lines continue the record above (CBS continuation lines).
        let continuation = line.starts_with([' ', '\t']);
        if continuation || is_fence(line) || diagnosis::parse::looks_like_log(line) {
            self.fenced = is_fence(line);
            self.lines.push(line.to_owned());
            return Step::More;
        }
        Step::End
    }

    fn into_text(self) -> String {
        self.lines.join("\n")
    }
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
        // A line read past the end of a paste: the next message.
        let mut ahead: Option<String> = None;
        loop {
            let line = match ahead.take() {
                Some(line) => line,
                None => {
                    self.prompt()?;
                    match lines.next_line().await.context("reading stdin")? {
                        Some(line) => line,
                        None => break,
                    }
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            let Some(mut paste) = Paste::start(&line) else {
                self.message(&line).await?;
                continue;
            };
            ahead = self.gather(&mut lines, &mut paste).await?;
            self.send(paste.into_text(), Vec::new()).await?;
        }
        self.ctx.store.flush()?;
        Ok(())
    }

    /// Read the rest of a paste; returns the line that ended it, if it is not part of it.
    async fn gather(
        &self,
        lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::io::Stdin>>,
        paste: &mut Paste,
    ) -> anyhow::Result<Option<String>> {
        loop {
            let next = if self.interactive {
                // Pasted lines arrive together; a pause means the paste is over. `next_line`
                // is cancel-safe, so a line arriving later is read by the next call.
                match tokio::time::timeout(PASTE_IDLE, lines.next_line()).await {
                    Ok(line) => line.context("reading stdin")?,
                    Err(_) => return Ok(None),
                }
            } else {
                lines.next_line().await.context("reading stdin")?
            };
            let Some(line) = next else { return Ok(None) };
            match paste.push(&line) {
                Step::More => {}
                Step::Complete => return Ok(None),
                Step::End => return Ok(Some(line)),
            }
        }
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
        self.send(text, attachments).await
    }

    async fn send(&mut self, text: String, attachments: Vec<Attachment>) -> anyhow::Result<()> {
        let message_id = self.message_id();
        let msg = Incoming {
            message_id: message_id.clone(),
            author: self.author.clone(),
            channel_id: 0,
            guild_id: None,
            case_hint: self.current.clone(),
            text,
            command: None,
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
            // A store that cannot be written any more still answers what only reads; the
            // replies said so where it mattered.
            Ok(Ok(())) => {
                if let Err(e) = handlers::delivered(&self.ctx, &message_id) {
                    eprintln!("casebot: cannot record the message as answered: {e:#}");
                }
            }
            Ok(Err(e)) => eprintln!("casebot: {e:#}"),
            Err(e) => eprintln!("casebot: handler task failed: {e}"),
        }
        Ok(())
    }

    fn show(&mut self, o: Outgoing) -> anyhow::Result<()> {
        if let Outgoing::Progress { text, .. } = &o {
            // One line, rewritten in place; piped output gets only the answers.
            if self.live_progress {
                print!("\r\x1b[2K{text}");
                self.progress_shown = true;
                std::io::stdout().flush()?;
            }
            return Ok(());
        }
        if std::mem::take(&mut self.progress_shown) {
            print!("\r\x1b[2K");
        }
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
            Outgoing::CreateThread { .. } | Outgoing::Typing | Outgoing::Progress { .. } => {}
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

    fn gather(lines: &[&str]) -> (String, Vec<Step>) {
        let mut paste = Paste::start(lines[0]).expect("a paste starts");
        let steps = lines[1..].iter().map(|l| paste.push(l)).collect();
        (paste.into_text(), steps)
    }

    const CSI: &str = "Error [0x01806a] CSI 00000007 (F) Failed execution of queue item Installer: WMI ({6bb8cf6d-16a1-4f08-a1d5-3fe1b6d0f6d5}) with HRESULT HRESULT_FROM_WIN32(1058).";
    const CBS: &str = "Error CBS Startup: Failed to process advanced operation queue, startupPhase: 0. [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]";

    #[test]
    fn log_lines_and_continuations_are_one_paste_until_a_non_log_line() {
        let (text, steps) = gather(&[CSI, "    Installer name: 'WMI'", CBS, "status"]);
        assert_eq!(steps, [Step::More, Step::More, Step::End]);
        assert_eq!(text, format!("{CSI}\n    Installer name: 'WMI'\n{CBS}"));
        let (_, steps) = gather(&[CSI, "", CBS]);
        assert_eq!(steps[0], Step::Complete);
    }

    #[test]
    fn a_code_block_is_one_paste_up_to_its_closing_fence() {
        let (text, steps) = gather(&["```", CSI, "", "some words", "```"]);
        assert_eq!(steps, [Step::More, Step::More, Step::More, Step::Complete]);
        assert!(
            text.starts_with("```\n") && text.ends_with("\n```"),
            "{text}"
        );
        assert!(Paste::start("status").is_none());
        assert!(Paste::start("open KB5034763 fails").is_none());
    }

    #[test]
    fn roles() {
        assert_eq!(parse_role("customer").unwrap(), Role::Customer);
        assert!(parse_role("admin").is_err());
        assert_eq!(parse_role("").unwrap(), Role::Engineer);
    }
}
