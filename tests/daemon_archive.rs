//! Backups of a running daemon, restores, and the monthly report, through the real binary.
//!
//! 1. Under load: `porchlight backup` runs while signed replies keep arriving. The restored
//!    backup is a cut of the village at one instant: its audit log is exactly the original's
//!    first N events (no gap, no event the original does not have), and every reply answered
//!    before the backup began is in it.
//! 2. Quiet: an open help alert and a roll call with its prompts queued (the SMS provider
//!    never answers, so the outbox stays full). A second backup is restored into a new
//!    directory and a daemon started on it: its status board, open alerts, members, people,
//!    audit log and outbox equal the original's.
//! 3. Restore refuses a non-empty target, a damaged file and a newer format (exit 2); a bad
//!    month is exit 2 for `report` and 400 for the API.

#[path = "common/daemon.rs"]
mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use porchlight_core::model::Village;
use porchlight_store::{Durability, Store};
use serde_json::{Value, json};
use support::common;
use support::{Admin, PUBLIC_URL, inbound_sms, porchlight, signed, stderr, stdout};

const MEMBERS: usize = 20;

fn phone(i: usize) -> String {
    format!("+1202555{:04}", 3000 + i)
}

/// An SMS provider that accepts connections and never answers: every message stays queued
/// (in flight until the 2-minute delivery timeout, far beyond this test).
async fn silent_provider() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    base
}

fn config(provider: &str) -> String {
    format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n\n[village]\nname = \"Maple Street\"\ncoordinators = [\"desk\"]\n\n[policy]\nreminders = []\n\n[delivery]\ntimeout = \"2m\"\n\n[channels.sms]\nkind = \"twilio\"\nbase_url = \"{provider}\"\naccount_sid = \"{}\"\nauth_token_env = \"TWILIO_AUTH_TOKEN\"\nfrom = \"{}\"\n",
        support::ACCOUNT_SID,
        support::VILLAGE_NUMBER
    )
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
        .expect("the daemon answers a reply");
    let s = r.status().as_u16();
    r.bytes().await.unwrap();
    s
}

async fn all_events(admin: &Admin) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut since: Option<u64> = None;
    loop {
        let path = match since {
            Some(s) => format!("/api/v1/events?limit=5000&since={s}"),
            None => "/api/v1/events?limit=5000".to_string(),
        };
        let page = admin
            .get(&path)
            .await
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(last) = page.last() else { break };
        since = last["id"].as_u64();
        out.extend(page);
    }
    out
}

/// Everything a coordinator sees of a village.
async fn everything(admin: &Admin) -> Value {
    let members = admin.get("/api/v1/members").await;
    let mut detail = Vec::new();
    for m in members.as_array().unwrap() {
        let id = m["id"].as_str().unwrap();
        detail.push(admin.get(&format!("/api/v1/members/{id}")).await);
    }
    let mut outbox = admin.get("/api/v1/outbox?limit=5000").await;
    // Delivery attempts are the one thing a restored daemon redoes on its own.
    for m in outbox.as_array_mut().unwrap() {
        m.as_object_mut().unwrap().remove("attempts");
    }
    json!({
        "status": admin.get("/api/v1/status").await,
        "members": members,
        "detail": detail,
        "people": admin.get("/api/v1/people").await,
        "events": all_events(admin).await,
        "outbox": outbox,
    })
}

