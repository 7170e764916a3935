//! Opening a data directory: creating the current layout, or migrating schema 1 (a sled
//! tree per record kind) to schema 2 (one tree, prefixed keys, indexed outbox, counters).
//!
//! The migration copies every record into the new tree (idempotent: keys are the same each
//! time), builds the outbox index and the counters, flushes, and only then writes the new
//! schema version and drops the old trees. A crash part-way simply migrates again.

use crate::keys::{self, META};
use crate::{Result, SCHEMA_VERSION, StoreError, counter, outbox};

/// The tree every record lives in.
pub(crate) const DATA_TREE: &str = "porchlight";

/// Schema 1's trees, each with the prefix its records take in schema 2.
const V1_TREES: [(&str, u8); 16] = [
    ("meta", keys::META),
    ("people", keys::PEOPLE),
    ("phones", keys::PHONES),
    ("members", keys::MEMBERS),
    ("due", keys::DUE),
    ("contexts", keys::CONTEXTS),
    ("circles", keys::CIRCLES),
    ("pairings", keys::PAIRINGS),
    ("outbox", keys::OUTBOX),
    ("audit", keys::AUDIT),
    ("checkins", keys::CHECKINS),
    ("by_date", keys::BY_DATE),
    ("sent", keys::SENT),
    ("dead", keys::DEAD),
    ("tokens", keys::TOKENS),
    ("pending", keys::PENDING),
];

fn version_key() -> Vec<u8> {
    keys::key(META, b"schema_version")
}

fn read_version(bytes: &[u8], tree: &'static str) -> Result<u32> {
    bytes
        .try_into()
        .map(u32::from_be_bytes)
        .map_err(|_| StoreError::Corrupt {
            tree,
            reason: "schema_version is not 4 bytes".into(),
        })
}

/// Opens the data tree, creating or migrating it.
pub(crate) fn open(db: &sled::Db) -> Result<sled::Tree> {
    let tree = db.open_tree(DATA_TREE)?;
    if let Some(v) = tree.get(version_key())? {
        let found = read_version(&v, "meta")?;
        if found != SCHEMA_VERSION {
            return Err(StoreError::Schema {
                found,
                expected: SCHEMA_VERSION,
            });
        }
        return Ok(tree);
    }
    let has_v1 = db
        .tree_names()
        .iter()
        .any(|n| n.as_ref() == b"meta".as_slice());
    if has_v1 {
        let meta = db.open_tree("meta")?;
        if let Some(v) = meta.get("schema_version")? {
            let found = read_version(&v, "meta")?;
            if found != 1 {
                return Err(StoreError::Schema {
                    found,
                    expected: SCHEMA_VERSION,
                });
            }
            from_v1(db, &tree)?;
            tracing::info!("migrated the data directory from schema 1 to {SCHEMA_VERSION}");
        }
    }
    tree.insert(version_key(), &SCHEMA_VERSION.to_be_bytes())?;
    db.flush()?;
    Ok(tree)
}

/// Copies schema 1's trees into `tree` and builds what schema 2 adds.
fn from_v1(db: &sled::Db, tree: &sled::Tree) -> Result<()> {
    let mut max_message: Option<u64> = None;
    let mut max_event: Option<u64> = None;
    let mut members = 0u64;
    for (name, prefix) in V1_TREES {
        let old = db.open_tree(name)?;
        let mut batch = sled::Batch::default();
        let mut in_batch = 0;
        for r in old.iter() {
            let (k, v) = r?;
            if prefix == META && k.as_ref() == b"schema_version" {
                continue;
            }
            let id = <[u8; 8]>::try_from(k.as_ref()).ok().map(u64::from_be_bytes);
            match prefix {
                keys::OUTBOX | keys::SENT | keys::DEAD => {
                    max_message = max_message.max(id);
                }
                keys::AUDIT => max_event = max_event.max(id),
                keys::MEMBERS => members += 1,
                _ => {}
            }
            batch.insert(keys::key(prefix, &k), v);
            in_batch += 1;
            if in_batch == 10_000 {
                tree.apply_batch(std::mem::take(&mut batch))?;
                in_batch = 0;
            }
        }
        tree.apply_batch(batch)?;
    }
    let depth = outbox::index_all(tree)?;
    // sled's generate_id counted from 0 over every tree in schema 1; ids only need to be
    // unique and growing, so the new sequences start after the largest id in use.
    let set = |name: &str, v: u64| tree.insert(keys::key(META, name.as_bytes()), &v.to_be_bytes());
    set(counter::MESSAGE, max_message.map_or(0, |m| m + 1))?;
    set(counter::EVENT, max_event.map_or(0, |m| m + 1))?;
    set(counter::OUTBOX, depth)?;
    set(counter::MEMBERS, members)?;
    db.flush()?;
    for (name, _) in V1_TREES {
        db.drop_tree(name)?;
    }
    Ok(())
}
