//! `porchlight`: the command line. It parses arguments, runs one command, and decides the exit
//! code in one place: 0 on success, 1 for runtime failures, 2 for bad usage or bad input.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, TimeZone, Utc};
use clap::{Parser, Subcommand};
use porchlight_server::config::{Config, process_env};

mod archive;
mod bench;
mod client;
mod compare;
mod roster_cli;
mod scenario;
mod simulate;

#[derive(Parser)]
#[command(
    name = "porchlight",
    version,
    about = "Daily check-ins for a Village's older adults, with neighbor-first escalation."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the daemon is, for the client commands.
#[derive(clap::Args)]
pub(crate) struct Server {
    /// The daemon's address (the admin token comes from PORCHLIGHT_ADMIN_TOKEN).
    #[arg(
        long,
        env = "PORCHLIGHT_SERVER",
        default_value = "http://127.0.0.1:7878"
    )]
    pub(crate) server: String,
}

/// What to measure.
#[derive(Subcommand)]
enum BenchCmd {
    /// Simulated member-days through the real engine and sled store, beside raw sled.
    Store {
        /// Members of the generated village.
        #[arg(long, default_value_t = 10_000)]
        members: usize,
        /// Days to simulate.
        #[arg(long, default_value_t = 1)]
        days: u32,
        /// Seed for the generated village.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The real daemon: N members due at one instant, all quiet; prompt and alert latency at a
    /// local webhook receiver.
    Daemon {
        /// Members due at the same instant.
        #[arg(long, default_value_t = 1000)]
        members: usize,
        /// Check-in window, seconds.
        #[arg(long, default_value_t = 20)]
        window: u64,
        /// Seconds from start to the shared due instant (setup must fit in it).
        #[arg(long, default_value_t = 30)]
        lead: u64,
    },
    /// Signed inbound SMS replies per second at several concurrencies, beside /healthz.
    Inbound {
        /// Members (senders).
        #[arg(long, default_value_t = 1000)]
        members: usize,
        /// Seconds per run.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Concurrent connections, comma-separated.
        #[arg(long, default_value = "1,16,64", value_delimiter = ',')]
        connections: Vec<usize>,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: check-ins on schedule, replies by SMS and link, the admin API.
    Serve {
        /// Config file (without one: embedded defaults, see README).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Validate a config file: exit 0, or exit 2 naming the file, key and problem.
    CheckConfig {
        /// Config file.
        #[arg(long, default_value = "config/porchlight.toml")]
        config: PathBuf,
    },
    /// Run the real engine and a real sled store on a virtual clock and print the timeline.
    Simulate {
        /// Days to simulate (default 30, or the scenario's `days`).
        #[arg(long)]
        days: Option<u32>,
        /// Members of the generated village (ignored with --scenario; default 20, or 300 with
        /// --compare).
        #[arg(long)]
        members: Option<usize>,
        /// A scenario file (TOML) instead of a generated village.
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// First instant, RFC 3339 (default: the scenario's `start`, or today 00:00 UTC).
        #[arg(long)]
        start: Option<String>,
        /// Print one JSON event object per line instead of the timeline.
        #[arg(long)]
        json: bool,
        /// Keep the store in this directory instead of a temporary one.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Seed for the generated village's behaviour.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Compare escalation policies (two or more policy files) on the same village-year.
        #[arg(long, num_args = 2.., value_name = "POLICY.toml")]
        compare: Vec<PathBuf>,
        /// With --compare: print CSV instead of the table.
        #[arg(long, requires = "compare")]
        csv: bool,
        /// With --compare: a behaviour model file (rates, fixed member-days).
        #[arg(long, requires = "compare")]
        model: Option<PathBuf>,
        /// With --compare: write each policy's per-member-day truth stream here (JSON lines).
        #[arg(long, requires = "compare")]
        truth: Option<PathBuf>,
    },
    /// Measure throughput and latency (the figures of BENCHMARKS.md).
    #[command(subcommand)]
    Bench(BenchCmd),
    /// Members: add, list, show, remove.
    #[command(subcommand)]
    Member(MemberCmd),
    /// People who are not (only) members: buddies, family, coordinators.
    #[command(subcommand)]
    Person(PersonCmd),
    /// Mark a member away: no check-ins and no alerts until the date.
    Away {
        /// Member id.
        member: String,
        /// The date check-ins resume: 2026-12-24, 12/24, 12/24/2026, Dec 24, 24 Dec, tomorrow,
        /// or a weekday (its next occurrence), in the member's time zone.
        #[arg(long)]
        until: String,
        #[command(flatten)]
        server: Server,
    },
    /// End a member's away time.
    Back {
        /// Member id.
        member: String,
        #[command(flatten)]
        server: Server,
    },
    /// Prompt every active member now (a storm, a heat wave), or show who answered one.
    Rollcall {
        /// Time to answer (default 1h).
        #[arg(long)]
        window: Option<String>,
        /// A note for every text, e.g. "heat advisory" (one line, at most 120 characters).
        #[arg(long)]
        message: Option<String>,
        /// Show who answered roll call ID instead of starting one.
        #[arg(long)]
        show: Option<String>,
        #[command(flatten)]
        server: Server,
    },
    /// Resolve a member's open alert by hand; everyone alerted gets the all-clear.
    Resolve {
        /// Member id (or a check-in id).
        id: String,
        /// Why, for the record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: Server,
    },
    /// Import a roster CSV (columns in the README); nothing is imported if any row is bad.
    Import {
        /// The CSV file.
        file: PathBuf,
        #[command(flatten)]
        server: Server,
    },
    /// Export the roster as CSV.
    Export {
        /// Where to write it (`-` for standard output).
        file: PathBuf,
        #[command(flatten)]
        server: Server,
    },
    /// The month's report from the archive: per member and village totals.
    Report {
        /// The month, YYYY-MM, in the village's time zone.
        #[arg(long)]
        month: String,
        /// md, csv or json.
        #[arg(long, value_enum, default_value = "md")]
        format: archive::ReportFormat,
        #[command(flatten)]
        server: Server,
    },
    /// Back up a running daemon (a consistent snapshot, without stopping it) into FILE.
    Backup {
        /// Where to write the backup.
        file: PathBuf,
        #[command(flatten)]
        server: Server,
    },
    /// Rebuild a data directory from a backup file (offline: the daemon must not be using it).
    Restore {
        /// The backup file.
        file: PathBuf,
        /// The data directory to create.
        #[arg(long)]
        data: PathBuf,
        /// Replace a non-empty data directory.
        #[arg(long)]
        force: bool,
    },
    /// Today's board: every member, state, answered at, open alerts.
    Status {
        /// Print the JSON the API returns.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: Server,
    },
}

// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum MemberCmd {
    /// Add a member (and their person record), or make an existing person a member with
    /// --person ID.
    Add {
        /// Full name (not with --person).
        #[arg(required_unless_present = "person")]
        name: Option<String>,
        /// Make this existing person (a buddy, say) a member; their person record stays as it is.
        #[arg(long, conflicts_with_all = ["name", "id", "phone", "timezone", "language", "contact", "voice"])]
        person: Option<String>,
        /// Id (a readable slug; made from the name when absent).
        #[arg(long)]
        id: Option<String>,
        /// Ways to reach them, in order, comma-separated: sms, voice, webhook.
        #[arg(long, value_delimiter = ',')]
        contact: Vec<String>,
        /// Their phone is a landline: reach them by a call (contact way `voice`).
        #[arg(long)]
        voice: bool,
        /// Add them paused: no prompts and no alerts until unpaused.
        #[arg(long)]
        paused: bool,
        /// No prompts or reminders in this local period, e.g. 21:00-08:00.
        #[arg(long)]
        quiet_hours: Option<String>,
        /// Phone, E.164 (+12025550143).
        #[arg(long)]
        phone: Option<String>,
        /// IANA time zone (default: the village's).
        #[arg(long)]
        timezone: Option<String>,
        /// en or es.
        #[arg(long)]
        language: Option<String>,
        /// "HH:MM" or a cron expression (default: the village policy's).
        #[arg(long)]
        checkin: Option<String>,
        /// Time to answer, e.g. 2h.
        #[arg(long)]
        window: Option<String>,
        /// self, buddy or circle.
        #[arg(long)]
        by: Option<String>,
        /// Circle name (with --by circle).
        #[arg(long)]
        circle: Option<String>,
        /// Buddy person id (repeat, in order).
        #[arg(long = "buddy")]
        buddies: Vec<String>,
        /// Family person id (repeat).
        #[arg(long = "family")]
        family: Vec<String>,
        #[command(flatten)]
        server: Server,
    },
    /// Change a member: only the flags given change (the rest is kept, buddies included).
    Edit(roster_cli::MemberEdit),
    /// List members.
    List {
        #[command(flatten)]
        server: Server,
    },
    /// Show one member.
    Show {
        /// Member id.
        id: String,
        #[command(flatten)]
        server: Server,
    },
    /// Remove a member (their history stays). Refused while they have an open alert, unless
    /// --force with a --reason: the alert is resolved and everyone alerted gets the all-clear.
    Remove {
        /// Member id.
        id: String,
        /// Remove even with an open alert.
        #[arg(long, requires = "reason")]
        force: bool,
        /// Why (recorded, and said in the all-clear).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        server: Server,
    },
}

#[derive(Subcommand)]
enum PersonCmd {
    /// Add a person.
    Add {
        /// Full name.
        name: String,
        /// Id (made from the name when absent).
        #[arg(long)]
        id: Option<String>,
        /// Phone, E.164.
        #[arg(long)]
        phone: Option<String>,
        /// A configured webhook channel that reaches them.
        #[arg(long)]
        webhook: Option<String>,
        /// IANA time zone.
        #[arg(long)]
        timezone: Option<String>,
        /// en or es.
        #[arg(long)]
        language: Option<String>,
        /// Ways to reach them, in order, comma-separated: sms, voice, webhook.
        #[arg(long, value_delimiter = ',')]
        contact: Vec<String>,
        /// Their phone is a landline: reach them by a call (contact way `voice`).
        #[arg(long)]
        voice: bool,
        #[command(flatten)]
        server: Server,
    },
    /// Change a person: only the flags given change.
    Edit(roster_cli::PersonEdit),
    /// Remove a person. Refused while they are a member, a coordinator, or anyone's buddy or
    /// family (the places are listed).
    Remove {
        /// Person id.
        id: String,
        #[command(flatten)]
        server: Server,
    },
    /// List people.
    List {
        #[command(flatten)]
        server: Server,
    },
}

/// A failure and its exit code.
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// Bad usage or bad input: exit 2.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    /// A runtime failure: exit 1.
    pub fn runtime(message: impl Into<String>) -> Failure {
        Failure {
            code: 1,
            message: message.into(),
        }
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure::usage(message)
}

fn runtime(message: impl Into<String>) -> Failure {
    Failure::runtime(message)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("porchlight: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve { config } => serve(config),
        Command::CheckConfig { config } => {
            let c = Config::load(&config, &process_env).map_err(usage)?;
            porchlight_server::config::check_storage(&c.data_dir)
                .map_err(|e| usage(format!("{}: {e}", config.display())))?;
            let note = check_coordinators(&config, &c)?;
            println!(
                "{}: OK — {} channel(s) [{}], village {:?} in {}, listening on {}",
                config.display(),
                c.channels.len(),
                c.channels
                    .iter()
                    .map(|(n, ch)| format!("{n}: {}", ch.kind()))
                    .collect::<Vec<_>>()
                    .join(", "),
                c.village.name,
                c.village.timezone,
                c.listen
            );
            if let Some(note) = note {
                println!("note: {note}");
            }
            Ok(())
        }
        Command::Bench(cmd) => {
            let rt = tokio::runtime::Runtime::new().map_err(|e| runtime(e.to_string()))?;
            match cmd {
                BenchCmd::Store {
                    members,
                    days,
                    seed,
                } => {
                    if members == 0 || members > 10_000_000 {
                        return Err(usage("--members must be between 1 and 10000000"));
                    }
                    bench::store(members, days, seed)
                }
                BenchCmd::Daemon {
                    members,
                    window,
                    lead,
                } => rt.block_on(bench::daemon(members, window, lead)),
                BenchCmd::Inbound {
                    members,
                    seconds,
                    connections,
                } => rt.block_on(bench::inbound(members, seconds, &connections)),
            }
            .map_err(runtime)
        }
        Command::Report {
            month,
            format,
            server,
        } => archive::report(&server.server, &month, format),
        Command::Backup { file, server } => archive::backup_file(&server.server, &file),
        Command::Restore { file, data, force } => archive::restore(&file, &data, force),
        Command::Member(cmd) => client_command(ClientCmd::Member(cmd)),
        Command::Person(cmd) => client_command(ClientCmd::Person(cmd)),
        other @ (Command::Away { .. }
        | Command::Back { .. }
        | Command::Rollcall { .. }
        | Command::Resolve { .. }
        | Command::Import { .. }
        | Command::Export { .. }
        | Command::Status { .. }) => client_command(ClientCmd::Other(other)),
        Command::Simulate {
            days,
            members,
            scenario,
            start,
            json,
            data,
            seed,
            compare,
            csv,
            model,
            truth,
        } => {
            if !compare.is_empty() {
                return compare::command(compare::Args {
                    policies: compare,
                    members,
                    days,
                    seed,
                    start,
                    scenario,
                    model,
                    truth,
                    json,
                    csv,
                });
            }
            let members = members.unwrap_or(20);
            let (scenario, world) = match &scenario {
                Some(path) => {
                    let s = scenario::load(path).map_err(usage)?;
                    let w = simulate::scripted(&s);
                    (s, w)
                }
                None => {
                    if members == 0 || members > 1_000_000 {
                        return Err(usage("--members must be between 1 and 1000000"));
                    }
                    simulate::generate(members, seed)
                }
            };
            let start = match start {
                Some(s) => DateTime::parse_from_rfc3339(&s)
                    .map(|d| d.with_timezone(&Utc))
                    .map_err(|e| usage(format!("--start {s:?} is not an RFC 3339 instant ({e}), e.g. 2026-11-02T00:00:00Z")))?,
                None => scenario.start.unwrap_or_else(|| {
                    let today = Utc::now().date_naive();
                    Utc.from_utc_datetime(&today.and_hms_opt(0, 0, 0).expect("midnight exists"))
                }),
            };
            let days = days.or(scenario.days).unwrap_or(30);
            if days == 0 || days > 3660 {
                return Err(usage("--days must be between 1 and 3660"));
            }
            let store = match &data {
                // One flush at the end (simulated time owes nothing to a crash mid-run).
                Some(dir) => porchlight_store::Store::open_with(
                    dir,
                    scenario.village.clone(),
                    porchlight_store::Durability::OnFlush,
                ),
                None => porchlight_store::Store::temporary(scenario.village.clone()),
            }
            .map_err(|e| runtime(format!("cannot open the store: {e}")))?;
            let opts = simulate::Options { start, days, json };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match simulate::run(&scenario, world, &store, &opts, &mut out) {
                Ok(_) => {}
                // A closed pipe (`| head`) is not an error.
                Err(e) if e.contains("Broken pipe") => return Ok(()),
                Err(e) => return Err(runtime(e)),
            }
            if let Err(e) = out.flush() {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(runtime(e.to_string()));
                }
            }
            store.flush().map_err(|e| runtime(e.to_string()))?;
            Ok(())
        }
    }
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: log files and journald get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Coordinators are told last and get the daily summary: an id that is not a person in the
/// store means the last escalation level reaches nobody. Checked against an existing store
/// that no daemon holds; otherwise the note says why it was not checked.
fn check_coordinators(path: &std::path::Path, c: &Config) -> Result<Option<String>, Failure> {
    if c.village.coordinators.is_empty() {
        return Ok(Some(
            "village.coordinators is empty: the last escalation level reaches nobody".into(),
        ));
    }
    if !c.data_dir.join("conf").exists() {
        return Ok(Some(format!(
            "no store in {} yet: add the coordinators ({}) with `porchlight person add` once it is serving",
            c.data_dir.display(),
            c.village.coordinators.join(", ")
        )));
    }
    let store = match porchlight_store::Store::open_with(
        &c.data_dir,
        c.village.clone(),
        porchlight_store::Durability::OnFlush,
    ) {
        Ok(s) => s,
        Err(e) if e.to_string().contains("lock") => {
            return Ok(Some(
                "the store is in use by a running daemon: coordinators not checked against it"
                    .into(),
            ));
        }
        Err(e) => {
            return Err(usage(format!("{}: storage.path: {e}", path.display())));
        }
    };
    for (i, id) in c.village.coordinators.iter().enumerate() {
        match store.person(id) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(usage(format!(
                    "{}: village.coordinators[{i}]: {id:?} is not a person in the store; add them with `porchlight person add`",
                    path.display()
                )));
            }
            Err(e) => return Err(usage(format!("{}: storage.path: {e}", path.display()))),
        }
    }
    Ok(None)
}

