//! `porchlight member add|edit|list|show|remove`.

use clap::Subcommand;
use porchlight_wire::{Created, MemberIn, MemberOut, RemoveQuery};
use reqwest::Method;
use serde_json::{Value, json};

use super::roster::{CLEARABLE_MEMBER, contact_ways, list, patch_body, s};
use super::{Server, block_on, print_json};
use crate::client::Client;
use crate::error::CliError;

/// The member commands.
// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum MemberCmd {
    /// Add a member (and their person record), or make an existing person a member with
    /// --person ID.
    Add(MemberAdd),
    /// Change a member: only the flags given change (the rest is kept, buddies included).
    Edit(MemberEdit),
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

/// `porchlight member add NAME [flags]` or `--person ID`.
#[derive(clap::Args)]
pub struct MemberAdd {
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
    #[command(flatten)]
    policy: PolicyFlags,
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
}

/// The member's own policy settings beyond schedule and window (the village's apply when
/// absent).
#[derive(clap::Args)]
pub struct PolicyFlags {
    /// Reminders from the prompt, comma-separated, e.g. 30m,60m.
    #[arg(long, value_delimiter = ',')]
    reminders: Vec<String>,
    /// Escalation levels, comma-separated AFTER:WHO from the miss, e.g.
    /// 0s:buddies,30m:family,1h:coordinators.
    #[arg(long, value_delimiter = ',')]
    escalation: Vec<String>,
    /// How long a buddy's "on my way" pauses the escalation, e.g. 45m.
    #[arg(long)]
    claim_timeout: Option<String>,
    /// How long one buddy has before the next is asked, e.g. 15m.
    #[arg(long)]
    buddy_wait: Option<String>,
}

impl PolicyFlags {
    /// `--escalation` as the API's `[{after, notify}]`, when given.
    fn escalation(&self) -> Result<Option<Value>, CliError> {
        if self.escalation.is_empty() {
            return Ok(None);
        }
        let mut levels = Vec::new();
        for (i, level) in self.escalation.iter().enumerate() {
            let Some((after, notify)) = level.trim().split_once(':') else {
                return Err(CliError::usage(format!(
                    "--escalation level {}: {level:?} is not AFTER:WHO (e.g. 30m:family)",
                    i + 1
                )));
            };
            levels.push(json!({"after": after.trim(), "notify": notify.trim()}));
        }
        Ok(Some(Value::Array(levels)))
    }
}

/// `porchlight member edit ID [flags]`.
#[derive(clap::Args)]
pub struct MemberEdit {
    /// Member id.
    id: String,
    /// Full name.
    #[arg(long)]
    name: Option<String>,
    /// Phone, E.164.
    #[arg(long)]
    phone: Option<String>,
    /// IANA time zone.
    #[arg(long)]
    timezone: Option<String>,
    /// en or es.
    #[arg(long)]
    language: Option<String>,
    /// A configured webhook channel that reaches them.
    #[arg(long)]
    webhook: Option<String>,
    /// Ways to reach them, in order, comma-separated: sms, voice, webhook.
    #[arg(long, value_delimiter = ',')]
    contact: Vec<String>,
    /// Their phone is a landline: reach them by a call (puts `voice` first in their ways).
    #[arg(long)]
    voice: bool,
    /// "HH:MM" or a cron expression.
    #[arg(long)]
    checkin: Option<String>,
    /// Time to answer, e.g. 2h.
    #[arg(long)]
    window: Option<String>,
    #[command(flatten)]
    policy: PolicyFlags,
    /// No prompts or reminders in this local period, e.g. 21:00-08:00.
    #[arg(long)]
    quiet_hours: Option<String>,
    /// self, buddy or circle.
    #[arg(long)]
    by: Option<String>,
    /// Circle name (with --by circle).
    #[arg(long)]
    circle: Option<String>,
    /// Buddy person id (repeat, in order): replaces the buddy list.
    #[arg(long = "buddy")]
    buddies: Vec<String>,
    /// Family person id (repeat): replaces the family list.
    #[arg(long = "family")]
    family: Vec<String>,
    /// Pause: no prompts and no alerts until unpaused.
    #[arg(long, conflicts_with = "unpause")]
    paused: bool,
    /// End a pause.
    #[arg(long)]
    unpause: bool,
    /// Remove a field (repeat): e.g. quiet_hours, phone, family, or a policy setting (then the
    /// village's applies).
    #[arg(long, value_name = "FIELD")]
    clear: Vec<String>,
    #[command(flatten)]
    server: Server,
}

