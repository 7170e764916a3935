//! Porchlight's durable state in sled.
//!
//! # Layout
//! One sled database with these trees (keys → values; values are JSON):
//!
//! | tree | key | value |
//! |---|---|---|
//! | `meta` | `schema_version` | `u32`, big-endian |
//! | `people` | person id | [`Person`] |
//! | `phones` | E.164 number | person id |
//! | `members` | member id | [`MemberState`] (small: settings + open check-ins) |
//! | `due` | due instant (8 bytes, ordered) + member id | member id |
//! | `contexts` | person id | recent [`ReplyContext`]s |
//! | `circles` | circle name | member ids |
//! | `pairings` | circle name `\0` date | [`Pairing`] |
//! | `outbox` | message id (u64 BE) | [`OutboxEntry`] |
//! | `audit` | event id (u64 BE) | [`Event`], append-only |
//! | `checkins` | member id `\0` check-in id | closed [`Checkin`] |
//! | `by_date` | local date `\0` member id `\0` check-in id | empty |
//! | `sent` | message id (u64 BE) | delivered [`OutboxEntry`] with its attempts |
//! | `dead` | message id (u64 BE) | dead-lettered [`OutboxEntry`] with its attempts and reason |
//! | `tokens` | reply-link token | [`LinkToken`]: who, about which check-in, until when |
//! | `pending` | check-in id | id of its prompt while that is still in the outbox |
//!
//! Every engine step commits the member states it changed, their due-index entries, the
//! messages it queued, its audit events and the check-ins it closed in **one** sled
//! transaction, so a crash at any instant loses nothing and duplicates nothing. The `due` tree
//! lets the scheduler find the next due member with one `first()` instead of scanning.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use porchlight_core::circle::Pairing;
use porchlight_core::delivery::DeliveryState;
use porchlight_core::engine::{
    Checkin, Effect, Event, MemberState, Outgoing, ReplyContext, Roster, skipped_report,
};
use porchlight_core::model::{CheckinBy, Member, Person, PersonId, Village};
use porchlight_core::village::{self, Book, Outcome, Sender};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use sled::{Transactional, Tree};

/// The schema this code reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// sled itself failed (I/O, corruption it detected).
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    /// A record could not be decoded.
    #[error("corrupt record in {tree}: {reason}")]
    Corrupt {
        /// Which tree.
        tree: &'static str,
        /// Why.
        reason: String,
    },
    /// The data directory was written by another schema version.
    #[error("data directory has schema version {found}, this porchlight understands {expected}")]
    Schema {
        /// Version on disk.
        found: u32,
        /// Version of this code.
        expected: u32,
    },
    /// A record that should exist does not.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A queued message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Message id: stable across retries (`msg_` + the number, for providers).
    pub id: u64,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// The message.
    pub message: Outgoing,
    /// Delivery so far: attempts, the way being tried, status.
    #[serde(default)]
    pub delivery: DeliveryState,
}

/// Where a message is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessagePlace {
    /// Still to be delivered.
    Outbox,
    /// Delivered.
    Sent,
    /// No way worked.
    Dead,
}

impl OutboxEntry {
    /// The id as providers see it (`webhook-id`, the gateway's message id).
    pub fn message_id(&self) -> String {
        format!("msg_{:016x}", self.id)
    }
}

/// What one committed step produced.
#[derive(Clone, Debug, Default)]
pub struct Committed {
    /// Timeline events, with their audit ids.
    pub events: Vec<(u64, Event)>,
    /// Queued messages.
    pub messages: Vec<OutboxEntry>,
    /// Answers to the sender given in the inbound response itself (the reassurance for a help
    /// request, away/back acknowledgements): recorded as sent, never queued, so they cannot
    /// also be texted.
    pub direct: Vec<OutboxEntry>,
}

const META: usize = 0;
const PEOPLE: usize = 1;
const PHONES: usize = 2;
const MEMBERS: usize = 3;
const DUE: usize = 4;
const CONTEXTS: usize = 5;
const CIRCLES: usize = 6;
const PAIRINGS: usize = 7;
const OUTBOX: usize = 8;
const AUDIT: usize = 9;
const CHECKINS: usize = 10;
const BY_DATE: usize = 11;
const SENT: usize = 12;
const DEAD: usize = 13;
const TOKENS: usize = 14;
const PENDING: usize = 15;
const TREE_NAMES: [&str; 16] = [
    "meta", "people", "phones", "members", "due", "contexts", "circles", "pairings", "outbox",
    "audit", "checkins", "by_date", "sent", "dead", "tokens", "pending",
];

/// The store: a sled database and the village it serves.
pub struct Store {
    db: sled::Db,
    trees: Vec<Tree>,
    village: Village,
}

fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("our records always serialize")
}

fn dec<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        tree,
        reason: e.to_string(),
    })
}

/// Due-index key: the instant as order-preserving bytes, then the member id.
fn due_key(at: DateTime<Utc>, member: &str) -> Vec<u8> {
    // Rounded *up* to the millisecond: a key never reads earlier than the instant it stands
    // for, so when the scheduler wakes at the key's time the work really is due.
    let sub_milli = at.timestamp_subsec_nanos() % 1_000_000 != 0;
    let millis = at.timestamp_millis() + i64::from(sub_milli);
    let ordered = (millis as u64) ^ (1u64 << 63);
    let mut k = ordered.to_be_bytes().to_vec();
    k.extend_from_slice(member.as_bytes());
    k
}

fn due_at(key: &[u8]) -> Option<DateTime<Utc>> {
    let bytes: [u8; 8] = key.get(..8)?.try_into().ok()?;
    let millis = (u64::from_be_bytes(bytes) ^ (1u64 << 63)) as i64;
    DateTime::from_timestamp_millis(millis)
}

fn pairing_key(circle: &str, date: NaiveDate) -> Vec<u8> {
    format!("{circle}\0{date}").into_bytes()
}

/// A [`Book`] over the trees of one transaction. Reads that fail are remembered and turn the
/// whole transaction into an error (the trait's methods cannot return one).
struct TxBook<'a> {
    tx: &'a [TransactionalTree],
    error: RefCell<Option<UnabortableTransactionError>>,
    corrupt: RefCell<Option<StoreError>>,
}

impl TxBook<'_> {
    fn get<T: DeserializeOwned>(&self, tree: usize, key: &[u8]) -> Option<T> {
        match self.tx[tree].get(key) {
            Ok(Some(v)) => match dec(TREE_NAMES[tree], &v) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.corrupt.borrow_mut().get_or_insert(e);
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                None
            }
        }
    }

    fn check(&self) -> Result<(), ConflictableTransactionError<StoreError>> {
        if let Some(e) = self.error.borrow_mut().take() {
            return Err(e.into());
        }
        if let Some(e) = self.corrupt.borrow_mut().take() {
            return Err(ConflictableTransactionError::Abort(e));
        }
        Ok(())
    }
}

impl Roster for TxBook<'_> {
    fn person(&self, id: &str) -> Option<Person> {
        self.get(PEOPLE, id.as_bytes())
    }

    fn prompt_undelivered(&self, checkin: &str) -> bool {
        match self.tx[PENDING].get(checkin.as_bytes()) {
            Ok(v) => v.is_some(),
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                false
            }
        }
    }

    fn circle_checker(&self, circle: &str, date: NaiveDate, member: &str) -> Option<PersonId> {
        // Computed once per circle and day, then kept: a restart never reshuffles it.
        if let Some(p) = self.get::<Pairing>(PAIRINGS, &pairing_key(circle, date)) {
            return p.get(member).cloned();
        }
        let ids: Vec<PersonId> = self.get(CIRCLES, circle.as_bytes()).unwrap_or_default();
        let states: Vec<MemberState> = ids
            .iter()
            .filter_map(|id| self.get(MEMBERS, id.as_bytes()))
            .collect();
        let yesterday: Option<Pairing> = date
            .pred_opt()
            .and_then(|y| self.get(PAIRINGS, &pairing_key(circle, y)));
        let pairing = village::circle_pairing(circle, &states, date, yesterday.as_ref());
        if let Err(e) = self.tx[PAIRINGS].insert(pairing_key(circle, date), enc(&pairing)) {
            self.error.borrow_mut().get_or_insert(e);
        }
        pairing.get(member).cloned()
    }
}

impl Book for TxBook<'_> {
    fn member(&self, id: &str) -> Option<MemberState> {
        self.get(MEMBERS, id.as_bytes())
    }
    fn person_by_phone(&self, phone: &str) -> Option<Person> {
        let id: String = match self.tx[PHONES].get(phone.as_bytes()) {
            Ok(Some(v)) => String::from_utf8_lossy(&v).into_owned(),
            Ok(None) => return None,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                return None;
            }
        };
        self.person(&id)
    }
    fn contexts(&self, person: &str) -> Vec<ReplyContext> {
        self.get(CONTEXTS, person.as_bytes()).unwrap_or_default()
    }
}

type TxResult<T> = std::result::Result<T, ConflictableTransactionError<StoreError>>;

