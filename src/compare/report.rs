//! The comparison as people read it: the side-by-side table and the CSV.

use std::io::Write;

use chrono::{DateTime, Utc};

use super::metrics::Report;
use super::model::{KINDS, Model};
use super::village::Roster;

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn minutes(m: Option<i64>) -> String {
    match m {
        None => "-".into(),
        Some(m) if m < 120 => format!("{m} min"),
        Some(m) => format!("{}h{:02}", m / 60, m % 60),
    }
}

pub(super) fn write_table(
    out: &mut dyn Write,
    roster: &Roster,
    model: &Model,
    reports: &[Report],
    start: DateTime<Utc>,
    days: u32,
) -> std::io::Result<()> {
    let r = &model.rates;
    let member_days = reports.first().map_or(0, |r| r.member_days);
    writeln!(
        out,
        "Porchlight policy comparison: {} — {} members × {} days from {} ({} member-days), seed {}",
        roster.village.name,
        roster.members.len(),
        days,
        start.format("%Y-%m-%d"),
        thousands(member_days),
        model.seed
    )?;
    writeln!(
        out,
        "Behaviour, the same under every policy: late {:.1}%, forgot but fine {:.1}%, away without telling anyone {:.1}%, in trouble {:.2}% of member-days",
        r.late * 100.0,
        r.forgot * 100.0,
        r.away * 100.0,
        r.trouble * 100.0
    )?;
    writeln!(out)?;
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |_: &mut dyn Write, name: &str, cells: Vec<String>| -> std::io::Result<()> {
        rows.push((name.to_string(), cells));
        Ok(())
    };
    row(out, "", reports.iter().map(|r| r.name.clone()).collect())?;
    row(
        out,
        "missed check-ins",
        reports.iter().map(|r| thousands(r.missed)).collect(),
    )?;
    let max_level = reports
        .iter()
        .flat_map(|r| r.alerts_by_level.iter().map(|l| l.level))
        .max()
        .unwrap_or(0);
    for level in 1..=max_level {
        row(
            out,
            &format!("alerts sent, level {level}"),
            reports
                .iter()
                .map(|r| {
                    r.alerts_by_level
                        .iter()
                        .find(|l| l.level == level)
                        .map_or("-".into(), |l| {
                            format!("{} {}", thousands(l.alerts), l.audience)
                        })
                })
                .collect(),
        )?;
    }
    row(
        out,
        "alerts to buddies / family / coordinators",
        reports
            .iter()
            .map(|r| {
                format!(
                    "{}/{}/{}",
                    r.alerts_to_buddies, r.alerts_to_family, r.alerts_to_coordinators
                )
            })
            .collect(),
    )?;
    row(
        out,
        "FALSE ALARMS TO FAMILY per 100 member-months",
        reports
            .iter()
            .map(|r| format!("{:.1}", r.family_false_alarms_per_100_member_months))
            .collect(),
    )?;
    row(
        out,
        "  (member-days family alerted, member fine)",
        reports
            .iter()
            .map(|r| thousands(r.family_false_alarms))
            .collect(),
    )?;
    row(
        out,
        "deadline → first person confirming them, median / p95 (missed member-days):",
        Vec::new(),
    )?;
    for kind in KINDS {
        if reports
            .iter()
            .all(|r| !r.time_to_confirm.contains_key(kind.name()))
        {
            continue;
        }
        row(
            out,
            &format!("  {}", kind.label()),
            reports
                .iter()
                .map(|r| match r.time_to_confirm.get(kind.name()) {
                    None => "-".into(),
                    Some(t) => format!(
                        "{} / {} ({})",
                        minutes(t.median_minutes),
                        minutes(t.p95_minutes),
                        t.missed
                    ),
                })
                .collect(),
        )?;
    }
    row(
        out,
        "real incidents (member in trouble)",
        reports.iter().map(|r| thousands(r.incidents)).collect(),
    )?;
    row(
        out,
        "REAL INCIDENTS WHERE NOBODY WAS REACHED",
        reports
            .iter()
            .map(|r| {
                if r.incidents_unreached == 0 {
                    "0".into()
                } else {
                    format!("!!! {}", r.incidents_unreached)
                }
            })
            .collect(),
    )?;
    row(
        out,
        "chains run out, nobody confirmed",
        reports
            .iter()
            .map(|r| thousands(r.chains_exhausted))
            .collect(),
    )?;
    row(
        out,
        "SMS messages sent",
        reports.iter().map(|r| thousands(r.sms_messages)).collect(),
    )?;
    row(
        out,
        "  SMS segments",
        reports.iter().map(|r| thousands(r.sms_segments)).collect(),
    )?;
    row(
        out,
        "behaviour (truth stream hash)",
        reports
            .iter()
            .map(|r| r.truth_hash[..8].to_string())
            .collect(),
    )?;
    let label = rows
        .iter()
        .filter(|(_, c)| !c.is_empty())
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    let width = rows
        .iter()
        .flat_map(|(_, c)| c.iter().map(|c| c.chars().count()))
        .max()
        .unwrap_or(0)
        + 3;
    for (name, cells) in &rows {
        if cells.is_empty() {
            writeln!(out, "{name}")?;
            continue;
        }
        write!(out, "{name:<label$}")?;
        for c in cells {
            write!(out, "{c:>width$}")?;
        }
        writeln!(out)?;
    }
    if reports.iter().any(|r| r.incidents_unreached > 0) {
        writeln!(out)?;
        for r in reports.iter().filter(|r| r.incidents_unreached > 0) {
            writeln!(
                out,
                "!!! {}: {} member-day(s) in real trouble where nobody reached them within 24 hours of the deadline",
                r.name, r.incidents_unreached
            )?;
        }
    }
    writeln!(
        out,
        "\nTimes are minutes from the check-in deadline to the first person (the member, a buddy at the door,\nfamily on the phone, the coordinator) who confirmed the member: fine, or found in trouble; (n) = missed member-days."
    )?;
    Ok(())
}

