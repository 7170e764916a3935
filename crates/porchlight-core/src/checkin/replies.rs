//! What replies do to check-ins (PRODUCT §5): the member's own word, a reply from someone
//! asked about the member, a coordinator's resolution, a removal, a roll call, and a message
//! that could not be delivered.

use chrono::TimeDelta;

use super::notices::{Message, Notice, kind_label};
use super::{Answer, Checkin, CheckinKind, CheckinState, CheckinStatus, Claim, SkipReason};
use crate::engine::{Effect, Engine, EventKind, MemberState, Outgoing};
use crate::model::PersonId;
use crate::reply::{Reply, Role};
use crate::text::{MessageKind, What};

impl Engine<'_> {
    /// A reply from the member themselves (context: their own check-in, or none).
    pub fn member_reply(&mut self, st: &mut MemberState, reply: &Reply, text: &str) {
        let me = st.member.id.clone();
        match reply {
            Reply::Stop => {
                self.opt_out(st, text);
                self.sign_of_life(st, &me, text);
            }
            Reply::Start => {
                st.opted_out = false;
                self.effects.push(Effect::SetOptOut {
                    person: me.clone(),
                    opted_out: false,
                });
                self.record(st, None, EventKind::OptedIn);
                self.sign_of_life(st, &me, text);
            }
            Reply::Help => self.help(st, &me, text),
            Reply::Away { until } => {
                st.member.away_until = Some(*until);
                self.record(st, None, EventKind::Away).text = Some(until.to_string());
                self.sign_of_life(st, &me, text);
                self.send(st, None, Message::new(&me, MessageKind::AwayAck));
            }
            Reply::Back => {
                let was_away = st.member.away_until.take().is_some();
                self.record(st, None, EventKind::Back);
                self.sign_of_life(st, &me, text);
                if was_away {
                    self.send(st, None, Message::new(&me, MessageKind::BackAck));
                }
            }
            Reply::Ok | Reply::Other | Reply::OnMyWay | Reply::Cannot | Reply::NoAnswer => {
                if !self.sign_of_life(st, &me, text) {
                    // Nothing was waiting: keep the text for the coordinator.
                    self.record(st, None, EventKind::Note).text = Some(text.to_string());
                }
            }
        }
        self.archive_closed(st);
    }

    /// The member opted out of SMS (they texted STOP, or the provider says so): no more
    /// check-ins, and coordinators are told at once, since it silences a safety service.
    pub fn opt_out(&mut self, st: &mut MemberState, text: &str) {
        st.opted_out = true;
        self.effects.push(Effect::SetOptOut {
            person: st.member.id.clone(),
            opted_out: true,
        });
        self.record(st, None, EventKind::OptedOut).text = Some(text.to_string());
        let notice = Notice {
            kind: MessageKind::OptedOut,
            member: &st.member.id,
            checkin: None,
            level: None,
        };
        self.notify_coordinators(st, notice, "", "", None);
    }

    /// Anything the member says answers every open check-in of theirs and resolves every alert
    /// about them. Returns whether anything was open.
    pub fn sign_of_life(&mut self, st: &mut MemberState, by: &str, text: &str) -> bool {
        let mut any = false;
        for i in 0..st.open.len() {
            let mut c = st.open[i].clone();
            match c.state {
                // Also when a buddy or circle partner was asked today: the member's own word
                // counts, and a held prompt need not go out at all.
                CheckinState::Prompted(_) | CheckinState::Held { .. } => {
                    self.answer(st, &mut c, by, text);
                    any = true;
                }
                CheckinState::Alert(_) => {
                    self.resolve(st, &mut c, by, text);
                    any = true;
                }
                _ => {}
            }
            st.open[i] = c;
        }
        any
    }

    fn answer(&mut self, st: &mut MemberState, c: &mut Checkin, by: &str, text: &str) {
        c.state = CheckinState::Answered {
            prompt: c.prompt_history(),
            answer: Answer {
                at: self.now,
                by: by.to_string(),
                text: text.to_string(),
            },
        };
        st.last_answered_at = Some(self.now);
        let e = self.record(st, Some(c), EventKind::Answered);
        e.by = Some(by.to_string());
        e.text = Some(text.to_string());
    }

    /// Closes an alert: records who resolved it and sends the all-clear to exactly the people
    /// who were alerted.
    pub fn resolve(&mut self, st: &mut MemberState, c: &mut Checkin, by: &str, reason: &str) {
        self.resolve_as(st, c, by, reason, None);
    }

    /// [`Engine::resolve`]; `closing` is why the alert closes when it is not "the member is
    /// OK" (a removal, a coordinator's reason), which the all-clear says instead.
    fn resolve_as(
        &mut self,
        st: &mut MemberState,
        c: &mut Checkin,
        by: &str,
        reason: &str,
        closing: Option<(What, &str)>,
    ) {
        c.state = CheckinState::Resolved {
            prompt: c.prompt_history(),
            answer: Answer {
                at: self.now,
                by: by.to_string(),
                text: reason.to_string(),
            },
            alert: c.alert().cloned().map(Box::new),
        };
        st.last_resolved_at = Some(self.now);
        if by == st.member.id {
            st.last_answered_at = Some(self.now);
        }
        let e = self.record(st, Some(c), EventKind::Resolved);
        e.by = Some(by.to_string());
        e.text = Some(reason.to_string());
        let Some(alert) = c.alert_mut() else {
            return;
        };
        alert.claim = None;
        alert.next_buddy_at = None;
        let alerted = alert.alerted.clone();
        let who = if by == st.member.id {
            String::new()
        } else {
            self.person(by).first_name().to_string()
        };
        let mut told: Vec<PersonId> = Vec::new();
        for a in alerted {
            if told.contains(&a.person) {
                continue;
            }
            told.push(a.person.clone());
            let m = Message::new(&a.person, MessageKind::AllClear)
                .urgent(Some(a.level))
                .who(&who)
                .detail(closing.map_or("", |(_, d)| d))
                .what(closing.map(|(w, _)| w));
            self.send(st, Some(c), m);
            let e = self.record(st, Some(c), EventKind::AllClear);
            e.to = Some(a.person.clone());
            e.level = Some(a.level);
        }
    }

    /// A reply from someone asked about a member: a buddy, a circle partner, family or a
    /// coordinator, read in the role they were asked in.
    pub fn reply_about(
        &mut self,
        st: &mut MemberState,
        checkin: &str,
        from: &str,
        role: Role,
        reply: &Reply,
        text: &str,
    ) {
        let Some(i) = st.open.iter().position(|c| c.id == checkin) else {
            self.note(st, None, from, text);
            return;
        };
        let mut c = st.open[i].clone();
        let alerting = matches!(c.state, CheckinState::Alert(_));
        let waiting = matches!(
            c.state,
            CheckinState::Prompted(_) | CheckinState::Held { .. }
        );
        let other_claim = c
            .alert()
            .and_then(|a| a.claim.as_ref())
            .filter(|cl| cl.by != from && cl.until > self.now)
            .map(|cl| cl.by.clone());
        match reply {
            // Asked to check on the member today.
            Reply::Ok if waiting => self.answer(st, &mut c, from, text),
            Reply::Help | Reply::NoAnswer if waiting => {
                st.open[i] = c;
                self.raise_help(st, from, text, *reply == Reply::NoAnswer);
                self.archive_closed(st);
                return;
            }
            Reply::Cannot if c.status() == CheckinStatus::Prompted && c.asked == from => {
                let e = self.record(st, Some(&c), EventKind::Declined);
                e.by = Some(from.to_string());
                // Ask the next buddy who hasn't been asked today, or else the member themself.
                c.asked = st
                    .member
                    .buddies
                    .iter()
                    .skip_while(|b| *b != from)
                    .nth(1)
                    .cloned()
                    .unwrap_or_else(|| st.member.id.clone());
                self.send_prompt(st, &c, false, "");
            }
            // Alerted about the member.
            Reply::Ok if alerting => self.resolve(st, &mut c, from, text),
            Reply::OnMyWay if alerting && role == Role::Buddy => {
                let level = c.alert().map(|a| a.level());
                if let Some(claimer) = other_claim {
                    // Another buddy already claimed it: one claim at a time (a second would
                    // silently replace the first and restart its timeout). This one is told
                    // who is going, so two neighbours neither both stand down nor wonder.
                    let who = self.person(&claimer).first_name().to_string();
                    self.note(st, Some(&c), from, text);
                    let m = Message::new(from, MessageKind::ClaimTaken)
                        .urgent(level)
                        .replies_as(Role::Buddy)
                        .who(&who);
                    self.send(st, Some(&c), m);
                } else {
                    let until = self.now + st.member.policy.claim_timeout.delta();
                    if let Some(alert) = c.alert_mut() {
                        alert.claim = Some(Claim {
                            by: from.to_string(),
                            until,
                        });
                    }
                    let e = self.record(st, Some(&c), EventKind::Claimed);
                    e.by = Some(from.to_string());
                    e.level = level;
                }
            }
            Reply::Help | Reply::NoAnswer if alerting => {
                let no_answer = *reply == Reply::NoAnswer;
                self.escalate_to_help(st, &mut c, from, text, no_answer);
                st.open[i] = c;
                self.tick(st);
                return;
            }
            Reply::Cannot if alerting && role == Role::Buddy => {
                let e = self.record(st, Some(&c), EventKind::Declined);
                e.by = Some(from.to_string());
                self.buddy_out(st, &mut c, from);
                st.open[i] = c;
                self.tick(st);
                return;
            }
            _ => self.note(st, Some(&c), from, text),
        }
        st.open[i] = c;
        self.archive_closed(st);
    }

    /// A message could not be delivered by any of the recipient's ways (dead-lettered).
    ///
    /// * A prompt nobody received must not raise an alarm: a check-on request falls back to
    ///   prompting the member directly, and a member's own prompt marks the check-in skipped.
    /// * An alert that cannot reach someone moves the chain on at once: the next buddy, or
    ///   the next level.
    /// * Coordinators are told (other than the one who could not be reached), unless
    ///   `tell_coordinators` is false (a budget hold is reported once, not per message).
    pub fn delivery_failed(
        &mut self,
        st: &mut MemberState,
        msg: &Outgoing,
        reason: &str,
        tell_coordinators: bool,
    ) {
        let idx = msg
            .checkin
            .as_ref()
            .and_then(|id| st.open.iter().position(|c| &c.id == id));
        let mut c = idx.map(|i| st.open[i].clone());
        {
            let e = self.record(st, c.as_ref(), EventKind::DeliveryFailed);
            e.to = Some(msg.to.clone());
            e.level = msg.level;
            e.text = Some(reason.to_string());
        }
        if let Some(c) = c.as_mut() {
            match msg.kind {
                MessageKind::CheckOn | MessageKind::Prompt | MessageKind::RollCall
                    if c.status() == CheckinStatus::Prompted && c.asked == msg.to =>
                {
                    if c.asked != st.member.id {
                        c.asked = st.member.id.clone();
                        self.send_prompt(st, c, false, "");
                    } else {
                        self.skip(st, c, SkipReason::Undeliverable(reason.to_string()));
                    }
                }
                MessageKind::BuddyAlert
                | MessageKind::HelpAlert
                | MessageKind::Alert
                | MessageKind::ClaimExpired
                    if c.alert().is_some() =>
                {
                    if st.member.buddies.contains(&msg.to) {
                        self.buddy_out(st, c, &msg.to);
                    } else {
                        let now = self.now;
                        if let Some(alert) = c.alert_mut() {
                            alert.hurry_at = Some(now);
                        }
                    }
                }
                _ => {}
            }
        }
        if let (Some(i), Some(c)) = (idx, c) {
            st.open[i] = c;
        }
        let never_tell = matches!(
            msg.kind,
            MessageKind::DeliveryFailed | MessageKind::BudgetWarning
        );
        if tell_coordinators && !never_tell {
            let who = self.person(&msg.to).name;
            let detail = format!("{}: {reason}", kind_label(msg.kind));
            let open = msg
                .checkin
                .as_ref()
                .filter(|id| st.open.iter().any(|c| &c.id == *id));
            let notice = Notice {
                kind: MessageKind::DeliveryFailed,
                member: &st.member.id,
                checkin: open.map(String::as_str),
                level: msg.level,
            };
            self.notify_coordinators(st, notice, &who, &detail, Some(&msg.to));
        }
        self.tick(st);
    }

    /// A coordinator resolves an open alert (or check-in) by hand.
    pub fn coordinator_resolve(
        &mut self,
        st: &mut MemberState,
        checkin: &str,
        by: &str,
        reason: &str,
    ) -> bool {
        let Some(i) = st.open.iter().position(|c| c.id == checkin) else {
            return false;
        };
        let mut c = st.open[i].clone();
        if c.alert().is_some() {
            // Everyone alerted hears the coordinator's reason, never a bare "is OK".
            let short: String = reason.chars().take(40).collect();
            self.resolve_as(st, &mut c, by, reason, Some((What::Closed, &short)));
        } else {
            self.answer(st, &mut c, by, reason);
        }
        st.open[i] = c;
        self.archive_closed(st);
        true
    }

    /// The member is being removed from the village: every open check-in closes. An open
    /// alert is resolved with the reason, and everyone who was alerted is told it is closed
    /// and why; a check-in still waiting for an answer is skipped. Nothing is dropped silently.
    pub fn remove(&mut self, st: &mut MemberState, by: &str, reason: &str) {
        let short: String = reason.chars().take(40).collect();
        for i in 0..st.open.len() {
            let mut c = st.open[i].clone();
            if c.is_closed() {
                continue;
            }
            if c.alert().is_some() {
                let why = format!("member removed: {reason}");
                self.resolve_as(st, &mut c, by, &why, Some((What::Removed, &short)));
            } else {
                let why = SkipReason::MemberRemoved(reason.to_string());
                self.skip(st, &mut c, why).by = Some(by.to_string());
            }
            st.open[i] = c;
        }
        let e = self.record(st, None, EventKind::Note);
        e.by = Some(by.to_string());
        e.text = Some(format!("member removed: {reason}"));
        st.next_at = None;
        self.archive_closed(st);
    }

    /// A roll call: prompt the member now with its own window, whatever the hour. `note`
    /// (say "heat advisory"; may be empty) goes into the text.
    pub fn roll_call(
        &mut self,
        st: &mut MemberState,
        rollcall: &str,
        window: TimeDelta,
        note: &str,
    ) {
        let date = st.local_date(self.now);
        if st.inactive_on(date) {
            return;
        }
        let id = format!("{}/rollcall/{rollcall}", st.member.id);
        if st.open.iter().any(|c| c.id == id) {
            return;
        }
        let kind = CheckinKind::RollCall(rollcall.to_string());
        // Due now: prompted on the next lines.
        let due = CheckinState::Held {
            prompt_at: self.now,
        };
        let mut c = Checkin::new(st, id, kind, self.now, due).with_window(window.num_seconds());
        self.record(st, Some(&c), EventKind::RollCall).text = Some(rollcall.to_string());
        self.prompt(st, &mut c, note);
        st.open.push(c);
    }
}