/// Writes a member state and moves its due-index entry.
fn put_member(tx: &[TransactionalTree], st: &MemberState) -> TxResult<()> {
    let id = st.member.id.as_bytes();
    if let Some(old) = tx[MEMBERS].get(id)? {
        let old: MemberState = dec("members", &old).map_err(ConflictableTransactionError::Abort)?;
        if let Some(at) = old.next_due() {
            tx[DUE].remove(due_key(at, &old.member.id))?;
        }
    }
    if let Some(at) = st.next_due() {
        tx[DUE].insert(due_key(at, &st.member.id), id)?;
    }
    tx[MEMBERS].insert(id, enc(st))?;
    Ok(())
}

/// First prompts of a check-in (not reminders): a check-in whose prompt is still queued when
/// its window closes was never received, and must not raise an alarm.
fn is_prompt(kind: porchlight_core::text::MessageKind) -> bool {
    use porchlight_core::text::MessageKind::{CheckOn, Prompt, RollCall};
    matches!(kind, Prompt | CheckOn | RollCall)
}

/// Forgets a check-in's pending prompt when that message leaves the outbox.
fn clear_pending(pending: &TransactionalTree, entry: &OutboxEntry) -> TxResult<()> {
    if let Some(c) = &entry.message.checkin {
        if pending
            .get(c.as_bytes())?
            .is_some_and(|v| v.as_ref() == entry.id.to_be_bytes())
        {
            pending.remove(c.as_bytes())?;
        }
    }
    Ok(())
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

/// Commits an outcome's member states and effects inside a transaction. Messages that can be
/// answered get a reply link when the village has a public URL.
fn commit(
    tx: &[TransactionalTree],
    village: &Village,
    out: &Outcome,
    now: DateTime<Utc>,
    direct: bool,
) -> TxResult<Committed> {
    let mut done = Committed::default();
    for st in &out.members {
        put_member(tx, st)?;
    }
    for effect in &out.effects {
        match effect {
            Effect::Send(msg) if direct && is_direct(msg.kind) => {
                let id = tx[OUTBOX].generate_id()?;
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
                tx[SENT].insert(&id.to_be_bytes(), enc(&entry))?;
                done.direct.push(entry);
            }
            Effect::Send(msg) => {
                let id = tx[OUTBOX].generate_id()?;
                let mut message = msg.clone();
                if let (Some(base), Some(ctx)) = (&village.public_url, &msg.context) {
                    let token = new_token();
                    let link = LinkToken {
                        person: msg.to.clone(),
                        context: ctx.clone(),
                        expires_at: now + TimeDelta::hours(LINK_LIFETIME_HOURS),
                    };
                    tx[TOKENS].insert(token.as_bytes(), enc(&link))?;
                    message.text =
                        format!("{} {}/r/{token}", message.text, base.trim_end_matches('/'));
                }
                if is_prompt(msg.kind) {
                    if let Some(c) = &msg.checkin {
                        tx[PENDING].insert(c.as_bytes(), &id.to_be_bytes())?;
                    }
                }
                let entry = OutboxEntry {
                    id,
                    queued_at: now,
                    message,
                    delivery: DeliveryState::default(),
                };
                tx[OUTBOX].insert(&id.to_be_bytes(), enc(&entry))?;
                if let Some(ctx) = &msg.context {
                    let key = msg.to.as_bytes();
                    let mut list: Vec<ReplyContext> = match tx[CONTEXTS].get(key)? {
                        Some(v) => {
                            dec("contexts", &v).map_err(ConflictableTransactionError::Abort)?
                        }
                        None => Vec::new(),
                    };
                    village::push_context(&mut list, ctx.clone());
                    tx[CONTEXTS].insert(key, enc(&list))?;
                }
                done.messages.push(entry);
            }
            Effect::Record(ev) => {
                let id = tx[AUDIT].generate_id()?;
                tx[AUDIT].insert(&id.to_be_bytes(), enc(ev))?;
                done.events.push((id, ev.clone()));
            }
            Effect::Archive(c) => {
                tx[CHECKINS].insert(format!("{}\0{}", c.member, c.id).into_bytes(), enc(c))?;
                tx[BY_DATE].insert(
                    format!("{}\0{}\0{}", c.local_date, c.member, c.id).into_bytes(),
                    &[],
                )?;
            }
            Effect::SetOptOut { person, opted_out } => {
                if let Some(v) = tx[PEOPLE].get(person.as_bytes())? {
                    let mut p: Person =
                        dec("people", &v).map_err(ConflictableTransactionError::Abort)?;
                    p.opted_out = *opted_out;
                    tx[PEOPLE].insert(person.as_bytes(), enc(&p))?;
                }
            }
        }
    }
    Ok(done)
}

impl Store {
    /// Opens (or creates) the store in a directory. Refuses a directory written by another
    /// schema version rather than misreading it.
    pub fn open(path: impl AsRef<Path>, village: Village) -> Result<Store> {
        let db = sled::Config::new().path(path.as_ref()).open()?;
        Store::with_db(db, village)
    }

    /// A store in a temporary directory that is deleted when the store is dropped.
    pub fn temporary(village: Village) -> Result<Store> {
        let db = sled::Config::new().temporary(true).open()?;
        Store::with_db(db, village)
    }

    fn with_db(db: sled::Db, village: Village) -> Result<Store> {
        let trees = TREE_NAMES
            .iter()
            .map(|n| db.open_tree(n))
            .collect::<Result<Vec<_>, _>>()?;
        match trees[META].get("schema_version")? {
            Some(v) => {
                let found = v.as_ref().try_into().map(u32::from_be_bytes).map_err(|_| {
                    StoreError::Corrupt {
                        tree: "meta",
                        reason: "schema_version is not 4 bytes".into(),
                    }
                })?;
                if found != SCHEMA_VERSION {
                    return Err(StoreError::Schema {
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
            }
            None => {
                trees[META].insert("schema_version", &SCHEMA_VERSION.to_be_bytes())?;
            }
        }
        Ok(Store { db, trees, village })
    }

    /// The village this store serves.
    pub fn village(&self) -> &Village {
        &self.village
    }

    /// Replaces the village settings (config reload).
    pub fn set_village(&mut self, village: Village) {
        self.village = village;
    }

    /// Runs `f` over a [`TxBook`] in one transaction and commits its outcome.
    fn step<F>(&self, now: DateTime<Utc>, f: F) -> Result<(Outcome, Committed)>
    where
        F: Fn(&Village, &dyn Book) -> std::result::Result<Outcome, StoreError>,
    {
        self.step_with(now, false, f)
    }

    /// [`Store::step`], optionally answering the sender directly (see [`Committed::direct`]).
    fn step_with<F>(&self, now: DateTime<Utc>, direct: bool, f: F) -> Result<(Outcome, Committed)>
    where
        F: Fn(&Village, &dyn Book) -> std::result::Result<Outcome, StoreError>,
    {
        let refs: Vec<&Tree> = self.trees.iter().collect();
        let result = refs.as_slice().transaction(|tx| {
            let book = TxBook {
                tx,
                error: RefCell::new(None),
                corrupt: RefCell::new(None),
            };
            let out = f(&self.village, &book).map_err(ConflictableTransactionError::Abort)?;
            book.check()?;
            let committed = commit(tx, &self.village, &out, now, direct)?;
            Ok((out, committed))
        })?;
        Ok(result)
    }

    // ----- roster ------------------------------------------------------------------------

    /// Adds or replaces a person. Their phone number must not belong to someone else.
    pub fn put_person(&self, p: &Person) -> Result<()> {
        let refs: Vec<&Tree> = self.trees.iter().collect();
        refs.as_slice().transaction(|tx| {
            let old: Option<Person> = match tx[PEOPLE].get(p.id.as_bytes())? {
                Some(v) => Some(dec("people", &v).map_err(ConflictableTransactionError::Abort)?),
                None => None,
            };
            if let Some(phone) = &p.phone {
                if let Some(owner) = tx[PHONES].get(phone.as_bytes())? {
                    if owner.as_ref() != p.id.as_bytes() {
                        return Err(ConflictableTransactionError::Abort(StoreError::Conflict(
                            format!(
                                "phone number already belongs to {}",
                                String::from_utf8_lossy(&owner)
                            ),
                        )));
                    }
                }
            }
            if let Some(old_phone) = old.as_ref().and_then(|o| o.phone.clone()) {
                if p.phone.as_deref() != Some(old_phone.as_str()) {
                    tx[PHONES].remove(old_phone.as_bytes())?;
                }
            }
            if let Some(phone) = &p.phone {
                tx[PHONES].insert(phone.as_bytes(), p.id.as_bytes())?;
            }
            tx[PEOPLE].insert(p.id.as_bytes(), enc(p))?;
            // A member's cached time zone and opt-out follow their person record.
            if let Some(v) = tx[MEMBERS].get(p.id.as_bytes())? {
                let mut st: MemberState =
                    dec("members", &v).map_err(ConflictableTransactionError::Abort)?;
                let tz = p.timezone.unwrap_or(self.village.timezone);
                if st.timezone != tz || st.opted_out != p.opted_out {
                    if st.timezone != tz {
                        // The same local time is a different instant in the new zone.
                        st.next_at = st.member.policy.checkin.next_after(Utc::now(), tz);
                    }
                    st.timezone = tz;
                    st.opted_out = p.opted_out;
                    put_member(tx, &st)?;
                }
            }
            Ok(())
        })?;
        Ok(())
    }

    /// A person by id.
    pub fn person(&self, id: &str) -> Result<Option<Person>> {
        self.trees[PEOPLE]
            .get(id)?
            .map(|v| dec("people", &v))
            .transpose()
    }

    /// The person with an E.164 phone number.
    pub fn person_by_phone(&self, phone: &str) -> Result<Option<Person>> {
        match self.trees[PHONES].get(phone.as_bytes())? {
            Some(id) => self.person(&String::from_utf8_lossy(&id)),
            None => Ok(None),
        }
    }

    /// Every person, by id.
    pub fn people(&self) -> Result<Vec<Person>> {
        self.trees[PEOPLE]
            .iter()
            .values()
            .map(|v| dec("people", &v?))
            .collect()
    }

    /// Adds a member, or updates their settings keeping their open check-ins. The person must
    /// exist. Their first check-in is the first occurrence after `now`.
    pub fn put_member(&self, member: Member, now: DateTime<Utc>) -> Result<MemberState> {
        let person = self
            .person(&member.id)?
            .ok_or_else(|| StoreError::NotFound(format!("person {}", member.id)))?;
        let tz = person.timezone.unwrap_or(self.village.timezone);
        let refs: Vec<&Tree> = self.trees.iter().collect();
        let st = refs.as_slice().transaction(|tx| {
            let old: Option<MemberState> = match tx[MEMBERS].get(member.id.as_bytes())? {
                Some(v) => Some(dec("members", &v).map_err(ConflictableTransactionError::Abort)?),
                None => None,
            };
            let mut st = MemberState::new(member.clone(), tz, now);
            st.opted_out = person.opted_out;
            if let Some(old) = &old {
                st.open = old.open.clone();
                st.last_prompted_at = old.last_prompted_at;
                st.last_answered_at = old.last_answered_at;
                st.last_resolved_at = old.last_resolved_at;
                if old.member.policy.checkin == member.policy.checkin && old.timezone == tz {
                    // Same schedule: keep the pending occurrence (it may be due right now).
                    st.next_at = old.next_at;
                }
                if let CheckinBy::Circle(c) = &old.member.by {
                    circle_membership(tx, c, &member.id, false)?;
                }
            }
            if let CheckinBy::Circle(c) = &member.by {
                circle_membership(tx, c, &member.id, true)?;
            }
            put_member(tx, &st)?;
            Ok(st)
        })?;
        Ok(st)
    }

    /// Removes a member (their person and history stay).
    pub fn remove_member(&self, id: &str) -> Result<bool> {
        let refs: Vec<&Tree> = self.trees.iter().collect();
        let removed = refs.as_slice().transaction(|tx| {
            let Some(v) = tx[MEMBERS].remove(id.as_bytes())? else {
                return Ok(false);
            };
            let old: MemberState =
                dec("members", &v).map_err(ConflictableTransactionError::Abort)?;
            if let Some(at) = old.next_due() {
                tx[DUE].remove(due_key(at, id))?;
            }
            if let CheckinBy::Circle(c) = &old.member.by {
                circle_membership(tx, c, id, false)?;
            }
            Ok(true)
        })?;
        Ok(removed)
    }

    /// A member's state.
    pub fn member(&self, id: &str) -> Result<Option<MemberState>> {
        self.trees[MEMBERS]
            .get(id)?
            .map(|v| dec("members", &v))
            .transpose()
    }

    /// Every member's state, by id.
    pub fn members(&self) -> Result<Vec<MemberState>> {
        self.trees[MEMBERS]
            .iter()
            .values()
            .map(|v| dec("members", &v?))
            .collect()
    }

    /// Number of members.
    pub fn member_count(&self) -> usize {
        self.trees[MEMBERS].len()
    }

    // ----- the clock ---------------------------------------------------------------------

    /// The earliest instant any member has something due, from the index (no scan).
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self.trees[DUE].first()?.and_then(|(k, _)| due_at(&k)))
    }

    /// Runs one member's due work at `now`.
    pub fn tick_member(&self, member: &str, now: DateTime<Utc>) -> Result<(Outcome, Committed)> {
        let member = member.to_string();
        self.step(now, move |v, b| Ok(village::tick(v, b, &member, now)))
    }

    /// Runs every member whose work is due at or before `now`, each in its own transaction,
    /// in due order. Check-ins skipped because the service was down are reported to
    /// coordinators in one message per pass (the restart rule).
    pub fn run_due(&self, now: DateTime<Utc>) -> Result<Committed> {
        let mut all = Committed::default();
        let mut skipped: Vec<Event> = Vec::new();
        // Entries handled in this pass. One that is still there after its tick made no
        // progress (it is not really due yet): it is left in place for the next pass, never
        // dropped (that would lose the member's schedule) and never ticked twice (that would
        // spin forever on a fixed `now`).
        let mut handled: HashSet<Vec<u8>> = HashSet::new();
        loop {
            let mut next = None;
            for entry in self.trees[DUE].iter() {
                let (key, id) = entry?;
                if !handled.contains(key.as_ref()) {
                    next = Some((key, id));
                    break;
                }
            }
            let Some((key, id)) = next else {
                break;
            };
            let Some(at) = due_at(&key) else { break };
            if at > now {
                break;
            }
            handled.insert(key.to_vec());
            let id = String::from_utf8_lossy(&id).into_owned();
            let (_, committed) = self.tick_member(&id, now)?;
            skipped.extend(
                committed
                    .events
                    .iter()
                    .filter(|(_, e)| e.is_service_down_skip())
                    .map(|(_, e)| e.clone()),
            );
            all.events.extend(committed.events);
            all.messages.extend(committed.messages);
        }
        if !skipped.is_empty() {
            let (_, c) = self.step(now, |v, b| {
                let msgs = skipped_report(v, b, &skipped);
                Ok(Outcome {
                    members: Vec::new(),
                    effects: msgs.into_iter().map(Effect::Send).collect(),
                })
            })?;
            all.messages.extend(c.messages);
        }
        Ok(all)
    }

    // ----- inbound -----------------------------------------------------------------------

    /// An inbound reply, committed before this returns (so it is on disk before any 2xx once
    /// [`Store::flush`] is called).
    pub fn reply(
        &self,
        from: &Sender,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, Committed)> {
        self.step(now, |v, b| Ok(village::reply(v, b, from, text, now)))
    }

    /// An inbound text whose direct answers (help reassurance, away/back acknowledgements) go
    /// back in the HTTP response instead of the outbox; see [`Committed::direct`].
    pub fn reply_direct(
        &self,
        from: &Sender,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, Committed)> {
        self.step_with(now, true, |v, b| Ok(village::reply(v, b, from, text, now)))
    }

    /// A roll call: prompts every active member now. Returns the roll call's id.
    pub fn roll_call(&self, id: &str, window: TimeDelta, now: DateTime<Utc>) -> Result<Committed> {
        let mut all = Committed::default();
        for key in self.trees[MEMBERS].iter().keys() {
            let member = String::from_utf8_lossy(&key?).into_owned();
            let (_, c) = self.step(now, |v, b| {
                Ok(village::roll_call(v, b, &member, id, window, now))
            })?;
            all.events.extend(c.events);
            all.messages.extend(c.messages);
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
        let (_, c) = self.step(now, |v, b| {
            village::resolve(v, b, member, checkin, by, reason, now)
                .ok_or_else(|| StoreError::NotFound(format!("open check-in {checkin}")))
        })?;
        Ok(c)
    }

    // ----- outbox, audit, history --------------------------------------------------------

    /// Queued messages in id order, up to `limit`.
    pub fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.trees[OUTBOX]
            .iter()
            .values()
            .take(limit)
            .map(|v| dec("outbox", &v?))
            .collect()
    }

    /// Number of queued messages.
    pub fn outbox_len(&self) -> usize {
        self.trees[OUTBOX].len()
    }

    /// Removes a delivered message from the outbox.
    pub fn outbox_remove(&self, id: u64) -> Result<()> {
        let (outbox, pending) = (&self.trees[OUTBOX], &self.trees[PENDING]);
        (outbox, pending).transaction(|(outbox, pending)| {
            if let Some(v) = outbox.remove(&id.to_be_bytes())? {
                let entry: OutboxEntry =
                    dec("outbox", &v).map_err(ConflictableTransactionError::Abort)?;
                clear_pending(pending, &entry)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Messages due for an attempt at `now`: the oldest undelivered message of each recipient
    /// not in `busy` (per-recipient order), oldest first, at most `limit`; and the earliest
    /// future instant at which another recipient's head message becomes due.
    pub fn outbox_ready(
        &self,
        now: DateTime<Utc>,
        busy: &HashSet<String>,
        limit: usize,
    ) -> Result<(Vec<OutboxEntry>, Option<DateTime<Utc>>)> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut ready = Vec::new();
        let mut later: Option<DateTime<Utc>> = None;
        for v in self.trees[OUTBOX].iter().values() {
            let entry: OutboxEntry = dec("outbox", &v?)?;
            let to = &entry.message.to;
            if busy.contains(to) || !seen.insert(to.clone()) {
                continue;
            }
            match entry.delivery.next_attempt_at {
                Some(at) if at > now => {
                    later = Some(later.map_or(at, |l: DateTime<Utc>| l.min(at)))
                }
                _ => {
                    if ready.len() < limit {
                        ready.push(entry);
                    }
                }
            }
        }
        Ok((ready, later))
    }

    /// Saves the delivery state of a message still in the outbox.
    pub fn outbox_update(&self, id: u64, state: &DeliveryState) -> Result<()> {
        let key = id.to_be_bytes();
        let Some(v) = self.trees[OUTBOX].get(key)? else {
            return Err(StoreError::NotFound(format!("message {id}")));
        };
        let mut entry: OutboxEntry = dec("outbox", &v)?;
        entry.delivery = state.clone();
        self.trees[OUTBOX].insert(key, enc(&entry))?;
        Ok(())
    }

    /// Moves a delivered message from the outbox to the sent history.
    pub fn outbox_delivered(&self, id: u64, state: &DeliveryState) -> Result<()> {
        let (outbox, sent, pending) =
            (&self.trees[OUTBOX], &self.trees[SENT], &self.trees[PENDING]);
        (outbox, sent, pending).transaction(|(outbox, sent, pending)| {
            let key = id.to_be_bytes();
            let Some(v) = outbox.remove(&key)? else {
                return Ok(());
            };
            let mut entry: OutboxEntry =
                dec("outbox", &v).map_err(ConflictableTransactionError::Abort)?;
            entry.delivery = state.clone();
            clear_pending(pending, &entry)?;
            sent.insert(&key, enc(&entry))?;
            Ok(())
        })?;
        Ok(())
    }

    /// Dead-letters a message and commits the engine's reaction (the escalation moves on,
    /// coordinators are told unless `tell_coordinators` is false) in the same transaction.
    pub fn outbox_dead_letter(
        &self,
        id: u64,
        state: &DeliveryState,
        tell_coordinators: bool,
        now: DateTime<Utc>,
    ) -> Result<Committed> {
        let refs: Vec<&Tree> = self.trees.iter().collect();
        let committed = refs.as_slice().transaction(|tx| {
            let key = id.to_be_bytes();
            let Some(v) = tx[OUTBOX].remove(&key)? else {
                return Ok(Committed::default());
            };
            let mut entry: OutboxEntry =
                dec("outbox", &v).map_err(ConflictableTransactionError::Abort)?;
            entry.delivery = state.clone();
            clear_pending(&tx[PENDING], &entry)?;
            tx[DEAD].insert(&key, enc(&entry))?;
            let book = TxBook {
                tx,
                error: RefCell::new(None),
                corrupt: RefCell::new(None),
            };
            let reason = state
                .reason
                .clone()
                .unwrap_or_else(|| "undeliverable".into());
            let out = village::delivery_failed(
                &self.village,
                &book,
                &entry.message,
                &reason,
                tell_coordinators,
                now,
            );
            book.check()?;
            commit(tx, &self.village, &out, now, false)
        })?;
        Ok(committed)
    }

    /// A reply-link token, if it exists (expired or not).
    pub fn link(&self, token: &str) -> Result<Option<LinkToken>> {
        self.trees[TOKENS]
            .get(token.as_bytes())?
            .map(|v| dec("tokens", &v))
            .transpose()
    }

    /// An answer through a reply link, read in the link's context. `NotFound` for an unknown
    /// or expired token.
    pub fn reply_link(&self, token: &str, text: &str, now: DateTime<Utc>) -> Result<Committed> {
        let link = self
            .link(token)?
            .filter(|l| l.expires_at > now)
            .ok_or_else(|| StoreError::NotFound("reply link".into()))?;
        let (_, c) = self.step(now, |v, b| {
            Ok(village::reply_in_context(
                v,
                b,
                &link.person,
                &link.context,
                text,
                now,
            ))
        })?;
        Ok(c)
    }

    /// Makes everything committed so far durable, without blocking the async runtime.
    pub async fn flush_async(&self) -> Result<()> {
        self.db.flush_async().await?;
        Ok(())
    }

    /// The SMS provider says a person opted out.
    pub fn provider_opt_out(&self, person: &str, now: DateTime<Utc>) -> Result<Committed> {
        let person = person.to_string();
        let (_, c) = self.step(now, move |v, b| {
            Ok(village::provider_opt_out(v, b, &person, now))
        })?;
        Ok(c)
    }

    /// SMS segments sent on a village day.
    pub fn sms_used(&self, day: NaiveDate) -> Result<u32> {
        Ok(self.trees[META]
            .get(format!("sms/{day}"))?
            .and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes))
            .unwrap_or(0))
    }

    /// Reserves SMS segments of a day's budget, atomically: the new total, or `None` when
    /// `cap` would be exceeded (nothing is reserved then).
    pub fn reserve_sms(
        &self,
        day: NaiveDate,
        segments: u32,
        cap: Option<u32>,
    ) -> Result<Option<u32>> {
        let refused = std::cell::Cell::new(false);
        let new = self.trees[META].update_and_fetch(format!("sms/{day}"), |old| {
            let n = old
                .and_then(|v| v.try_into().ok().map(u32::from_be_bytes))
                .unwrap_or(0);
            let total = n.saturating_add(segments);
            // The closure may run more than once under contention: decide afresh each time.
            refused.set(cap.is_some_and(|c| total > c));
            Some(if refused.get() { n } else { total }.to_be_bytes().to_vec())
        })?;
        if refused.get() {
            return Ok(None);
        }
        Ok(new.and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes)))
    }

    /// Gives back reserved segments whose send failed.
    pub fn release_sms(&self, day: NaiveDate, segments: u32) -> Result<()> {
        self.trees[META].update_and_fetch(format!("sms/{day}"), |old| {
            let n = old
                .and_then(|v| v.try_into().ok().map(u32::from_be_bytes))
                .unwrap_or(0);
            Some(n.saturating_sub(segments).to_be_bytes().to_vec())
        })?;
        Ok(())
    }

    /// Queues a budget notice to coordinators, at most once per day and threshold.
    pub fn budget_notice(
        &self,
        day: NaiveDate,
        percent: u8,
        now: DateTime<Utc>,
    ) -> Result<Committed> {
        let key = format!("budget/{day}/{percent}");
        // Claim the (day, threshold) first so two concurrent senders notify once.
        if self.trees[META]
            .compare_and_swap(&key, None as Option<&[u8]>, Some(&b"1"[..]))?
            .is_err()
        {
            return Ok(Committed::default());
        }
        let (_, c) = self.step(now, move |v, b| {
            Ok(village::budget_notice(v, b, percent, now))
        })?;
        Ok(c)
    }

    /// A message by id, wherever it is.
    pub fn message(&self, id: u64) -> Result<Option<(MessagePlace, OutboxEntry)>> {
        for (tree, place) in [
            (OUTBOX, MessagePlace::Outbox),
            (SENT, MessagePlace::Sent),
            (DEAD, MessagePlace::Dead),
        ] {
            if let Some(v) = self.trees[tree].get(id.to_be_bytes())? {
                return Ok(Some((place, dec(TREE_NAMES[tree], &v)?)));
            }
        }
        Ok(None)
    }

    /// Dead-lettered messages, oldest first, up to `limit`.
    pub fn dead_letters(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.trees[DEAD]
            .iter()
            .values()
            .take(limit)
            .map(|v| dec("dead", &v?))
            .collect()
    }

    /// Audit events with id greater than `after`, up to `limit`.
    pub fn events_after(&self, after: Option<u64>, limit: usize) -> Result<Vec<(u64, Event)>> {
        let start = after.map_or(0, |a| a.saturating_add(1));
        self.trees[AUDIT]
            .range(start.to_be_bytes()..)
            .take(limit)
            .map(|r| {
                let (k, v) = r?;
                let id =
                    u64::from_be_bytes(k.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                        tree: "audit",
                        reason: "key is not 8 bytes".into(),
                    })?);
                Ok((id, dec("audit", &v)?))
            })
            .collect()
    }

    /// Closed check-ins of a local date.
    pub fn checkins_on(&self, date: NaiveDate) -> Result<Vec<Checkin>> {
        let prefix = format!("{date}\0");
        let mut out = Vec::new();
        for key in self.trees[BY_DATE].scan_prefix(prefix.as_bytes()).keys() {
            let key = key?;
            let rest = &key[prefix.len()..];
            if let Some(v) = self.trees[CHECKINS].get(rest)? {
                out.push(dec("checkins", &v)?);
            }
        }
        Ok(out)
    }

    /// A circle's pairing on a date, if one was made.
    pub fn pairing(&self, circle: &str, date: NaiveDate) -> Result<Option<Pairing>> {
        self.trees[PAIRINGS]
            .get(pairing_key(circle, date))?
            .map(|v| dec("pairings", &v))
            .transpose()
    }

    /// Makes everything committed so far durable.
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }
}

fn circle_membership(
    tx: &[TransactionalTree],
    circle: &str,
    member: &str,
    add: bool,
) -> TxResult<()> {
    let mut ids: Vec<PersonId> = match tx[CIRCLES].get(circle.as_bytes())? {
        Some(v) => dec("circles", &v).map_err(ConflictableTransactionError::Abort)?,
        None => Vec::new(),
    };
    ids.retain(|id| id != member);
    if add {
        ids.push(member.to_string());
        ids.sort();
    }
    tx[CIRCLES].insert(circle.as_bytes(), enc(&ids))?;
    Ok(())
}
