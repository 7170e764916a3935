//! A whole simulated day delivered through every adapter: the engine runs on a virtual clock
//! against a real sled store, and the real dispatcher delivers each step's messages through
//! Twilio SMS, Twilio voice, Standard Webhooks and the Android gateway to local receivers.

#[path = "../../../tests/common/recorder.rs"]
mod recorder;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use porchlight_core::model::{ContactWay, Member, Person};
use porchlight_core::village::Sender;
use porchlight_notify::dispatch::{Dispatcher, Settings, SystemClock};
use porchlight_server::config::Config;
use porchlight_server::queue::{StoreQueue, channels};
use porchlight_store::{MessagePlace, Store};
use recorder::Recorder;

/// Every adapter posts to one shared recording receiver, which answers as each provider would.
async fn receivers() -> (String, Recorder) {
    let log = Recorder::start().await;
    (log.base.clone(), log)
}

fn env(name: &str) -> Option<String> {
    match name {
        "TWILIO_AUTH_TOKEN" => Some("token".into()),
        "HOOK_SECRET" => Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
        "GW_PASSWORD" => Some("pw".into()),
        "GW_KEY" => Some("key".into()),
        _ => None,
    }
}

fn config(base: &str, sms_kind: &str) -> Config {
    let sms = if sms_kind == "twilio" {
        format!(
            "[channels.a-sms]\nkind = \"twilio\"\nbase_url = \"{base}\"\naccount_sid = \"AC1\"\nauth_token_env = \"TWILIO_AUTH_TOKEN\"\nfrom = \"+12025550100\"\n"
        )
    } else {
        format!(
            "[channels.a-sms]\nkind = \"android-sms-gateway\"\nbase_url = \"{base}\"\nusername = \"u\"\npassword_env = \"GW_PASSWORD\"\nsigning_key_env = \"GW_KEY\"\n"
        )
    };
    let text = format!(
        r#"
[server]
public_url = "https://porchlight.example.org"
[village]
timezone = "America/New_York"
coordinators = ["desk"]
[delivery]
timeout = "5s"
{sms}
[channels.calls]
kind = "twilio-voice"
base_url = "{base}"
account_sid = "AC1"
auth_token_env = "TWILIO_AUTH_TOKEN"
from = "+12025550100"
[channels.family-app]
kind = "webhook"
url = "{base}/hooks"
secret_env = "HOOK_SECRET"
"#
    );
    Config::parse(&text, None, &env).unwrap()
}

fn person(id: &str, phone: Option<&str>) -> Person {
    let mut p = Person::new(id, id);
    p.phone = phone.map(str::to_string);
    p
}

