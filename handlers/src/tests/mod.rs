//! Handler tests: whole messages through `handle_message` against MemStore and SledStore, with a
//! fake chat that records every `Outgoing`, and a fake engine (the real one is exercised by the
//! console integration test). Downloads go to a loopback server on port 0.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use diagnosis::report::{BundleSummary, CodeInfo, Device, Evidence, Finding, SCHEMA, Step};
use diagnosis::{Diagnosis, DiagnosisError, Lang, Limits, RuleSet};
use store::{CaseId, CaseStatus, CaseStore, DeviceStatus, MemStore, SledStore};

use crate::*;

/// Reads a bundle (plain text in tests) and diagnoses markers in it, like the real rules would.
fn fake_engine(
    path: &Path,
    _name: &str,
    _: &RuleSet,
    _: &Limits,
    observer: &dyn diagnosis::Observer,
) -> Result<Diagnosis, DiagnosisError> {
    let text = std::fs::read_to_string(path).map_err(|e| DiagnosisError::Unreadable {
        path: path.to_path_buf(),
        reason: format!("not a text bundle: {e}"),
    })?;
    if text.starts_with("SLOW") {
        // A large bundle of 12 files: long enough for progress updates in tests.
        for n in 0..12 {
            observer.progress(&diagnosis::Progress {
                files_unpacked: 12,
                bytes_unpacked: 12 << 20,
                files_read: n,
                files_total: 12,
                bytes_read: (n as u64) << 20,
                bytes_total: 12 << 20,
                current: format!("Logs/CBS/CbsPersist_{n:02}.log"),
            });
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    if text.starts_with("JUNK") {
        return Err(DiagnosisError::Unreadable {
            path: path.to_path_buf(),
            reason: "not a zip archive".into(),
        });
    }
    let name = text
        .lines()
        .find_map(|l| l.strip_prefix("COMPUTERNAME="))
        .map(str::to_string);
    let mut findings = Vec::new();
    if text.contains("Winmgmt") {
        findings.push(finding(
            "service-disabled-advanced-installer",
            "ai-service-disabled",
            "sc config winmgmt start= auto",
            "0x80070422",
        ));
    }
    if text.contains("0x80071ab1") {
        findings.push(finding(
            "txf-transaction-log-corrupt",
            "txf-transaction-log-corrupt",
            "fsutil resource setautoreset true C:\\",
            "0x80071ab1",
        ));
    }
    Ok(Diagnosis {
        schema: SCHEMA.into(),
        bundle: BundleSummary {
            name: "bundle".into(),
            bytes: text.len() as u64,
            ..Default::default()
        },
        device: Device {
            name,
            os_build: Some("19041.4046".into()),
            updates: vec!["KB5034763".into()],
        },
        findings,
        unexplained: vec![],
        rules_version: "test".into(),
    })
}

/// A finding of the built-in `rule` (its title; a made-up step).
fn finding(root: &str, rule: &str, cmd: &str, code: &str) -> Finding {
    let title = crate::render::tests::rules()
        .rule(rule)
        .map(|r| r.title.clone())
        .unwrap_or_default();
    Finding {
        root_cause: root.into(),
        rule: rule.into(),
        title,
        confidence: 0.9,
        subject: Default::default(),
        codes: vec![CodeInfo {
            code: code.into(),
            name: String::new(),
            meaning: String::new(),
        }],
        evidence: vec![Evidence {
            file: "Logs/CBS/CBS.log".into(),
            line: 14,
            text: format!("Failed with {code}"),
        }],
        steps: vec![Step {
            text: "Run".into(),
            command: Some(cmd.into()),
        }],
        confirm: vec![],
        vars: Default::default(),
    }
}

/// A chat that records every outgoing item, over a store that lives as long as it.
struct FakeChat {
    ctx: Context,
    dir: tempfile::TempDir,
    next: std::sync::atomic::AtomicU64,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Mem,
    Sled,
}

impl FakeChat {
    fn new(kind: Kind) -> FakeChat {
        Self::with_config(kind, HandlersConfig::default())
    }

    fn with_config(kind: Kind, config: HandlersConfig) -> FakeChat {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn CaseStore> = match kind {
            Kind::Mem => Arc::new(MemStore::with_bundle_dir(dir.path().join("bundles"))),
            Kind::Sled => Arc::new(SledStore::open(dir.path().join("store")).unwrap()),
        };
        let ctx = Context::new(store, crate::render::tests::rules().clone(), config)
            .with_engine(Arc::new(fake_engine));
        FakeChat {
            ctx,
            dir,
            next: 0.into(),
        }
    }

    /// Write a bundle file and return it as a console attachment.
    fn bundle(&self, name: &str, content: &str) -> Attachment {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        Attachment {
            name: name.into(),
            size: Some(content.len() as u64),
            source: AttachmentSource::Path(path),
        }
    }

    fn msg(
        &self,
        role: Role,
        case: Option<&CaseId>,
        text: &str,
        files: Vec<Attachment>,
    ) -> Incoming {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = match role {
            Role::Engineer => "eng",
            Role::Customer => "cust",
        };
        Incoming {
            message_id: format!("m{n}"),
            author: Author {
                id: name.into(),
                name: name.into(),
                role,
            },
            channel_id: 42,
            guild_id: None,
            case_hint: case.cloned(),
            text: text.into(),
            command: None,
            attachments: files,
        }
    }

    async fn deliver(&self, msg: Incoming) -> Vec<Outgoing> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let message_id = msg.message_id.clone();
        tokio::time::timeout(Duration::from_secs(20), handle_message(&self.ctx, msg, &tx))
            .await
            .expect("handler timed out")
            .unwrap();
        crate::delivered(&self.ctx, &message_id).unwrap();
        drop(tx);
        let mut out = Vec::new();
        while let Some(o) = rx.recv().await {
            // Every message any test produces respects the chat limit.
            if let Outgoing::Reply { reply, .. } = &o {
                assert!(
                    reply.text.chars().count() <= MAX_MESSAGE_CHARS,
                    "{}",
                    reply.text
                );
            }
            out.push(o);
        }
        out
    }

    async fn send(
        &self,
        role: Role,
        case: Option<&CaseId>,
        text: &str,
        files: Vec<Attachment>,
    ) -> Vec<Outgoing> {
        self.deliver(self.msg(role, case, text, files)).await
    }

    fn case(&self, id: &CaseId) -> store::Case {
        self.ctx.store.get(id).unwrap().unwrap()
    }
}

/// All reply texts (and file contents) of a batch, joined.
fn text(out: &[Outgoing]) -> String {
    let mut s = String::new();
    for o in out {
        if let Outgoing::Reply { reply, .. } = o {
            s.push_str(&reply.text);
            s.push('\n');
            for f in &reply.files {
                s.push_str(&String::from_utf8_lossy(&f.bytes));
                s.push('\n');
            }
        }
    }
    s
}

fn switched(out: &[Outgoing]) -> CaseId {
    out.iter()
        .find_map(|o| match o {
            Outgoing::SwitchCase(id) => Some(id.clone()),
            _ => None,
        })
        .expect("no SwitchCase")
}

const DEVICE1: &str = "COMPUTERNAME=wcc0021z675842\nCBS Failed execution of queue item Installer: WMI, Winmgmt disabled (1058)\n";
const DEVICE2: &str =
    "COMPUTERNAME=WCC0021Z673965\nCBS Failed 0x80071ab1 ERROR_LOG_GROWTH_FAILED\n";

async fn founding_case(kind: Kind) {
    let chat = FakeChat::new(kind);
    let out = chat
        .send(
            Role::Customer,
            None,
            "open KB5034763 安装后回滚，共 2 台设备 密码: Xy7#kq9",
            vec![],
        )
        .await;
    let id = switched(&out);
    let t = text(&out);
    assert!(
        t.contains("问题定义") && t.contains("KB5034763") && t.contains("wevtutil"),
        "{t}"
    );
    assert!(
        t.contains("⚠️"),
        "the poster is warned about the secret: {t}"
    );
    assert!(
        out.iter()
            .any(|o| matches!(o, Outgoing::CreateThread { case_id, .. } if *case_id == id))
    );

    let b1 = chat.bundle("device1.zip", DEVICE1);
    let out = chat.send(Role::Customer, Some(&id), "日志", vec![b1]).await;
    let t = text(&out);
    assert!(
        matches!(out.first(), Some(Outgoing::Typing)),
        "typing first: {out:?}"
    );
    assert!(
        t.contains("正在诊断") && t.contains("高级安装程序依赖的服务被禁用"),
        "{t}"
    );
    assert!(t.contains("device wcc0021z675842 fixed"), "{t}");
    assert!(
        !t.contains("CBS.log:14"),
        "customers get no evidence lines: {t}"
    );

    let b2 = chat.bundle("logs2.zip", DEVICE2);
    let out = chat.send(Role::Engineer, Some(&id), "", vec![b2]).await;
    let t = text(&out);
    assert!(
        t.contains("`Logs/CBS/CBS.log:14`") && t.contains("90%"),
        "engineer sees evidence: {t}"
    );
    assert!(t.contains("fsutil resource setautoreset true C:\\"), "{t}");
    assert_eq!(chat.case(&id).status, CaseStatus::AwaitingVerification);

    let t = text(&chat.send(Role::Customer, Some(&id), "fixed", vec![]).await);
    assert!(
        t.contains("WCC0021Z673965") && t.contains("wcc0021z675842"),
        "asks which device: {t}"
    );
    chat.send(
        Role::Customer,
        Some(&id),
        "device wcc0021z675842 fixed",
        vec![],
    )
    .await;
    let t = text(&chat.send(Role::Customer, Some(&id), "close", vec![]).await);
    assert!(t.contains("close"), "customers are refused politely: {t}");
    assert_ne!(chat.case(&id).status, CaseStatus::Closed);
    let t = text(&chat.send(Role::Engineer, Some(&id), "close", vec![]).await);
    assert!(
        t.contains("close force"),
        "unverified device needs confirmation: {t}"
    );
    chat.send(
        Role::Customer,
        Some(&id),
        "设备 WCC0021Z673965 已修复",
        vec![],
    )
    .await;
    assert_eq!(chat.case(&id).status, CaseStatus::Resolved);

    let out = chat.send(Role::Engineer, Some(&id), "close", vec![]).await;
    let summary_posts: Vec<&Target> = out
        .iter()
        .filter_map(|o| match o {
            Outgoing::Reply { target, .. } => Some(target),
            _ => None,
        })
        .collect();
    assert!(summary_posts.contains(&&Target::Case(id.clone())));
    assert!(summary_posts.contains(&&Target::SummaryChannel));
    let t = text(&out);
    for needle in [
        "问题定义",
        "问题总结",
        "排查详情",
        "高级安装程序依赖的服务被禁用",
        "系统盘上的 NTFS 事务日志（TxF/KTM）已损坏",
    ] {
        assert!(t.contains(needle), "{needle} missing: {t}");
    }
    let case = chat.case(&id);
    assert_eq!(case.status, CaseStatus::Closed);
    assert!(
        case.devices
            .values()
            .all(|d| d.status == DeviceStatus::Fixed)
    );

    let t = text(&chat.send(Role::Engineer, None, "cases", vec![]).await);
    assert!(t.contains(id.as_str()) && t.contains("问题总结"), "{t}");
    let all = text(&chat.send(Role::Engineer, Some(&id), "export", vec![]).await);
    let stored = serde_json::to_string(&chat.ctx.store.list().unwrap()).unwrap();
    for haystack in [&all, &stored, &t] {
        assert!(!haystack.contains("Xy7#kq9"), "secret leaked");
    }
}

#[tokio::test]
async fn founding_case_on_memstore() {
    founding_case(Kind::Mem).await;
}

#[tokio::test]
async fn founding_case_on_sledstore() {
    founding_case(Kind::Sled).await;
}

#[tokio::test]
async fn redelivered_message_is_handled_once() {
    for kind in [Kind::Mem, Kind::Sled] {
        let chat = FakeChat::new(kind);
        let msg = chat.msg(Role::Engineer, None, "open printer queue stuck", vec![]);
        assert!(!chat.deliver(msg.clone()).await.is_empty());
        assert!(chat.deliver(msg).await.is_empty(), "{kind:?}");
        assert_eq!(chat.ctx.store.list().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn unknown_input_is_never_silent() {
    let chat = FakeChat::new(Kind::Mem);
    let t = text(&chat.send(Role::Customer, None, "/frobnicate", vec![]).await);
    assert!(t.contains("help"), "{t}");
    let t = text(
        &chat
            .send(Role::Customer, None, "device pc1 perhaps", vec![])
            .await,
    );
    assert!(t.contains("device <name> fixed|failing"), "{t}");
    let t = text(&chat.send(Role::Customer, None, "status", vec![]).await);
    assert!(t.contains("open <"), "no case: {t}");
    chat.ctx.set_user_lang("cust", Lang::En);
    let t = text(&chat.send(Role::Customer, None, "hello there", vec![]).await);
    assert!(t.contains("help"), "{t}");
}

#[tokio::test]
async fn unreadable_bundle_gets_a_clear_reply_and_changes_nothing() {
    let chat = FakeChat::new(Kind::Sled);
    let id = switched(
        &chat
            .send(Role::Engineer, None, "open rollback", vec![])
            .await,
    );
    let junk = chat.bundle("broken.zip", "JUNK bytes");
    let t = text(
        &chat
            .send(Role::Engineer, Some(&id), "device:pc9", vec![junk])
            .await,
    );
    assert!(
        t.contains("broken.zip") && t.contains("not a zip archive"),
        "{t}"
    );
    assert!(chat.case(&id).devices.is_empty());
    assert!(chat.ctx.store.journal_list().unwrap().is_empty());
    assert_eq!(
        stored_bundles(chat.dir.path()),
        0,
        "the unreadable bundle is not kept"
    );
}

/// Content-addressed bundle files (64 hex digits) anywhere below `dir`.
fn stored_bundles(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            n += stored_bundles(&p);
        } else {
            let name = e.file_name().to_string_lossy().into_owned();
            n += usize::from(name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
    n
}

#[tokio::test]
async fn device_named_in_the_message_wins_and_recurrence_is_noted() {
    let chat = FakeChat::new(Kind::Mem);
    let first = switched(
        &chat
            .send(Role::Engineer, None, "open case one", vec![])
            .await,
    );
    chat.send(
        Role::Engineer,
        Some(&first),
        "",
        vec![chat.bundle("a.zip", DEVICE1)],
    )
    .await;
    let second = switched(
        &chat
            .send(Role::Engineer, None, "open case two", vec![])
            .await,
    );
    let b = chat.bundle("b.zip", "Winmgmt disabled again\n");
    let t = text(
        &chat
            .send(
                Role::Engineer,
                Some(&second),
                "logs device:branch-pc7",
                vec![b],
            )
            .await,
    );
    assert!(
        t.contains("在其他 1 个案例中出现过") && t.contains(first.as_str()),
        "{t}"
    );
    assert!(chat.case(&second).devices.contains_key("branch-pc7"));
    assert_eq!(stored_bundles(chat.dir.path()), 2, "both bundles are kept");
}

#[tokio::test]
async fn split_reopen_and_forced_close() {
    let chat = FakeChat::new(Kind::Mem);
    let id = switched(
        &chat
            .send(Role::Engineer, None, "open two problems", vec![])
            .await,
    );
    chat.send(
        Role::Engineer,
        Some(&id),
        "",
        vec![chat.bundle("1.zip", DEVICE1)],
    )
    .await;
    chat.send(
        Role::Engineer,
        Some(&id),
        "",
        vec![chat.bundle("2.zip", DEVICE2)],
    )
    .await;
    let t = text(
        &chat
            .send(Role::Customer, Some(&id), "split WCC0021Z673965", vec![])
            .await,
    );
    assert!(t.contains("split"), "{t}");
    let t = text(
        &chat
            .send(
                Role::Engineer,
                Some(&id),
                "split WCC0021Z673965 -- TxF on C:",
                vec![],
            )
            .await,
    );
    assert!(t.contains("TxF on C:"), "{t}");
    assert_eq!(chat.case(&id).devices.len(), 1);
    assert_eq!(chat.ctx.store.list().unwrap().len(), 2);
    chat.send(Role::Engineer, Some(&id), "close force", vec![])
        .await;
    assert_eq!(chat.case(&id).status, CaseStatus::Closed);
    let t = text(
        &chat
            .send(
                Role::Customer,
                Some(&id),
                "device wcc0021z675842 fixed",
                vec![],
            )
            .await,
    );
    assert!(t.contains("reopen"), "{t}");
    chat.send(Role::Engineer, Some(&id), "reopen", vec![]).await;
    assert_eq!(chat.case(&id).status, CaseStatus::AwaitingVerification);
}

#[tokio::test]
async fn journaled_diagnosis_is_resumed() {
    let chat = FakeChat::new(Kind::Sled);
    let id = switched(
        &chat
            .send(Role::Engineer, None, "open resumed", vec![])
            .await,
    );
    let stored = chat.ctx.store.put_bundle(&mut DEVICE2.as_bytes()).unwrap();
    chat.ctx
        .store
        .journal_add(&store::JournalEntry {
            id: "j1".into(),
            case_id: id.clone(),
            device: String::new(),
            bundle_sha256: stored.sha256,
            bundle_name: "dev2.zip".into(),
            author: "cust".into(),
            accepted_at: 1,
        })
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    resume(&chat.ctx, &tx).await.unwrap();
    drop(tx);
    let mut out = Vec::new();
    while let Some(o) = rx.recv().await {
        out.push(o);
    }
    assert!(text(&out).contains("dev2.zip"));
    assert!(chat.case(&id).devices.contains_key("WCC0021Z673965"));
    assert!(chat.ctx.store.journal_list().unwrap().is_empty());
}

mod chunks;
mod download;
mod props;

/// A SledStore chat whose engine has no rules, and a case whose device `pc2` sent a CBS.log
/// with a TxF failure: diagnosed, but with no finding.
async fn txf_case_diagnosed_without_rules() -> (FakeChat, CaseId) {
    let mut chat = FakeChat::new(Kind::Sled);
    let empty = RuleSet::from_files(&[]).unwrap();
    chat.ctx = Context::new(chat.ctx.store.clone(), empty, HandlersConfig::default());
    chat.ctx.set_user_lang("eng", Lang::En);
    let id = switched(&chat.send(Role::Engineer, None, "open TxF", vec![]).await);
    let cbs = "2024-02-14 10:20:09, Error                 CBS    Exec: Failed to commit CBS transaction. [HRESULT = 0x80071ab1 - ERROR_LOG_GROWTH_FAILED]\n";
    let t = text(
        &chat
            .send(
                Role::Engineer,
                Some(&id),
                "device:pc2",
                vec![chat.bundle("CBS.log", cbs)],
            )
            .await,
    );
    assert!(
        !t.contains("txf-transaction-log-corrupt"),
        "no rules, no finding: {t}"
    );
    (chat, id)
}

/// Real engine and rules: a rule-set change re-diagnoses open cases and posts what changed.
#[tokio::test]
async fn rule_change_rediagnoses_open_cases_with_the_real_engine() {
    let (chat, id) = txf_case_diagnosed_without_rules().await;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let builtin = RuleSet::builtin().unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        reload_rules(&chat.ctx, builtin, &tx),
    )
    .await
    .unwrap()
    .unwrap();
    let builtin = RuleSet::builtin().unwrap();
    reload_rules(&chat.ctx, builtin, &tx).await.unwrap();
    drop(tx);
    let mut out = Vec::new();
    while let Some(o) = rx.recv().await {
        out.push(o);
    }
    let t = text(&out);
    assert_eq!(
        t.matches("The diagnosis rules were updated").count(),
        1,
        "posted once: {t}"
    );
    assert!(
        t.contains("txf-transaction-log-corrupt") && t.contains("`pc2`"),
        "{t}"
    );
    assert!(out.iter().all(
        |o| !matches!(o, Outgoing::Reply { target, .. } if *target != Target::Case(id.clone()))
    ));
    let top = chat.case(&id).devices["pc2"].diagnosis.clone().unwrap();
    assert_eq!(top.top().unwrap().root_cause, "txf-transaction-log-corrupt");
}

/// A restart with other rules (an upgraded casebot): `resume` re-diagnoses the open cases whose
/// stored conclusions came from the old rules, once; the next restart has nothing to redo.
#[tokio::test]
async fn restart_with_new_rules_rediagnoses_stale_cases_once() {
    let (chat, id) = txf_case_diagnosed_without_rules().await;

    let restarted = Context::new(
        chat.ctx.store.clone(),
        RuleSet::builtin().unwrap(),
        HandlersConfig::default(),
    );
    let resume_once = |ctx: Context| async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::time::timeout(Duration::from_secs(30), resume(&ctx, &tx))
            .await
            .unwrap()
            .unwrap();
        drop(tx);
        let mut out = Vec::new();
        while let Some(o) = rx.recv().await {
            out.push(o);
        }
        text(&out)
    };
    let first = resume_once(restarted.clone()).await;
    assert!(
        first.contains("txf-transaction-log-corrupt") && first.contains("`pc2`"),
        "{first}"
    );
    let top = chat.case(&id).devices["pc2"].diagnosis.clone().unwrap();
    assert_eq!(top.top().unwrap().root_cause, "txf-transaction-log-corrupt");
    let second = resume_once(restarted).await;
    assert!(
        second.is_empty(),
        "nothing stale after the first run: {second}"
    );
}

#[tokio::test]
async fn long_diagnoses_show_progress_and_do_not_block_other_cases() {
    let mut chat = FakeChat::with_config(
        Kind::Mem,
        HandlersConfig {
            max_concurrent_diagnoses: 1,
            ..Default::default()
        },
    );
    chat.ctx.progress_after = Duration::from_millis(100);
    chat.ctx.progress_every = Duration::from_millis(150);
    chat.ctx.typing_every = Duration::from_millis(40);
    chat.ctx.set_user_lang("eng", Lang::En);
    let slow_case = switched(&chat.send(Role::Engineer, None, "open slow", vec![]).await);
    let other = switched(&chat.send(Role::Engineer, None, "open other", vec![]).await);
    let chat = Arc::new(chat);
    let slow = {
        let chat = Arc::clone(&chat);
        let b = chat.bundle("big.zip", "SLOW\nWinmgmt\n");
        let id = slow_case.clone();
        tokio::spawn(async move {
            chat.send(Role::Engineer, Some(&id), "device:pc1", vec![b])
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    let t = text(
        &chat
            .send(Role::Engineer, Some(&other), "status", vec![])
            .await,
    );
    assert!(t.contains(other.as_str()));
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "status waited for the slow diagnosis"
    );
    let out = slow.await.unwrap();
    let typing = out.iter().filter(|o| matches!(o, Outgoing::Typing)).count();
    assert!(typing >= 3, "typing refreshed while working: {out:?}");
    // The status message is posted, edited with the progress, then replaced by the answer.
    let status = out
        .iter()
        .find_map(|o| match o {
            Outgoing::Reply { reply, .. } if reply.text.contains("Received `big.zip`") => {
                reply.status.clone()
            }
            _ => None,
        })
        .expect("the acknowledgement is a status message");
    let edits: Vec<&str> = out
        .iter()
        .filter_map(|o| match o {
            Outgoing::Progress { key, text } if *key == status => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(edits.len() >= 2, "{out:?}");
    assert!(
        edits[0].starts_with("⏳ Diagnosing `big.zip`") && edits[0].contains(" of 12 files"),
        "{edits:?}"
    );
    assert!(
        edits.iter().all(|e| e.contains("Logs/CBS/CbsPersist_")),
        "{edits:?}"
    );
    let answer = out
        .iter()
        .find_map(|o| match o {
            Outgoing::Reply { reply, .. }
                if reply.status.as_ref() == Some(&status)
                    && reply.text.contains("needs a service that is disabled") =>
            {
                Some(reply.text.clone())
            }
            _ => None,
        })
        .expect("the answer replaces the status message");
    assert!(
        answer.starts_with("Received `big.zip` — diagnosed in"),
        "{answer}"
    );
}

#[tokio::test]
async fn secrets_in_notes_and_verdicts_are_never_stored_or_repeated() {
    let chat = FakeChat::new(Kind::Sled);
    let id = switched(
        &chat
            .send(Role::Engineer, None, "open secrets", vec![])
            .await,
    );
    chat.send(
        Role::Engineer,
        Some(&id),
        "",
        vec![chat.bundle("a.zip", DEVICE1)],
    )
    .await;
    let token = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.abcdefghijklmnopqrstuvwxyz0123";
    let mut seen = String::new();
    for line in [
        format!("note bot token {token}"),
        "note share at https://bank:S3cret!@files.example.com/up".to_string(),
        "device wcc0021z675842 fixed pwd Abc#123 was needed".to_string(),
    ] {
        let out = chat.send(Role::Engineer, Some(&id), &line, vec![]).await;
        let t = text(&out);
        assert!(t.contains("⚠️"), "{line}: {t}");
        seen.push_str(&t);
    }
    seen.push_str(&text(
        &chat.send(Role::Engineer, Some(&id), "close", vec![]).await,
    ));
    seen.push_str(&text(
        &chat.send(Role::Engineer, Some(&id), "export", vec![]).await,
    ));
    seen.push_str(&serde_json::to_string(&chat.case(&id)).unwrap());
    for secret in [token, "S3cret!", "Abc#123"] {
        assert!(!seen.contains(secret), "{secret} leaked");
    }
    assert!(seen.contains("https://[REDACTED]@files.example.com/up"));
}

/// Pasted log lines are stored as a file for re-diagnosis: the stored file holds the redacted
/// text, never the secret.
#[tokio::test]
async fn a_secret_in_pasted_log_lines_is_not_in_the_stored_paste() {
    let chat = FakeChat::new(Kind::Sled);
    let id = switched(&chat.send(Role::Engineer, None, "open paste", vec![]).await);
    let paste = "```\n2024-02-14 10:01:02, Error CBS Failed execution of queue item Installer: WMI \
                 ([HRESULT = 0x80070422])\nnet use \\\\srv\\logs /user:bank password=S3cr3t!\n```";
    let out = chat.send(Role::Engineer, Some(&id), paste, vec![]).await;
    assert!(text(&out).contains("⚠️"), "{}", text(&out));
    let case = chat.case(&id);
    let shas: Vec<String> = case
        .devices
        .values()
        .flat_map(|d| d.bundles.iter().map(|b| b.sha256.clone()))
        .collect();
    assert_eq!(shas.len(), 1, "the paste is stored: {:?}", case.devices);
    let path = chat
        .ctx
        .store
        .bundle_path(&shas[0])
        .unwrap()
        .expect("stored");
    let stored = std::fs::read_to_string(path).unwrap();
    assert!(stored.contains("0x80070422"), "{stored}");
    assert!(
        !stored.contains("S3cr3t!") && stored.contains("[REDACTED]"),
        "{stored}"
    );
}

/// A typed command (a slash command's options) takes the same path as typed text: redacted,
/// checked against the table's permission, and handled.
#[tokio::test]
async fn typed_commands_are_redacted_and_permission_checked() {
    let chat = FakeChat::new(Kind::Mem);
    let id = switched(&chat.send(Role::Engineer, None, "open typed", vec![]).await);
    let typed = |role, cmd: command::Command| {
        let mut msg = chat.msg(role, Some(&id), "", vec![]);
        msg.command = Some(cmd);
        msg
    };
    let note = command::from_options(
        "note",
        &[(
            "text",
            command::OptionValue::Text("upload with password=S3cr3t! please".into()),
        )],
    );
    let out = chat.deliver(typed(Role::Customer, note)).await;
    assert!(text(&out).contains("⚠️"), "{}", text(&out));
    let stored = serde_json::to_string(&chat.case(&id)).unwrap();
    assert!(!stored.contains("S3cr3t!") && stored.contains("password=[REDACTED]"));

    let close = command::from_options("close", &[("force", command::OptionValue::Bool(true))]);
    let out = chat.deliver(typed(Role::Customer, close.clone())).await;
    assert!(text(&out).contains("close"), "{}", text(&out));
    assert_ne!(chat.case(&id).status, CaseStatus::Closed);
    chat.deliver(typed(Role::Engineer, close)).await;
    assert_eq!(chat.case(&id).status, CaseStatus::Closed);
}

/// A store that counts case loads, over a MemStore.
struct CountingStore {
    inner: MemStore,
    gets: std::sync::atomic::AtomicUsize,
}

impl CountingStore {
    fn gets(&self) -> usize {
        self.gets.swap(0, std::sync::atomic::Ordering::SeqCst)
    }
}

impl CaseStore for CountingStore {
    fn new_case_id(&self) -> Result<CaseId, store::StoreError> {
        self.inner.new_case_id()
    }
    fn create(
        &self,
        case: store::Case,
        message_id: Option<&str>,
    ) -> Result<store::Applied<store::Case>, store::StoreError> {
        self.inner.create(case, message_id)
    }
    fn created_by(&self, message_id: &str) -> Result<Option<CaseId>, store::StoreError> {
        self.inner.created_by(message_id)
    }
    fn get(&self, id: &CaseId) -> Result<Option<store::Case>, store::StoreError> {
        self.gets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.get(id)
    }
    fn update(
        &self,
        id: &CaseId,
        message_id: Option<&str>,
        f: &mut dyn FnMut(&mut store::Case),
    ) -> Result<store::Applied<store::Case>, store::StoreError> {
        self.inner.update(id, message_id, f)
    }
    fn is_processed(&self, message_id: &str) -> Result<bool, store::StoreError> {
        self.inner.is_processed(message_id)
    }
    fn mark_processed(&self, message_id: &str) -> Result<bool, store::StoreError> {
        self.inner.mark_processed(message_id)
    }
    fn list(&self) -> Result<Vec<store::Case>, store::StoreError> {
        self.inner.list()
    }
    fn latest(
        &self,
        keep: &mut dyn FnMut(&store::Case) -> bool,
        limit: usize,
    ) -> Result<Vec<store::Case>, store::StoreError> {
        self.inner.latest(keep, limit)
    }
    fn recurrence(
        &self,
        conclusion: &store::Conclusion,
        this: &CaseId,
        limit: usize,
    ) -> Result<store::Recurrence, store::StoreError> {
        self.inner.recurrence(conclusion, this, limit)
    }
    fn case_by_thread(&self, thread_id: u64) -> Result<Option<CaseId>, store::StoreError> {
        self.inner.case_by_thread(thread_id)
    }
    fn put_bundle(
        &self,
        data: &mut dyn std::io::Read,
    ) -> Result<store::StoredBundle, store::StoreError> {
        self.inner.put_bundle(data)
    }
    fn bundle_path(&self, sha256: &str) -> Result<Option<std::path::PathBuf>, store::StoreError> {
        self.inner.bundle_path(sha256)
    }
    fn journal_add(&self, entry: &store::JournalEntry) -> Result<(), store::StoreError> {
        self.inner.journal_add(entry)
    }
    fn journal_remove(&self, id: &str) -> Result<(), store::StoreError> {
        self.inner.journal_remove(id)
    }
    fn delete_bundle(&self, sha256: &str) -> Result<bool, store::StoreError> {
        self.inner.delete_bundle(sha256)
    }
    fn delete_case(&self, id: &CaseId) -> Result<bool, store::StoreError> {
        self.inner.delete_case(id)
    }
    fn journal_list(&self) -> Result<Vec<store::JournalEntry>, store::StoreError> {
        self.inner.journal_list()
    }
    fn export(&self, out: &mut dyn std::io::Write) -> Result<u64, store::StoreError> {
        self.inner.export(out)
    }
    fn import(&self, input: &mut dyn std::io::BufRead) -> Result<u64, store::StoreError> {
        self.inner.import(input)
    }
    fn flush(&self) -> Result<(), store::StoreError> {
        self.inner.flush()
    }
}

#[tokio::test]
async fn a_message_loads_its_case_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(CountingStore {
        inner: MemStore::with_bundle_dir(dir.path().join("bundles")),
        gets: 0.into(),
    });
    let ctx = Context::new(store.clone(), RuleSet::default(), HandlersConfig::default())
        .with_engine(Arc::new(fake_engine));
    let chat = FakeChat {
        ctx,
        dir,
        next: 0.into(),
    };
    let id = switched(&chat.send(Role::Engineer, None, "open once", vec![]).await);
    let bundle = chat.bundle("a.zip", DEVICE1);
    for (line, files) in [
        ("status", vec![]),
        ("lang en", vec![]),
        ("", vec![bundle]),
        ("diagnose", vec![]),
        ("device wcc0021z675842 fixed", vec![]),
        ("export", vec![]),
    ] {
        store.gets();
        let out = chat.send(Role::Engineer, Some(&id), line, files).await;
        assert!(!text(&out).is_empty(), "{line}");
        assert_eq!(store.gets(), 1, "`{line}` loaded its case more than once");
    }
}
