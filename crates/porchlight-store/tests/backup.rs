//! Backups at the store level: a snapshot restored into a new directory holds exactly the
//! same records (compared record by record, through a second snapshot of the restored store);
//! restore refuses a newer format, another schema, a non-empty target, and any damaged file.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use porchlight_core::model::{Member, Person, Village};
use porchlight_core::village::Sender;
use porchlight_store::backup::{self, BackupError};
use porchlight_store::{Durability, Store};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A store with people, members, a few days of check-ins, an open alert and a queued outbox.
fn village_store(dir: &Path, members: usize) -> Store {
    let store = Store::open_with(dir, Village::default(), Durability::OnFlush).unwrap();
    let start = t("2026-11-20T00:00:00Z");
    let mut buddy = Person::new("bob", "Bob");
    buddy.phone = Some("+12025559999".into());
    store.put_person(&buddy).unwrap();
    for i in 0..members {
        let id = format!("m{i:05}");
        let mut p = Person::new(&id, format!("Member {i}"));
        p.phone = Some(format!("+1202{:07}", 1_000_000 + i));
        store.put_person(&p).unwrap();
        let mut m = Member::new(&id);
        m.buddies = vec!["bob".into()];
        store.put_member(m, start).unwrap();
    }
    // Three days: everyone answers but m00000, who stays silent (an alert runs).
    let mut at = start;
    let end = start + TimeDelta::days(3);
    while let Some(due) = store.next_due().unwrap() {
        if due > end {
            break;
        }
        at = at.max(due);
        let c = store.run_due(at).unwrap();
        for m in &c.messages {
            // Prompts are delivered (one still queued when its window closes never raises an
            // alarm); what goes to Bob stays queued, so the outbox is not empty.
            if m.message.to != "bob" {
                let state = porchlight_core::delivery::DeliveryState {
                    status: porchlight_core::delivery::DeliveryStatus::Delivered,
                    ..Default::default()
                };
                store.outbox_delivered(m.id, &state).unwrap();
            }
            if m.message.kind == porchlight_core::text::MessageKind::Prompt
                && m.message.to != "m00000"
            {
                store
                    .reply(&Sender::Person(m.message.to.clone()), "ok", at)
                    .unwrap();
            }
        }
    }
    store.flush().unwrap();
    store
}

fn snapshot_bytes(store: &Store, now: DateTime<Utc>) -> Vec<u8> {
    let mut out = Vec::new();
    store
        .snapshot(None, now)
        .unwrap()
        .write_to(&mut out)
        .unwrap();
    out
}

fn tmp() -> PathBuf {
    tempfile::tempdir().unwrap().keep()
}

#[test]
fn a_restored_store_holds_exactly_the_snapshot() {
    let root = tmp();
    let store = village_store(&root.join("data"), 12);
    let now = t("2026-11-23T12:00:00Z");
    let file = root.join("v.backup");
    let snap = store.snapshot(None, now).unwrap();
    assert!(snap.header.records > 100, "{:?}", snap.header);
    snap.save(&file).unwrap();
    let original = snapshot_bytes(&store, now);
    assert_eq!(std::fs::read(&file).unwrap(), original);
    let header = backup::verify(&file).unwrap();
    assert_eq!(header.village, "Porchlight Village");

    let target = root.join("restored");
    let done = backup::restore(&file, &target, false).unwrap();
    assert_eq!(done.header, header);
    let restored = Store::open_with(&target, Village::default(), Durability::OnFlush).unwrap();
    // Every record, byte for byte: a snapshot of the restored store is the same file.
    assert_eq!(snapshot_bytes(&restored, now), original);
    // And through the API the daemon uses.
    assert_eq!(restored.members().unwrap(), store.members().unwrap());
    assert_eq!(restored.people().unwrap(), store.people().unwrap());
    assert_eq!(
        restored.outbox(usize::MAX).unwrap(),
        store.outbox(usize::MAX).unwrap()
    );
    assert_eq!(restored.outbox_len(), store.outbox_len());
    assert_eq!(restored.next_due().unwrap(), store.next_due().unwrap());
    let open: Vec<_> = restored
        .member("m00000")
        .unwrap()
        .unwrap()
        .open
        .into_iter()
        .filter(|c| c.alert().is_some())
        .collect();
    assert!(!open.is_empty(), "the silent member's alert is restored");
    assert!(
        restored.outbox_len() > 0,
        "the alerts to Bob are still queued"
    );
}

