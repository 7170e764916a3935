//! Scheduled backups on a virtual clock: one a night at `backup_at` village time (across the
//! DST change), each a complete, verifiable backup, and only the newest `backup_keep` kept.

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use porchlight_core::model::{Member, Person, Village};
use porchlight_server::archive::{BackupConfig, backup_file_name, backup_now, next_backup_after};
use porchlight_store::Store;
use porchlight_store::backup;

#[test]
fn scheduled_backups_keep_the_newest_n() {
    let tz: Tz = "America/New_York".parse().unwrap();
    let village = Village {
        name: "Maple Street".into(),
        timezone: tz,
        ..Village::default()
    };
    let store = Store::temporary(village).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.txt"), "not a backup").unwrap();
    let cfg = BackupConfig {
        dir: dir.path().join("nightly"),
        keep: 3,
        at: NaiveTime::from_hms_opt(1, 30, 0).unwrap(),
    };
    let mut now: DateTime<Utc> = "2026-10-29T12:00:00Z".parse().unwrap();
    let mut made = Vec::new();
    for night in 0..6 {
        now = next_backup_after(now, tz, cfg.at);
        // The roster grows each day: each backup holds that night's village.
        let id = format!("p{night}");
        store.put_person(&Person::new(&id, &id)).unwrap();
        store.put_member(Member::new(&id), now).unwrap();
        let path = backup_now(&store, &cfg, now).unwrap();
        assert_eq!(path, cfg.dir.join(backup_file_name(now)));
        made.push((now, path));
    }
    // 01:30 local every night, EDT then EST (Nov 1 2026), once each.
    let times: Vec<String> = made.iter().map(|(t, _)| t.to_rfc3339()).collect();
    assert_eq!(
        times,
        [
            "2026-10-30T05:30:00+00:00",
            "2026-10-31T05:30:00+00:00",
            "2026-11-01T05:30:00+00:00",
            "2026-11-02T06:30:00+00:00",
            "2026-11-03T06:30:00+00:00",
            "2026-11-04T06:30:00+00:00",
        ]
    );
    let mut kept: Vec<String> = std::fs::read_dir(&cfg.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    kept.sort();
    let newest: Vec<String> = made[3..]
        .iter()
        .map(|(_, p)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept, newest);
    assert!(dir.path().join("README.txt").exists());
    // Each kept file is a whole backup of its night.
    let mut last = 0;
    for (_, p) in &made[3..] {
        let h = backup::verify(p).unwrap();
        assert_eq!(h.village, "Maple Street");
        assert!(h.records > last, "a later night holds more");
        last = h.records;
    }
}
