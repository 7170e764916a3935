//! End-to-end: running a village's roster day to day (issue #11) against the real daemon —
//! the CSV round trip over a village with every field set, PATCH that keeps what it is not
//! sent, person removal refused while someone relies on them, making a buddy a member, dates
//! the way people type them, and a roll call's unaccounted with names, phones and why.

#[path = "common/daemon.rs"]
mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::common;
use support::{Admin, porchlight, stderr, stdout};

fn token_env() -> [(&'static str, &'static str); 1] {
    [("PORCHLIGHT_ADMIN_TOKEN", common::TOKEN)]
}

const HELPERS: usize = 4;
const MEMBERS: usize = 12;

/// A generated village as roster CSV, every column used: members checked by a buddy, in
/// circles and by themselves; buddies who are members; contact ways, landlines, paused and
/// away members, quiet hours, every policy override, both languages, several time zones.
fn generated_village_csv(away: chrono::NaiveDate) -> String {
    let header = "id,name,phone,timezone,language,checkin,window,by,circle,buddies,family,away_until,contact,paused,webhook,reminders,escalation,quiet_hours,claim_timeout,buddy_wait";
    let mut out = format!("{header}\n");
    for h in 0..HELPERS {
        // Even helpers are also reached through the family app's webhook.
        out.push_str(&format!(
            "helper-{h},Helper {h},+1202555{:04},{},{},,,,,,,,{},,{},,,,,\n",
            2000 + h,
            ["", "America/Chicago"][h % 2],
            ["en", "es"][h % 2],
            ["sms;webhook", "voice"][h % 2],
            ["family-app", ""][h % 2],
        ));
    }
    let zones = [
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "",
    ];
    let windows = ["2h", "90m", "1h", "3h"];
    // Every reminder inside the member's window (the shortest is 1h): one at or past it would
    // never be sent, and is refused.
    let reminders = ["30m;50m", "20m", "15m;30m;45m"];
    let escalations = [
        "buddies 0s;family 30m;coordinators 1h",
        "family 10m;coordinators 1h",
        "buddies 5m;coordinators 2h",
    ];
    let quiet = ["21:00-08:00", "22:30-07:00", ""];
    let contacts = ["sms", "voice;sms", "voice", ""];
    for i in 0..MEMBERS {
        let (by, circle) = match i % 3 {
            0 => ("buddy", ""),
            1 => ("circle", ["elm", "oak"][i % 2]),
            _ => ("self", ""),
        };
        out.push_str(&format!(
            "member-{i},Member {i} López,+1202555{:04},{},{},{:02}:{:02},{},{},{},helper-{};member-{},helper-{},{},{},{},,{},{},{},{}m,{}m\n",
            1000 + i,
            zones[i % zones.len()],
            ["en", "es"][i % 2],
            7 + i % 4,
            (i * 5) % 60,
            windows[i % windows.len()],
            by,
            circle,
            i % HELPERS,
            (i + 1) % MEMBERS,
            (i + 2) % HELPERS,
            if i % 4 == 1 { away.to_string() } else { String::new() },
            contacts[i % contacts.len()],
            if i % 5 == 0 { "true" } else { "" },
            reminders[i % reminders.len()],
            escalations[i % escalations.len()],
            quiet[i % quiet.len()],
            30 + i,
            10 + i,
        ));
    }
    out
}

/// The members as the API shows them, without what depends on the moment (state, next
/// check-in).
async fn roster_of(admin: &Admin) -> Value {
    let mut members = admin.get("/api/v1/members").await;
    for m in members.as_array_mut().unwrap() {
        let o = m.as_object_mut().unwrap();
        o.remove("state");
        o.remove("next_checkin");
    }
    json!({ "members": members, "people": admin.get("/api/v1/people").await })
}

