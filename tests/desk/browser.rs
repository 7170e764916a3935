//! Headless Chromium for the desk's browser tests: one chromedriver per test binary, a fresh
//! profile per session, axe-core injected for accessibility checks, screenshots under
//! `target/desk-screenshots/`.
//!
//! In CI (`CI=true`) a missing browser, driver or axe-core fails the tests; elsewhere the
//! browser tests are skipped with a loud message.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Debian's Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Where axe-core is after `npm ci` in `tests/desk`.
pub fn axe_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/desk/node_modules/axe-core/axe.min.js")
}

/// Screenshots go here.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("desk-screenshots")
}

/// A running chromedriver.
pub struct Browser {
    driver: Child,
    url: String,
    profiles: Vec<tempfile::TempDir>,
    axe: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Either the browser, or why the tests are skipped (outside CI only).
pub fn start() -> Option<Browser> {
    let chromium = std::env::var("PORCHLIGHT_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into());
    let driver = std::env::var("PORCHLIGHT_CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.into());
    let mut missing = Vec::new();
    for (what, path) in [("chromium", &chromium), ("chromedriver", &driver)] {
        if !std::path::Path::new(path).exists() {
            missing.push(format!("{what} ({path})"));
        }
    }
    if !axe_path().exists() {
        missing.push(format!(
            "axe-core ({}; run `npm ci` in tests/desk)",
            axe_path().display()
        ));
    }
    if !missing.is_empty() {
        let msg = format!(
            "the desk's browser tests need {}: install with `apt-get install -y chromium chromium-driver` and `npm ci --prefix tests/desk` (.ci/run does both)",
            missing.join(", ")
        );
        if in_ci() {
            panic!("{msg}");
        }
        eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        eprintln!("!!! SKIPPING the coordinator desk's browser tests: {msg}");
        eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
        return None;
    }
    let axe = std::fs::read_to_string(axe_path()).expect("axe-core reads");
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().expect("its address").port()
    };
    let child = Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("chromedriver does not start: {e}"));
    let url = format!("http://127.0.0.1:{port}");
    let browser = Browser {
        driver: child,
        url,
        profiles: Vec::new(),
        axe,
    };
    // Ready when /status answers.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(browser)
}

/// How a session's screen is set up.
#[derive(Clone, Copy)]
pub enum Screen {
    /// A 1280×900 desktop window.
    Desktop,
    /// A phone: 360 CSS pixels wide.
    Phone360,
    /// The desktop window at 200% zoom: 640×450 CSS pixels on 1280×900 device pixels.
    Zoom200,
}

impl Browser {
    /// A new browser session with a fresh profile.
    pub async fn session(&mut self, screen: Screen) -> Client {
        let profile = tempfile::tempdir().expect("a profile dir");
        let chromium = std::env::var("PORCHLIGHT_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into());
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--hide-scrollbars".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut options = json!({ "binary": chromium });
        match screen {
            Screen::Desktop => args.push("--window-size=1280,900".into()),
            Screen::Phone360 => {
                options["mobileEmulation"] =
                    json!({ "deviceMetrics": { "width": 360, "height": 780, "pixelRatio": 2.0 } });
            }
            Screen::Zoom200 => {
                options["mobileEmulation"] = json!({ "deviceMetrics": { "width": 640, "height": 450, "pixelRatio": 2.0, "mobile": false, "touch": false } });
            }
        }
        options["args"] = json!(args);
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), options);
        self.profiles.push(profile);
        ClientBuilder::rustls()
            .expect("TLS roots")
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("a Chromium session: {e}"))
    }

    /// Runs axe-core on the page: panics listing any serious or critical violation.
    pub async fn axe(&self, c: &Client, page: &str) {
        c.execute(&format!("{}\n;return true;", self.axe), vec![])
            .await
            .expect("axe-core injects");
        let out = c
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                   axe.run(document, { resultTypes: ['violations'] })
                     .then(r => done(JSON.stringify(r.violations
                        .filter(v => v.impact === 'serious' || v.impact === 'critical')
                        .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                     nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary) })))))
                     .catch(e => done('axe failed: ' + e));"#,
                vec![],
            )
            .await
            .expect("axe-core runs");
        let text = out.as_str().unwrap_or_default().to_string();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{page}: {text}"));
        assert!(
            v.as_array().is_some_and(Vec::is_empty),
            "{page}: serious or critical accessibility violations:\n{}",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        );
    }
}

/// Saves a screenshot of the viewport as `target/desk-screenshots/NAME.png`; returns its path.
pub async fn screenshot(c: &Client, name: &str) -> PathBuf {
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).expect("the screenshot dir");
    let png = c.screenshot().await.expect("a screenshot");
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).expect("the screenshot is written");
    path
}

/// The visible text of the first element matching a CSS selector.
pub async fn text(c: &Client, css: &str) -> String {
    let url = c.current_url().await.ok();
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} on {url:?}: {e}"))
        .text()
        .await
        .unwrap_or_default()
}

/// Waits up to `secs` for `check` to hold on the page, reloading it through the page's own
/// refresh script between looks; panics with `what` and the page's text.
pub async fn wait_page(c: &Client, secs: u64, what: &str, css: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let t = c
            .find(Locator::Css(css))
            .await
            .ok()
            .map(|e| async move { e.text().await.unwrap_or_default() });
        let now = match t {
            Some(f) => f.await,
            None => String::new(),
        };
        if now.contains(want) {
            return;
        }
        if Instant::now() > deadline {
            let body = text(c, "main").await;
            panic!("timed out waiting for {what}: {css} has {now:?}, not {want:?}\n{body}");
        }
        // The page's refresh script swaps in fresh content without a reload.
        let _ = c
            .execute(
                "window.porchlightRefresh && window.porchlightRefresh(); return true;",
                vec![],
            )
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Whether the page is wider than the viewport (content that scrolls sideways).
pub async fn overflows(c: &Client) -> (bool, Value) {
    let v = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .expect("widths");
    let w = v.as_array().cloned().unwrap_or_default();
    let (sw, iw) = (
        w.first().and_then(Value::as_f64).unwrap_or(0.0),
        w.get(1).and_then(Value::as_f64).unwrap_or(0.0),
    );
    (sw > iw + 1.0, v)
}
