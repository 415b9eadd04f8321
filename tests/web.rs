//! Integration tests: the read-only web view in a real headless Chromium (docs/ARCHITECTURE.md,
//! "The web view"). The founding case is seeded into a sled store through the real handlers and
//! engine (the two device bundles, plus a third device whose log lines carry `<script>`), the
//! web server runs on 127.0.0.1, and Chromium loads each page (`--dump-dom` for the DOM after
//! scripts ran, `--screenshot` for an artefact under `target/web-screenshots/`, not a golden).
//!
//! Without Chromium these tests print why and skip, unless `CI` is set: then they fail.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use handlers::link::{LinkClaims, LinkIssuer, LinkKey, sign};
use handlers::{Context, HandlersConfig, Incoming, Role};
use store::{CaseId, CaseStore, SledStore};

use crate::util::{fixture, incoming};

const KEY: &str = "test-web-link-key-0123456789abcdef0123456789";
const SCRIPT: &str = "<script>document.title='pwned'</script>";

/// A served, seeded store.
struct Site {
    base: String,
    case: CaseId,
    /// What the chat `link` and `link customer` commands replied (engineer).
    chat_links: Vec<String>,
    /// What `link` replied to a customer.
    customer_asked: String,
    /// Keeps the server running for the whole test binary.
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The Chromium binary, or `None` (after saying why) when the test should be skipped.
fn chromium() -> Option<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let names = ["chromium", "chromium-browser", "google-chrome"];
            let found = std::env::var_os("CHROMIUM")
                .map(PathBuf::from)
                .into_iter()
                .chain(names.iter().map(PathBuf::from))
                .find(|c| {
                    Command::new(c)
                        .arg("--version")
                        .output()
                        .is_ok_and(|o| o.status.success())
                });
            if found.is_none() {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "Chromium is not installed but CI is set: .ci/run installs it \
                     (apt-get install chromium); the browser tests must run in CI"
                );
                eprintln!(
                    "SKIPPED: web browser tests: no chromium on PATH \
                     (apt-get install chromium, or set CHROMIUM=/path/to/chrome)"
                );
            }
            found
        })
        .clone()
}

fn message(case: Option<&CaseId>, n: u32, text: &str, files: Vec<PathBuf>) -> Incoming {
    as_role(Role::Engineer, case, n, text, files)
}

fn as_role(role: Role, case: Option<&CaseId>, n: u32, text: &str, files: Vec<PathBuf>) -> Incoming {
    incoming(format!("web-{n}"), role, case, text, files)
}

/// A device whose CBS.log holds markup: the 1058 failure line and a neighbour carry `<script>`.
fn script_bundle(dir: &Path) -> PathBuf {
    let log = format!(
        "2024-02-14 10:20:01, Info                  CBS    Starting TrustedInstaller initialization.\n\
         2024-02-14 10:20:02, Info                  CBS    Startup: Processing advanced operation queue {SCRIPT}\n\
         2024-02-14 10:20:05, Info                  CSI    00000004 Begin executing advanced installer phase 38 index 4 (sequence 44)\n    Installer name: 'WMI'\n\
         2024-02-14 10:20:06, Error      [0x01806a] CSI    00000007 (F) Failed execution of queue item Installer: WMI ({{6bb8cf6d-16a1-4f08-a1d5-3fe1b6d0f6d5}}) with HRESULT HRESULT_FROM_WIN32(1058).  Failure will not be ignored: A rollback will be initiated after all the operations in the installer queue are completed; installer is reliable[gle=0x80004005] {SCRIPT}\n\
         2024-02-14 10:20:08, Error                 CBS    Startup: Failed to process advanced operation queue, startupPhase: 0.  A rollback transaction will be created. [HRESULT = 0x800f0922 - CBS_E_INSTALLERS_FAILED]\n"
    );
    let path = dir.join("CBS.log");
    std::fs::write(&path, log).expect("write log");
    path
}

