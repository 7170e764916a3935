//! `porchlight bench`: the figures of BENCHMARKS.md, each beside a baseline from the same run.
//!
//! - `store`: a generated village simulated through the real engine and sled store, against
//!   raw sled inserting the same number of records of the same size.
//! - `daemon`: the real daemon (this binary, `serve`, as a child process) with N members due
//!   at one instant who all stay quiet; a local webhook receiver times every prompt (from its
//!   due instant) and every alert (from its check-in's deadline).
//! - `inbound`: signed `/sms/twilio` replies from C concurrent connections, durable before
//!   each 200, beside `/healthz` on the same server; and the daemon's CPU while idle.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use porchlight_core::model::{Audience, ContactWay, EscalationStep, Member, Person, Span, Village};
use porchlight_store::{Durability, Store};

/// A failed benchmark: what went wrong, for one line on stderr.
type BenchResult<T> = Result<T, String>;

/// Resident set size now (`VmRSS`) of a process, KiB.
fn current_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn peak_rss_kib(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".into(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    field("VmHWM:").or_else(|| field("VmRSS:"))
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after ") ".
    let rest = stat.rsplit_once(") ")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(path) {
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_size(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

// ----- store -------------------------------------------------------------------------------

/// Simulates `members` for `days` through engine + store; then raw sled writes as many
/// records of the same size.
pub fn store(members: usize, days: u32, seed: u64) -> BenchResult<()> {
    let (village, world) = crate::simulate::generate(members, seed);
    let cast = crate::simulate::Cast::Generated(village);
    let rss_village = current_rss_kib(std::process::id()).unwrap_or(0);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = Store::open_with(
        dir.path().join("store"),
        cast.village().clone(),
        Durability::OnFlush,
    )
    .map_err(|e| e.to_string())?;
    let start: DateTime<Utc> = "2026-11-02T00:00:00Z".parse().map_err(|_| "start")?;
    let opts = crate::simulate::Options {
        start,
        days,
        json: true,
    };
    let t0 = Instant::now();
    let summary = crate::simulate::run(&cast, world, &store, &opts, &mut std::io::sink())
        .map_err(|e| e.to_string())?;
    store.flush().map_err(|e| e.to_string())?;
    let engine_secs = t0.elapsed().as_secs_f64();
    let (records, bytes) = store.write_stats();
    let events = summary.events();
    let rss_day = current_rss_kib(std::process::id()).unwrap_or(0);
    drop(store);
    let disk = dir_size(&dir.path().join("store"));
    let rss = peak_rss_kib(None).unwrap_or(0);

    // Baseline: raw sled, one tree, the same number of records of the same average size.
    let raw_dir = dir.path().join("raw");
    let db = sled::open(&raw_dir).map_err(|e| e.to_string())?;
    let size = usize::try_from(bytes / records.max(1)).unwrap_or(64).max(9);
    let value = vec![b'x'; size - 8];
    let t1 = Instant::now();
    for i in 0..records {
        db.insert(i.to_be_bytes(), value.as_slice())
            .map_err(|e| e.to_string())?;
    }
    db.flush().map_err(|e| e.to_string())?;
    let raw_secs = t1.elapsed().as_secs_f64();

    let member_days = members as f64 * f64::from(days);
    println!("bench store: {members} members x {days} day(s), seed {seed}");
    println!(
        "  engine + store : {engine_secs:8.2} s  {:>10.0} member-days/s  {:>10.0} events/s  ({events} events, {records} records, {:.1} MB written)",
        member_days / engine_secs,
        events as f64 / engine_secs,
        bytes as f64 / 1e6
    );
    println!(
        "  raw sled       : {raw_secs:8.2} s  {:>10.0} records/s  (same {records} records of {size} bytes, one flush)",
        records as f64 / raw_secs
    );
    println!(
        "  ratio          : {:8.2}x raw sled",
        engine_secs / raw_secs.max(1e-9)
    );
    println!(
        "  per member     : {:8.2} us/member-day, {:.0} bytes on disk per member",
        engine_secs * 1e6 / member_days,
        disk as f64 / members as f64
    );
    println!(
        "  peak RSS       : {:8.1} MB  (village generated: {:.1} MB; after the day, store open: {:.1} MB)",
        rss as f64 / 1024.0,
        rss_village as f64 / 1024.0,
        rss_day as f64 / 1024.0
    );
    Ok(())
}

// ----- the daemon as a child process --------------------------------------------------------

const TOKEN: &str = "bench-admin-token-0123456789abcdef";
const TWILIO_TOKEN: &str = "bench-twilio-auth-token";
const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Daemon {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> BenchResult<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// Starts `porchlight serve` on a prepared data directory.
async fn start_daemon(dir: tempfile::TempDir, config_tail: &str) -> BenchResult<Daemon> {
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"{base}\"\nadmin_token_env = \"PORCHLIGHT_ADMIN_TOKEN\"\n\n[storage]\npath = \"{}\"\n\n{config_tail}",
        dir.path().join("data").display()
    );
    let path = dir.path().join("porchlight.toml");
    std::fs::write(&path, config).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.path().join("daemon.log")).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let child = std::process::Command::new(exe)
        .args(["serve", "--config"])
        .arg(&path)
        .env("PORCHLIGHT_ADMIN_TOKEN", TOKEN)
        .env("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
        .env("PORCHLIGHT_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| e.to_string())?;
    let daemon = Daemon {
        child,
        base,
        _dir: dir,
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client
            .get(format!("{}/healthz", daemon.base))
            .timeout(Duration::from_secs(2))
            .send()
            .await
        {
            if r.status().is_success() {
                return Ok(daemon);
            }
        }
        if Instant::now() > deadline {
            return Err("the daemon did not start within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn village() -> Village {
    Village {
        name: "Bench Village".into(),
        timezone: chrono_tz::UTC,
        coordinators: vec![],
        public_url: None,
        ..Village::default()
    }
}

// ----- daemon: a burst due at one instant ---------------------------------------------------

#[derive(Default)]
struct Received {
    /// (member, type) → (received at, occurred_at in the payload).
    got: HashMap<(String, String), (DateTime<Utc>, DateTime<Utc>)>,
}

async fn receiver(
    log: Arc<Mutex<Received>>,
) -> BenchResult<(SocketAddr, tokio::task::JoinHandle<()>)> {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                let now = Utc::now();
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
                    let member = v["member"]["id"].as_str().unwrap_or("").to_string();
                    let kind = v["type"].as_str().unwrap_or("").to_string();
                    let occurred = v["occurred_at"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(now);
                    if let Ok(mut l) = log.lock() {
                        l.got.entry((member, kind)).or_insert((now, occurred));
                    }
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, task))
}

fn summarize(name: &str, mut ms: Vec<f64>, expected: usize) {
    ms.sort_by(f64::total_cmp);
    println!(
        "  {name:<26} received {:>6}/{expected:<6} p50 {:>8.0} ms  p99 {:>8.0} ms  max {:>8.0} ms",
        ms.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.last().copied().unwrap_or(f64::NAN)
    );
}

/// N members due at one instant, all quiet: prompt due → received, deadline → alert received.
pub async fn daemon(members: usize, window_secs: u64, lead_secs: u64) -> BenchResult<()> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let log = Arc::new(Mutex::new(Received::default()));
    let (addr, _rx) = receiver(log.clone()).await?;
    // Everyone's check-in is one instant, `lead_secs` ahead (second precision, UTC).
    let due = (Utc::now() + TimeDelta::seconds(lead_secs as i64))
        .with_nanosecond(0)
        .ok_or("time")?;
    let cron = format!("{} {} {} * * *", due.second(), due.minute(), due.hour());
    {
        let store = Store::open_with(dir.path().join("data"), village(), Durability::OnFlush)
            .map_err(|e| e.to_string())?;
        let policy = porchlight_core::model::Policy {
            checkin: cron.parse().map_err(|e| format!("{e}"))?,
            window: Span(TimeDelta::seconds(window_secs as i64)),
            reminders: vec![],
            escalation: vec![EscalationStep {
                after: Span(TimeDelta::zero()),
                notify: Audience::Family,
            }],
            quiet_hours: None,
            ..porchlight_core::model::Policy::default()
        };
        let now = Utc::now();
        for i in 0..members {
            let id = format!("m{i}");
            let mut p = Person::new(id.clone(), format!("Member {i}"));
            p.webhook = Some("hook".into());
            p.contact = vec![ContactWay::Webhook];
            store.put_person(&p).map_err(|e| e.to_string())?;
            let mut f = Person::new(format!("f{i}"), format!("Family {i}"));
            f.webhook = Some("hook".into());
            f.contact = vec![ContactWay::Webhook];
            store.put_person(&f).map_err(|e| e.to_string())?;
            let mut m = Member::new(id);
            m.policy = policy.clone();
            m.family = vec![format!("f{i}")];
            store.put_member(m, now).map_err(|e| e.to_string())?;
        }
        store.flush().map_err(|e| e.to_string())?;
    }
    let tail = format!(
        "[village]\nname = \"Bench Village\"\ntimezone = \"UTC\"\ncoordinators = []\n\n[delivery]\nconcurrency = 64\n\n[channels.hook]\nkind = \"webhook\"\nurl = \"http://{addr}/hook\"\nsecret_env = \"PORCHLIGHT_WEBHOOK_SECRET\"\n"
    );
    let daemon = start_daemon(dir, &tail).await?;
    let idle_rss = current_rss_kib(daemon.child.id()).unwrap_or(0);
    if Utc::now() >= due {
        return Err(format!(
            "setup took longer than the lead time ({lead_secs} s); use a larger --lead"
        ));
    }
    let give_up = due + TimeDelta::seconds(window_secs as i64 + 120);
    loop {
        let alerts = log
            .lock()
            .map(|l| l.got.keys().filter(|(_, k)| k == "checkin.missed").count())
            .unwrap_or(0);
        if alerts >= members || Utc::now() > give_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rss = peak_rss_kib(Some(daemon.child.id())).unwrap_or(0);
    // What it keeps once the burst is over (the delivery tasks and buffers are gone).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after_rss = current_rss_kib(daemon.child.id()).unwrap_or(0);
    drop(daemon);
    let got = log.lock().map_err(|_| "lock")?;
    let mut prompts = Vec::new();
    let mut alerts = Vec::new();
    for ((member, kind), (at, _)) in &got.got {
        if member.starts_with('m') && kind == "checkin.prompt" {
            prompts.push((*at - due).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
    }
    for ((member, kind), (at, _)) in &got.got {
        if kind != "checkin.missed" {
            continue;
        }
        // The deadline is the prompt's commit instant plus the window (the window runs from
        // the moment the prompt is sent); the prompt payload carries that instant.
        if let Some((_, prompted)) = got.got.get(&(member.clone(), "checkin.prompt".into())) {
            let deadline = *prompted + TimeDelta::seconds(window_secs as i64);
            alerts.push((*at - deadline).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
    }
    println!("bench daemon: {members} members due at {due} (window {window_secs} s), all quiet");
    summarize("prompt due -> received", prompts, members);
    summarize("deadline -> alert received", alerts, members);
    println!("  daemon peak RSS            {:.1} MB", rss as f64 / 1024.0);
    println!(
        "  daemon RSS idle before / settled after the burst  {:.1} / {:.1} MB",
        idle_rss as f64 / 1024.0,
        after_rss as f64 / 1024.0
    );
    Ok(())
}

// ----- inbound -----------------------------------------------------------------------------

/// Signed inbound replies at each concurrency, beside `/healthz`; idle CPU first.
pub async fn inbound(members: usize, seconds: u64, connections: &[usize]) -> BenchResult<()> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    {
        let store = Store::open_with(dir.path().join("data"), village(), Durability::OnFlush)
            .map_err(|e| e.to_string())?;
        let now = Utc::now();
        for i in 0..members {
            let id = format!("m{i}");
            let mut p = Person::new(id.clone(), format!("Member {i}"));
            p.phone = Some(format!("+1202{:07}", 5_000_000 + i));
            store.put_person(&p).map_err(|e| e.to_string())?;
            // Check-ins far from now: the daemon is idle but for the replies.
            let mut m = Member::new(id);
            m.policy.checkin = "0 0 3 1 1 *".parse().map_err(|e| format!("{e}"))?;
            store.put_member(m, now).map_err(|e| e.to_string())?;
        }
        store.flush().map_err(|e| e.to_string())?;
    }
    let tail = "[village]\nname = \"Bench Village\"\ntimezone = \"UTC\"\ncoordinators = []\n\n[channels.sms]\nkind = \"twilio\"\nbase_url = \"http://127.0.0.1:9\"\naccount_sid = \"AC00000000000000000000000000000000\"\nauth_token_env = \"TWILIO_AUTH_TOKEN\"\nfrom = \"+12025550100\"\n";
    let daemon = start_daemon(dir, tail).await?;
    let pid = daemon.child.id();
    // Idle CPU over a few seconds.
    let ticks_per_sec = 100.0; // USER_HZ on Linux
    let c0 = cpu_ticks(pid).unwrap_or(0);
    let idle_secs = 5.0;
    tokio::time::sleep(Duration::from_secs_f64(idle_secs)).await;
    let c1 = cpu_ticks(pid).unwrap_or(0);
    let idle_cpu = (c1 - c0) as f64 / ticks_per_sec / idle_secs * 100.0;
    println!(
        "bench inbound: {members} members, {seconds} s per run, daemon idle CPU {idle_cpu:.2}%"
    );
    let url = format!("{}/sms/twilio", daemon.base);
    let seq = Arc::new(std::sync::atomic::AtomicU64::new(0));
    for &c in connections {
        let (n, secs, mut lat, errors) = load(c, seconds, {
            let (url, base, seq) = (url.clone(), daemon.base.clone(), seq.clone());
            move |client: &reqwest::Client| {
                let i = seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let params = vec![
                    ("MessageSid".to_string(), format!("SM{i:032}")),
                    (
                        "From".to_string(),
                        format!("+1202{:07}", 5_000_000 + (i as usize % members)),
                    ),
                    ("To".to_string(), "+12025550100".to_string()),
                    ("Body".to_string(), "Ok, all good here thanks".to_string()),
                ];
                let sig = porchlight_server::inbound::twilio_signature(
                    TWILIO_TOKEN,
                    &format!("{base}/sms/twilio"),
                    &params,
                );
                client
                    .post(&url)
                    .header("X-Twilio-Signature", sig)
                    .form(&params)
            }
        })
        .await;
        lat.sort_by(f64::total_cmp);
        println!(
            "  /sms/twilio  c={c:<3} {:>8.0} replies/s  p50 {:>6.1} ms  p99 {:>6.1} ms  ({n} ok, {errors} errors)",
            n as f64 / secs,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        );
        let health = format!("{}/healthz", daemon.base);
        let (n, secs, mut lat, errors) = load(c, seconds, move |client: &reqwest::Client| {
            client.get(&health)
        })
        .await;
        lat.sort_by(f64::total_cmp);
        println!(
            "  /healthz     c={c:<3} {:>8.0} req/s      p50 {:>6.1} ms  p99 {:>6.1} ms  ({n} ok, {errors} errors)",
            n as f64 / secs,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        );
    }
    println!(
        "  daemon peak RSS {:.1} MB",
        peak_rss_kib(Some(pid)).unwrap_or(0) as f64 / 1024.0
    );
    Ok(())
}

/// `c` connections each sending requests back to back for `seconds`: (ok count, elapsed,
/// latencies in ms, errors).
async fn load<F>(c: usize, seconds: u64, make: F) -> (usize, f64, Vec<f64>, usize)
where
    F: Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let stop = Instant::now() + Duration::from_secs(seconds);
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..c {
        let make = make.clone();
        tasks.spawn(async move {
            // One client per connection: keep-alive, like a provider's connection pool.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default();
            let mut lat = Vec::new();
            let mut errors = 0;
            while Instant::now() < stop {
                let t = Instant::now();
                match make(&client).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        });
    }
    let mut all = Vec::new();
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        if let Ok((l, e)) = r {
            all.extend(l);
            errors += e;
        }
    }
    (all.len(), t0.elapsed().as_secs_f64(), all, errors)
}
