//! Building messages: [`Message`] says what to send to whom (the engine renders it with the
//! member's check-in), and [`Notice`] is the one builder of every notice to coordinators
//! (opt-outs, delivery failures, budget warnings, skipped check-ins).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{AlertReason, Checkin};
use crate::engine::{Effect, Engine, Event, MemberState, Outgoing, ReplyContext, Roster};
use crate::model::Village;
use crate::reply::Role;
use crate::text::{DayPart, MessageKind, Vars, What, render_with};

/// One message about a member's check-in, before rendering.
#[derive(Clone, Copy, Debug)]
pub struct Message<'m> {
    /// Recipient.
    pub to: &'m str,
    /// What it is.
    pub kind: MessageKind,
    /// Escalation level, for alerts.
    pub level: Option<u8>,
    /// Never held back by a budget or quiet hours.
    pub urgent: bool,
    /// How a reply from the recipient is read (none: replies are read without context).
    pub role: Option<Role>,
    /// Who did something (`{who}`); empty: whoever raised a help alert.
    pub who: &'m str,
    /// A detail for texts that carry one.
    pub detail: &'m str,
    /// What happened, when not what the check-in says.
    pub what: Option<What>,
}

impl<'m> Message<'m> {
    /// A routine message of `kind` to `to`.
    pub fn new(to: &'m str, kind: MessageKind) -> Message<'m> {
        Message {
            to,
            kind,
            level: None,
            urgent: false,
            role: None,
            who: "",
            detail: "",
            what: None,
        }
    }

    /// An urgent message (about a member in trouble) at an escalation level.
    pub fn urgent(mut self, level: Option<u8>) -> Message<'m> {
        self.urgent = true;
        self.level = level;
        self
    }

    /// Replies from the recipient are read in `role`.
    pub fn replies_as(mut self, role: Role) -> Message<'m> {
        self.role = Some(role);
        self
    }

    /// Names who did something.
    pub fn who(mut self, who: &'m str) -> Message<'m> {
        self.who = who;
        self
    }

    /// Adds a detail.
    pub fn detail(mut self, detail: &'m str) -> Message<'m> {
        self.detail = detail;
        self
    }

    /// Says what happened instead of what the check-in says.
    pub fn what(mut self, what: Option<What>) -> Message<'m> {
        self.what = what;
        self
    }
}

/// A notice to every coordinator: what it is and what it is about.
#[derive(Clone, Copy, Debug)]
pub struct Notice<'a> {
    /// What.
    pub kind: MessageKind,
    /// About which member (empty: none).
    pub member: &'a str,
    /// About which check-in.
    pub checkin: Option<&'a str>,
    /// Escalation level, if any.
    pub level: Option<u8>,
}

impl Notice<'_> {
    /// The urgent notice to every coordinator but `skip`, each in their own language.
    pub fn to_coordinators<R: Roster + ?Sized>(
        &self,
        village: &Village,
        roster: &R,
        vars: &Vars<'_>,
        skip: Option<&str>,
    ) -> Vec<Outgoing> {
        village
            .coordinators
            .iter()
            .filter(|c| Some(c.as_str()) != skip)
            .map(|coord| {
                let lang = roster.person(coord).map(|p| p.language).unwrap_or_default();
                Outgoing {
                    to: coord.clone(),
                    kind: self.kind,
                    text: render_with(&village.templates, self.kind, lang, vars),
                    member: self.member.to_string(),
                    checkin: self.checkin.map(str::to_string),
                    level: self.level,
                    urgent: true,
                    context: None,
                    summary: None,
                }
            })
            .collect()
    }
}

/// The one message that tells coordinators about check-ins skipped while the service was
/// down (the restart rule): one text per coordinator, however many were skipped.
pub fn skipped_report(village: &Village, roster: &dyn Roster, skipped: &[Event]) -> Vec<Outgoing> {
    let Some(first) = skipped.first() else {
        return Vec::new();
    };
    let mut names: Vec<String> = skipped
        .iter()
        .map(|e| {
            roster
                .person(&e.member)
                .map_or_else(|| e.member.clone(), |p| p.name)
        })
        .collect();
    names.sort();
    names.dedup();
    let mut detail = names.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 8 {
        detail.push_str(&format!(" and {} more", names.len() - 8));
    }
    let count = skipped.len().to_string();
    let notice = Notice {
        kind: MessageKind::Skipped,
        member: &first.member,
        checkin: None,
        level: None,
    };
    let vars = Vars {
        when: &count,
        detail: &detail,
        ..Vars::default()
    };
    notice.to_coordinators(village, roster, &vars, None)
}

