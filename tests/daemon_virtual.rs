//! The daemon in process on a virtual clock (`serve::start` + `Daemon::run` on a
//! `127.0.0.1:0` listener, a real sled store, real Twilio and webhook receivers on loopback):
//! exact assertions about who received what, and when, to the second, across a DST change.

#[path = "common/inproc.rs"]
mod inproc;
#[path = "common/daemon.rs"]
mod support;

use std::time::Duration;

use inproc::{InProcess, at};
use serde_json::json;
use support::{Admin, DESK_PHONE, FakeTwilio, PUBLIC_URL, WebhookReceiver, channel_env, text_in};

const ANN: &str = "+12025550201";
const BOB: &str = "+12025550202";
const CAL: &str = "+12025550203";
const DEE: &str = "+12025550211";
const EVE: &str = "+12025550212";
const FAY: &str = "+12025550213";

/// What the receivers got, in a comparable form: SMS as (to, body), webhooks as
/// (recipient, type).
struct Seen {
    sms: Vec<(String, String)>,
    hooks: Vec<(String, String)>,
}

struct Village {
    twilio: FakeTwilio,
    hooks: WebhookReceiver,
    daemon: InProcess,
    admin: Admin,
    sms_seen: usize,
    hooks_seen: usize,
}

impl Village {
    /// Ann, Bob and Cal check in at 09:00 New York time; each has a neighbor buddy by SMS
    /// (Dee, Eve, Fay); Bob's daughter Kim is on the family app (webhook). The window is an
    /// hour, no reminders; the buddy is alerted at the deadline, the family 30 minutes later.
    async fn start(now: &str) -> Village {
        let twilio = FakeTwilio::start().await;
        let hooks = WebhookReceiver::start().await;
        let config = format!(
            r#"[server]
public_url = "{PUBLIC_URL}"

[village]
name = "Maple Street Village"
timezone = "America/New_York"
coordinators = ["desk"]

[policy]
window = "1h"
reminders = []
escalation = [
  {{ after = "0s", notify = "buddies" }},
  {{ after = "30m", notify = "family" }},
  {{ after = "1h", notify = "coordinators" }},
]

{}
{}"#,
            twilio.channel("sms", "twilio"),
            hooks.channel("family-app")
        );
        let daemon = InProcess::start(&config, &channel_env(), at(now)).await;
        let admin = Admin::new(&daemon.base);
        for (id, name, phone) in [
            ("dee", "Dee Park", DEE),
            ("eve", "Eve Stone", EVE),
            ("fay", "Fay Moss", FAY),
            ("desk", "Coordinator Desk", DESK_PHONE),
        ] {
            admin
                .add_person(json!({"id": id, "name": name, "phone": phone}))
                .await;
        }
        admin
            .add_person(json!({
                "id": "kim", "name": "Kim Bell", "webhook": "family-app", "contact": ["webhook"],
            }))
            .await;
        for (name, phone, buddy, family) in [
            ("Ann Lee", ANN, "dee", None),
            ("Bob Bell", BOB, "eve", Some("kim")),
            ("Cal Ruiz", CAL, "fay", None),
        ] {
            let mut m = json!({
                "name": name, "phone": phone, "checkin": "09:00", "buddies": [buddy],
            });
            if let Some(f) = family {
                m["family"] = json!([f]);
            }
            admin.add_member(m).await;
        }
        daemon.settle().await;
        Village {
            twilio,
            hooks,
            daemon,
            admin,
            sms_seen: 0,
            hooks_seen: 0,
        }
    }

