//! Storage faults against the real daemon (issue 12), two of them:
//! - **full**: the whole data directory sits on a small tmpfs the test mounts and fills up;
//! - **read-only**: the data directory sits on an ext4 filesystem on a loop device, mounted
//!   `errors=remount-ro`, and the test makes the kernel record an ext4 error (the
//!   `trigger_fs_error` knob in sysfs), so the filesystem turns read-only under the daemon's
//!   open files — what a failing disk does. (A plain `mount -o remount,ro` is refused by Linux
//!   while sled holds its files open for writing.)
//!
//! While writes cannot be made durable:
//! every signed inbound reply is answered 503 (so the gateway retries) — never a 200 for
//! something not on disk — admin writes get a JSON 503, and `/readyz` fails naming the fault.
//! When space returns, or an operator has checked and remounted the disk, the daemon reopens
//! its store by itself, `/readyz` passes, and the retried replies are recorded exactly once.
//!
//! Mounting needs root and loop devices (CI runs as root). Where they are missing the test
//! says so loudly and does nothing.

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

/// A village of [`MEMBERS`] on `dir`, with the daemon that serves it.
struct Village {
    daemon: common::Daemon,
    base: String,
    admin: Admin,
    http: reqwest::Client,
    dir: PathBuf,
    config: String,
}

impl Village {
    /// Starts the daemon on `dir` and adds the members; their first replies are in.
    async fn start(dir: PathBuf) -> Village {
        let twilio = FakeTwilio::start().await;
        let config = format!(
            "[server]\npublic_url = \"{PUBLIC_URL}\"\n\n[policy]\nreminders = []\n\n{}",
            twilio.channel("sms", "twilio")
        );
        let daemon = Village::spawn(&dir, &config).await;
        let base = daemon.base.clone();
        let v = Village {
            admin: Admin::new(&base),
            base,
            daemon,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            dir,
            config,
        };
        let checkin = common::cron_in(6 * 3600);
        for i in 0..MEMBERS {
            let (s, body) = v
                .admin
                .call(
                    reqwest::Method::POST,
                    "/api/v1/members",
                    Some(json!({ "name": format!("Member {i:02} Okafor"), "phone": phone(i), "checkin": checkin })),
                )
                .await;
            assert_eq!(s, 201, "{body}");
        }
        let all: Vec<usize> = (0..MEMBERS).collect();
        assert_eq!(
            burst(&v.http, &v.base, "before", &all).await,
            Vec::<usize>::new()
        );
        wait_ready(&v.http, &v.base, 200, 10).await;
        v
    }

    async fn spawn(dir: &Path, config: &str) -> common::Daemon {
        let (dir, config) = (dir.to_path_buf(), config.to_string());
        tokio::task::spawn_blocking(move || common::start_in(dir, &config, &channel_env()))
            .await
            .unwrap()
    }

