//! Inbound: replies (texts, reply links), roll calls, resolutions, opt-outs, replay ids.

use chrono::{DateTime, TimeDelta, Utc};
use porchlight_core::village::{self, Outcome, Sender};

use crate::keys::{INBOUND, MEMBERS, TOKENS};
use crate::tx::Tx;
use crate::{Committed, DUE_GROUP, LinkToken, Result, Store, StoreError, commit, dec, enc, keys};

/// How long provider message ids are remembered to refuse replays: Twilio retries within
/// minutes and the Android gateway's signatures are valid for 5 minutes; a week is far beyond
/// both, and small (one key per inbound message).
pub const INBOUND_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(7);
impl Store {
    // ----- inbound -----------------------------------------------------------------------

    /// An inbound reply, durable when this returns.
    pub fn reply(
        &self,
        from: &Sender,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, Committed)> {
        let (from, text) = (from.clone(), text.to_string());
        self.step(now, false, move |v, b| {
            Ok(village::reply(v, b, &from, &text, now))
        })
    }

    /// An inbound text from the daemon's HTTP handlers: awaits the writer (never blocks the
    /// async runtime). `direct` answers (help reassurance, away/back acknowledgements) go back
    /// in the HTTP response instead of the outbox; see [`Committed::direct`]. `provider_id`
    /// (Twilio's `MessageSid`, the gateway's message id) makes a replay a no-op: `None` is
    /// returned for a message already recorded.
    pub async fn reply_async(
        &self,
        from: Sender,
        text: String,
        direct: bool,
        provider_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Option<(Outcome, Committed)>> {
        self.write_awaiting(move |inner| {
            let tx = Tx::new(inner);
            let seen = provider_id
                .as_ref()
                .map(|pid| keys::key(INBOUND, pid.as_bytes()));
            if let Some(k) = &seen {
                if tx.raw(k)?.is_some() {
                    return Ok(None);
                }
            }
            let out = village::reply(&inner.village, &tx, &from, &text, now);
            tx.check()?;
            let committed = commit(&tx, &inner.village, &out, now, direct)?;
            // In the same batch as the reply: a retry is either seen or never recorded.
            if let Some(k) = seen {
                tx.put_raw(k, enc(&now));
            }
            tx.apply()?;
            Ok(Some((out, committed)))
        })
        .await
    }

    /// Forgets provider message ids (Twilio `MessageSid`, gateway ids) first seen before
    /// `before`: they are kept only as long as a provider may retry or replay a message
    /// ([`INBOUND_RETENTION`]). Removes at most `limit` per call; returns how many went.
    /// Blocking.
    pub fn prune_inbound(&self, before: DateTime<Utc>, limit: usize) -> Result<usize> {
        let inner = self.inner()?;
        let mut old: Vec<Vec<u8>> = Vec::new();
        for kv in inner.tree.scan_prefix([INBOUND]) {
            let (k, v) = kv?;
            // An unreadable time is treated as old: it only guards against replays.
            let seen: Option<DateTime<Utc>> = dec(keys::name(INBOUND), &v).ok();
            if seen.is_none_or(|t| t < before) {
                old.push(k.to_vec());
                if old.len() >= limit {
                    break;
                }
            }
        }
        drop(inner);
        let n = old.len();
        if n > 0 {
            self.write(move |inner| {
                let tx = Tx::new(inner);
                for k in old {
                    tx.del(k);
                }
                tx.apply()
            })?;
        }
        Ok(n)
    }

    /// An inbound text whose direct answers go back in the HTTP response instead of the
    /// outbox (blocking form of [`Store::reply_async`]).
    pub fn reply_direct(
        &self,
        from: &Sender,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, Committed)> {
        let (from, text) = (from.clone(), text.to_string());
        self.step(now, true, move |v, b| {
            Ok(village::reply(v, b, &from, &text, now))
        })
    }

    /// A roll call: prompts every active member now.
    pub fn roll_call(&self, id: &str, window: TimeDelta, now: DateTime<Utc>) -> Result<Committed> {
        self.roll_call_with_note(id, window, "", now)
    }

    /// A roll call whose texts carry the coordinator's note ("heat advisory").
    pub fn roll_call_with_note(
        &self,
        id: &str,
        window: TimeDelta,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Committed> {
        let mut all = Committed::default();
        let ids: Vec<String> = self
            .inner()?
            .tree
            .scan_prefix([MEMBERS])
            .keys()
            .map(|k| k.map(|k| String::from_utf8_lossy(&k[1..]).into_owned()))
            .collect::<Result<_, _>>()?;
        for chunk in ids.chunks(DUE_GROUP) {
            let chunk = chunk.to_vec();
            let id = id.to_string();
            let note = note.to_string();
            let c = self.write(move |inner| {
                let mut all = Committed::default();
                for member in chunk {
                    let (_, c) = inner.step(now, false, |v, b| {
                        Ok(village::roll_call_with_note(
                            v, b, &member, &id, window, &note, now,
                        ))
                    })?;
                    all.extend(c);
                }
                Ok(all)
            })?;
            all.extend(c);
        }
        Ok(all)
    }

    /// A coordinator resolves an open check-in or alert.
    pub fn resolve(
        &self,
        member: &str,
        checkin: &str,
        by: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Committed> {
        let (member, checkin, by, reason) = (
            member.to_string(),
            checkin.to_string(),
            by.to_string(),
            reason.to_string(),
        );
        let (_, c) = self.step(now, false, move |v, b| {
            village::resolve(v, b, &member, &checkin, &by, &reason, now)
                .ok_or_else(|| StoreError::NotFound(format!("open check-in {checkin}")))
        })?;
        Ok(c)
    }

    /// A reply-link token, if it exists (expired or not).
    pub fn link(&self, token: &str) -> Result<Option<LinkToken>> {
        self.inner()?.get(TOKENS, token.as_bytes())
    }

    /// An answer through a reply link, read in the link's context. `NotFound` for an unknown
    /// or expired token.
    pub fn reply_link(
        &self,
        token: &str,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, Committed)> {
        let link = self
            .link(token)?
            .filter(|l| l.expires_at > now)
            .ok_or_else(|| StoreError::NotFound("reply link".into()))?;
        let text = text.to_string();
        self.step(now, false, move |v, b| {
            Ok(village::reply_in_context(
                v,
                b,
                &link.person,
                &link.context,
                &text,
                now,
            ))
        })
    }

    /// The SMS provider says a person opted out.
    pub fn provider_opt_out(&self, person: &str, now: DateTime<Utc>) -> Result<Committed> {
        let person = person.to_string();
        let (_, c) = self.step(now, false, move |v, b| {
            Ok(village::provider_opt_out(v, b, &person, now))
        })?;
        Ok(c)
    }
}