/// A short name of a message kind, for notices.
pub fn kind_label(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Prompt | MessageKind::Reminder | MessageKind::RollCall => "check-in",
        MessageKind::CheckOn | MessageKind::CheckOnReminder => "check-on request",
        MessageKind::BuddyAlert | MessageKind::Alert | MessageKind::ClaimExpired => "alert",
        MessageKind::HelpAlert => "HELP alert",
        MessageKind::HelpAck => "reassurance",
        MessageKind::AllClear => "all-clear",
        MessageKind::Exhausted => "nobody-confirmed notice",
        MessageKind::OptedOut => "opt-out notice",
        MessageKind::Skipped => "skipped notice",
        MessageKind::AwayAck | MessageKind::BackAck => "acknowledgement",
        MessageKind::DeliveryFailed => "delivery notice",
        MessageKind::BudgetWarning => "budget notice",
        MessageKind::WhichMember => "question",
        MessageKind::DailySummary => "daily summary",
        MessageKind::ClaimTaken => "notice",
    }
}

fn fmt_local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%H:%M").to_string()
}

impl Engine<'_> {
    /// What an alert about a check-in says happened.
    fn what_of(&self, st: &MemberState, c: Option<&Checkin>) -> What {
        let Some(c) = c else {
            return What::NotAnswered;
        };
        match c.alert() {
            Some(a) if a.reason == AlertReason::Help => {
                if a.no_answer {
                    What::NoAnswerAtDoor
                } else if a.raised_by.as_ref().is_some_and(|b| *b != st.member.id) {
                    What::SaysNeedsHelp
                } else {
                    What::AskedForHelp
                }
            }
            _ if c.asked != st.member.id => What::NotConfirmed,
            _ => What::NotAnswered,
        }
    }

    /// Renders a message about the member (and a check-in) and queues it.
    pub(crate) fn send(&mut self, st: &MemberState, c: Option<&Checkin>, m: Message<'_>) {
        let recipient = self.person(m.to);
        let member = self.person(&st.member.id);
        let alert = c.and_then(Checkin::alert);
        let when = match m.kind {
            MessageKind::AwayAck => st
                .member
                .away_until
                .map(|d| d.format("%b %-d").to_string())
                .unwrap_or_default(),
            _ => fmt_local(alert.map_or(self.now, |a| a.since), st.timezone),
        };
        let what = m.what.unwrap_or_else(|| self.what_of(st, c));
        let raised_by = alert
            .and_then(|a| a.raised_by.clone())
            .map(|b| self.person(&b).first_name().to_string())
            .unwrap_or_default();
        let who = if m.who.is_empty() && m.kind != MessageKind::AllClear {
            raised_by.as_str()
        } else {
            m.who
        };
        let tz = recipient.timezone.unwrap_or(st.timezone);
        let hour: u32 = self
            .now
            .with_timezone(&tz)
            .format("%H")
            .to_string()
            .parse()
            .unwrap_or(9);
        let text = render_with(
            &self.village.templates,
            m.kind,
            recipient.language,
            &Vars {
                name: recipient.first_name(),
                member: member.first_name(),
                member_full: &member.name,
                when: &when,
                who,
                detail: m.detail,
                link: "",
                what,
                part: DayPart::of_hour(hour),
            },
        );
        let context = match (m.role, c) {
            (Some(role), Some(c)) => Some(ReplyContext {
                member: st.member.id.clone(),
                checkin: c.id.clone(),
                role,
            }),
            _ => None,
        };
        self.effects.push(Effect::Send(Outgoing {
            to: m.to.to_string(),
            kind: m.kind,
            text,
            member: st.member.id.clone(),
            checkin: c.map(|c| c.id.clone()),
            level: m.level,
            urgent: m.urgent,
            context,
            summary: None,
        }));
    }

    /// Tells every coordinator about the member (see [`Notice`]), naming `who` with a detail.
    pub(crate) fn notify_coordinators(
        &mut self,
        st: &MemberState,
        notice: Notice<'_>,
        who: &str,
        detail: &str,
        skip: Option<&str>,
    ) {
        let member = self.person(&st.member.id);
        let vars = Vars {
            member: member.first_name(),
            member_full: &member.name,
            who,
            detail,
            ..Vars::default()
        };
        let sends = notice.to_coordinators(self.village, self.roster, &vars, skip);
        self.effects.extend(sends.into_iter().map(Effect::Send));
    }
}