    /// After the storage came back: the daemon either reopens its store by itself (`/readyz`
    /// passes), or — when a flush is stuck inside sled, which then blocks every later commit
    /// in the process — it says so and exits non-zero, and is started again the way its
    /// supervisor (systemd, `Restart=always`) would. Returns whether it restarted.
    async fn recovered(&mut self, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(code) = self.daemon.exited() {
                assert_ne!(code, Some(0), "an exit to be restarted is a failure exit");
                let said = self.daemon.stderr.lock().unwrap().join("\n");
                assert!(
                    said.contains("exiting so the supervisor restarts"),
                    "the daemon says why it exits: {said}"
                );
                self.daemon = Village::spawn(&self.dir, &self.config).await;
                self.base = self.daemon.base.clone();
                self.admin = Admin::new(&self.base);
                wait_ready(&self.http, &self.base, 200, 10).await;
                return true;
            }
            let (s, body) = readyz(&self.http, &self.base).await;
            if s == 200 {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "/readyz stayed {s} ({body}) and the daemon did not exit"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// While the store is faulty: admin writes are a JSON 503, `/readyz` fails naming the fault,
/// `/healthz` still answers.
async fn faulty_everywhere(http: &reqwest::Client, base: &str, admin: &Admin) {
    let (s, v) = admin
        .call(
            reqwest::Method::POST,
            "/api/v1/people",
            Some(json!({ "name": "Late Addition", "phone": "+12025559999" })),
        )
        .await;
    assert_eq!(s, 503, "{v}");
    assert!(v["error"]["code"].is_string(), "a JSON error: {v}");
    let why = wait_ready(http, base, 503, 15).await;
    assert!(why.contains("storage fault"), "{why}");
    let healthz = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(healthz.status(), 200, "alive, only not ready");
}

/// Every reply of `rounds` that got its 200 is recorded exactly once; none refused was kept.
async fn each_reply_recorded_once(admin: &Admin, rounds: &[&str]) {
    let seen = recorded(admin).await;
    for round in rounds {
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
    assert_eq!(total, rounds.len() * MEMBERS);
    let _: Value = admin.get("/api/v1/status").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_refuses_replies_with_503_and_recovers_by_itself() {
    let Some(fs) = Tmpfs::mount("24m") else {
        return;
    };
    let mut v = Village::start(fs.0.clone()).await;

    // ---- the disk fills up --------------------------------------------------------------
    let filler = fill(&fs.0);
    let refused = refused_while_faulty(&v.http, &v.base, "full").await;
    faulty_everywhere(&v.http, &v.base, &v.admin).await;

    // ---- space returns: it recovers, the retries are recorded once -------------------------
    std::fs::remove_file(&filler).unwrap();
    v.recovered(60).await;
    assert_eq!(
        burst(&v.http, &v.base, "full", &refused).await,
        Vec::<usize>::new(),
        "the gateway's retries are accepted"
    );
    each_reply_recorded_once(&v.admin, &["before", "full"]).await;
}

/// An ext4 filesystem on a loop device, mounted with `errors=remount-ro`: the kind of disk
/// that turns read-only under a daemon when the kernel sees an I/O error.
struct Ext4 {
    image: PathBuf,
    mount: PathBuf,
    devices: Vec<String>,
}

impl Ext4 {
    fn create() -> Option<Ext4> {
        let dir = tempfile::tempdir().unwrap().keep();
        let image = dir.join("disk.img");
        let mount = dir.join("mnt");
        std::fs::create_dir(&mount).unwrap();
        let run = |cmd: &mut Command| cmd.status().is_ok_and(|s| s.success());
        let mut fs = Ext4 {
            image,
            mount,
            devices: Vec::new(),
        };
        let made = run(Command::new("truncate").args(["-s", "64M"]).arg(&fs.image))
            && run(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&fs.image));
        if !made || !fs.attach() {
            eprintln!(
                "SKIPPED: cannot make a loop-mounted ext4 here (not root, or no loop devices); \
                 the read-only-disk test did not run"
            );
            return None;
        }
        Some(fs)
    }

    /// Attaches the image to a fresh loop device and mounts it.
    fn attach(&mut self) -> bool {
        let Ok(out) = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&self.image)
            .output()
        else {
            return false;
        };
        let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() || dev.is_empty() {
            return false;
        }
        self.devices.push(dev.clone());
        Command::new("mount")
            .args(["-o", "errors=remount-ro", &dev])
            .arg(&self.mount)
            .status()
            .is_ok_and(|s| s.success())
    }

    /// ext4's own fault injection: the kernel records an error and, with `errors=remount-ro`,
    /// makes the filesystem read-only under every open file.
    fn error_knob(&self) -> Option<PathBuf> {
        let dev = self.devices.last()?;
        let name = Path::new(dev).file_name()?;
        let knob = Path::new("/sys/fs/ext4")
            .join(name)
            .join("trigger_fs_error");
        knob.exists().then_some(knob)
    }

    /// What an operator does about a disk that went read-only: unmount it, check it, mount it
    /// again in the same place. (The daemon still holds files of the old mount, so the unmount
    /// is lazy and the image goes on a fresh loop device.)
    fn repair(&mut self) {
        let ok = |cmd: &mut Command| cmd.status().unwrap();
        assert!(ok(Command::new("umount").arg("-l").arg(&self.mount)).success());
        // e2fsck: 0 clean, 1 errors corrected.
        let fsck = ok(Command::new("e2fsck").args(["-f", "-y"]).arg(&self.image));
        assert!(matches!(fsck.code(), Some(0 | 1)), "e2fsck: {fsck}");
        assert!(self.attach(), "the repaired disk mounts again");
    }
}

impl Drop for Ext4 {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
        for dev in &self.devices {
            let _ = Command::new("losetup").arg("-d").arg(dev).status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_disk_gone_read_only_refuses_replies_with_503_and_recovers_after_repair() {
    let Some(mut fs) = Ext4::create() else {
        return;
    };
    let Some(knob) = fs.error_knob() else {
        eprintln!(
            "SKIPPED: this kernel has no ext4 trigger_fs_error; the read-only test did not run"
        );
        return;
    };
    let mut v = Village::start(fs.mount.clone()).await;

    // ---- the disk turns read-only under the daemon ----------------------------------------
    std::fs::write(&knob, "porchlight storage-fault test\n").unwrap();
    let probe = std::fs::write(fs.mount.join("probe"), b"x");
    assert!(probe.is_err(), "the filesystem is read-only now");
    let refused = refused_while_faulty(&v.http, &v.base, "readonly").await;
    faulty_everywhere(&v.http, &v.base, &v.admin).await;

    // ---- an operator repairs and remounts it: the daemon recovers ---------------------------
    fs.repair();
    let restarted = v.recovered(60).await;
    eprintln!(
        "recovered {}",
        if restarted {
            "by a restart"
        } else {
            "in process"
        }
    );
    assert_eq!(
        burst(&v.http, &v.base, "readonly", &refused).await,
        Vec::<usize>::new(),
        "the gateway's retries are accepted"
    );
    // Everything acknowledged before the disk failed survived it (sled's own flush does not
    // sync the log's size: see `Inner::make_durable`).
    each_reply_recorded_once(&v.admin, &["before", "readonly"]).await;
}
