//! Helpers for end-to-end tests: start the real `porchlight` binary on 127.0.0.1 with a temp
//! data dir and a config, find the port it bound, collect its output, and stop or kill it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The admin token every test daemon runs with.
pub const TOKEN: &str = "test-admin-token-0123456789";

/// A running daemon.
pub struct Daemon {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The temp dir holding config and data.
    pub dir: PathBuf,
    /// Lines the log channel printed (stdout).
    pub stdout: Arc<Mutex<Vec<String>>>,
    /// Log lines (stderr).
    pub stderr: Arc<Mutex<Vec<String>>>,
}

fn collect(
    reader: impl std::io::Read + Send + 'static,
    sink: Arc<Mutex<Vec<String>>>,
    ready: Option<std::sync::mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &ready {
                if line.contains("porchlight is running") {
                    if let Some(addr) = line
                        .split("listen=")
                        .nth(1)
                        .and_then(|r| r.split_whitespace().next())
                    {
                        let _ = tx.send(addr.to_string());
                    }
                }
            }
            sink.lock().unwrap().push(line);
        }
    });
}

/// Writes `config` (which must not set `[server] listen` or `[storage]`) into `dir` and starts
/// the daemon on a free loopback port with `env` added to its environment.
pub fn start_in(dir: PathBuf, config: &str, env: &[(&str, &str)]) -> Daemon {
    let data = dir.join("data");
    let full = format!(
        "{}\n[storage]\npath = {:?}\n",
        if config.contains("[server]") {
            config.replacen("[server]", "[server]\nlisten = \"127.0.0.1:0\"", 1)
        } else {
            format!("[server]\nlisten = \"127.0.0.1:0\"\n{config}")
        },
        data.display().to_string()
    );
    let path = dir.join("porchlight.toml");
    std::fs::write(&path, full).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_porchlight"));
    cmd.arg("serve")
        .arg("--config")
        .arg(&path)
        .env("PORCHLIGHT_ADMIN_TOKEN", TOKEN)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the binary starts");
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    collect(child.stdout.take().unwrap(), stdout.clone(), None);
    collect(child.stderr.take().unwrap(), stderr.clone(), Some(tx));
    let addr = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(a) => a,
        Err(_) => {
            let _ = child.kill();
            panic!("daemon did not start: {:?}", stderr.lock().unwrap());
        }
    };
    Daemon {
        child,
        base: format!("http://{addr}"),
        dir,
        stdout,
        stderr,
    }
}

/// Starts a daemon in a fresh temp dir (kept for the test's life by leaking the guard path).
pub fn start(config: &str, env: &[(&str, &str)]) -> Daemon {
    let dir = tempfile::tempdir().unwrap().keep();
    start_in(dir, config, env)
}

impl Daemon {
    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then the exit code (None if it did not stop within 20 s).
    pub fn terminate(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        None
    }

    /// The exit code if the daemon has exited by itself (`Some(None)`: killed by a signal).
    pub fn exited(&mut self) -> Option<Option<i32>> {
        self.child.try_wait().ok().flatten().map(|s| s.code())
    }

    /// The log channel's lines so far.
    pub fn printed(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// The config file path.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("porchlight.toml")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` every 25 ms until it returns `Some`, or panics after `secs` seconds with `what`.
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A cron expression (with seconds) for `secs` seconds from now, daily.
pub fn cron_in(secs: i64) -> String {
    let t = chrono::Utc::now() + chrono::TimeDelta::seconds(secs);
    format!(
        "{} {} {} * * *",
        t.format("%-S"),
        t.format("%-M"),
        t.format("%-H")
    )
}
