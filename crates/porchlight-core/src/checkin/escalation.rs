//! The alert chain: escalation levels in order, buddies one at a time (all at once for help),
//! a buddy who can't go, and help raised by the member or by someone who went to look.

use super::notices::Message;
use super::{Alert, AlertReason, Alerted, Alerting, Checkin, CheckinKind, CheckinState};
use super::{CheckinStatus, HelpWords, PromptHistory};
use crate::engine::{Engine, EventKind, MemberState};
use crate::model::{Audience, PersonId};
use crate::reply::Role;
use crate::text::MessageKind;

/// The alert text for buddies: a help alert, or the plain buddy alert.
fn buddy_kind(alert: &Alert) -> MessageKind {
    if alert.reason == AlertReason::Help {
        MessageKind::HelpAlert
    } else {
        MessageKind::BuddyAlert
    }
}

impl Engine<'_> {
    /// Fires the next escalation level. `help` sends every buddy at once instead of one at a time.
    pub(crate) fn fire_step(&mut self, st: &MemberState, c: &mut Checkin, help: bool) {
        let now = self.now;
        let asked = c.asked.clone();
        let coordinators = &self.village.coordinators;
        let Some(alert) = c.alert_mut() else {
            return;
        };
        let Some(step) = st.member.policy.escalation.get(alert.steps_fired) else {
            return;
        };
        alert.steps_fired += 1;
        alert.hurry_at = None;
        let level = u8::try_from(alert.steps_fired).unwrap_or(u8::MAX);
        let already: Vec<PersonId> = alert.alerted.iter().map(|a| a.person.clone()).collect();
        let member_id = &st.member.id;
        let fresh = |ids: &[PersonId]| -> Vec<PersonId> {
            let mut out: Vec<PersonId> = Vec::new();
            for id in ids {
                if id != member_id && !already.contains(id) && !out.contains(id) {
                    out.push(id.clone());
                }
            }
            out
        };
        let alert_kind = if alert.reason == AlertReason::Help {
            MessageKind::HelpAlert
        } else {
            MessageKind::Alert
        };
        let (kind, role, recipients) = match step.notify {
            Audience::Buddies => {
                let mut queue = fresh(&st.member.buddies);
                // A buddy who was asked to check today and stayed silent goes to the back.
                if queue.len() > 1 && asked != *member_id {
                    if let Some(pos) = queue.iter().position(|b| *b == asked) {
                        let silent = queue.remove(pos);
                        queue.push(silent);
                    }
                }
                let first = if help || queue.is_empty() {
                    std::mem::take(&mut queue)
                } else {
                    vec![queue.remove(0)]
                };
                alert.next_buddy_at =
                    (!queue.is_empty()).then(|| now + st.member.policy.buddy_wait.delta());
                alert.buddy_queue = queue;
                (buddy_kind(alert), Role::Buddy, first)
            }
            Audience::Family => (alert_kind, Role::Family, fresh(&st.member.family)),
            Audience::Coordinators => (alert_kind, Role::Coordinator, fresh(coordinators)),
        };
        if recipients.is_empty() {
            // Nobody at this level: the next level must not wait for its offset.
            alert.hurry_at = Some(now);
            return;
        }
        alert.last_contact_at = now;
        for r in &recipients {
            alert.alerted.push(Alerted {
                person: r.clone(),
                level,
            });
        }
        for r in recipients {
            let m = Message::new(&r, kind).urgent(Some(level)).replies_as(role);
            self.send(st, Some(c), m);
            let e = self.record(st, Some(c), EventKind::Alerted);
            e.to = Some(r);
            e.level = Some(level);
        }
    }

    /// Asks the next buddy in the queue.
    pub(crate) fn next_buddy(&mut self, st: &MemberState, c: &mut Checkin) {
        let now = self.now;
        // The buddy level's number, for the record.
        let level = st
            .member
            .policy
            .escalation
            .iter()
            .position(|s| s.notify == Audience::Buddies)
            .map_or(1, |p| u8::try_from(p + 1).unwrap_or(u8::MAX));
        let Some(alert) = c.alert_mut() else {
            return;
        };
        alert.next_buddy_at = None;
        if alert.buddy_queue.is_empty() {
            return;
        }
        let buddy = alert.buddy_queue.remove(0);
        if !alert.buddy_queue.is_empty() {
            alert.next_buddy_at = Some(now + st.member.policy.buddy_wait.delta());
        }
        alert.alerted.push(Alerted {
            person: buddy.clone(),
            level,
        });
        alert.last_contact_at = now;
        let kind = buddy_kind(alert);
        let m = Message::new(&buddy, kind)
            .urgent(Some(level))
            .replies_as(Role::Buddy);
        self.send(st, Some(c), m);
        let e = self.record(st, Some(c), EventKind::Alerted);
        e.to = Some(buddy);
        e.level = Some(level);
    }

    /// A buddy can't go (or can't be reached): the next buddy now; when every buddy alerted so
    /// far is out and none is left to ask, the next level now.
    pub(crate) fn buddy_out(&mut self, st: &MemberState, c: &mut Checkin, who: &str) {
        let now = self.now;
        let Some(alert) = c.alert_mut() else {
            return;
        };
        if !alert.declined.iter().any(|d| d == who) {
            alert.declined.push(who.to_string());
        }
        if alert.claim.as_ref().is_some_and(|cl| cl.by == who) {
            alert.claim = None;
        }
        if !alert.buddy_queue.is_empty() {
            alert.next_buddy_at = Some(now);
            return;
        }
        let all_out = alert
            .alerted
            .iter()
            .filter(|a| st.member.buddies.contains(&a.person))
            .all(|a| alert.declined.contains(&a.person));
        if all_out {
            alert.hurry_at = Some(now);
        }
    }

    /// The member (or someone checking on them) asked for help: alert buddies and family now.
    pub fn help(&mut self, st: &mut MemberState, by: &str, text: &str) {
        self.raise_help(st, by, text, false);
    }

    /// Help raised about the member by someone else (a buddy, family, a coordinator), or by
    /// the member themself when `by` is the member: see [`Engine::help`].
    pub fn help_from(&mut self, st: &mut MemberState, by: &str, text: &str, no_answer: bool) {
        self.raise_help(st, by, text, no_answer);
        self.archive_closed(st);
    }

    /// Help raised by the member, or by someone who went to look (`no_answer`: they could not
    /// get an answer at the door). From the member, buddies and family are told at once and
    /// coordinators keep their offset; from anyone else every level is told at once.
    pub(crate) fn raise_help(
        &mut self,
        st: &mut MemberState,
        by: &str,
        text: &str,
        no_answer: bool,
    ) {
        if let Some(existing) = st.open.iter().find(|c| c.status() == CheckinStatus::Help) {
            // A help alert is already running: a second "2" is kept for the coordinator.
            let id = existing.id.clone();
            let e = self.record(st, None, EventKind::Note);
            e.checkin = Some(id);
            e.by = Some(by.to_string());
            e.text = Some(text.to_string());
            return;
        }
        let from_member = by == st.member.id;
        let help = HelpWords {
            text: text.to_string(),
            member_at: from_member.then_some(self.now),
        };
        let alert = Alert::new(
            AlertReason::Help,
            self.now,
            self.now,
            Some(by.to_string()),
            no_answer,
        );
        // The help request takes over the open check-in (a prompt or a missed one) if any.
        let taken = st
            .open
            .iter()
            .position(|c| !c.is_closed())
            .map(|i| st.open.remove(i));
        let (mut c, prior) = match taken {
            Some(mut c) => {
                // People already alerted about a miss stay on the list for the all-clear.
                let prior = c.alert().map(|a| a.alerted.clone()).unwrap_or_default();
                let prompt = c.prompt_history();
                c.state = CheckinState::Alert(Box::new(Alerting {
                    prompt,
                    alert,
                    help: Some(help),
                }));
                (c, prior)
            }
            None => {
                let id = format!(
                    "{}/help/{}",
                    st.member.id,
                    self.now.format("%Y-%m-%dT%H:%M:%S")
                );
                let state = CheckinState::Alert(Box::new(Alerting {
                    prompt: PromptHistory::None,
                    alert,
                    help: Some(help),
                }));
                let c = Checkin::new(st, id, CheckinKind::Help, self.now, state);
                (c, Vec::new())
            }
        };
        if from_member {
            st.last_answered_at = Some(self.now);
        }
        let e = self.record(st, Some(&c), EventKind::Help);
        e.by = Some(by.to_string());
        e.text = Some(text.to_string());
        if from_member {
            self.send(
                st,
                Some(&c),
                Message::new(by, MessageKind::HelpAck).urgent(None),
            );
        }
        // Every buddy and family level fires now; coordinators keep their offsets unless
        // someone who went to look raised it.
        let steps = &st.member.policy.escalation;
        while let Some(step) = steps.get(c.alert().map_or(usize::MAX, |a| a.steps_fired)) {
            if step.notify == Audience::Coordinators && from_member {
                break;
            }
            self.fire_step(st, &mut c, true);
        }
        // Coordinators already told about this check-in's miss hear about the help now: at
        // their own level they would be skipped as already alerted, and would learn of it
        // only from the chain running out.
        let told: Vec<Alerted> = prior
            .iter()
            .filter(|a| self.village.coordinators.contains(&a.person))
            .filter(|a| {
                c.alert()
                    .is_some_and(|x| !x.alerted.iter().any(|y| y.person == a.person))
            })
            .cloned()
            .collect();
        for a in told {
            let m = Message::new(&a.person, MessageKind::HelpAlert)
                .urgent(Some(a.level))
                .replies_as(Role::Coordinator);
            self.send(st, Some(&c), m);
            let e = self.record(st, Some(&c), EventKind::Alerted);
            e.to = Some(a.person.clone());
            e.level = Some(a.level);
        }
        if let Some(alert) = c.alert_mut() {
            for a in prior {
                if !alert.alerted.iter().any(|x| x.person == a.person) {
                    alert.alerted.push(a);
                }
            }
        }
        st.open.push(c);
    }

    /// Someone who went to look says the member needs help, or could not get an answer at the
    /// door: the open alert becomes a help alert (never held by quiet hours), and every level
    /// not yet told, coordinators included, is told at once.
    pub(crate) fn escalate_to_help(
        &mut self,
        st: &MemberState,
        c: &mut Checkin,
        from: &str,
        text: &str,
        no_answer: bool,
    ) {
        let levels = st.member.policy.escalation.len();
        let Some(alert) = c.alert_mut() else {
            return;
        };
        let was_help = alert.reason == AlertReason::Help;
        alert.reason = AlertReason::Help;
        if !was_help || alert.raised_by.as_deref() == Some(st.member.id.as_str()) {
            alert.raised_by = Some(from.to_string());
            alert.no_answer = no_answer;
        }
        alert.claim = None;
        alert.exhausted = false;
        alert.hurry_at = None;
        alert.next_buddy_at = None;
        let all_fired = alert.steps_fired >= levels;
        // Buddies still waiting their turn are told now, then every level left.
        let queued = std::mem::take(&mut alert.buddy_queue);
        let e = self.record(st, Some(c), EventKind::Help);
        e.by = Some(from.to_string());
        e.text = Some(text.to_string());
        for b in queued {
            if let Some(a) = c.alert_mut() {
                a.buddy_queue = vec![b];
            }
            self.next_buddy(st, c);
        }
        while c.alert().is_some_and(|a| a.steps_fired < levels) {
            self.fire_step(st, c, true);
        }
        if all_fired {
            // Every level was already told: tell coordinators again, now, what happened.
            let level = c.alert().map(Alert::level);
            for coord in self.village.coordinators.clone() {
                let m = Message::new(&coord, MessageKind::HelpAlert)
                    .urgent(level)
                    .replies_as(Role::Coordinator);
                self.send(st, Some(c), m);
            }
        }
        let now = self.now;
        if let Some(a) = c.alert_mut() {
            a.last_contact_at = now;
        }
    }
}