#[tokio::test(flavor = "multi_thread")]
async fn import_export_round_trip_over_a_village_with_every_field_set() {
    let hooks = support::WebhookReceiver::start().await;
    // Channels for every way the roster lists (sms, voice, the family app's webhook): a way
    // no configured channel serves is refused.
    let twilio = support::FakeTwilio::start().await;
    let config = format!(
        "[server]\npublic_url = \"{}\"\n\n{}\n{}\n{}",
        support::PUBLIC_URL,
        hooks.channel("family-app"),
        twilio.channel("sms", "twilio"),
        twilio.channel("voice", "twilio-voice"),
    );
    let d1 = common::start(&config, &support::channel_env());
    let dir = tempfile::tempdir().unwrap();
    let away = chrono::Utc::now().date_naive() + chrono::TimeDelta::days(30);
    let source = dir.path().join("village.csv");
    std::fs::write(&source, generated_village_csv(away)).unwrap();
    let source_arg = source.display().to_string();

    // Regression: rows with by = buddy were refused ("needs at least one buddy") although
    // they name one.
    let out = porchlight(&["import", &source_arg, "--server", &d1.base], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("imported {MEMBERS}")),
        "{}",
        stdout(&out)
    );

    // What was imported is what the file said, field by field, for a few members.
    let admin1 = Admin::new(&d1.base);
    let m0 = admin1.get("/api/v1/members/member-0").await;
    assert_eq!(m0["by"], "buddy", "{m0}");
    assert_eq!(m0["buddies"], json!(["helper-0", "member-1"]), "{m0}");
    assert_eq!(m0["paused"], true, "{m0}");
    assert_eq!(m0["contact"], json!(["sms"]), "{m0}");
    assert_eq!(m0["quiet_hours"], "21:00-08:00", "{m0}");
    let m1 = admin1.get("/api/v1/members/member-1").await;
    assert_eq!(m1["by"], "circle:oak", "{m1}");
    assert_eq!(m1["away_until"], away.to_string(), "{m1}");
    assert_eq!(m1["contact"], json!(["voice", "sms"]), "{m1}");
    assert_eq!(m1["reminders"], json!(["20m"]), "{m1}");
    assert_eq!(m1["window"], "1h 30m", "{m1}");
    assert_eq!(m1["timezone"], "America/Chicago", "{m1}");
    let m2 = admin1.get("/api/v1/members/member-2").await;
    assert_eq!(m2["by"], "self", "{m2}");
    assert_eq!(m2["quiet_hours"], Value::Null, "{m2}");
    assert_eq!(m2["reminders"], json!(["15m", "30m", "45m"]), "{m2}");

    // Export, import into a fresh daemon and store, export again: equal.
    let first = dir.path().join("export-1.csv");
    let first_arg = first.display().to_string();
    let out = porchlight(&["export", &first_arg, "--server", &d1.base], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
    let exported = std::fs::read_to_string(&first).unwrap();
    assert_eq!(
        exported.lines().count(),
        1 + HELPERS + MEMBERS,
        "{exported}"
    );
    for needle in [
        "sms;webhook,,family-app,",
        ",buddy,,",
        ",circle,elm,",
        "voice;sms",
        "buddies 0s;family 30m;coordinators 1h",
        "family 10m;coordinators 1h",
        "22:30-07:00",
        "41m",
        &away.to_string(),
        ",es,",
    ] {
        assert!(exported.contains(needle), "{needle}: {exported}");
    }

    let d2 = common::start(&config, &support::channel_env());
    let out = porchlight(&["import", &first_arg, "--server", &d2.base], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
    let out = porchlight(&["export", "-", "--server", &d2.base], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), exported);
    let admin2 = Admin::new(&d2.base);
    assert_eq!(roster_of(&admin2).await, roster_of(&admin1).await);
}