    /// What arrived since the last call, sorted.
    fn since_last(&mut self) -> Seen {
        let all = self.twilio.messages();
        let mut sms: Vec<(String, String)> = all[self.sms_seen..]
            .iter()
            .map(|r| (r.to().to_string(), r.body().to_string()))
            .collect();
        self.sms_seen = all.len();
        let all = self.hooks.all();
        let mut hooks: Vec<(String, String)> = all[self.hooks_seen..]
            .iter()
            .map(|h| {
                (
                    h.json["recipient"]["id"].as_str().unwrap_or("").to_string(),
                    h.json["type"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        self.hooks_seen = all.len();
        sms.sort();
        hooks.sort();
        Seen { sms, hooks }
    }

    /// Who got an SMS since the last call, sorted (bodies checked by the caller).
    fn new_sms_to(&mut self) -> (Vec<String>, Seen) {
        let seen = self.since_last();
        let to = seen.sms.iter().map(|(to, _)| to.clone()).collect();
        (to, seen)
    }

    async fn states(&self) -> Vec<String> {
        let mut out = Vec::new();
        for m in ["ann-lee", "bob-bell", "cal-ruiz"] {
            out.push(self.admin.state(m).await);
        }
        out
    }
}

fn body_to<'a>(seen: &'a Seen, phone: &str) -> &'a str {
    seen.sms
        .iter()
        .find(|(to, _)| to == phone)
        .map_or("", |(_, b)| b.as_str())
}

/// The whole day of PRODUCT §4 on the virtual clock: nobody hears anything a second before
/// 09:00; at 09:00 exactly the three prompts; a real sentence answers, "I need help" alerts
/// Bob's buddy and family at once; at the deadline exactly Cal's buddy is asked to knock; and
/// when Cal answers, exactly one all-clear goes to Fay, the only one alerted about her.
#[tokio::test(flavor = "multi_thread")]
async fn three_members_at_nine_one_fine_one_needing_help_one_quiet_on_virtual_time() {
    // Saturday 7 March 2026, 07:00 in New York (EST, UTC-5).
    let mut v = Village::start("2026-03-07T12:00:00Z").await;
    assert_eq!(v.since_last().sms.len(), 0, "adding people sends nothing");

    v.daemon.set(at("2026-03-07T13:59:59Z")).await;
    let seen = v.since_last();
    assert_eq!(seen.sms, vec![], "nothing a second before 09:00");
    assert_eq!(seen.hooks, vec![]);
    assert_eq!(v.states().await, ["waiting", "waiting", "waiting"]);

    v.daemon.advance(Duration::from_secs(1)).await;
    let (to, seen) = v.new_sms_to();
    assert_eq!(to, [ANN, BOB, CAL], "exactly the three prompts at 09:00");
    assert_eq!(seen.hooks, vec![]);
    assert!(body_to(&seen, ANN).contains("Ann"), "{:?}", seen.sms);
    assert_eq!(v.states().await, ["prompted", "prompted", "prompted"]);

    // Ann answers with a real sentence, Bob asks for help, Cal says nothing.
    v.daemon.advance(Duration::from_secs(5 * 60)).await;
    text_in(
        &v.daemon.base,
        ANN,
        "yes I'm fine thanks",
        "SM00000000000000000000000000000a01",
    )
    .await;
    text_in(
        &v.daemon.base,
        BOB,
        "I need help",
        "SM00000000000000000000000000000b01",
    )
    .await;
    v.daemon.settle().await;
    let (to, seen) = v.new_sms_to();
    assert_eq!(to, [EVE], "Bob's buddy is alerted at once: {:?}", seen.sms);
    assert!(body_to(&seen, EVE).contains("Bob"), "{:?}", seen.sms);
    assert_eq!(
        seen.hooks,
        [("kim".to_string(), "checkin.help".to_string())],
        "and his family"
    );
    assert_eq!(v.states().await, ["answered", "help", "prompted"]);

    // A second before the deadline, nothing; at 10:00, exactly Cal's buddy.
    v.daemon.set(at("2026-03-07T14:59:59Z")).await;
    let seen = v.since_last();
    assert_eq!((seen.sms, seen.hooks), (vec![], vec![]));
    v.daemon.advance(Duration::from_secs(1)).await;
    let (to, seen) = v.new_sms_to();
    assert_eq!(
        to,
        [FAY],
        "exactly the buddy alert for the quiet one: {:?}",
        seen.sms
    );
    assert!(body_to(&seen, FAY).contains("Cal"), "{:?}", seen.sms);
    assert_eq!(seen.hooks, vec![]);
    assert_eq!(v.states().await[2], "missed");

    // Cal turns up fine: exactly one all-clear, to Fay.
    v.daemon.advance(Duration::from_secs(2 * 60)).await;
    text_in(
        &v.daemon.base,
        CAL,
        "1",
        "SM00000000000000000000000000000c01",
    )
    .await;
    v.daemon.settle().await;
    let (to, seen) = v.new_sms_to();
    assert_eq!(
        to,
        [FAY],
        "exactly one all-clear, to whoever was alerted: {:?}",
        seen.sms
    );
    assert!(
        body_to(&seen, FAY).to_lowercase().contains("all clear"),
        "{:?}",
        seen.sms
    );
    assert_eq!(seen.hooks, vec![]);
    assert_eq!(v.states().await[2], "resolved");
    v.daemon.stop().await;
}

/// Prompts on the Saturday at `sat_nine` (UTC) and everyone answers; on the Sunday nothing
/// until `sun_nine` (UTC), then exactly the three prompts; at `sun_nine + 1h` (the deadline)
/// exactly the three buddies' alerts and no second prompt.
async fn nine_oclock_both_sides_of(sat_nine: &str, sun_nine: &str) {
    let (sat_nine, sun_nine) = (at(sat_nine), at(sun_nine));
    let second = chrono::TimeDelta::seconds(1);
    let mut v = Village::start(&(sat_nine - chrono::TimeDelta::hours(2)).to_rfc3339()).await;
    v.daemon.set(sat_nine - second).await;
    assert_eq!(v.since_last().sms, vec![]);
    v.daemon.set(sat_nine).await;
    assert_eq!(
        v.new_sms_to().0,
        [ANN, BOB, CAL],
        "Saturday 09:00 at {sat_nine}"
    );
    for (phone, sid) in [
        (ANN, "SM00000000000000000000000000000a02"),
        (BOB, "SM00000000000000000000000000000b02"),
        (CAL, "SM00000000000000000000000000000c02"),
    ] {
        text_in(&v.daemon.base, phone, "ok", sid).await;
    }
    v.daemon.settle().await;
    let seen = v.since_last();
    assert_eq!(
        (seen.sms, seen.hooks),
        (vec![], vec![]),
        "answers alert nobody"
    );

    v.daemon.set(sun_nine - second).await;
    let seen = v.since_last();
    assert_eq!(
        (seen.sms, seen.hooks),
        (vec![], vec![]),
        "nothing a second before Sunday 09:00 ({sun_nine})"
    );
    v.daemon.advance(Duration::from_secs(1)).await;
    assert_eq!(
        v.new_sms_to().0,
        [ANN, BOB, CAL],
        "Sunday 09:00 at {sun_nine}"
    );
    v.daemon.set(sun_nine + chrono::TimeDelta::hours(1)).await;
    let (to, seen) = v.new_sms_to();
    assert_eq!(
        to,
        [DEE, EVE, FAY],
        "at the deadline exactly the buddies of the three quiet members, no second prompt"
    );
    assert_eq!(seen.hooks, vec![]);
    v.daemon.stop().await;
}

/// Spring forward: on Sunday 8 March 2026 New York moves from EST (UTC-5) to EDT (UTC-4),
/// so 09:00 is 14:00 UTC on Saturday and 13:00 UTC on Sunday, to the second.
#[tokio::test(flavor = "multi_thread")]
async fn the_nine_oclock_prompt_follows_local_time_when_clocks_spring_forward() {
    nine_oclock_both_sides_of("2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z").await;
}

/// Fall back: on Sunday 1 November 2026 New York moves from EDT back to EST, so 09:00 is
/// 13:00 UTC on Saturday and 14:00 UTC on Sunday.
#[tokio::test(flavor = "multi_thread")]
async fn the_nine_oclock_prompt_follows_local_time_when_clocks_fall_back() {
    nine_oclock_both_sides_of("2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z").await;
}

/// `serve::run` as the binary calls it, on a listener the caller bound: it serves until the
/// shutdown future resolves, then returns `Ok` with the store flushed; the daemon's clock is
/// the one passed in (a member added at the virtual instant is due at the virtual 09:00).
#[tokio::test(flavor = "multi_thread")]
async fn serve_run_serves_the_given_listener_until_shutdown_on_the_given_clock() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[village]\ntimezone = \"America/New_York\"\n[storage]\npath = {:?}\n",
        dir.path().join("data").display().to_string()
    );
    let env = |k: &str| (k == "PORCHLIGHT_ADMIN_TOKEN").then(|| inproc::TOKEN.to_string());
    let config = porchlight_server::config::Config::parse(&text, None, &env).unwrap();
    let clock = porchlight_server::clock::Clock::virtual_at(at("2026-03-07T12:00:00Z"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(porchlight_server::serve::run(
        listener,
        config,
        async move {
            let _ = stopped.await;
        },
        clock.clone(),
    ));
    let http = support::client();
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
    let admin = Admin::new(&base);
    admin
        .add_member(json!({"name": "Ann Lee", "phone": ANN, "checkin": "09:00"}))
        .await;
    let m = admin.get("/api/v1/members/ann-lee").await;
    assert_eq!(m["next_checkin"], "2026-03-07T14:00:00Z", "{m}");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), daemon)
        .await
        .expect("serve::run returns after shutdown")
        .unwrap()
        .unwrap();
    // The store was flushed and released: it opens again.
    let village = porchlight_core::model::Village::default();
    let store = porchlight_store::Store::open(dir.path().join("data"), village).unwrap();
    assert!(store.member("ann-lee").unwrap().is_some());
}
