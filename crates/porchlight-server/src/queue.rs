//! The dispatcher's [`Queue`] over the sled store, and the [`Router`] built from the config.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use porchlight_core::delivery::DeliveryState;
use porchlight_core::model::Person;
use porchlight_notify::android::AndroidGateway;
use porchlight_notify::dispatch::{Pending, Queue, QueueError, Router};
use porchlight_notify::log::LogChannel;
use porchlight_notify::twilio::{TwilioSms, TwilioVoice};
use porchlight_notify::webhook::WebhookChannel;
use porchlight_notify::{Delivery, MemberRef, Recipient};
use porchlight_store::{OutboxEntry, Store, StoreError};

use crate::config::{ChannelConfig, Config};

/// The store, seen as the dispatcher's queue.
pub struct StoreQueue {
    store: Arc<Store>,
    /// Called after anything is committed that the scheduler should see (a dead letter can
    /// move an escalation on).
    on_commit: Box<dyn Fn() + Send + Sync>,
    /// Stamps dead letters.
    clock: crate::clock::Clock,
}

impl StoreQueue {
    /// A queue over `store`; `on_commit` is called after commits that change members.
    pub fn new(store: Arc<Store>, on_commit: Box<dyn Fn() + Send + Sync>) -> StoreQueue {
        StoreQueue {
            store,
            on_commit,
            clock: crate::clock::Clock::real(),
        }
    }

    /// The same queue, stamping dead letters with `clock` (the wall clock by default).
    #[must_use]
    pub fn with_clock(mut self, clock: crate::clock::Clock) -> StoreQueue {
        self.clock = clock;
        self
    }
}

fn qe(e: StoreError) -> QueueError {
    QueueError::storage(e)
}

/// The adapter's view of a queued message.
pub fn delivery_of(store: &Store, entry: &OutboxEntry) -> Result<(Person, Delivery), StoreError> {
    let m = &entry.message;
    let person = store
        .person(&m.to)?
        .unwrap_or_else(|| Person::new(m.to.clone(), m.to.clone()));
    let member = if m.member.is_empty() {
        None
    } else {
        Some(MemberRef {
            id: m.member.clone(),
            name: store
                .person(&m.member)?
                .map_or_else(|| m.member.clone(), |p| p.name),
        })
    };
    let delivery = Delivery {
        id: entry.message_id(),
        to: Recipient {
            id: person.id.clone(),
            name: person.name.clone(),
            phone: person.phone.clone(),
            language: person.language,
        },
        kind: m.kind,
        text: m.text.clone(),
        member,
        checkin: m.checkin.clone(),
        level: m.level,
        occurred_at: entry.queued_at,
        summary: m.summary.clone(),
    };
    Ok((person, delivery))
}

impl Queue for StoreQueue {
    fn ready(
        &self,
        now: DateTime<Utc>,
        busy: &HashSet<String>,
        limit: usize,
    ) -> Result<(Vec<Pending>, Option<DateTime<Utc>>), QueueError> {
        let (entries, later) = self.store.outbox_ready(now, busy, limit).map_err(qe)?;
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let (person, delivery) = delivery_of(&self.store, &e).map_err(qe)?;
            out.push(Pending {
                id: e.id,
                person,
                delivery,
                urgent: e.message.urgent,
                state: e.delivery,
            });
        }
        Ok((out, later))
    }

    fn update(&self, id: u64, state: &DeliveryState) -> Result<(), QueueError> {
        self.store.outbox_update(id, state).map_err(qe)
    }

    fn delivered(&self, id: u64, state: &DeliveryState) -> Result<(), QueueError> {
        metrics::counter!("porchlight_messages_delivered_total").increment(1);
        self.store.outbox_delivered(id, state).map_err(qe)
    }

    fn dead_letter(
        &self,
        id: u64,
        state: &DeliveryState,
        tell_coordinators: bool,
    ) -> Result<(), QueueError> {
        let channel = state
            .attempts
            .last()
            .map_or("none", |a| a.channel.as_str())
            .to_string();
        metrics::counter!("porchlight_delivery_failures_total", "channel" => channel).increment(1);
        self.store
            .outbox_dead_letter(id, state, tell_coordinators, self.clock.now())
            .map_err(qe)?;
        (self.on_commit)();
        Ok(())
    }

    fn opted_out(&self, person: &str, now: DateTime<Utc>) -> Result<(), QueueError> {
        self.store.provider_opt_out(person, now).map_err(qe)?;
        (self.on_commit)();
        Ok(())
    }

    fn reserve_sms(
        &self,
        day: NaiveDate,
        segments: u32,
        cap: Option<u32>,
    ) -> Result<Option<u32>, QueueError> {
        self.store.reserve_sms(day, segments, cap).map_err(qe)
    }

    fn release_sms(&self, day: NaiveDate, segments: u32) -> Result<(), QueueError> {
        self.store.release_sms(day, segments).map_err(qe)
    }

    fn budget_notice(
        &self,
        day: NaiveDate,
        percent: u8,
        now: DateTime<Utc>,
    ) -> Result<(), QueueError> {
        self.store.budget_notice(day, percent, now).map_err(qe)?;
        Ok(())
    }
}

/// Builds the channels a config names.
pub fn channels(config: &Config) -> Result<Router, porchlight_notify::BuildError> {
    let mut router = Router::new();
    let timeout = config.delivery.timeout;
    for (name, ch) in &config.channels {
        let channel: Arc<dyn porchlight_notify::Channel> = match ch {
            ChannelConfig::Log => Arc::new(LogChannel::default()),
            ChannelConfig::Webhook { url, secret } => {
                Arc::new(WebhookChannel::new(url, secret.expose(), timeout)?)
            }
            ChannelConfig::Twilio(t) => Arc::new(TwilioSms::new(t.clone(), timeout)?),
            ChannelConfig::TwilioVoice(t) => {
                let public = config.public_url.as_deref().unwrap_or_default();
                Arc::new(TwilioVoice::new(t.clone(), public, timeout)?)
            }
            ChannelConfig::Android {
                base_url,
                username,
                password,
                ..
            } => Arc::new(AndroidGateway::new(
                base_url,
                username,
                password.expose(),
                timeout,
            )?),
        };
        router.add(name, channel);
    }
    Ok(router)
}
