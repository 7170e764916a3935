//! End-to-end: replies reaching the real daemon (PRODUCT §5, §6): signed Twilio SMS, a
//! landline keypress through Twilio Voice, and reply links. Bad or missing signatures get 403
//! and record nothing; a link's GET page never answers for anyone.

#[path = "common/daemon.rs"]
mod support;

use serde_json::json;
use support::common;
use support::{
    ACCOUNT_SID, AUTH_TOKEN, Admin, FakeTwilio, MARY_PHONE, PUBLIC_URL, VILLAGE_NUMBER,
    channel_env, inbound_sms, post_twilio, signed, twilio_signature,
};

/// The helper that signs the test's requests agrees with Twilio's public vectors
/// (PROTOCOLS.md), so a 403 below is the daemon's doing, not a wrong test signature.
#[test]
fn the_test_signer_matches_twilios_public_vectors() {
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let p = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ];
    assert_eq!(
        twilio_signature("12345", url, &p),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    );
    let repeated = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
    ];
    assert_eq!(
        twilio_signature("12345", url, &repeated),
        "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    );
}

fn twilio_config(twilio: &FakeTwilio, kind: &str) -> String {
    format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n\n[policy]\nwindow = \"60s\"\nreminders = []\n\n{}",
        twilio.channel("sms", kind)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_sms_answers_and_a_bad_or_missing_signature_records_nothing() {
    let twilio = FakeTwilio::start().await;
    let d = common::start(&twilio_config(&twilio, "twilio"), &channel_env());
    let admin = Admin::new(&d.base);
    admin
        .add_member(json!({
            "name": "Mary Lopez", "phone": MARY_PHONE, "checkin": common::cron_in(3),
        }))
        .await;

    // The prompt goes out through Twilio's Messages API, authenticated as the account.
    let prompt = common::wait_for(45, "Mary's prompt at the fake Twilio", || {
        twilio.sms_to(MARY_PHONE).into_iter().next()
    });
    assert_eq!(prompt.account, ACCOUNT_SID);
    assert_eq!(prompt.field("From"), Some(VILLAGE_NUMBER));
    assert!(prompt.body().contains("Mary"), "{}", prompt.body());
    assert!(
        prompt.body().contains(&format!("{PUBLIC_URL}/r/")),
        "the prompt carries a reply link: {}",
        prompt.body()
    );
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    };
    assert_eq!(
        prompt.authorization.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );
    admin.wait_state(45, "mary-lopez", "prompted");
    let events_before = admin.get("/api/v1/events").await.as_array().unwrap().len();

    // Every parameter Twilio posts is signed, including ones the daemon ignores (ApiVersion).
    let params = inbound_sms(
        MARY_PHONE,
        "Ok thanks dear!",
        "SM00000000000000000000000000000001",
    );
    let good = signed("/sms/twilio", &params);

    // Missing signature.
    let r = post_twilio(&d.base, "/sms/twilio", &params, None).await;
    assert_eq!(r.status(), 403, "no signature");
    // Signed with another auth token.
    let wrong = twilio_signature(
        "not-the-auth-token",
        &format!("{PUBLIC_URL}/sms/twilio"),
        &params,
    );
    let r = post_twilio(&d.base, "/sms/twilio", &params, Some(&wrong)).await;
    assert_eq!(r.status(), 403, "wrong token");
    // A garbled signature.
    let r = post_twilio(&d.base, "/sms/twilio", &params, Some("AAAA")).await;
    assert_eq!(r.status(), 403, "garbled signature");
    // Signed without the extra parameter: the daemon must sign every posted parameter.
    let known_only: Vec<(&str, &str)> = params
        .iter()
        .copied()
        .filter(|(k, _)| *k != "ApiVersion")
        .collect();
    let partial = signed("/sms/twilio", &known_only);
    let r = post_twilio(&d.base, "/sms/twilio", &params, Some(&partial)).await;
    assert_eq!(r.status(), 403, "a signature that leaves out ApiVersion");
    // Signed over another URL (the daemon's own address instead of public_url).
    let local = twilio_signature(AUTH_TOKEN, &format!("{}/sms/twilio", d.base), &params);
    let r = post_twilio(&d.base, "/sms/twilio", &params, Some(&local)).await;
    assert_eq!(r.status(), 403, "signed over another URL");
    // The body changed after signing.
    let mut tampered = params.clone();
    for p in tampered.iter_mut() {
        if p.0 == "Body" {
            p.1 = "2";
        }
    }
    let r = post_twilio(&d.base, "/sms/twilio", &tampered, Some(&good)).await;
    assert_eq!(r.status(), 403, "a tampered body");

    assert_eq!(admin.state("mary-lopez").await, "prompted");
    let events_after = admin.get("/api/v1/events").await.as_array().unwrap().len();
    assert_eq!(
        events_before, events_after,
        "rejected requests record nothing"
    );

    // The genuine request: answered, and Twilio gets TwiML back.
    let r = post_twilio(&d.base, "/sms/twilio", &params, Some(&good)).await;
    assert_eq!(r.status(), 200);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ct.contains("xml"), "TwiML content type: {ct}");
    let twiml = r.text().await.unwrap();
    assert!(twiml.contains("<Response"), "{twiml}");
    admin.wait_state(45, "mary-lopez", "answered");
    let row = admin.row("mary-lopez").await;
    assert!(row["answered_at"].is_string(), "{row}");
    assert!(row["alert"].is_null(), "{row}");

    // Twilio retrying the same MessageSid: answered 200, recorded once.
    let events_before = admin.get("/api/v1/events").await.as_array().unwrap().len();
    let r = post_twilio(&d.base, "/sms/twilio", &params, Some(&good)).await;
    assert_eq!(r.status(), 200, "a replay");
    let events_after = admin.get("/api/v1/events").await.as_array().unwrap().len();
    assert_eq!(events_before, events_after, "a replay records nothing");

    // Twilio signs the full URL it calls, query string included (`?src=console`).
    let q = inbound_sms(MARY_PHONE, "fine", "SM00000000000000000000000000000002");
    let without_query = signed("/sms/twilio", &q);
    let r = post_twilio(&d.base, "/sms/twilio?src=console", &q, Some(&without_query)).await;
    assert_eq!(
        r.status(),
        403,
        "signed without the query string it was sent with"
    );
    let with_query = signed("/sms/twilio?src=console", &q);
    let r = post_twilio(&d.base, "/sms/twilio?src=console", &q, Some(&with_query)).await;
    assert_eq!(r.status(), 200, "signed over the full URL");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_landline_member_pressing_1_answers() {
    let twilio = FakeTwilio::start().await;
    let d = common::start(&twilio_config(&twilio, "twilio-voice"), &channel_env());
    let admin = Admin::new(&d.base);
    let ruth = "+12025550150";
    admin
        .add_member(json!({
            "name": "Ruth Baker", "phone": ruth, "contact": ["voice"], "checkin": common::cron_in(3),
        }))
        .await;

    // The check-in is a call whose TwiML gathers one key and posts it to public_url.
    let call = common::wait_for(45, "a call to Ruth at the fake Twilio", || {
        twilio.calls().into_iter().find(|c| c.to() == ruth)
    });
    assert_eq!(call.field("From"), Some(VILLAGE_NUMBER));
    let twiml = call.field("Twiml").unwrap_or("");
    assert!(twiml.contains("<Gather"), "{twiml}");
    assert!(
        twiml.contains(&format!("{PUBLIC_URL}/voice/twilio")),
        "{twiml}"
    );
    admin.wait_state(45, "ruth-baker", "prompted");

    let params = [
        ("CallSid", "CA00000000000000000000000000000001"),
        ("AccountSid", ACCOUNT_SID),
        ("From", VILLAGE_NUMBER),
        ("To", ruth),
        ("Direction", "outbound-api"),
        ("CallStatus", "in-progress"),
        ("Digits", "1"),
        ("ApiVersion", "2010-04-01"),
    ];
    let r = post_twilio(&d.base, "/voice/twilio", &params, None).await;
    assert_eq!(r.status(), 403, "an unsigned keypress");
    let r = post_twilio(&d.base, "/voice/twilio", &params, Some("AAAA")).await;
    assert_eq!(r.status(), 403, "a badly signed keypress");
    assert_eq!(admin.state("ruth-baker").await, "prompted");

    let sig = signed("/voice/twilio", &params);
    let r = post_twilio(&d.base, "/voice/twilio", &params, Some(&sig)).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("<Response"), "{body}");
    admin.wait_state(45, "ruth-baker", "answered");
}

