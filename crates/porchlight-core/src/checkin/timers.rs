//! The clock: which timer a check-in waits for next ([`MemberState::next_due`]) and what
//! happens when it fires ([`Engine::tick`]): new occurrences, prompts held by quiet hours,
//! reminders, deadlines, escalation levels, claim timeouts, exhaustion.

use chrono::{DateTime, NaiveDate, TimeDelta, Timelike, Utc};

use super::notices::{Message, Notice};
use super::{
    Alert, AlertReason, Alerting, Checkin, CheckinKind, CheckinState, Prompt, PromptHistory,
    SERVICE_DOWN, SkipReason,
};
use crate::engine::{Effect, Engine, Event, EventKind, MemberState};
use crate::model::{CheckinBy, PersonId};
use crate::reply::Role;
use crate::schedule::resolve_local;
use crate::text::MessageKind;

/// Upper bound on timers processed per tick for one check-in (a safety net, never reached in
/// practice: a check-in has a handful of timers).
const MAX_TIMERS_PER_TICK: usize = 256;
/// Upper bound on missed occurrences caught up in one tick (after a long outage).
const MAX_CATCH_UP: usize = 400;

/// What a check-in waits for next, and when.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Timer {
    Prompt(DateTime<Utc>),
    Reminder(DateTime<Utc>),
    Deadline(DateTime<Utc>),
    Step(DateTime<Utc>),
    NextBuddy(DateTime<Utc>),
    ClaimEnd(DateTime<Utc>),
    Exhaust(DateTime<Utc>),
}

impl Timer {
    fn at(self) -> DateTime<Utc> {
        match self {
            Timer::Prompt(t)
            | Timer::Reminder(t)
            | Timer::Deadline(t)
            | Timer::Step(t)
            | Timer::NextBuddy(t)
            | Timer::ClaimEnd(t)
            | Timer::Exhaust(t) => t,
        }
    }
}

/// A plain miss of a daily check-in waits out quiet hours (no 3 a.m. false alarms); help and
/// roll calls (an emergency) never wait.
fn quiet_holds(c: &Checkin, alert: &Alert) -> bool {
    c.kind == CheckinKind::Daily && alert.reason == AlertReason::Missed
}