fn serve(path: Option<PathBuf>) -> Result<(), Failure> {
    let config = match &path {
        Some(p) => Config::load(p, &process_env).map_err(usage)?,
        None => {
            Config::defaults(&process_env).map_err(|e| usage(format!("embedded defaults: {e}")))?
        }
    };
    porchlight_server::config::check_storage(&config.data_dir).map_err(|e| {
        usage(match &path {
            Some(p) => format!("{}: {e}", p.display()),
            None => format!("embedded defaults: {e}"),
        })
    })?;
    init_tracing(config.log_json);
    match &path {
        Some(p) => tracing::info!(config = %p.display(), "starting porchlight"),
        None => tracing::info!(
            "starting porchlight on embedded defaults (no --config): data in ./{}, listening on {}, messages printed by the log channel",
            config.data_dir.display(),
            config.listen
        ),
    }
    if config.admin_token.is_none() {
        tracing::warn!(
            "{} is not set: the admin API and CLI are disabled",
            config.admin_token_env
        );
    }
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| runtime(format!("cannot start the runtime: {e}")))?;
    rt.block_on(porchlight_server::run::serve(config, metrics))
        .map_err(|e| runtime(e.to_string()))
}

enum ClientCmd {
    Member(MemberCmd),
    Person(PersonCmd),
    Other(Command),
}