/// The token of the first `{PUBLIC_URL}/r/...` link the log channel printed.
fn printed_link_token(d: &common::Daemon) -> Option<String> {
    let prefix = format!("{PUBLIC_URL}/r/");
    d.printed().iter().find_map(|line| {
        let rest = line.split(&prefix).nth(1)?;
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        (!token.is_empty()).then_some(token)
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn reply_links_show_a_page_on_get_and_answer_only_on_post() {
    // No channels: the log channel prints the prompts on standard output.
    let config = format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n\n[policy]\nwindow = \"60s\"\nreminders = []\n"
    );
    let d = common::start(&config, &[]);
    let admin = Admin::new(&d.base);
    admin
        .add_member(json!({
            "name": "Mary Lopez", "phone": MARY_PHONE, "checkin": common::cron_in(3),
        }))
        .await;
    let token = common::wait_for(45, "a printed prompt with a reply link", || {
        printed_link_token(&d)
    });
    assert!(
        token.len() >= 22,
        "a link token carries at least 128 bits: {token:?}"
    );
    let prompt_line = d
        .printed()
        .into_iter()
        .find(|l| l.contains(&token))
        .unwrap();
    assert!(prompt_line.contains("mary-lopez"), "{prompt_line}");
    admin.wait_state(45, "mary-lopez", "prompted");

    let http = support::client();
    let link = format!("{}/r/{token}", d.base);
    // A link preview or scanner fetching the page answers for nobody.
    for _ in 0..2 {
        let r = http.get(&link).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(ct.starts_with("text/html"), "{ct}");
        let page = r.text().await.unwrap();
        assert!(page.contains("<html"), "{page}");
        assert!(page.to_lowercase().contains("method=\"post\""), "{page}");
        assert!(page.contains("name=\"answer\""), "{page}");
    }
    assert_eq!(admin.state("mary-lopez").await, "prompted");

    // Unknown tokens are not found, and answer nothing.
    let unknown = format!("{}/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", d.base);
    assert_eq!(http.get(&unknown).send().await.unwrap().status(), 404);
    let r = http
        .post(&unknown)
        .form(&[("answer", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(admin.state("mary-lopez").await, "prompted");

    // A POST without a chosen answer (a scanner, a prefetch) answers nothing.
    let r = http
        .post(&link)
        .form(&[("other", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(admin.state("mary-lopez").await, "prompted");

    // Only the page's own answers: a forged "stop" must not opt Mary out of SMS.
    for forged in ["stop", "away 30", "ok", "<script>"] {
        let r = http
            .post(&link)
            .form(&[("answer", forged)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "answer={forged}");
    }
    assert_eq!(admin.state("mary-lopez").await, "prompted");
    let people = admin.get("/api/v1/people").await;
    assert!(
        people
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["opted_out"] == false),
        "{people}"
    );

    // POST answers.
    let r = http
        .post(&link)
        .form(&[("answer", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    admin.wait_state(45, "mary-lopez", "answered");
    // The answer counts in the answer-latency histogram like a texted one.
    let metrics = http
        .get(format!("{}/metrics", d.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("porchlight_answer_latency_seconds_count") && l.ends_with(" 1")),
        "{metrics}"
    );
}

/// A Spanish-speaking member's reply page is in Spanish, and says so to the browser.
#[tokio::test(flavor = "multi_thread")]
async fn a_spanish_speakers_reply_page_is_in_spanish() {
    let config = format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n\n[policy]\nwindow = \"60s\"\nreminders = []\n"
    );
    let d = common::start(&config, &[]);
    let admin = Admin::new(&d.base);
    admin
        .add_member(json!({
            "name": "Rosa Garcia", "phone": MARY_PHONE, "language": "es",
            "checkin": common::cron_in(3),
        }))
        .await;
    let token = common::wait_for(45, "a printed prompt with a reply link", || {
        printed_link_token(&d)
    });
    let http = support::client();
    let page = http
        .get(format!("{}/r/{token}", d.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("lang=\"es\""), "{page}");
    assert!(page.contains("Necesito ayuda"), "{page}");
    assert!(!page.contains("I need a hand"), "{page}");
    let done = http
        .post(format!("{}/r/{token}", d.base))
        .form(&[("answer", "1")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("Gracias"), "{done}");
    admin.wait_state(45, "rosa-garcia", "answered");
}