fn cli(args: &[&str], base: &str) -> std::process::Output {
    porchlight(
        args,
        &[
            ("PORCHLIGHT_ADMIN_TOKEN", common::TOKEN),
            ("PORCHLIGHT_SERVER", base),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_under_load_restores_the_same_village() {
    tokio::time::timeout(Duration::from_secs(240), run())
        .await
        .expect("the backup test finished in time");
}

async fn run() {
    let provider = silent_provider().await;
    let cfg = config(&provider);
    let a = {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || common::start(&cfg, &support::channel_env()))
            .await
            .unwrap()
    };
    let base = a.base.clone();
    let admin = Admin::new(&base);
    admin
        .add_person(json!({"id": "bob", "name": "Bob Ng", "phone": "+12025553900"}))
        .await;
    admin
        .add_person(json!({"id": "desk", "name": "Desk", "phone": "+12025553901"}))
        .await;
    let checkin = common::cron_in(6 * 3600);
    let mut ids = Vec::new();
    for i in 0..MEMBERS {
        let (s, v) = admin
            .call(
                reqwest::Method::POST,
                "/api/v1/members",
                Some(json!({
                    "name": format!("Member {i:02} Diaz"),
                    "phone": phone(i),
                    "checkin": checkin,
                    "buddies": ["bob"],
                })),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }

    // ----- 1. a backup while replies arrive ---------------------------------------------
    let dir = tempfile::tempdir().unwrap().keep();
    let file1 = dir.join("under-load.backup");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut load = tokio::task::JoinSet::new();
    for k in 0..160usize {
        let (http, base, started, answered) = (
            http.clone(),
            base.clone(),
            started.clone(),
            answered.clone(),
        );
        let m = 1 + k % (MEMBERS - 1);
        let (from, id) = (phone(m), ids[m].clone());
        load.spawn(async move {
            // Spread over the backup: a few at a time.
            tokio::time::sleep(Duration::from_millis((k as u64 / 8) * 40)).await;
            let text = format!("fine thanks ({k})");
            let s = reply(&http, &base, &from, &text, &format!("SM{:032x}", k + 1)).await;
            // Answered (durable) before the backup was asked for?
            let before = !started.load(Ordering::SeqCst);
            answered.fetch_add(1, Ordering::SeqCst);
            (s, id, text, before)
        });
    }
    // Some replies in before the backup, the rest while it runs.
    while answered.load(Ordering::SeqCst) < 16 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let backup_started = Instant::now();
    started.store(true, Ordering::SeqCst);
    let out = {
        let (f, b) = (file1.clone(), base.clone());
        tokio::task::spawn_blocking(move || cli(&["backup", f.to_str().unwrap()], &b))
            .await
            .unwrap()
    };
    let backup_took = backup_started.elapsed();
    assert!(out.status.success(), "backup: {}", stderr(&out));
    assert!(stdout(&out).contains("records"), "{}", stdout(&out));
    let mut answered_before = BTreeSet::new();
    while let Some(r) = load.join_next().await {
        let (s, id, text, before) = r.unwrap();
        assert_eq!(s, 200, "a reply during the backup was refused");
        if before {
            answered_before.insert((id, text));
        }
    }
    eprintln!("backup under load took {backup_took:?}");
    let original_events = all_events(&admin).await;

    let cut = dir.join("cut");
    let out = porchlight(
        &[
            "restore",
            file1.to_str().unwrap(),
            "--data",
            cut.join("data").to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "restore: {}", stderr(&out));
    let restored_events: Vec<Value> = {
        let cut = cut.join("data");
        tokio::task::spawn_blocking(move || {
            let s = Store::open_with(&cut, Village::default(), Durability::OnFlush).unwrap();
            s.events_after(None, usize::MAX)
                .unwrap()
                .into_iter()
                .map(|(id, e)| {
                    let mut v = serde_json::to_value(e).unwrap();
                    v["id"] = json!(id);
                    v
                })
                .collect()
        })
        .await
        .unwrap()
    };
    let n = restored_events.len();
    assert!(
        n > 0 && n <= original_events.len(),
        "{n} events in the backup, {} in the daemon",
        original_events.len()
    );
    for (i, e) in restored_events.iter().enumerate() {
        // Ids count up from the first, with no gap.
        assert_eq!(e["id"], json!(i as u64), "no gap in the backup's audit log");
        assert_eq!(e, &original_events[i], "event {} differs", i + 1);
    }
    let in_cut: BTreeSet<(String, String)> = restored_events
        .iter()
        .filter_map(|e| {
            Some((
                e["member"].as_str()?.to_string(),
                e["text"].as_str()?.to_string(),
            ))
        })
        .collect();
    for r in &answered_before {
        // Answered before the backup began: durable before it, so in it.
        if in_cut.contains(r) {
            continue;
        }
        panic!("{r:?} was answered before the backup began but is not in it");
    }
    eprintln!(
        "the cut holds {n} of {} events; {} replies were answered before it began",
        original_events.len(),
        answered_before.len()
    );

    // ----- 2. an open alert and a full outbox, restored ---------------------------------
    let help = reply(
        &http,
        &base,
        &phone(0),
        "help I fell",
        "SM00000000000000000000000000000fff",
    )
    .await;
    assert_eq!(help, 200);
    let (s, v) = admin
        .call(
            reqwest::Method::POST,
            "/api/v1/rollcall",
            Some(json!({"window": "2h"})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    // Let the dispatcher take what it takes (into flight; nothing ever comes back).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = everything(&admin).await;
    let file2 = dir.join("quiet.backup");
    let out = {
        let (f, b) = (file2.clone(), base.clone());
        tokio::task::spawn_blocking(move || cli(&["backup", f.to_str().unwrap()], &b))
            .await
            .unwrap()
    };
    assert!(out.status.success(), "backup: {}", stderr(&out));
    let at_snapshot = everything(&admin).await;
    assert_eq!(
        before, at_snapshot,
        "the village stood still around the backup"
    );
    let alert = at_snapshot["status"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == ids[0].as_str())
        .unwrap()["alert"]
        .clone();
    assert_eq!(alert["reason"], "help", "{alert}");
    assert!(
        at_snapshot["outbox"].as_array().unwrap().len() > MEMBERS,
        "roll call prompts and help alerts are queued: {}",
        at_snapshot["outbox"]
    );

    let b_dir = dir.join("b");
    std::fs::create_dir_all(&b_dir).unwrap();
    let data_b = b_dir.join("data");
    let out = porchlight(
        &[
            "restore",
            file2.to_str().unwrap(),
            "--data",
            data_b.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "restore: {}", stderr(&out));
    let b = {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || common::start_in(b_dir, &cfg, &support::channel_env()))
            .await
            .unwrap()
    };
    let admin_b = Admin::new(&b.base);
    let restored = everything(&admin_b).await;
    for key in ["status", "members", "detail", "people", "events", "outbox"] {
        assert_eq!(
            restored[key], at_snapshot[key],
            "{key} differs after the restore"
        );
    }

    // ----- 3. refusals ------------------------------------------------------------------
    let out = porchlight(
        &[
            "restore",
            file2.to_str().unwrap(),
            "--data",
            data_b.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
    let out = porchlight(
        &[
            "restore",
            file2.to_str().unwrap(),
            "--data",
            data_b.to_str().unwrap(),
            "--force",
        ],
        &[],
    );
    assert_ne!(
        out.status.code(),
        Some(0),
        "a running daemon's store is not replaced"
    );
    assert!(stderr(&out).contains("in use"), "{}", stderr(&out));

    let text = std::fs::read_to_string(&file2).unwrap();
    let damaged = dir.join("damaged.backup");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mid = lines.len() / 2;
    lines.remove(mid);
    std::fs::write(&damaged, lines.join("\n") + "\n").unwrap();
    let out = porchlight(
        &[
            "restore",
            damaged.to_str().unwrap(),
            "--data",
            dir.join("c").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("not a valid backup"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(!dir.join("c").exists());

    let newer = dir.join("newer.backup");
    std::fs::write(
        &newer,
        text.replacen("\"format_version\":1", "\"format_version\":9", 1),
    )
    .unwrap();
    let out = porchlight(
        &[
            "restore",
            newer.to_str().unwrap(),
            "--data",
            dir.join("c").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("newer"), "{}", stderr(&out));

    // ----- the report's input checks, and a real one -------------------------------------
    let out = cli(&["report", "--month", "2026-13"], &base);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("YYYY-MM"), "{}", stderr(&out));
    let (s, v) = admin
        .call(
            reqwest::Method::GET,
            "/api/v1/reports/monthly?month=13-2026",
            None,
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error"]["code"], "invalid");
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let out = cli(&["report", "--month", &month, "--format", "json"], &base);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["members"].as_array().unwrap().len(), MEMBERS);
    assert_eq!(r["village"], "Maple Street");
    let out = cli(&["report", "--month", &month, "--format", "csv"], &base);
    assert!(out.status.success());
    assert_eq!(stdout(&out).lines().count(), MEMBERS + 2);
    let doc = admin.get("/api/v1/openapi.json").await;
    for p in [
        "/api/v1/reports/monthly",
        "/api/v1/backup",
        "/api/v1/outbox",
    ] {
        assert!(
            doc["paths"][p].is_object(),
            "{p} is in the OpenAPI document"
        );
    }
}

#[test]
fn check_config_names_bad_backup_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (extra, key, why) in [
        (
            "backup_keep = 3",
            "storage.backup_keep",
            "only used with backup_dir",
        ),
        (
            "backup_dir = \"BK\"\nbackup_keep = 0",
            "storage.backup_keep",
            "not between 1",
        ),
        (
            "backup_dir = \"BK\"\nbackup_at = \"3am\"",
            "storage.backup_at",
            "HH:MM",
        ),
        (
            "backup_dir = \"DATA/nightly\"",
            "storage.backup_dir",
            "inside storage.path",
        ),
    ] {
        let extra = extra
            .replace("BK", &dir.path().join("bk").display().to_string())
            .replace("DATA", &data.display().to_string());
        let path = dir.path().join("p.toml");
        std::fs::write(
            &path,
            format!(
                "[storage]\npath = {:?}\n{extra}\n",
                data.display().to_string()
            ),
        )
        .unwrap();
        let out = porchlight(&["check-config", "--config", path.to_str().unwrap()], &[]);
        assert_eq!(out.status.code(), Some(2), "{extra}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains(key) && err.contains(why), "{extra}: {err}");
    }
    let path = dir.path().join("ok.toml");
    std::fs::write(
        &path,
        format!(
            "[storage]\npath = {:?}\nbackup_dir = {:?}\nbackup_keep = 3\nbackup_at = \"02:15\"\n",
            data.display().to_string(),
            dir.path().join("bk").display().to_string()
        ),
    )
    .unwrap();
    let out = porchlight(&["check-config", "--config", path.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
}