/// Runs one day; returns (messages queued, requests received by path).
async fn one_day(sms_kind: &str) -> (usize, Vec<(String, String)>) {
    let (base, log) = receivers().await;
    let config = config(&base, sms_kind);
    let store = Arc::new(Store::temporary(config.village.clone()).unwrap());
    let start: DateTime<Utc> = "2026-11-24T05:00:00Z".parse().unwrap();
    // Mary by SMS; Walt on a landline; Rosa's family by webhook; a buddy and a coordinator.
    store
        .put_person(&person("desk", Some("+12025550109")))
        .unwrap();
    store
        .put_person(&person("mary", Some("+12025550101")))
        .unwrap();
    let mut walt = person("walt", Some("+12025550102"));
    walt.contact = vec![ContactWay::Voice];
    store.put_person(&walt).unwrap();
    store
        .put_person(&person("rosa", Some("+12025550103")))
        .unwrap();
    store
        .put_person(&person("bob", Some("+12025550104")))
        .unwrap();
    let mut fam = person("rosa-family", None);
    fam.webhook = Some("family-app".into());
    store.put_person(&fam).unwrap();
    for (id, buddies, family) in [
        ("mary", vec!["bob"], vec![]),
        ("walt", vec![], vec![]),
        ("rosa", vec!["bob"], vec!["rosa-family"]),
    ] {
        let mut m = Member::new(id);
        m.buddies = buddies.into_iter().map(String::from).collect();
        m.family = family.into_iter().map(String::from).collect();
        store.put_member(m, start).unwrap();
    }
    let queue = Arc::new(StoreQueue::new(store.clone(), Box::new(|| {})));
    let dispatcher = Dispatcher::new(
        queue,
        Arc::new(channels(&config).unwrap()),
        Arc::new(SystemClock),
        Settings::default(),
    );
    let wake = dispatcher.waker();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(dispatcher.run(async move {
        let _ = stop_rx.await;
    }));

    // The day: Mary answers, Walt presses 1, Rosa stays quiet until her buddy confirms.
    let replies: Vec<(DateTime<Utc>, &str, &str)> = vec![
        ("2026-11-24T14:10:00Z".parse().unwrap(), "mary", "ok"),
        ("2026-11-24T14:20:00Z".parse().unwrap(), "walt", "1"),
        (
            "2026-11-24T16:50:00Z".parse().unwrap(),
            "bob",
            "seen her, fine",
        ),
    ];
    let end = start + TimeDelta::hours(24);
    let mut queued = 0;
    let mut next_reply = 0;
    loop {
        let tick = store.next_due().unwrap();
        let reply_at = replies.get(next_reply).map(|r| r.0);
        let at = match (tick, reply_at) {
            (Some(t), Some(r)) if r <= t => r,
            (Some(t), _) => t,
            (None, Some(r)) => r,
            (None, None) => break,
        };
        if at > end {
            break;
        }
        let committed = if reply_at == Some(at) {
            let (_, from, text) = replies[next_reply];
            next_reply += 1;
            store
                .reply(&Sender::Person(from.into()), text, at)
                .unwrap()
                .1
        } else {
            store.run_due(at).unwrap()
        };
        queued += committed.messages.len();
        wake.notify_one();
        // Wait for this step's messages to be delivered before the virtual clock moves on.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while store.outbox_len() > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "outbox did not drain"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for m in &committed.messages {
            let (place, entry) = store.message(m.id).unwrap().unwrap();
            assert_eq!(place, MessagePlace::Sent, "{:?}", entry.delivery);
        }
    }
    let _ = stop_tx.send(());
    task.await.unwrap();
    let got: Vec<(String, String)> = log
        .all()
        .into_iter()
        .map(|r| (r.path.clone(), r.text()))
        .collect();
    (queued, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_through_twilio_voice_and_webhooks() {
    let (queued, got) = one_day("twilio").await;
    assert_eq!(got.len(), queued, "one request per message");
    let sms: Vec<&(String, String)> = got
        .iter()
        .filter(|(p, _)| p == "/2010-04-01/Accounts/AC1/Messages.json")
        .collect();
    let calls: Vec<&(String, String)> = got
        .iter()
        .filter(|(p, _)| p == "/2010-04-01/Accounts/AC1/Calls.json")
        .collect();
    let hooks: Vec<&(String, String)> = got.iter().filter(|(p, _)| p == "/hooks").collect();
    // Walt's 09:00 prompt is a call; Mary's and Rosa's are texts with reply links.
    assert_eq!(calls.len(), 1);
    assert!(calls[0].1.contains("Twiml=") && calls[0].1.contains("Gather"));
    assert!(sms.iter().any(
        |(_, b)| b.contains("To=%2B12025550101") && b.contains("porchlight.example.org%2Fr%2F")
    ));
    // Rosa's miss reaches Bob by SMS and her family by webhook; the all-clear reaches both.
    let to_bob: Vec<_> = sms
        .iter()
        .filter(|(_, b)| b.contains("To=%2B12025550104"))
        .collect();
    assert!(to_bob.len() >= 2, "alert and all-clear to Bob: {to_bob:?}");
    let types: Vec<String> = hooks
        .iter()
        .map(|(_, b)| {
            serde_json::from_str::<serde_json::Value>(b).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        types
            .iter()
            .any(|t| t == "alert.escalated" || t == "checkin.missed"),
        "{types:?}"
    );
    assert!(types.iter().any(|t| t == "checkin.resolved"), "{types:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_through_the_android_gateway() {
    let (queued, got) = one_day("android").await;
    assert_eq!(got.len(), queued);
    let gateway: Vec<serde_json::Value> = got
        .iter()
        .filter(|(p, _)| p == "/message")
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect();
    assert!(gateway.len() >= 4, "{gateway:?}");
    for g in &gateway {
        assert!(g["id"].as_str().unwrap().starts_with("msg_"));
        assert!(
            g["phoneNumbers"][0]
                .as_str()
                .unwrap()
                .starts_with("+1202555")
        );
        assert!(!g["textMessage"]["text"].as_str().unwrap().is_empty());
    }
}
