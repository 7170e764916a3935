//! Reading the archive in bulk, for reports: closed check-ins by local date, the audit log,
//! delivered and dead-lettered messages. Each record is handed to a callback as it is read,
//! so a month of a large village never sits in memory at once.

use chrono::NaiveDate;
use porchlight_core::engine::{Checkin, Event};

use crate::keys::{self, AUDIT, BY_DATE, CHECKINS, DEAD, OUTBOX, SENT};
use crate::{MessagePlace, OutboxEntry, Result, Store, StoreError, dec};
use porchlight_core::circle::Pairing;

impl Store {
    /// Every closed check-in whose member-local date is in `from..=to`, in date order.
    pub fn for_each_closed_checkin(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        mut f: impl FnMut(Checkin),
    ) -> Result<()> {
        let start = keys::key(BY_DATE, format!("{from}\0").as_bytes());
        let end = keys::prefix_end(&keys::key(BY_DATE, format!("{to}\0").as_bytes()));
        let inner = self.inner()?;
        for key in inner.tree.range(start..end).keys() {
            let key = key?;
            // `date \0 member \0 checkin`: the closed check-in is under `member \0 checkin`.
            let rest = &key[1..];
            let Some(nul) = rest.iter().position(|&b| b == 0) else {
                continue;
            };
            if let Some(c) = inner.get(CHECKINS, &rest[nul + 1..])? {
                f(c);
            }
        }
        Ok(())
    }

    /// Every audit event, oldest first.
    pub fn for_each_event(&self, mut f: impl FnMut(u64, Event)) -> Result<()> {
        for r in self.inner()?.tree.scan_prefix([AUDIT]) {
            let (k, v) = r?;
            let id = keys::id_of(&k).ok_or_else(|| StoreError::Corrupt {
                tree: "audit",
                reason: "key is not 8 bytes".into(),
            })?;
            f(id, dec("audit", &v)?);
        }
        Ok(())
    }

    /// Every delivered ([`MessagePlace::Sent`]) or dead-lettered ([`MessagePlace::Dead`])
    /// message, by id; nothing for [`MessagePlace::Outbox`] (see [`Store::outbox`]).
    pub fn for_each_message(
        &self,
        place: MessagePlace,
        mut f: impl FnMut(OutboxEntry),
    ) -> Result<()> {
        let prefix = match place {
            MessagePlace::Sent => SENT,
            MessagePlace::Dead => DEAD,
            MessagePlace::Outbox => return Ok(()),
        };
        for v in self.inner()?.tree.scan_prefix([prefix]).values() {
            f(dec(keys::name(prefix), &v?)?);
        }
        Ok(())
    }
}

impl Store {
    // ----- history -----------------------------------------------------------------------

    /// A message by id, wherever it is.
    pub fn message(&self, id: u64) -> Result<Option<(MessagePlace, OutboxEntry)>> {
        for (prefix, place) in [
            (OUTBOX, MessagePlace::Outbox),
            (SENT, MessagePlace::Sent),
            (DEAD, MessagePlace::Dead),
        ] {
            if let Some(e) = self.inner()?.get(prefix, &id.to_be_bytes())? {
                return Ok(Some((place, e)));
            }
        }
        Ok(None)
    }

    /// Dead-lettered messages, oldest first, up to `limit`.
    pub fn dead_letters(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.inner()?.scan(DEAD, limit)
    }

    /// Audit events with id greater than `after`, up to `limit`.
    pub fn events_after(&self, after: Option<u64>, limit: usize) -> Result<Vec<(u64, Event)>> {
        let start = after.map_or(0, |a| a.saturating_add(1));
        self.inner()?
            .tree
            .range(keys::id(AUDIT, start)..keys::prefix_end(&[AUDIT]))
            .take(limit)
            .map(|r| {
                let (k, v) = r?;
                let id = keys::id_of(&k).ok_or_else(|| StoreError::Corrupt {
                    tree: "audit",
                    reason: "key is not 8 bytes".into(),
                })?;
                Ok((id, dec("audit", &v)?))
            })
            .collect()
    }

    /// Closed check-ins of a local date.
    pub fn checkins_on(&self, date: NaiveDate) -> Result<Vec<Checkin>> {
        let prefix = keys::key(BY_DATE, format!("{date}\0").as_bytes());
        let mut out = Vec::new();
        for key in self.inner()?.tree.scan_prefix(&prefix).keys() {
            let key = key?;
            if let Some(c) = self.inner()?.get(CHECKINS, &key[prefix.len()..])? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// A circle's pairing on a date, if one was made.
    pub fn pairing(&self, circle: &str, date: NaiveDate) -> Result<Option<Pairing>> {
        self.inner()?
            .tree
            .get(keys::pairing(circle, date))?
            .map(|v| dec("pairings", &v))
            .transpose()
    }
}