#[test]
fn restore_refuses_a_non_empty_target_unless_forced() {
    let root = tmp();
    let store = village_store(&root.join("data"), 2);
    let file = root.join("v.backup");
    store
        .snapshot(None, Utc::now())
        .unwrap()
        .save(&file)
        .unwrap();
    drop(store);
    let target = root.join("busy");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("notes.txt"), "keep me").unwrap();
    let e = backup::restore(&file, &target, false).unwrap_err();
    assert!(matches!(e, BackupError::NotEmpty(_)), "{e}");
    assert!(e.to_string().contains("--force"), "{e}");
    assert!(target.join("notes.txt").exists(), "nothing was touched");
    // Over an existing store with --force: replaced.
    let e = backup::restore(&file, &root.join("data"), false).unwrap_err();
    assert!(matches!(e, BackupError::NotEmpty(_)), "{e}");
    backup::restore(&file, &root.join("data"), true).unwrap();
    // A store a process has open is not pulled from under it.
    let open =
        Store::open_with(root.join("data"), Village::default(), Durability::OnFlush).unwrap();
    let e = backup::restore(&file, &root.join("data"), true).unwrap_err();
    assert!(e.to_string().contains("in use"), "{e}");
    drop(open);
}

fn rewrite(file: &Path, to: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(file).unwrap();
    std::fs::write(to, f(text)).unwrap();
}

#[test]
fn restore_refuses_newer_formats_and_damaged_files() {
    let root = tmp();
    let store = village_store(&root.join("data"), 3);
    let file = root.join("v.backup");
    store
        .snapshot(None, Utc::now())
        .unwrap()
        .save(&file)
        .unwrap();
    let target = root.join("new");
    let bad = root.join("bad.backup");

    rewrite(&file, &bad, |s| {
        s.replacen("\"format_version\":1", "\"format_version\":2", 1)
    });
    let e = backup::restore(&bad, &target, false).unwrap_err();
    assert!(
        matches!(
            e,
            BackupError::NewerFormat {
                found: 2,
                supported: 1
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("newer"), "{e}");

    rewrite(&file, &bad, |s| {
        s.replacen("\"schema_version\":2", "\"schema_version\":3", 1)
    });
    let e = backup::restore(&bad, &target, false).unwrap_err();
    assert!(matches!(e, BackupError::Schema { found: 3, .. }), "{e}");

    // One changed character in a record: the checksum catches it.
    rewrite(&file, &bad, |s| {
        let mut lines: Vec<String> = s.lines().map(String::from).collect();
        let line = &mut lines[5];
        let c = if line.starts_with('A') { "B" } else { "A" };
        line.replace_range(0..1, c);
        lines.join("\n") + "\n"
    });
    let e = backup::restore(&bad, &target, false).unwrap_err();
    assert!(e.to_string().contains("checksum mismatch"), "{e}");

    // Cut short: no trailer.
    rewrite(&file, &bad, |s| {
        s[..s.len() / 2].rsplit_once('\n').unwrap().0.to_string() + "\n"
    });
    let e = backup::restore(&bad, &target, false).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");

    // A line that is not a record.
    rewrite(&file, &bad, |s| {
        s.replacen('\n', "\nnot a record at all\n", 1)
    });
    let e = backup::restore(&bad, &target, false).unwrap_err();
    assert!(e.to_string().contains("line 2 is not a record"), "{e}");

    // Not a backup at all.
    std::fs::write(&bad, "[storage]\npath = \"x\"\n").unwrap();
    let e = backup::restore(&bad, &target, false).unwrap_err();
    assert!(e.to_string().contains("not a Porchlight backup"), "{e}");
    std::fs::write(&bad, "").unwrap();
    assert!(backup::restore(&bad, &target, false).is_err());

    assert!(!target.exists(), "a refused restore creates nothing");
}

/// How long a snapshot holds the store writer on a 10,000-member village (BENCHMARKS.md):
/// `cargo test --release -p porchlight-store --test backup -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_a_10k_member_snapshot() {
    let root = tmp();
    let t0 = std::time::Instant::now();
    let store = village_store(&root.join("data"), 10_000);
    eprintln!("built in {:?}", t0.elapsed());
    let snap = store.snapshot(Some(&root), Utc::now()).unwrap();
    let records = snap.header.records;
    let held = snap.held;
    let t1 = std::time::Instant::now();
    snap.save(&root.join("big.backup")).unwrap();
    let size = std::fs::metadata(root.join("big.backup")).unwrap().len();
    eprintln!(
        "10000 members: {records} records, writer held {held:?}, written out in {:?}, {size} bytes",
        t1.elapsed()
    );
    let t2 = std::time::Instant::now();
    backup::restore(&root.join("big.backup"), &root.join("restored"), false).unwrap();
    eprintln!("restored in {:?}", t2.elapsed());
}