async fn small_village(admin: &Admin) {
    admin
        .add_person(json!({"id": "harold", "name": "Harold Reed", "phone": "+12025550144"}))
        .await;
    admin
        .add_person(json!({"id": "ana", "name": "Ana Lopez", "phone": "+12025550145"}))
        .await;
    admin
        .add_member(json!({
            "id": "mary", "name": "Mary Lopez", "phone": "+12025550143",
            "buddies": ["harold"], "family": ["ana"], "checkin": "08:30",
        }))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn patch_changes_only_the_fields_sent_and_names_a_bad_one() {
    let d = common::start("", &[]);
    let admin = Admin::new(&d.base);
    small_village(&admin).await;
    let patch = |body: Value| {
        let admin = &admin;
        async move {
            admin
                .call(Method::PATCH, "/api/v1/members/mary", Some(body))
                .await
        }
    };

    // Regression: one field sent (PUT) wiped the buddies.
    let (s, v) = patch(json!({"phone": "+12025550199"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let m = admin.get("/api/v1/members/mary").await;
    assert_eq!(m["phone"], "+12025550199", "{m}");
    assert_eq!(m["buddies"], json!(["harold"]), "{m}");
    assert_eq!(m["family"], json!(["ana"]), "{m}");
    assert_eq!(m["checkin"], "08:30", "{m}");
    assert_eq!(m["name"], "Mary Lopez", "{m}");

    // Set, then remove with null (the village's setting, none, applies again).
    let (s, v) =
        patch(json!({"quiet_hours": "21:00-08:00", "contact": ["voice"], "paused": true})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["quiet_hours"], "21:00-08:00", "{v}");
    assert_eq!(v["contact"], json!(["voice"]), "{v}");
    assert_eq!(v["paused"], true, "{v}");
    let (s, v) = patch(json!({"quiet_hours": null, "family": null})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["quiet_hours"], Value::Null, "{v}");
    assert_eq!(v["family"], json!([]), "{v}");
    assert_eq!(v["contact"], json!(["voice"]), "{v}");
    assert_eq!(v["buddies"], json!(["harold"]), "{v}");

    // By buddy, then try to take the buddy away.
    let (s, v) = patch(json!({"by": "buddy"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["by"], "buddy");

    let before = admin.get("/api/v1/members/mary").await;
    for (body, field) in [
        (json!({"window": "two hours"}), "window"),
        (json!({"paused": "yes"}), "paused"),
        (json!({"frobnicate": 1}), "frobnicate"),
        (json!({"buddies": null}), "buddies"),
        (json!({"buddies": ["mary"]}), "buddies[0]"),
        (json!({"family": ["nobody"]}), "family[0]"),
        (json!({"id": "maria"}), "id"),
        (json!({"name": null}), "name"),
        (json!({"phone": "call me"}), "phone"),
        (
            json!({"escalation": [{"after": "5m", "notify": "police"}]}),
            "escalation[0].notify",
        ),
        (json!({"away_until": "2020-01-01"}), "away_until"),
        (json!(["not", "an", "object"]), "object"),
    ] {
        let (s, v) = patch(body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(v["error"]["code"], "invalid", "{body}: {v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(field), "{body}: {field} not named in {msg:?}");
    }
    assert_eq!(
        admin.get("/api/v1/members/mary").await["buddies"],
        before["buddies"],
        "a refused patch changes nothing"
    );
    let (s, _) = admin
        .call(
            Method::PATCH,
            "/api/v1/members/nobody",
            Some(json!({"paused": true})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // People: merge patch too.
    let (s, v) = admin
        .call(
            Method::PATCH,
            "/api/v1/people/harold",
            Some(json!({"language": "es", "contact": ["voice"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["language"], "es");
    assert_eq!(v["contact"], json!(["voice"]), "{v}");
    assert_eq!(v["name"], "Harold Reed");
    assert_eq!(v["phone"], "+12025550144");
    let (s, v) = admin
        .call(
            Method::PATCH,
            "/api/v1/people/harold",
            Some(json!({"phone": null})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["phone"], Value::Null, "{v}");
    let (s, v) = admin
        .call(
            Method::PATCH,
            "/api/v1/people/harold",
            Some(json!({"phone": "+12025550145"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "Ana's number: {v}");
    let (s, v) = admin
        .call(
            Method::PATCH,
            "/api/v1/people/harold",
            Some(json!({"language": "klingon"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("language"),
        "{v}"
    );

    // The OpenAPI document describes both.
    let doc = admin.get("/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/members/{id}"]["patch"]["requestBody"].is_object());
    assert!(doc["paths"]["/api/v1/people/{id}"]["patch"]["requestBody"].is_object());
    assert!(doc["paths"]["/api/v1/people/{id}"]["delete"]["responses"]["409"].is_object());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_edits_removes_and_promotes_people() {
    let d = common::start("", &[]);
    let admin = Admin::new(&d.base);
    small_village(&admin).await;
    let server = d.base.as_str();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--server", server]);
        porchlight(&all, &token_env())
    };

    // member edit: only what is given changes.
    let out = run(&[
        "member",
        "edit",
        "mary",
        "--voice",
        "--quiet-hours",
        "21:00-08:00",
        "--paused",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = admin.get("/api/v1/members/mary").await;
    assert_eq!(m["contact"], json!(["voice"]), "{m}");
    assert_eq!(m["quiet_hours"], "21:00-08:00", "{m}");
    assert_eq!(m["paused"], true, "{m}");
    assert_eq!(m["buddies"], json!(["harold"]), "{m}");
    let out = run(&[
        "member",
        "edit",
        "mary",
        "--unpause",
        "--clear",
        "quiet_hours",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = admin.get("/api/v1/members/mary").await;
    assert_eq!(m["paused"], false, "{m}");
    assert_eq!(m["quiet_hours"], Value::Null, "{m}");
    let out = run(&["member", "edit", "mary", "--window", "forever"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("window"), "{}", stderr(&out));
    let out = run(&["member", "edit", "mary"]);
    assert_eq!(out.status.code(), Some(2), "nothing to change");

    // person remove: refused while Harold is Mary's buddy, naming where.
    let out = run(&["person", "remove", "harold"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("buddy of mary"), "{}", stderr(&out));
    let (s, v) = admin.call(Method::DELETE, "/api/v1/people/ana", None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("family of mary"),
        "{v}"
    );
    let (s, v) = admin
        .call(Method::DELETE, "/api/v1/people/mary", None)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "a member: {v}");

    // person edit, then make the buddy a member (no "already exists").
    let out = run(&["person", "edit", "harold", "--language", "es", "--voice"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&[
        "member",
        "add",
        "--person",
        "harold",
        "--checkin",
        "10:00",
        "--buddy",
        "mary",
        "--by",
        "buddy",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let h = admin.get("/api/v1/members/harold").await;
    assert_eq!(h["name"], "Harold Reed", "{h}");
    assert_eq!(h["by"], "buddy", "{h}");
    assert_eq!(h["checkin"], "10:00", "{h}");
    assert_eq!(h["contact"], json!(["voice"]), "{h}");
    let out = run(&["member", "add", "--person", "harold"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "already a member: {}",
        stderr(&out)
    );

    // Once nobody names Ana, she can go; the phone number is free again.
    let out = run(&["member", "edit", "mary", "--clear", "family"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["person", "remove", "ana"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (s, _) = admin.call(Method::GET, "/api/v1/people/ana", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    admin
        .add_person(json!({"id": "ana2", "name": "Ana Lopez", "phone": "+12025550145"}))
        .await;
    let out = run(&["person", "remove", "ana"]);
    assert_eq!(out.status.code(), Some(2), "gone already: {}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn away_until_takes_dates_the_way_people_type_them() {
    let d = common::start("", &[]);
    let admin = Admin::new(&d.base);
    small_village(&admin).await;
    let server = d.base.as_str();
    // The daemon's village is UTC (embedded defaults); Mary has no zone of her own.
    let today = chrono::Utc::now().date_naive();
    let run = |until: &str| {
        porchlight(
            &["away", "mary", "--until", until, "--server", server],
            &token_env(),
        )
    };

    // Regression: `--until 12/24` printed a raw serde error.
    let out = run("12/24");
    assert!(out.status.success(), "{}", stderr(&out));
    let until: chrono::NaiveDate = admin.get("/api/v1/members/mary").await["away_until"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        (
            chrono::Datelike::month(&until),
            chrono::Datelike::day(&until)
        ),
        (12, 24)
    );
    assert!(until > today && until <= today + chrono::TimeDelta::days(366));

    let out = run("tomorrow");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        admin.get("/api/v1/members/mary").await["away_until"],
        (today + chrono::TimeDelta::days(1)).to_string()
    );

    for bad in ["soon", "2020-01-01", "today", "31/31"] {
        let out = run(bad);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(bad) && err.contains("--until"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(
        stderr(&run("soon")).contains("12/24"),
        "the accepted forms are listed"
    );

    // The API names the field instead of a raw deserialisation error.
    let (s, v) = admin
        .call(
            Method::POST,
            "/api/v1/members/mary/away",
            Some(json!({"until": "12/24"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("until: \"12/24\""),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rollcall_show_lists_the_unaccounted_by_name_phone_and_why() {
    // A real SMS channel (a local Twilio stand-in): someone with no phone cannot be texted.
    let twilio = support::FakeTwilio::start().await;
    let config = format!(
        "[server]\npublic_url = \"http://127.0.0.1:9\"\n{}",
        twilio.channel("sms", "twilio")
    );
    let d = common::start(&config, &support::channel_env());
    let admin = Admin::new(&d.base);
    small_village(&admin).await;
    // Nobody can reach Walt: no phone, no webhook. Rosa is away; Sam is paused.
    admin
        .add_member(json!({"id": "walt", "name": "Walt Ito"}))
        .await;
    admin
        .add_member(json!({"id": "rosa", "name": "Rosa Diaz", "phone": "+12025550150"}))
        .await;
    admin
        .add_member(
            json!({"id": "sam", "name": "Sam Park", "phone": "+12025550151", "paused": true}),
        )
        .await;
    let (s, v) = admin
        .call(Method::POST, "/api/v1/members/rosa/away", Some(json!({"until": (chrono::Utc::now().date_naive() + chrono::TimeDelta::days(5)).to_string()})))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // A note must be one short line.
    let (s, v) = admin
        .call(
            Method::POST,
            "/api/v1/rollcall",
            Some(json!({"window": "1h", "message": "heat\nadvisory"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("message"),
        "{v}"
    );
    let (s, v) = admin
        .call(
            Method::POST,
            "/api/v1/rollcall",
            Some(json!({"window": "1h", "message": "heat advisory, cooling center open"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    // The note is in the text each member gets.
    let sms = common::wait_for(45, "Mary's roll-call text", || {
        twilio.find_sms("+12025550143", "checking on everyone")
    });
    assert!(
        sms.body()
            .contains("checking on everyone (heat advisory, cooling center open). Reply 1"),
        "{}",
        sms.body()
    );

    // Walt's text cannot be delivered; wait until the daemon has given up on it.
    let mut report = Value::Null;
    common::wait_for(45, "walt to be not reached", || {
        let (s, v) =
            support::block(admin.call(Method::GET, &format!("/api/v1/rollcall/{id}"), None));
        report = v.clone();
        (s == StatusCode::OK
            && v["unaccounted_detail"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|r| r["id"] == "walt" && r["status"] == "not_reached")
            }))
        .then_some(())
    });
    let detail = report["unaccounted_detail"].as_array().unwrap();
    let row = |id: &str| {
        detail
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} not unaccounted: {report}"))
            .clone()
    };
    assert_eq!(row("walt")["name"], "Walt Ito");
    assert_eq!(row("rosa")["status"], "away", "{report}");
    assert_eq!(row("rosa")["phone"], "+12025550150");
    assert!(
        row("rosa")["why"].as_str().unwrap().contains("away until"),
        "{report}"
    );
    assert_eq!(row("sam")["status"], "paused", "{report}");
    assert_eq!(row("mary")["status"], "waiting", "{report}");
    assert_eq!(row("mary")["phone"], "+12025550143");
    let unaccounted: Vec<&str> = report["unaccounted"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for m in ["mary", "walt", "rosa", "sam"] {
        assert!(unaccounted.contains(&m), "{m}: {report}");
    }

    // The CLI prints them with name, phone and why.
    let out = porchlight(
        &["rollcall", "--show", &id, "--server", &d.base],
        &token_env(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line = |id: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("{id}: {text}"))
            .to_string()
    };
    assert!(
        line("walt").contains("Walt Ito") && line("walt").contains("could not be delivered"),
        "{text}"
    );
    assert!(
        line("rosa").contains("+12025550150") && line("rosa").contains("away"),
        "{text}"
    );
    assert!(
        line("mary").contains("Mary Lopez") && line("mary").contains("+12025550143"),
        "{text}"
    );
}

/// Regression: `rollcall --show` answered "not found" when none of the roll call's texts
/// could be delivered.
#[tokio::test(flavor = "multi_thread")]
async fn a_rollcall_nobody_could_be_texted_is_still_found() {
    let twilio = support::FakeTwilio::start().await;
    let config = format!(
        "[server]\npublic_url = \"http://127.0.0.1:9\"\n{}",
        twilio.channel("sms", "twilio")
    );
    let d = common::start(&config, &support::channel_env());
    let admin = Admin::new(&d.base);
    admin
        .add_member(json!({"id": "walt", "name": "Walt Ito"}))
        .await;
    admin
        .add_member(json!({"id": "june", "name": "June Oh"}))
        .await;
    let (s, v) = admin
        .call(Method::POST, "/api/v1/rollcall", Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/rollcall/{id}");
    let report = common::wait_for(45, "both to be not reached", || {
        let v = support::block(admin.get(&path));
        let detail = v["unaccounted_detail"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        (detail.len() == 2 && detail.iter().all(|r| r["status"] == "not_reached")).then_some(v)
    });
    assert_eq!(report["answered"], json!([]), "{report}");
    let out = porchlight(
        &["rollcall", "--show", &id, "--server", &d.base],
        &token_env(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("UNACCOUNTED: 2"), "{}", stdout(&out));
    assert!(stdout(&out).contains("June Oh"), "{}", stdout(&out));
}