impl MemberState {
    /// When [`Engine::tick`] must next run for this member.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        let checkins = self
            .open
            .iter()
            .filter_map(|c| self.timer(c).map(Timer::at));
        self.next_at.into_iter().chain(checkins).min()
    }

    pub(crate) fn in_quiet_hours(&self, at: DateTime<Utc>) -> bool {
        self.member
            .policy
            .quiet_hours
            .is_some_and(|q| q.contains(at.with_timezone(&self.timezone).time()))
    }

    /// The first instant at or after `at` outside quiet hours.
    fn after_quiet(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let Some(q) = self.member.policy.quiet_hours else {
            return at;
        };
        if !self.in_quiet_hours(at) {
            return at;
        }
        let local = at.with_timezone(&self.timezone);
        let mut date = local.date_naive();
        if local.time() >= q.end {
            date = date.succ_opt().unwrap_or(date);
        }
        resolve_local(self.timezone, date.and_time(q.end)).unwrap_or(at)
    }

    fn timer(&self, c: &Checkin) -> Option<Timer> {
        let policy = &self.member.policy;
        match &c.state {
            CheckinState::Held { prompt_at } => Some(Timer::Prompt(*prompt_at)),
            CheckinState::Prompted(p) => {
                let reminder = policy.reminders.get(p.reminders_done).and_then(|r| {
                    let at = p.at + r.delta();
                    (at < p.deadline).then_some(at)
                });
                match reminder {
                    Some(at) => Some(Timer::Reminder(at)),
                    None => Some(Timer::Deadline(p.deadline)),
                }
            }
            CheckinState::Alert(a) => self.alert_timer(c, &a.alert),
            CheckinState::Answered { .. }
            | CheckinState::Resolved { .. }
            | CheckinState::Skipped { .. } => None,
        }
    }

    fn alert_timer(&self, c: &Checkin, alert: &Alert) -> Option<Timer> {
        if alert.exhausted {
            return None;
        }
        if let Some(claim) = &alert.claim {
            // A claim pauses the fan-out of a miss while the buddy goes. Someone who asked for
            // help never waits on it: the next level keeps its offset.
            let help_step = (alert.reason == AlertReason::Help)
                .then(|| self.nominal_step(alert))
                .flatten()
                .map(|n| alert.hurry_at.map_or(n, |h| h.min(n)));
            return Some(match help_step {
                Some(s) if s < claim.until => Timer::Step(s),
                _ => Timer::ClaimEnd(claim.until),
            });
        }
        let hold = |at: DateTime<Utc>| {
            if quiet_holds(c, alert) {
                self.after_quiet(at)
            } else {
                at
            }
        };
        let step = self
            .nominal_step(alert)
            .map(|nominal| hold(alert.hurry_at.map_or(nominal, |h| h.min(nominal))));
        let buddy = alert.next_buddy_at.map(hold);
        match (step, buddy) {
            (Some(s), Some(b)) if b < s => Some(Timer::NextBuddy(b)),
            (Some(s), _) => Some(Timer::Step(s)),
            (None, Some(b)) => Some(Timer::NextBuddy(b)),
            (None, None) => Some(Timer::Exhaust(
                alert.last_contact_at + self.member.policy.claim_timeout.delta(),
            )),
        }
    }

    /// When the next escalation level is due by its offset (before quiet hours or a hurry).
    fn nominal_step(&self, alert: &Alert) -> Option<DateTime<Utc>> {
        let s = self.member.policy.escalation.get(alert.steps_fired)?;
        Some(alert.since + s.after.delta() + TimeDelta::seconds(alert.shift_secs))
    }
}