/// Seed the founding case through the handlers, then serve the store.
fn site() -> Option<&'static Site> {
    static SITE: OnceLock<Site> = OnceLock::new();
    chromium()?;
    Some(SITE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn CaseStore> =
            Arc::new(SledStore::open(dir.path().join("data")).expect("store"));
        let rules = diagnosis::RuleSet::builtin().expect("rules");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let issuer = LinkIssuer {
            key: LinkKey::from_text(KEY).expect("key"),
            base_url: base.clone(),
            ttl: Duration::from_secs(3600),
        };
        let ctx =
            Context::new(Arc::clone(&store), rules, HandlersConfig::default()).with_links(issuer);
        let rules = Arc::clone(&ctx.rules);
        let script_log = script_bundle(dir.path());
        let (case, chat_links, customer_asked) = runtime.block_on(async {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let open = "open KB5034763 推送后两台设备回滚 <b>bold</b>";
            handlers::handle_message(&ctx, message(None, 1, open, vec![]), &tx)
                .await
                .expect("open");
            let case = store.list().expect("list")[0].id.clone();
            let uploads = [
                ("", fixture("bundles/device1.zip")),
                ("", fixture("bundles/device2.zip")),
                ("device:wcc-script-01", script_log),
            ];
            for (n, (text, path)) in (2..).zip(uploads) {
                let msg = message(Some(&case), n, text, vec![path]);
                handlers::handle_message(&ctx, msg, &tx)
                    .await
                    .expect("upload");
            }
            while rx.try_recv().is_ok() {}
            let mut chat_links = Vec::new();
            for (n, text) in [(10, "link"), (11, "link customer")] {
                handlers::handle_message(&ctx, message(Some(&case), n, text, vec![]), &tx)
                    .await
                    .expect("link");
                chat_links.push(replies(&mut rx));
            }
            let ask = as_role(Role::Customer, Some(&case), 12, "link", vec![]);
            handlers::handle_message(&ctx, ask, &tx)
                .await
                .expect("link");
            let customer_asked = replies(&mut rx);
            (case, chat_links, customer_asked)
        });
        let state = web::WebState::new(
            store,
            LinkKey::from_text(KEY).expect("key"),
            diagnosis::Limits::default(),
            rules,
        );
        runtime.spawn(web::serve(listener, state, std::future::pending()));
        Site {
            base,
            case,
            chat_links,
            customer_asked,
            _runtime: runtime,
            _dir: dir,
        }
    }))
}

/// The text of the replies pushed so far.
fn replies(rx: &mut tokio::sync::mpsc::UnboundedReceiver<handlers::Outgoing>) -> String {
    let mut out = String::new();
    while let Ok(o) = rx.try_recv() {
        if let handlers::Outgoing::Reply { reply, .. } = o {
            out.push_str(&reply.text);
            out.push('\n');
        }
    }
    out
}

/// The URL in a chat reply (`<http://…>`).
fn url_in(text: &str) -> String {
    text.split('<')
        .find_map(|p| {
            p.strip_prefix("http")
                .map(|rest| format!("http{}", rest.split('>').next().unwrap_or("")))
        })
        .unwrap_or_else(|| panic!("no link in {text}"))
}

fn token(key: &str, case: Option<&CaseId>, role: Role, expires: u64) -> String {
    let claims = LinkClaims {
        case: case.cloned(),
        user: "li.wei".into(),
        role,
        expires,
    };
    sign(&LinkKey::from_text(key).expect("key"), &claims).expect("sign")
}

/// An engineer link to the founding case (opens that case only).
fn engineer(site: &Site) -> String {
    token(KEY, Some(&site.case), Role::Engineer, now() + 3600)
}

/// An engineer link without a case, as `casebot link` prints it: the fleet pages.
fn fleet() -> String {
    token(KEY, None, Role::Engineer, now() + 3600)
}

/// The DOM of `url` after Chromium loaded it and ran its scripts.
fn dump_dom(url: &str) -> String {
    let out = browser(&["--dump-dom", url]);
    String::from_utf8_lossy(&out).into_owned()
}

