//! Storage faults against the real daemon (issue 12). The whole data directory sits on a small
//! tmpfs the test mounts and fills up. (A read-only remount is refused by Linux while sled holds
//! its files open for writing, so "full" is the fault injected; sled reports both the same way,
//! as an I/O error that stops every later write.) While writes cannot be made durable:
//! every signed inbound reply is answered 503 (so the gateway retries) — never a 200 for
//! something not on disk — admin writes get a JSON 503, and `/readyz` fails naming the fault.
//! When space returns (or the mount is writable again) the daemon reopens its store by itself,
//! `/readyz` passes, and the retried replies are recorded exactly once.
//!
//! Mounting needs root (CI runs as root). Where `mount` is refused the test says so loudly and
//! does nothing.

#[path = "common/daemon.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::common;
use support::{Admin, FakeTwilio, PUBLIC_URL, channel_env, inbound_sms, signed};

const MEMBERS: usize = 16;

/// A tmpfs mounted for the test's life.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap().keep();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            Some(Tmpfs(dir))
        } else {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs here (not root?); the storage-fault test did not run"
            );
            None
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem holding `dir` until it refuses more.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.flush();
    path
}

fn phone(i: usize) -> String {
    format!("+1202555{:04}", 3000 + i)
}

async fn reply(http: &reqwest::Client, base: &str, from: &str, body: &str, sid: &str) -> u16 {
    let params = inbound_sms(from, body, sid);
    let sig = signed("/sms/twilio", &params);
    let r = http
        .post(format!("{base}/sms/twilio"))
        .header("X-Twilio-Signature", sig)
        .form(&params)
        .send()
        .await
        .expect("the daemon answers");
    let status = r.status().as_u16();
    if status == 503 {
        assert!(
            r.headers().contains_key("retry-after"),
            "a 503 tells the sender when to retry"
        );
    }
    status
}

/// Sends the replies of `who` at once (one per member, `round` in the text and the sid, so a
/// second call is the gateway's retry) and returns the members whose reply was refused.
async fn burst(http: &reqwest::Client, base: &str, round: &str, who: &[usize]) -> Vec<usize> {
    let mut set = tokio::task::JoinSet::new();
    for &i in who {
        let (http, base) = (http.clone(), base.to_string());
        let text = format!("I'm fine, thank you dear ({round} {i})");
        let sid = format!("SM{round}{i:030}");
        set.spawn(async move { (i, reply(&http, &base, &phone(i), &text, &sid).await) });
    }
    let mut refused = Vec::new();
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            (_, 200) => {}
            (i, 503) => refused.push(i),
            (i, s) => panic!("member {i}'s reply got {s}: only 200 or 503 are acceptable"),
        }
    }
    refused.sort_unstable();
    refused
}

/// A fault: the first burst is (mostly) refused — sled may still fit a write in space it
/// already holds, and that reply is durable, so it may be a 200 — and the gateway's retries
/// keep being refused until the store recovers.
async fn refused_while_faulty(http: &reqwest::Client, base: &str, round: &str) -> Vec<usize> {
    let all: Vec<usize> = (0..MEMBERS).collect();
    let refused = burst(http, base, round, &all).await;
    assert!(
        refused.len() >= MEMBERS / 2,
        "{round}: only {refused:?} refused; the fault was not noticed"
    );
    // Once noticed, every write is refused until recovery.
    assert_eq!(
        burst(http, base, round, &refused).await,
        refused,
        "{round}: retried too soon"
    );
    refused
}

async fn readyz(http: &reqwest::Client, base: &str) -> (u16, String) {
    let r = http.get(format!("{base}/readyz")).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Polls `/readyz` until it answers `want` (for 503: naming the storage fault).
async fn wait_ready(http: &reqwest::Client, base: &str, want: u16, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let (s, body) = readyz(http, base).await;
        if s == want && (want == 200 || body.contains("storage fault")) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stayed {s} ({body}), wanted {want}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How often each reply text was recorded.
async fn recorded(admin: &Admin) -> BTreeMap<String, usize> {
    let events = admin.get("/api/v1/events?limit=100000").await;
    let mut n = BTreeMap::new();
    for e in events.as_array().cloned().unwrap_or_default() {
        if let Some(t) = e["text"].as_str() {
            *n.entry(t.to_string()).or_insert(0) += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_refuses_replies_with_503_and_recovers_by_itself() {
    let Some(fs) = Tmpfs::mount("24m") else {
        return;
    };
    let twilio = FakeTwilio::start().await;
    let cfg = format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n\n[policy]\nreminders = []\n\n{}",
        twilio.channel("sms", "twilio")
    );
    let dir = fs.0.clone();
    let d = tokio::task::spawn_blocking(move || common::start_in(dir, &cfg, &channel_env()))
        .await
        .unwrap();
    let base = d.base.clone();
    let admin = Admin::new(&base);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let checkin = common::cron_in(6 * 3600);
    for i in 0..MEMBERS {
        let (s, v) = admin
            .call(
                reqwest::Method::POST,
                "/api/v1/members",
                Some(json!({ "name": format!("Member {i:02} Okafor"), "phone": phone(i), "checkin": checkin })),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let all: Vec<usize> = (0..MEMBERS).collect();
    assert_eq!(
        burst(&http, &base, "before", &all).await,
        Vec::<usize>::new()
    );
    wait_ready(&http, &base, 200, 10).await;

    // ---- the disk fills up --------------------------------------------------------------
    let filler = fill(&fs.0);
    let refused = refused_while_faulty(&http, &base, "full").await;
    let (s, v) = admin
        .call(
            reqwest::Method::POST,
            "/api/v1/people",
            Some(json!({ "name": "Late Addition", "phone": "+12025559999" })),
        )
        .await;
    assert_eq!(s, 503, "{v}");
    assert!(v["error"]["code"].is_string(), "a JSON error: {v}");
    let why = wait_ready(&http, &base, 503, 15).await;
    assert!(why.contains("storage fault"), "{why}");
    assert_eq!(d.base, base, "still answering");
    let healthz = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(healthz.status(), 200, "alive, only not ready");

    // ---- space returns: it recovers by itself, the retries are recorded once --------------
    std::fs::remove_file(&filler).unwrap();
    wait_ready(&http, &base, 200, 30).await;
    assert_eq!(
        burst(&http, &base, "full", &refused).await,
        Vec::<usize>::new(),
        "the gateway's retries are accepted"
    );

    // Every reply that got its 200 is recorded exactly once; none refused was kept.
    let seen = recorded(&admin).await;
    for round in ["before", "full"] {
        for i in 0..MEMBERS {
            let text = format!("I'm fine, thank you dear ({round} {i})");
            assert_eq!(seen.get(&text), Some(&1), "{text}: {seen:?}");
        }
    }
    let total: usize = seen
        .iter()
        .filter(|(t, _)| t.starts_with("I'm fine, thank you dear"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(total, 2 * MEMBERS);
    let _: Value = admin.get("/api/v1/status").await;
    drop(d);
}