impl Engine<'_> {
    /// Runs everything due for this member at or before `now`: new occurrences, prompts held
    /// by quiet hours, reminders, deadlines, escalation levels, claim timeouts, exhaustion.
    /// Closed check-ins are archived and removed from the state.
    pub fn tick(&mut self, st: &mut MemberState) {
        let mut caught_up = 0;
        while let Some(at) = st.next_at {
            if at > self.now {
                break;
            }
            if caught_up >= MAX_CATCH_UP {
                // Down for over a year of occurrences: don't replay them one by one.
                st.next_at = st.member.policy.checkin.next_after(self.now, st.timezone);
                break;
            }
            self.occurrence(st, at);
            st.next_at = st.member.policy.checkin.next_after(at, st.timezone);
            caught_up += 1;
        }
        for i in 0..st.open.len() {
            for _ in 0..MAX_TIMERS_PER_TICK {
                let Some(timer) = st.timer(&st.open[i]) else {
                    break;
                };
                if timer.at() > self.now {
                    break;
                }
                self.fire(st, i, timer);
            }
        }
        self.archive_closed(st);
    }

    /// Turns a scheduled occurrence into a check-in (or a skip).
    fn occurrence(&mut self, st: &mut MemberState, at: DateTime<Utc>) {
        let local = at.with_timezone(&st.timezone);
        let date = local.date_naive();
        if st.inactive_on(date) {
            // Away, paused or opted out: no prompt, and so nothing to alert about.
            return;
        }
        let window = st.member.policy.window.delta();
        // Minute-aligned occurrences keep the plain form; a schedule with seconds (cron with a
        // seconds field) needs them, or two occurrences in one minute share an id and the
        // second is prompted as the first again.
        let at_fmt = if local.second() == 0 {
            "%Y-%m-%dT%H:%M"
        } else {
            "%Y-%m-%dT%H:%M:%S"
        };
        let id = format!("{}/{}", st.member.id, local.format(at_fmt));
        if st.open.iter().any(|c| c.id == id) {
            return; // never two prompts for one occurrence
        }
        let asked = self.checker_for(st, date);
        let prompt_at = st.after_quiet(at);
        let checkin = |state| {
            Checkin::new(st, id, CheckinKind::Daily, at, state)
                .asking(asked)
                .with_window(window.num_seconds())
        };
        if prompt_at + window <= self.now {
            // The service was down for the whole window: the member was never asked, so
            // nobody is alerted. The caller reports skips to coordinators once.
            let c = checkin(CheckinState::Skipped {
                prompt: PromptHistory::None,
                reason: Some(SkipReason::ServiceDown),
            });
            self.record(st, Some(&c), EventKind::Skipped).text = Some(SERVICE_DOWN.into());
            self.effects.push(Effect::Archive(Box::new(c)));
            return;
        }
        let mut c = checkin(CheckinState::Held { prompt_at });
        if prompt_at <= self.now {
            self.prompt(st, &mut c, "");
        }
        st.open.push(c);
    }

    /// Who is asked to do the member's check-in on a date.
    fn checker_for(&self, st: &MemberState, date: NaiveDate) -> PersonId {
        match &st.member.by {
            CheckinBy::Myself => st.member.id.clone(),
            CheckinBy::Buddy => st
                .member
                .buddies
                .first()
                .cloned()
                .unwrap_or_else(|| st.member.id.clone()),
            CheckinBy::Circle(name) => self
                .roster
                .circle_checker(name, date, &st.member.id)
                .unwrap_or_else(|| st.member.id.clone()),
        }
    }

    /// Sends the prompt now (the window runs from here), with `detail` for texts that carry
    /// one (a roll call's note).
    pub(crate) fn prompt(&mut self, st: &mut MemberState, c: &mut Checkin, detail: &str) {
        // The window runs from the moment the prompt is actually sent (after quiet hours or a
        // restart), so nobody is alerted about a member who had less time than promised.
        c.state = CheckinState::Prompted(Prompt {
            at: self.now,
            deadline: self.now + TimeDelta::seconds(c.window_secs),
            reminders_done: 0,
        });
        st.last_prompted_at = Some(self.now);
        self.send_prompt(st, c, false, detail);
    }

    /// Sends the prompt (or a reminder) to whoever is asked, and records it.
    pub(crate) fn send_prompt(
        &mut self,
        st: &MemberState,
        c: &Checkin,
        reminder: bool,
        detail: &str,
    ) {
        let own = c.asked == st.member.id;
        let (kind, role) = match (own, reminder, &c.kind) {
            (true, false, CheckinKind::RollCall(_)) => (MessageKind::RollCall, Role::Member),
            (true, false, _) => (MessageKind::Prompt, Role::Member),
            (true, true, _) => (MessageKind::Reminder, Role::Member),
            (false, false, _) => (MessageKind::CheckOn, Role::Buddy),
            (false, true, _) => (MessageKind::CheckOnReminder, Role::Buddy),
        };
        let asked = c.asked.clone();
        let m = Message::new(&asked, kind).replies_as(role).detail(detail);
        self.send(st, Some(c), m);
        let event = if reminder {
            EventKind::Reminded
        } else {
            EventKind::Prompted
        };
        self.record(st, Some(c), event).to = Some(asked);
    }

    /// Skips a check-in: nobody is alerted. Returns the Skipped event to fill in.
    pub(crate) fn skip(
        &mut self,
        st: &MemberState,
        c: &mut Checkin,
        reason: SkipReason,
    ) -> &mut Event {
        let text = reason.to_string();
        c.state = CheckinState::Skipped {
            prompt: c.prompt_history(),
            reason: Some(reason),
        };
        let e = self.record(st, Some(c), EventKind::Skipped);
        e.text = Some(text);
        e
    }

    fn fire(&mut self, st: &mut MemberState, i: usize, timer: Timer) {
        let mut c = st.open[i].clone();
        if matches!(
            timer,
            Timer::Prompt(_) | Timer::Reminder(_) | Timer::Deadline(_)
        ) && st.inactive_on(st.local_date(self.now))
        {
            // Paused, away or opted out since this check-in began: no more prompts, and no
            // alarm about a member who is not expected to answer.
            let why = if st.opted_out {
                SkipReason::OptedOut
            } else if st.member.paused {
                SkipReason::Paused
            } else {
                SkipReason::Away
            };
            self.skip(st, &mut c, why);
            st.open[i] = c;
            return;
        }
        match timer {
            Timer::Prompt(at) if self.now >= at + TimeDelta::seconds(c.window_secs) => {
                // Held for quiet hours, and the service was down until its window closed.
                self.skip(st, &mut c, SkipReason::ServiceDown);
            }
            Timer::Prompt(_) => self.prompt(st, &mut c, ""),
            Timer::Reminder(_) => {
                let mut late = false;
                if let CheckinState::Prompted(p) = &mut c.state {
                    p.reminders_done += 1;
                    late = self.now >= p.deadline;
                }
                if !st.in_quiet_hours(self.now) && !late {
                    self.send_prompt(st, &c, true, "");
                }
            }
            Timer::Deadline(_) if self.roster.prompt_undelivered(&c.id) => {
                // The prompt never reached anyone before the window closed (a provider down,
                // retries still running): nobody is alerted about a prompt never received,
                // but coordinators learn the member was not reached.
                self.skip(st, &mut c, SkipReason::PromptNotDelivered);
                let who = self.person(&c.asked).name;
                let notice = Notice {
                    kind: MessageKind::DeliveryFailed,
                    member: &st.member.id,
                    checkin: Some(&c.id),
                    level: None,
                };
                let detail = "check-in not delivered before its window closed";
                self.notify_coordinators(st, notice, &who, detail, None);
            }
            Timer::Deadline(deadline) => {
                self.record(st, Some(&c), EventKind::Missed).to = Some(c.asked.clone());
                let alert = Alert::new(AlertReason::Missed, deadline, self.now, None, false);
                c.state = CheckinState::Alert(Box::new(Alerting {
                    prompt: c.prompt_history(),
                    alert,
                    help: None,
                }));
            }
            Timer::Step(at) => {
                // Held by quiet hours: push the rest of the chain back by as much.
                if let Some(alert) = c.alert_mut() {
                    if let Some(nominal) = st.nominal_step(alert) {
                        if alert.hurry_at.is_none() && at > nominal {
                            alert.shift_secs += (at - nominal).num_seconds();
                        }
                    }
                }
                self.fire_step(st, &mut c, false);
            }
            Timer::NextBuddy(_) => self.next_buddy(st, &mut c),
            Timer::ClaimEnd(_) => self.claim_lapsed(st, &mut c),
            Timer::Exhaust(_) => {
                let Some(alert) = c.alert_mut() else {
                    st.open[i] = c;
                    return;
                };
                alert.exhausted = true;
                let level = alert.level();
                self.record(st, Some(&c), EventKind::Exhausted).level = Some(level);
                for coord in self.village.coordinators.clone() {
                    let m = Message::new(&coord, MessageKind::Exhausted)
                        .urgent(Some(level))
                        .replies_as(Role::Coordinator);
                    self.send(st, Some(&c), m);
                }
            }
        }
        st.open[i] = c;
    }

    /// A buddy's "on my way" lapsed without word: the chain resumes, and they are told.
    fn claim_lapsed(&mut self, st: &MemberState, c: &mut Checkin) {
        let now = self.now;
        let Some((claim, level)) = c.alert_mut().and_then(|alert| {
            let claim = alert.claim.take()?;
            if !alert.buddy_queue.is_empty() {
                alert.next_buddy_at = Some(now);
            }
            alert.last_contact_at = now;
            Some((claim, alert.level()))
        }) else {
            return;
        };
        self.record(st, Some(c), EventKind::ClaimExpired).by = Some(claim.by.clone());
        let m = Message::new(&claim.by, MessageKind::ClaimExpired)
            .urgent(Some(level))
            .replies_as(Role::Buddy);
        self.send(st, Some(c), m);
    }
}
