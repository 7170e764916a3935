//! [`Router`]: which channel serves which of a person's ways, in the order of their profile.
//! (The dispatcher's scenarios run on the real store, in `porchlight-server`'s
//! `tests/dispatcher.rs`: the dispatcher reaches the outbox only through its `Queue` trait,
//! which the server implements over the store.)

use std::sync::Arc;

use porchlight_core::model::{ContactWay, Person};
use porchlight_notify::dispatch::Router;
use porchlight_notify::{BoxFuture, Channel, ChannelKind, Delivery, Receipt, SendError};

/// A channel of a kind; the router never sends.
struct Stub(ChannelKind);

impl Channel for Stub {
    fn kind(&self) -> ChannelKind {
        self.0
    }
    fn is_sms(&self) -> bool {
        matches!(self.0, ChannelKind::Twilio | ChannelKind::AndroidSmsGateway)
    }
    fn send<'a>(&'a self, _: &'a Delivery) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(async { unreachable!("the router never sends") })
    }
}

fn stub(kind: &str) -> Arc<Stub> {
    Arc::new(Stub(kind.parse().expect("a known kind")))
}

fn person(id: &str) -> Person {
    let mut p = Person::new(id, format!("{id} Doe"));
    p.phone = Some("+15551230001".into());
    p
}

fn router(channels: &[(&str, Arc<Stub>)]) -> Router {
    let mut r = Router::new();
    for (name, ch) in channels {
        r.add(name, ch.clone());
    }
    r
}

#[test]
fn router_ways_follow_the_profile() {
    let texts = stub("twilio");
    let android = stub("android-sms-gateway");
    let voice = stub("twilio-voice");
    let hook = stub("webhook");
    let log = stub("log");
    // Added first, so it serves SMS although "android" sorts before it.
    let full = router(&[
        ("texts", texts.clone()),
        ("android", android),
        ("voice", voice.clone()),
        ("family-app", hook.clone()),
        ("log", log),
    ]);
    let no_log = router(&[("texts", texts), ("voice", voice), ("family-app", hook)]);

    let phone_only = person("a");
    assert_eq!(
        full.ways(&phone_only),
        ["texts"],
        "log only when nothing else"
    );

    let mut both = person("b");
    both.webhook = Some("family-app".into());
    assert_eq!(full.ways(&both), ["texts", "family-app"]);

    let mut ordered = both.clone();
    ordered.contact = vec![ContactWay::Voice, ContactWay::Sms, ContactWay::Webhook];
    assert_eq!(full.ways(&ordered), ["voice", "texts", "family-app"]);

    let mut repeated = both.clone();
    repeated.contact = vec![ContactWay::Sms, ContactWay::Sms, ContactWay::Webhook];
    assert_eq!(full.ways(&repeated), ["texts", "family-app"]);

    let mut opted = both.clone();
    opted.opted_out = true;
    assert_eq!(full.ways(&opted), ["family-app"], "opted out: no SMS");

    let mut opted_landline = person("c");
    opted_landline.opted_out = true;
    opted_landline.contact = vec![ContactWay::Sms, ContactWay::Voice];
    assert_eq!(
        full.ways(&opted_landline),
        ["voice"],
        "an SMS opt-out does not stop calls"
    );

    let mut unknown_hook = Person::new("d", "D");
    unknown_hook.webhook = Some("no-such-channel".into());
    // Next to real channels the log channel is no fallback: it would hide an unreachable person.
    assert!(full.ways(&unknown_hook).is_empty());
    assert!(no_log.ways(&unknown_hook).is_empty());

    let mut opted_phone_only = person("e");
    opted_phone_only.opted_out = true;
    assert!(full.ways(&opted_phone_only).is_empty());
    assert!(no_log.ways(&opted_phone_only).is_empty());

    let mut voice_no_phone = Person::new("f", "F");
    voice_no_phone.contact = vec![ContactWay::Voice, ContactWay::Sms];
    assert!(full.ways(&voice_no_phone).is_empty());

    let mut voice_unserved = person("g");
    voice_unserved.contact = vec![ContactWay::Voice, ContactWay::Webhook];
    voice_unserved.webhook = Some("family-app".into());
    let sms_and_hook = router(&[("texts", stub("twilio")), ("family-app", stub("webhook"))]);
    assert_eq!(sms_and_hook.ways(&voice_unserved), ["family-app"]);

    assert_eq!(full.get("texts").map(|c| c.kind().as_str()), Some("twilio"));
    assert!(full.get("nope").is_none());

    // With only a log channel (the embedded defaults) everyone is "reached" by printing.
    let only_log = router(&[("print", stub("log"))]);
    assert_eq!(only_log.ways(&unknown_hook), ["print"]);
    assert_eq!(only_log.ways(&opted_phone_only), ["print"]);
}