fn client_command(cmd: ClientCmd) -> Result<(), Failure> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| runtime(format!("cannot start the runtime: {e}")))?;
    rt.block_on(client_async(cmd))
}

fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

pub(crate) fn enc(s: &str) -> String {
    // Ids are slugs, but a check-in id has a slash: keep it one path segment.
    s.replace('%', "%25")
        .replace('/', "%2F")
        .replace(' ', "%20")
}

async fn client_async(cmd: ClientCmd) -> Result<(), Failure> {
    use reqwest::Method;
    use serde_json::json;
    let token = std::env::var("PORCHLIGHT_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    match cmd {
        ClientCmd::Member(MemberCmd::Add {
            name,
            person,
            id,
            contact,
            voice,
            paused,
            quiet_hours,
            phone,
            timezone,
            language,
            checkin,
            window,
            by,
            circle,
            buddies,
            family,
            server,
        }) => {
            let c = client::Client::new(&server.server, token)?;
            let mut body = client::member_body(
                id,
                name.unwrap_or_default(),
                phone,
                timezone,
                language,
                checkin,
                window,
                by,
                circle,
                buddies,
                family,
            );
            roster_cli::member_add_extras(
                &mut body,
                person,
                roster_cli::contact_ways(&contact, voice),
                paused,
                quiet_hours,
            );
            let v = c.json(Method::POST, "/api/v1/members", Some(body)).await?;
            println!("added member {}", v["id"].as_str().unwrap_or("?"));
        }
        ClientCmd::Member(MemberCmd::List { server }) => {
            let c = client::Client::new(&server.server, token)?;
            let v = c.json(Method::GET, "/api/v1/members", None).await?;
            for m in v.as_array().into_iter().flatten() {
                println!(
                    "{:<20} {:<24} {:<10} {:<14} {}",
                    m["id"].as_str().unwrap_or(""),
                    m["name"].as_str().unwrap_or(""),
                    m["checkin"].as_str().unwrap_or(""),
                    m["state"].as_str().unwrap_or(""),
                    m["timezone"].as_str().unwrap_or("")
                );
            }
        }
        ClientCmd::Member(MemberCmd::Show { id, server }) => {
            let c = client::Client::new(&server.server, token)?;
            print_json(
                &c.json(Method::GET, &format!("/api/v1/members/{}", enc(&id)), None)
                    .await?,
            );
        }
        ClientCmd::Member(MemberCmd::Remove {
            id,
            force,
            reason,
            server,
        }) => {
            let c = client::Client::new(&server.server, token)?;
            let mut path = format!("/api/v1/members/{}", enc(&id));
            if force {
                path.push_str("?force=true");
            }
            if let Some(r) = &reason {
                path.push_str(if force { "&" } else { "?" });
                path.push_str(&format!("reason={}", enc(r)));
            }
            c.json(Method::DELETE, &path, None).await?;
            println!("removed member {id}");
        }
        ClientCmd::Person(PersonCmd::Add {
            name,
            id,
            phone,
            webhook,
            timezone,
            language,
            contact,
            voice,
            server,
        }) => {
            let c = client::Client::new(&server.server, token)?;
            let mut body = json!({ "name": name });
            for (k, v) in [
                ("id", id),
                ("phone", phone),
                ("webhook", webhook),
                ("timezone", timezone),
                ("language", language),
            ] {
                if let Some(v) = v {
                    body[k] = serde_json::Value::String(v);
                }
            }
            if let Some(ways) = roster_cli::contact_ways(&contact, voice) {
                body["contact"] = json!(ways);
            }
            let v = c.json(Method::POST, "/api/v1/people", Some(body)).await?;
            println!("added person {}", v["id"].as_str().unwrap_or("?"));
        }
        ClientCmd::Member(MemberCmd::Edit(e)) => roster_cli::member_edit(e, token).await?,
        ClientCmd::Person(PersonCmd::Edit(e)) => roster_cli::person_edit(e, token).await?,
        ClientCmd::Person(PersonCmd::Remove { id, server }) => {
            let c = client::Client::new(&server.server, token)?;
            c.json(
                Method::DELETE,
                &format!("/api/v1/people/{}", enc(&id)),
                None,
            )
            .await?;
            println!("removed person {id}");
        }
        ClientCmd::Person(PersonCmd::List { server }) => {
            let c = client::Client::new(&server.server, token)?;
            let v = c.json(Method::GET, "/api/v1/people", None).await?;
            for p in v.as_array().into_iter().flatten() {
                println!(
                    "{:<20} {:<24} {}",
                    p["id"].as_str().unwrap_or(""),
                    p["name"].as_str().unwrap_or(""),
                    p["phone"].as_str().unwrap_or("-")
                );
            }
        }
        ClientCmd::Other(Command::Away {
            member,
            until,
            server,
        }) => {
            let c = client::Client::new(&server.server, token)?;
            let until = roster_cli::resolve_until(&c, &member, &until).await?;
            c.json(
                Method::POST,
                &format!("/api/v1/members/{}/away", enc(&member)),
                Some(json!({ "until": until })),
            )
            .await?;
            println!("{member} is away; check-ins resume on {until}");
        }
        ClientCmd::Other(Command::Back { member, server }) => {
            let c = client::Client::new(&server.server, token)?;
            c.json(
                Method::DELETE,
                &format!("/api/v1/members/{}/away", enc(&member)),
                None,
            )
            .await?;
            println!("{member} is back; check-ins resume");
        }
        ClientCmd::Other(Command::Rollcall {
            window,
            message,
            show,
            server,
        }) => {
            let c = client::Client::new(&server.server, token)?;
            match show {
                Some(id) => {
                    let v = c
                        .json(Method::GET, &format!("/api/v1/rollcall/{}", enc(&id)), None)
                        .await?;
                    print!("{}", roster_cli::rollcall_report(&id, &v));
                }
                None => {
                    let mut body = json!({});
                    if let Some(w) = window {
                        body["window"] = json!(w);
                    }
                    if let Some(m) = message {
                        body["message"] = json!(m);
                    }
                    let v = c.json(Method::POST, "/api/v1/rollcall", Some(body)).await?;
                    println!(
                        "roll call {} started: {} member(s) prompted. See who answered: porchlight rollcall --show {}",
                        v["id"].as_str().unwrap_or("?"),
                        v["prompted"],
                        v["id"].as_str().unwrap_or("?")
                    );
                }
            }
        }
        ClientCmd::Other(Command::Resolve { id, reason, server }) => {
            let c = client::Client::new(&server.server, token)?;
            let v = c
                .json(
                    Method::POST,
                    &format!("/api/v1/alerts/{}/resolve", enc(&id)),
                    Some(json!({ "reason": reason })),
                )
                .await?;
            println!(
                "resolved {}; everyone alerted gets the all-clear",
                list(&v["resolved"])
            );
        }
        ClientCmd::Other(Command::Import { file, server }) => {
            let csv = std::fs::read(&file)
                .map_err(|e| usage(format!("{}: cannot read: {e}", file.display())))?;
            let c = client::Client::new(&server.server, token)?;
            let v = c.csv("/api/v1/import", csv).await.map_err(|f| Failure {
                code: f.code,
                message: format!("{}: {}", file.display(), f.message),
            })?;
            println!(
                "imported {} member(s) from {}",
                v["imported"],
                file.display()
            );
        }
        ClientCmd::Other(Command::Export { file, server }) => {
            let c = client::Client::new(&server.server, token)?;
            let bytes = c.raw("/api/v1/export").await?;
            if file.as_os_str() == "-" {
                std::io::stdout()
                    .write_all(&bytes)
                    .map_err(|e| runtime(e.to_string()))?;
            } else {
                std::fs::write(&file, &bytes)
                    .map_err(|e| runtime(format!("{}: cannot write: {e}", file.display())))?;
                println!("exported the roster to {}", file.display());
            }
        }
        ClientCmd::Other(Command::Status { json, server }) => {
            let c = client::Client::new(&server.server, token)?;
            let v = c.json(Method::GET, "/api/v1/status", None).await?;
            if json {
                print_json(&v);
            } else {
                print!("{}", client::status_table(&v));
            }
        }
        ClientCmd::Other(_) => unreachable!("only client commands reach here"),
    }
    Ok(())
}

fn list(v: &serde_json::Value) -> String {
    let items: Vec<&str> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str())
        .collect();
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}