/// A screenshot of `url` under `target/web-screenshots/<name>.png` (a test artefact).
fn screenshot(url: &str, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/web-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let path = dir.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&path);
    let arg = format!("--screenshot={}", path.display());
    browser(&[&arg, "--window-size=1280,1700", "--hide-scrollbars", url]);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot {} is missing or empty",
        path.display()
    );
    eprintln!("screenshot: {}", path.display());
    path
}

fn browser(args: &[&str]) -> Vec<u8> {
    let bin = chromium().expect("checked by site()");
    let profile = tempfile::tempdir().expect("profile dir");
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--lang=en-US",
        "--virtual-time-budget=3000",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args);
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start chromium");
    let out = wait_with_timeout(child, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "chromium failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn wait_with_timeout(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let started = std::time::Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("chromium did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Text content of the DOM, roughly: tags dropped, entities of `<`, `>` and `&` decoded.
fn text(dom: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in dom.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn founding_case_page_shows_both_devices_and_their_root_causes() {
    let Some(site) = site() else { return };
    let url = format!("{}/case/{}?t={}", site.base, site.case, engineer(site));
    let dom = dump_dom(&url);
    let shown = text(&dom);
    for expected in [
        "wcc0021z675842",
        "WCC0021Z673965",
        "service-disabled-advanced-installer",
        "txf-transaction-log-corrupt",
        "0x80071ab1",
        "sc config winmgmt start= auto",
        "fsutil resource setautoreset true C:\\",
    ] {
        assert!(
            shown.contains(expected),
            "case page lacks {expected}:\n{shown}"
        );
    }
    assert!(
        dom.matches("class=\"copy\"").count() >= 4,
        "steps have copy buttons"
    );
    assert!(shown.contains("Timeline"), "the timeline is shown");
    // The title's markup is text, not elements.
    assert!(shown.contains("<b>bold</b>") && !dom.contains("<b>bold</b>"));
    screenshot(&url, "case");
    // The same page in Chinese, by the viewer's choice.
    let zh = text(&dump_dom(&format!("{url}&lang=zh")));
    assert!(
        zh.contains("设备") && zh.contains("时间线"),
        "zh page:\n{zh}"
    );
}

#[test]
fn evidence_view_highlights_the_1058_line_with_its_neighbours() {
    let Some(site) = site() else { return };
    let url = format!(
        "{}/case/{}/evidence/wcc0021z675842?t={}",
        site.base,
        site.case,
        engineer(site)
    );
    let dom = dump_dom(&url);
    let hit = dom
        .split("<tr class=\"hit\"")
        .skip(1)
        .map(|rest| rest.split("</tr>").next().unwrap_or_default())
        .find(|row| row.contains("HRESULT_FROM_WIN32(1058)"))
        .unwrap_or_else(|| panic!("no highlighted 1058 line:\n{dom}"));
    assert!(hit.contains("<mark>"), "the matched text is marked: {hit}");
    let no: u64 = hit
        .split("data-line=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|n| n.parse().ok())
        .expect("line number");
    for neighbour in [no - 1, no + 1] {
        assert!(
            dom.contains(&format!("data-line=\"{neighbour}\"")),
            "line {neighbour} around the hit at {no} is shown"
        );
    }
    let shown = text(&dom);
    assert!(
        shown.contains("cbs") && shown.contains("utf-8"),
        "kind and encoding shown"
    );
    screenshot(&url, "evidence");
}

#[test]
fn dashboard_renders_its_charts_with_axes_and_labels() {
    let Some(site) = site() else { return };
    let url = format!("{}/dashboard?t={}", site.base, fleet());
    let dom = dump_dom(&url);
    let charts: Vec<&str> = dom.split("<svg").skip(1).collect();
    assert_eq!(charts.len(), 4, "four charts:\n{dom}");
    for chart in &charts {
        assert!(chart.contains("class=\"axis\""), "axes: {chart}");
        assert!(chart.contains("class=\"axis-titles\""), "axis titles");
        assert!(chart.matches("<text").count() >= 4, "tick and axis labels");
    }
    assert!(
        charts[0].contains("<rect"),
        "this week's opened case is drawn"
    );
    let shown = text(&dom);
    assert!(shown.contains("service-disabled-advanced-installer"));
    assert!(shown.contains("Mean time to resolution") || shown.contains("mean time to resolution"));
    screenshot(&url, "dashboard");
}

#[test]
fn search_finds_the_case_by_device_code_kb_and_root_cause() {
    let Some(site) = site() else { return };
    for q in [
        "WCC0021Z673965",
        "0x80071ab1",
        "KB5034763",
        "txf-transaction",
    ] {
        let url = format!("{}/search?t={}&q={q}", site.base, fleet());
        let shown = text(&dump_dom(&url));
        assert!(
            shown.contains(site.case.as_str()),
            "search {q} finds the case:\n{shown}"
        );
    }
    let url = format!("{}/search?t={}&q=0x8024402c", site.base, fleet());
    assert!(!text(&dump_dom(&url)).contains(site.case.as_str()));
    let url = format!("{}/search?t={}&q=winmgmt", site.base, fleet());
    screenshot(&url, "search");
}

#[test]
fn forged_expired_and_missing_links_are_refused() {
    let Some(site) = site() else { return };
    let page = format!("{}/case/{}", site.base, site.case);
    let forged = token(
        "another-key-that-is-long-enough-0123456789",
        Some(&site.case),
        Role::Engineer,
        now() + 3600,
    );
    let expired = token(KEY, Some(&site.case), Role::Engineer, now() - 1);
    // A customer link whose payload was edited to say engineer keeps the customer's tag.
    let customer = token(KEY, Some(&site.case), Role::Customer, now() + 3600);
    let promoted = {
        let (_, tag) = customer.split_once('.').expect("token");
        let (payload, _) = forged.split_once('.').expect("token");
        format!("{payload}.{tag}")
    };
    for (what, url) in [
        ("forged", format!("{page}?t={forged}")),
        ("altered", format!("{page}?t={promoted}")),
        ("expired", format!("{page}?t={expired}")),
        ("missing", page.clone()),
        ("dashboard without link", format!("{}/dashboard", site.base)),
        (
            "case link on the dashboard",
            format!("{}/dashboard?t={}", site.base, engineer(site)),
        ),
        (
            "case link on another case",
            format!("{}/case/CAS-00000-OTHER1?t={}", site.base, engineer(site)),
        ),
    ] {
        let dom = dump_dom(&url);
        assert!(
            dom.contains("id=\"refused\""),
            "{what} link refused:\n{dom}"
        );
        assert!(!dom.contains("wcc0021z675842"), "{what}: nothing leaks");
    }
    assert!(text(&dump_dom(&format!("{page}?t={expired}"))).contains("expired"));
}

#[test]
fn a_customer_link_opens_only_its_case_without_log_lines() {
    let Some(site) = site() else { return };
    let customer = token(KEY, Some(&site.case), Role::Customer, now() + 3600);
    let dom = dump_dom(&format!("{}/case/{}?t={customer}", site.base, site.case));
    let shown = text(&dom);
    assert!(shown.contains("wcc0021z675842") && shown.contains("sc config winmgmt start= auto"));
    assert!(!shown.contains("HRESULT_FROM_WIN32"), "no raw log line");
    assert!(!dom.contains("/evidence/"), "no evidence links");
    for url in [
        format!(
            "{}/case/{}/evidence/wcc0021z675842?t={customer}",
            site.base, site.case
        ),
        format!("{}/dashboard?t={customer}", site.base),
        format!("{}/search?t={customer}&q=KB", site.base),
        format!("{}/case/CAS-00000-OTHER1?t={customer}", site.base),
    ] {
        assert!(dump_dom(&url).contains("id=\"refused\""), "{url} refused");
    }
}

#[test]
fn a_log_line_holding_a_script_tag_is_shown_as_text() {
    let Some(site) = site() else { return };
    let url = format!(
        "{}/case/{}/evidence/wcc-script-01?t={}",
        site.base,
        site.case,
        engineer(site)
    );
    let dom = dump_dom(&url);
    assert!(
        text(&dom).contains(SCRIPT),
        "the line's markup is shown as text:\n{dom}"
    );
    assert!(!dom.contains(SCRIPT), "no script element from a log line");
    assert!(!dom.contains("<title>pwned"), "the log's script never ran");
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "only the page's own script"
    );
}

#[test]
fn the_link_command_hands_out_links_that_open_the_case() {
    let Some(site) = site() else { return };
    let (engineer_reply, customer_reply) = (&site.chat_links[0], &site.chat_links[1]);
    let dom = dump_dom(&url_in(engineer_reply));
    assert!(dom.contains("/evidence/"), "engineer view:\n{dom}");
    assert!(
        !dom.contains("href=\"/dashboard"),
        "a chat link opens its case only"
    );
    let dom = dump_dom(&url_in(customer_reply));
    let shown = text(&dom);
    assert!(shown.contains("wcc0021z675842") && !dom.contains("/evidence/"));
    assert!(
        !site.customer_asked.contains("http"),
        "customers cannot ask for links: {}",
        site.customer_asked
    );
}

/// `casebot link` signs links the server accepts; without a key it says where to put one.
#[test]
fn casebot_link_prints_a_link_the_server_opens() {
    let Some(site) = site() else { return };
    let run = |args: &[&str], key: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_casebot-cli"));
        cmd.arg("link")
            .args(args)
            .env_remove("CASEBOT_WEB_KEY")
            .env_remove("CASEBOT_WEB_KEY_FILE")
            .env("CASEBOT_WEB_URL", &site.base);
        if let Some(key) = key {
            cmd.env("CASEBOT_WEB_KEY", key);
        }
        cmd.output().expect("run casebot link")
    };
    let out = run(&[site.case.as_str(), "--role", "customer"], Some(KEY));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        url.starts_with(&format!("{}/case/{}?t=", site.base, site.case)),
        "{url}"
    );
    let dom = dump_dom(&url);
    assert!(text(&dom).contains("wcc0021z675842") && !dom.contains("/evidence/"));

    let out = run(&[site.case.as_str()], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("CASEBOT_WEB_KEY_FILE"),
        "{err}"
    );
    let out = run(&["--role", "customer"], Some(KEY));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("customer link"),
        "{err}"
    );

    // A new key: links signed with the old one no longer open once casebot uses it.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("web.key");
    let out = run(&["--new-key", file.to_str().expect("utf-8 path")], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new_key = std::fs::read_to_string(&file).expect("key file");
    assert_eq!(new_key.trim().len(), 64);
    let new_key = LinkKey::from_text(&new_key).expect("a valid key");
    let old = handlers::link::verify(&new_key, &engineer(site), now());
    assert_eq!(old, Err(handlers::link::LinkError::BadSignature));
}

/// `casebot console --web ADDR` serves the web view over the console's store.
#[test]
fn console_serves_the_web_view_when_asked() {
    let Some(_) = site() else { return };
    use std::io::{BufRead, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_casebot-cli"))
        .args(["console", "--web", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .env("CASEBOT_WEB_KEY", KEY)
        .env_remove("CASEBOT_WEB_KEY_FILE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start console");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "open Web view from the console").expect("write");
    let stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let base = stderr
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("web view on ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string)
        })
        .expect("the console says where the web view is");
    // The case opened on stdin shows up on the dashboard (the console may still be opening it).
    let url = format!("{base}/dashboard?t={}", fleet());
    let mut dom = String::new();
    for _ in 0..5 {
        dom = dump_dom(&url);
        if dom.contains("id=\"total\">1<") {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(stdin);
    let _ = wait_with_timeout(child, Duration::from_secs(60));
    assert!(
        dom.contains("<svg"),
        "dashboard served by the console:\n{dom}"
    );
    assert!(
        dom.contains("id=\"total\">1<"),
        "the console's case counts:\n{dom}"
    );
}
