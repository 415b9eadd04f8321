//! Integration tests: secrets inside an uploaded bundle (connection strings, account keys, SAS
//! signatures, bearer tokens, credentials in URLs) never reach a reader. A real zip bundle goes
//! through the real handlers, engine and sled store; the chat replies (with the engineer's report
//! file), the close summary, the `export` files, the stored case record and the web view (served
//! on 127.0.0.1, fetched over HTTP) are checked for `[REDACTED]` and for the absence of every
//! secret. The diagnosis itself (root causes, rules, confidences, codes) stays what the engine
//! finds in the unmasked bundle.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use handlers::link::{LinkClaims, LinkKey, sign};
use handlers::{Context, HandlersConfig, Incoming, Outgoing, Role};
use store::{CaseId, CaseStore, SledStore};

use crate::util::incoming;

const KEY: &str = "test-redaction-link-key-0123456789abcdef012345";

/// Every secret the bundle's log lines carry.
const SECRETS: [&str; 7] = [
    "Wsus!2024",
    "Pr0xy!pw",
    "q9Zx+Lm0/Ab==",
    "AbC%2Bd3f%3D",
    "Cs~8Q.x",
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9",
    "Kk8s+0abc=",
];

/// A CBS.log whose quoted lines (the 1058 failure, an unexplained error) and neighbours carry
/// secrets, zipped under the device's folder as a collector would.
fn secret_bundle(dir: &Path) -> PathBuf {
    let log = "\
2024-02-14 10:20:01, Info                  CBS    Starting TrustedInstaller initialization.
2024-02-14 10:20:01, Info                  CBS    WSUS source https://svc_wsus:Pr0xy!pw@wsus.bank.local:8531/ Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9
2024-02-14 10:20:02, Info                  CBS    Startup: Processing advanced operation queue
2024-02-14 10:20:05, Info                  CSI    00000004 Begin executing advanced installer phase 38 index 4 (sequence 44)
    Installer name: 'WMI'
2024-02-14 10:20:06, Error      [0x01806a] CSI    00000007 (F) Failed execution of queue item Installer: WMI ({6bb8cf6d-16a1-4f08-a1d5-3fe1b6d0f6d5}) with HRESULT HRESULT_FROM_WIN32(1058). Server=db01;User ID=sa;Password=Wsus!2024;Encrypt=true
2024-02-14 10:20:07, Error                 CBS    Failed to upload logs to https://st.blob.core.windows.net/logs?sv=2021-08-06&sig=AbC%2Bd3f%3D&se=2024-03-01 AccountKey=q9Zx+Lm0/Ab==; client_secret=Cs~8Q.x [HRESULT = 0x80072f8f - ERROR_INTERNET_SECURE_FAILURE]
2024-02-14 10:20:07, Info                  CBS    Endpoint=sb://bus.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=Kk8s+0abc=
2024-02-14 10:20:08, Error                 CBS    Startup: Failed to process advanced operation queue, startupPhase: 0.  A rollback transaction will be created. [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]
";
    for s in SECRETS {
        assert!(log.contains(s), "the bundle carries {s}");
    }
    let path = dir.join("wcc-secrets-01.zip");
    let file = std::fs::File::create(&path).expect("create zip");
    let mut zip = zip::ZipWriter::new(file);
    zip.start_file::<_, ()>(
        "wcc-secrets-01/Logs/CBS/CBS.log",
        zip::write::FileOptions::default(),
    )
    .expect("zip entry");
    zip.write_all(log.as_bytes()).expect("zip write");
    zip.finish().expect("zip finish");
    path
}

fn message(case: Option<&CaseId>, n: u32, text: &str, files: Vec<PathBuf>) -> Incoming {
    incoming(format!("redact-{n}"), Role::Engineer, case, text, files)
}

/// Everything the handlers pushed so far: reply texts and the content of attached files.
fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Outgoing>) -> String {
    let mut out = String::new();
    while let Ok(o) = rx.try_recv() {
        if let Outgoing::Reply { reply, .. } = o {
            out.push_str(&reply.text);
            out.push('\n');
            for f in reply.files {
                out.push_str(&format!("===== {} =====\n", f.name));
                out.push_str(&String::from_utf8_lossy(&f.bytes));
                out.push('\n');
            }
        }
    }
    out
}

#[track_caller]
fn assert_masked(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} shows the secret {s}:\n{text}");
    }
    assert!(text.contains("[REDACTED]"), "{what} shows no mask:\n{text}");
}

