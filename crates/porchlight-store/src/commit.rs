//! Committing an engine outcome into a step: member states with their due-index entries,
//! queued messages (lane, ready index, pending prompt, reply link, reply context), audit
//! events, closed check-ins, opt-outs.

use chrono::{DateTime, TimeDelta, Utc};
use porchlight_core::delivery::DeliveryState;
use porchlight_core::engine::{Effect, MemberState, ReplyContext};
use porchlight_core::model::{Person, PersonId, Village};
use porchlight_core::village::{self, Outcome};
use serde::{Deserialize, Serialize};

use crate::keys::{AUDIT, BY_DATE, CHECKINS, CIRCLES, CONTEXTS, PENDING, PEOPLE, SENT, TOKENS};
use crate::tx::Tx;
use crate::{Committed, OutboxEntry, Result, counter, enc, keys, outbox};

/// Writes a member state and moves its due-index entry.
pub(crate) fn put_member_state(tx: &Tx<'_>, st: &MemberState) -> Result<()> {
    let id = st.member.id.as_bytes();
    let due_of = keys::key(keys::DUE_OF, id);
    let due = st.next_due().map(keys::instant);
    match tx.raw(&due_of)? {
        // Still due at the same instant (or still never): the index stays as it is.
        Some(instant) if instant.as_slice() == due.as_ref().map_or(&[][..], |d| &d[..]) => {
            tx.put_member(st);
            return Ok(());
        }
        Some(instant) => {
            if !instant.is_empty() {
                tx.del(keys::due_from(&instant, &st.member.id));
            }
        }
        // No side record: a new member, or one written before it existed.
        None => match tx.member_state(&st.member.id)? {
            Some(old) => {
                if let Some(at) = old.next_due() {
                    tx.del(keys::due(at, &old.member.id));
                }
            }
            None => tx.add_counter(counter::MEMBERS, 1)?,
        },
    }
    match st.next_due() {
        Some(at) => {
            tx.put_raw(keys::due(at, &st.member.id), id.to_vec());
            tx.put_raw(due_of, keys::instant(at).to_vec());
        }
        None => tx.put_raw(due_of, Vec::new()),
    }
    tx.put_member(st);
    Ok(())
}

/// First prompts of a check-in (not reminders): a check-in whose prompt is still queued when
/// its window closes was never received, and must not raise an alarm.
fn is_prompt(kind: porchlight_core::text::MessageKind) -> bool {
    use porchlight_core::text::MessageKind::{CheckOn, Prompt, RollCall};
    matches!(kind, Prompt | CheckOn | RollCall)
}

/// Messages that answer the sender of an inbound text directly.
fn is_direct(kind: porchlight_core::text::MessageKind) -> bool {
    use porchlight_core::text::MessageKind::{AwayAck, BackAck, HelpAck};
    matches!(kind, HelpAck | AwayAck | BackAck)
}

/// How long a reply link works.
pub const LINK_LIFETIME_HOURS: i64 = 72;

/// What a reply link answers for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkToken {
    /// Who the link was sent to.
    pub person: PersonId,
    /// The request it answers.
    pub context: ReplyContext,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A new reply-link token: 128 random bits, base64url without padding (22 characters).
fn new_token() -> String {
    use base64::Engine as _;
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Commits an outcome's member states and effects into a step. Messages that can be answered
/// get a reply link when the village has a public URL.
pub(crate) fn commit(
    tx: &Tx<'_>,
    village: &Village,
    out: &Outcome,
    now: DateTime<Utc>,
    direct: bool,
) -> Result<Committed> {
    let mut done = Committed::default();
    for st in &out.members {
        put_member_state(tx, st)?;
    }
    for effect in &out.effects {
        match effect {
            Effect::Send(msg) if direct && is_direct(msg.kind) => {
                let id = tx.next_id(counter::MESSAGE)?;
                let mut delivery = DeliveryState {
                    status: porchlight_core::delivery::DeliveryStatus::Delivered,
                    ..DeliveryState::default()
                };
                delivery.attempts.push(porchlight_core::delivery::Attempt {
                    at: now,
                    channel: "reply".into(),
                    way: 0,
                    ok: true,
                    detail: "answered in the inbound response".into(),
                    provider_id: None,
                });
                let entry = OutboxEntry {
                    id,
                    queued_at: now,
                    message: msg.clone(),
                    delivery,
                };
                tx.put_raw(keys::id(SENT, id), enc(&entry));
                done.direct.push(entry);
            }
            Effect::Send(msg) => {
                let id = tx.next_id(counter::MESSAGE)?;
                let mut message = msg.clone();
                if let (Some(base), Some(ctx)) = (&village.public_url, &msg.context) {
                    let token = new_token();
                    let link = LinkToken {
                        person: msg.to.clone(),
                        context: ctx.clone(),
                        expires_at: now + TimeDelta::hours(LINK_LIFETIME_HOURS),
                    };
                    tx.put(TOKENS, token.as_bytes(), &link);
                    message.text =
                        format!("{} {}/r/{token}", message.text, base.trim_end_matches('/'));
                }
                if is_prompt(msg.kind) {
                    if let Some(c) = &msg.checkin {
                        tx.put_raw(keys::key(PENDING, c.as_bytes()), id.to_be_bytes().to_vec());
                    }
                }
                let entry = OutboxEntry {
                    id,
                    queued_at: now,
                    message,
                    delivery: DeliveryState::default(),
                };
                outbox::enqueue(tx, &entry)?;
                if let Some(ctx) = &msg.context {
                    let mut list: Vec<ReplyContext> =
                        tx.get(CONTEXTS, msg.to.as_bytes())?.unwrap_or_default();
                    village::push_context(&mut list, ctx.clone());
                    tx.put(CONTEXTS, msg.to.as_bytes(), &list);
                }
                done.messages.push(entry);
            }
            Effect::Record(ev) => {
                let id = tx.next_id(counter::EVENT)?;
                tx.put_raw(keys::id(AUDIT, id), enc(ev));
                done.events.push((id, ev.clone()));
            }
            Effect::Archive(c) => {
                tx.put(
                    CHECKINS,
                    format!("{}\0{}", c.member, c.id).as_bytes(),
                    c.as_ref(),
                );
                tx.put_raw(
                    keys::key(
                        BY_DATE,
                        format!("{}\0{}\0{}", c.local_date, c.member, c.id).as_bytes(),
                    ),
                    Vec::new(),
                );
            }
            Effect::SetOptOut { person, opted_out } => {
                if let Some(mut p) = tx.get::<Person>(PEOPLE, person.as_bytes())? {
                    p.opted_out = *opted_out;
                    tx.put(PEOPLE, person.as_bytes(), &p);
                }
            }
        }
    }
    Ok(done)
}

pub(crate) fn circle_membership(tx: &Tx<'_>, circle: &str, member: &str, add: bool) -> Result<()> {
    let mut ids: Vec<PersonId> = tx.get(CIRCLES, circle.as_bytes())?.unwrap_or_default();
    ids.retain(|id| id != member);
    if add {
        ids.push(member.to_string());
        ids.sort();
    }
    tx.put(CIRCLES, circle.as_bytes(), &ids);
    Ok(())
}
