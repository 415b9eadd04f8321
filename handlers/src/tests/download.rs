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