/// GET `path` from the web view on `addr` (HTTP/1.1, connection closed after the answer).
async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).await.expect("send");
    let mut body = Vec::new();
    conn.read_to_end(&mut body).await.expect("read");
    let text = String::from_utf8_lossy(&body).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "GET {path}: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_in_bundle_log_lines_are_masked_in_replies_summary_export_and_web_view() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = secret_bundle(dir.path());
    let store: Arc<dyn CaseStore> =
        Arc::new(SledStore::open(dir.path().join("data")).expect("store"));
    let rules = diagnosis::RuleSet::builtin().expect("rules");
    let ctx = Context::new(Arc::clone(&store), rules, HandlersConfig::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();

    let open = "open KB5034763 rolls back on one device";
    handlers::handle_message(&ctx, message(None, 1, open, vec![]), &tx)
        .await
        .expect("open");
    let case = store.list().expect("list")[0].id.clone();
    drain(&mut rx);
    let upload = message(Some(&case), 2, "", vec![bundle.clone()]);
    handlers::handle_message(&ctx, upload, &tx)
        .await
        .expect("upload");
    let reply = drain(&mut rx);
    assert!(
        reply.contains("service-disabled-advanced-installer"),
        "{reply}"
    );
    // The engineer's reply quotes the 1058 line and the unexplained upload failure, and its
    // report file quotes every evidence line.
    assert!(reply.contains("HRESULT_FROM_WIN32(1058)"), "{reply}");
    assert!(reply.contains("Password=[REDACTED]"), "{reply}");
    assert!(reply.contains("AccountKey=[REDACTED]"), "{reply}");
    assert_masked("the diagnosis reply and report", &reply);

    // The same findings as the engine gives on the unmasked bundle.
    let raw = diagnosis::diagnose_path(&bundle, &ctx.rule_set(), &diagnosis::Limits::default())
        .expect("engine");
    let stored = store.get(&case).expect("get").expect("case");
    let recorded = stored
        .devices
        .values()
        .find_map(|d| d.diagnosis.clone())
        .expect("a diagnosis");
    let shape = |d: &diagnosis::Diagnosis| {
        d.findings
            .iter()
            .map(|f| {
                let codes: Vec<&str> = f.codes.iter().map(|c| c.code.as_str()).collect();
                format!("{} {} {:.3} {codes:?}", f.root_cause, f.rule, f.confidence)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&recorded), shape(&raw));
    assert_eq!(recorded.unexplained.len(), raw.unexplained.len());
    let record = serde_json::to_string(&stored).expect("json");
    assert_masked("the stored case record", &record);

    for (n, text) in [(3, "close force fixed by enabling Winmgmt"), (4, "export")] {
        handlers::handle_message(&ctx, message(Some(&case), n, text, vec![]), &tx)
            .await
            .expect(text);
    }
    let closed = drain(&mut rx);
    assert!(closed.contains("-summary.md"), "{closed}");
    assert!(closed.contains(".json"), "the export's JSON file: {closed}");
    assert_masked("the close summary and the export", &closed);

    // The web view: the case page and the evidence view (which reads ±20 lines of context from
    // the stored bundle, so it also shows the lines no finding quoted).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = web::WebState::new(
        Arc::clone(&store),
        LinkKey::from_text(KEY).expect("key"),
        diagnosis::Limits::default(),
        Arc::clone(&ctx.rules),
    );
    let server = tokio::spawn(web::serve(listener, state, std::future::pending()));
    let expires = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + Duration::from_secs(600).as_secs();
    let claims = LinkClaims {
        case: Some(case.clone()),
        user: "li.wei".into(),
        role: Role::Engineer,
        expires,
    };
    let token = sign(&LinkKey::from_text(KEY).expect("key"), &claims).expect("sign");
    let page = get(addr, &format!("/case/{case}?t={token}")).await;
    for s in SECRETS {
        assert!(!page.contains(s), "the case page shows {s}");
    }
    assert!(
        page.contains("service-disabled-advanced-installer"),
        "{page}"
    );
    let device = stored.devices.keys().next().expect("device").clone();
    let evidence = get(addr, &format!("/case/{case}/evidence/{device}?t={token}")).await;
    assert!(evidence.contains("HRESULT_FROM_WIN32(1058)"), "{evidence}");
    assert_masked("the evidence view", &evidence);
    server.abort();
}
