//! Attachment downloads against a loopback HTTP server on port 0.

use super::*;
use axum::body::Body;
use axum::routing::get;

async fn server() -> String {
    let app = axum::Router::new()
        .route("/ok.zip", get(|| async { DEVICE1 }))
        .route(
            "/big.zip",
            get(|| async { axum::response::Response::new(Body::from(vec![b'x'; 4096])) }),
        )
        .route(
            "/stream.zip",
            get(|| async {
                let chunks = (0..8).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 1024]));
                Body::from_stream(futures::stream::iter(chunks))
            }),
        )
        .route(
            "/slow.zip",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://127.0.0.1:{}", addr.port())
}

fn chat() -> FakeChat {
    FakeChat::with_config(
        Kind::Mem,
        HandlersConfig {
            download: DownloadConfig {
                allowed_hosts: vec!["127.0.0.1".into()],
                max_bytes: 2048,
                timeout: Duration::from_millis(800),
            },
            ..Default::default()
        },
    )
}

fn url(base: &str, path: &str, size: Option<u64>) -> Attachment {
    Attachment {
        name: path.trim_start_matches('/').into(),
        size,
        source: AttachmentSource::Url(format!("{base}{path}")),
    }
}

async fn attach(chat: &FakeChat, id: &CaseId, att: Attachment) -> String {
    chat.ctx.set_user_lang("eng", Lang::En);
    text(&chat.send(Role::Engineer, Some(id), "", vec![att]).await)
}

#[tokio::test]
async fn downloads_are_checked_and_failures_store_nothing() {
    let base = server().await;
    let chat = chat();
    let id = switched(
        &chat
            .send(Role::Engineer, None, "open downloads", vec![])
            .await,
    );
    let cases = [
        ("/missing.zip", None, "(404)"),
        ("/big.zip", None, "2 KB limit"),
        ("/big.zip", Some(1 << 30), "limit"),
        ("/stream.zip", None, "limit"),
        ("/slow.zip", None, "longer than"),
    ];
    for (path, size, needle) in cases {
        let t = attach(&chat, &id, url(&base, path, size)).await;
        assert!(t.contains(needle), "{path}: {t}");
    }
    let other = base.replace("127.0.0.1", "localhost");
    let t = attach(&chat, &id, url(&other, "/ok.zip", None)).await;
    assert!(t.contains("`localhost` are not accepted"), "{t}");
    assert!(chat.case(&id).devices.is_empty());
    assert!(chat.ctx.store.journal_list().unwrap().is_empty());

    let t = attach(&chat, &id, url(&base, "/ok.zip", None)).await;
    assert!(t.contains("needs a service that is disabled"), "{t}");
    let case = chat.case(&id);
    let bundle = &case.devices["wcc0021z675842"].bundles[0];
    let path = chat.ctx.store.bundle_path(&bundle.sha256).unwrap().unwrap();
    assert_eq!(std::fs::read_to_string(path).unwrap(), DEVICE1);
}

/// The names in `dir` (none when it does not exist yet).
fn names_in(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_download_is_adopted_into_the_store_once_and_a_failed_one_leaves_no_file() {
    use sha2::{Digest, Sha256};
    let base = server().await;
    let chat = chat();
    let bundles = chat.dir.path().join("bundles");
    let id = switched(&chat.send(Role::Engineer, None, "open adopt", vec![]).await);

    // Failing downloads, one of them after part of the body was received: no file at all.
    for path in ["/stream.zip", "/missing.zip", "/slow.zip"] {
        attach(&chat, &id, url(&base, path, None)).await;
        assert_eq!(names_in(&bundles), Vec::<String>::new(), "{path}");
    }

    // A download is stored under its sha256, with no temporary file left anywhere.
    let sha256 = format!("{:x}", Sha256::digest(DEVICE1.as_bytes()));
    let t = attach(&chat, &id, url(&base, "/ok.zip", None)).await;
    assert!(t.contains("needs a service that is disabled"), "{t}");
    let stored = chat.ctx.store.bundle_path(&sha256).unwrap().unwrap();
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), DEVICE1);
    assert_eq!(names_in(&bundles), vec![sha256.clone()]);

    // The same bundle again is recognised; the store keeps one copy.
    let t = attach(&chat, &id, url(&base, "/ok.zip", None)).await;
    assert!(t.contains("again"), "{t}");
    assert_eq!(names_in(&bundles), vec![sha256]);
}
