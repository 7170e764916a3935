//! An open alert as the desk shows it: who was alerted at which level, who claimed it, in
//! words (the board, the alerts page and a member's page), and the names behind person ids.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use maud::{Markup, html};
use porchlight_core::engine::{AlertReason, MemberState};

use super::{DeskResult, icon, local_time};
use crate::app::App;

/// One alerted person, named.
pub struct AlertedRow {
    /// Name.
    pub name: String,
    /// Level.
    pub level: u8,
}

/// An open alert, for the board and the alerts page.
pub struct AlertRow {
    /// The check-in id.
    pub checkin: String,
    /// Missed or help.
    pub reason: AlertReason,
    /// Since.
    pub since: DateTime<Utc>,
    /// Highest level reached.
    pub level: u8,
    /// Levels in the member's policy.
    pub levels: usize,
    /// Levels fired.
    pub fired: usize,
    /// Everyone alerted.
    pub alerted: Vec<AlertedRow>,
    /// Who claimed it, when, and until when.
    pub claim: Option<(String, DateTime<Utc>, DateTime<Utc>)>,
    /// Every level fired and nobody confirmed.
    pub exhausted: bool,
    /// Someone could not get an answer at the door.
    pub no_answer: bool,
    /// Who raised a help alert.
    pub raised_by: Option<String>,
}

/// The alert rows of a member's open check-ins.
pub fn alert_rows(app: &App, st: &MemberState, names: &mut Names) -> DeskResult<Vec<AlertRow>> {
    let mut out = Vec::new();
    for c in &st.open {
        let Some(a) = c.alert() else { continue };
        let mut alerted = Vec::new();
        for x in &a.alerted {
            alerted.push(AlertedRow {
                name: names.get(app, &x.person)?,
                level: x.level,
            });
        }
        out.push(AlertRow {
            checkin: c.id.clone(),
            reason: a.reason,
            since: a.since,
            level: a.level(),
            levels: st.member.policy.escalation.len(),
            fired: a.steps_fired,
            alerted,
            claim: match &a.claim {
                // A claim lasts the member's claim timeout from the "on my way".
                Some(cl) => Some((
                    names.get(app, &cl.by)?,
                    cl.until - st.member.policy.claim_timeout.delta(),
                    cl.until,
                )),
                None => None,
            },
            exhausted: a.exhausted,
            no_answer: a.no_answer,
            raised_by: match &a.raised_by {
                Some(p) => Some(names.get(app, p)?),
                None => None,
            },
        });
    }
    Ok(out)
}

/// A small cache of person names for one page.
#[derive(Default)]
pub struct Names(HashMap<String, (String, Option<String>)>);

impl Names {
    fn load(&mut self, app: &App, id: &str) -> DeskResult<&(String, Option<String>)> {
        if !self.0.contains_key(id) {
            let v = app
                .store
                .person(id)?
                .map_or_else(|| (id.to_string(), None), |p| (p.name, p.phone));
            self.0.insert(id.to_string(), v);
        }
        // Inserted just above when missing.
        self.0
            .get(id)
            .ok_or_else(|| super::DeskError::internal("name cache"))
    }
    /// A person's name (their id when unknown).
    pub fn get(&mut self, app: &App, id: &str) -> DeskResult<String> {
        Ok(self.load(app, id)?.0.clone())
    }
    /// A person's phone.
    pub fn phone(&mut self, app: &App, id: &str) -> DeskResult<Option<String>> {
        Ok(self.load(app, id)?.1.clone())
    }
}

/// The alert's summary in words, for the board and the alerts page.
pub fn alert_words(a: &AlertRow, tz: chrono_tz::Tz, today: NaiveDate) -> Markup {
    html! {
        p.alert {
            strong {
                @match a.reason {
                    AlertReason::Help => "Help alert",
                    AlertReason::Missed => "Missed-check-in alert",
                }
                ", level " (a.level) " of " (a.levels)
            }
            " since " (local_time(a.since, tz, today))
            @if let Some(r) = &a.raised_by { " · raised by " (r) }
            @if a.no_answer { " · no answer at the door" }
        }
        @if !a.alerted.is_empty() {
            p.alerted {
                "Alerted: "
                @for (i, x) in a.alerted.iter().enumerate() {
                    @if i > 0 { ", " }
                    (x.name) " (level " (x.level) ")"
                }
            }
        }
        @if let Some((who, at, until)) = &a.claim {
            p.claim { (icon("walk")) " Claimed by " strong { (who) } " at " (local_time(*at, tz, today)) " — on the way; escalation resumes at " (local_time(*until, tz, today)) " if they have not reported back" }
        } @else {
            p.claim { "Not claimed" }
        }
        @if a.exhausted {
            p.exhausted { (icon("siren")) " " strong { "Every level was alerted and nobody has confirmed." } }
        }
    }
}