/// Runs a member command.
pub fn run(cmd: MemberCmd) -> Result<(), CliError> {
    block_on(async {
        match cmd {
            MemberCmd::Add(a) => add(a).await,
            MemberCmd::Edit(e) => edit(e).await,
            MemberCmd::List { server } => {
                let c = Client::new(&server.server)?;
                let members: Vec<MemberOut> = c.get(c.url(&["api", "v1", "members"])).await?;
                for m in members {
                    println!(
                        "{:<20} {:<24} {:<10} {:<14} {}",
                        m.id, m.name, m.checkin, m.state, m.timezone
                    );
                }
                Ok(())
            }
            MemberCmd::Show { id, server } => {
                let c = Client::new(&server.server)?;
                let m: MemberOut = c.get(c.url(&["api", "v1", "members", &id])).await?;
                print_json(&m)
            }
            MemberCmd::Remove {
                id,
                force,
                reason,
                server,
            } => {
                let c = Client::new(&server.server)?;
                c.delete_with(
                    c.url(&["api", "v1", "members", &id]),
                    &RemoveQuery { force, reason },
                )
                .await?;
                println!("removed member {id}");
                Ok(())
            }
        }
    })
}

/// `porchlight member add`.
async fn add(a: MemberAdd) -> Result<(), CliError> {
    let c = Client::new(&a.server.server)?;
    let body = MemberIn {
        // With --person, no name: the API makes the existing person a member as they are.
        id: a.person.or(a.id),
        name: a.name,
        phone: a.phone,
        timezone: a.timezone,
        language: a.language,
        contact: contact_ways(&a.contact, a.voice),
        checkin: a.checkin,
        window: a.window,
        reminders: (!a.policy.reminders.is_empty()).then(|| a.policy.reminders.clone()),
        escalation: a.policy.escalation()?,
        claim_timeout: a.policy.claim_timeout.clone(),
        buddy_wait: a.policy.buddy_wait.clone(),
        quiet_hours: a.quiet_hours,
        by: a.by,
        circle: a.circle,
        buddies: a.buddies,
        family: a.family,
        paused: a.paused,
        ..MemberIn::default()
    };
    let created: Created = c
        .json(Method::POST, c.url(&["api", "v1", "members"]), Some(&body))
        .await?;
    println!("added member {}", created.id);
    Ok(())
}

/// `porchlight member edit`: a merge patch of the flags given.
async fn edit(e: MemberEdit) -> Result<(), CliError> {
    let paused = if e.paused {
        Some(Value::Bool(true))
    } else if e.unpause {
        Some(Value::Bool(false))
    } else {
        None
    };
    let contact = contact_ways(&e.contact, e.voice).map(|w| json!(w));
    let body = patch_body(
        vec![
            ("name", s(e.name)),
            ("phone", s(e.phone)),
            ("timezone", s(e.timezone)),
            ("language", s(e.language)),
            ("webhook", s(e.webhook)),
            ("contact", contact),
            ("checkin", s(e.checkin)),
            ("window", s(e.window)),
            ("reminders", list(e.policy.reminders.clone())),
            ("escalation", e.policy.escalation()?),
            ("claim_timeout", s(e.policy.claim_timeout.clone())),
            ("buddy_wait", s(e.policy.buddy_wait.clone())),
            ("quiet_hours", s(e.quiet_hours)),
            ("by", s(e.by)),
            ("circle", s(e.circle)),
            ("buddies", list(e.buddies)),
            ("family", list(e.family)),
            ("paused", paused),
        ],
        &e.clear,
        CLEARABLE_MEMBER,
    )?;
    let c = Client::new(&e.server.server)?;
    let m: MemberOut = c
        .json(
            Method::PATCH,
            c.url(&["api", "v1", "members", &e.id]),
            Some(&body),
        )
        .await?;
    println!(
        "updated member {} ({}): checks in {} by {}, buddies [{}], family [{}]{}",
        e.id,
        m.name,
        m.checkin,
        m.by,
        m.buddies.join(", "),
        m.family.join(", "),
        if m.paused { ", PAUSED" } else { "" }
    );
    Ok(())
}