pub(super) fn write_csv(out: &mut dyn Write, reports: &[Report]) -> std::io::Result<()> {
    let max_level = reports
        .iter()
        .flat_map(|r| r.alerts_by_level.iter().map(|l| l.level))
        .max()
        .unwrap_or(0);
    let mut header = vec!["policy".to_string(), "member_days".into(), "missed".into()];
    for l in 1..=max_level {
        header.push(format!("alerts_level_{l}"));
        header.push(format!("alerts_level_{l}_audience"));
    }
    header.extend(
        [
            "alerts_to_buddies",
            "alerts_to_family",
            "alerts_to_coordinators",
            "family_false_alarms",
            "family_false_alarms_per_100_member_months",
        ]
        .map(String::from),
    );
    for k in KINDS {
        for f in ["missed", "median_min", "p95_min"] {
            header.push(format!("{}_{f}", k.name()));
        }
    }
    header.extend(
        [
            "incidents",
            "incidents_unreached",
            "chains_exhausted",
            "sms_messages",
            "sms_segments",
            "truth_hash",
        ]
        .map(String::from),
    );
    writeln!(out, "{}", header.join(","))?;
    let opt = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    for r in reports {
        let mut rec = vec![
            r.name.clone(),
            r.member_days.to_string(),
            r.missed.to_string(),
        ];
        for l in 1..=max_level {
            let c = r.alerts_by_level.iter().find(|x| x.level == l);
            rec.push(c.map_or("0".into(), |c| c.alerts.to_string()));
            rec.push(c.map_or(String::new(), |c| c.audience.to_string()));
        }
        rec.extend([
            r.alerts_to_buddies.to_string(),
            r.alerts_to_family.to_string(),
            r.alerts_to_coordinators.to_string(),
            r.family_false_alarms.to_string(),
            format!("{:.2}", r.family_false_alarms_per_100_member_months),
        ]);
        for k in KINDS {
            let t = r.time_to_confirm.get(k.name());
            rec.push(t.map_or("0".into(), |t| t.missed.to_string()));
            rec.push(opt(t.and_then(|t| t.median_minutes)));
            rec.push(opt(t.and_then(|t| t.p95_minutes)));
        }
        rec.extend([
            r.incidents.to_string(),
            r.incidents_unreached.to_string(),
            r.chains_exhausted.to_string(),
            r.sms_messages.to_string(),
            r.sms_segments.to_string(),
            r.truth_hash.clone(),
        ]);
        let rec: Vec<String> = rec.iter().map(|f| csv_field(f)).collect();
        writeln!(out, "{}", rec.join(","))?;
    }
    Ok(())
}

/// A CSV field, quoted when it needs to be (RFC 4180).
fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}
