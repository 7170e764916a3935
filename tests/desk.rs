//! The coordinator's desk, end to end: the real binary, driven by headless Chromium through
//! chromedriver (one per test binary), axe-core on every page; plus plain-HTTP checks of
//! sign-in, CSRF and escaping that need no browser.
//!
//! Schedules are seconds long (cron with seconds, 2 s windows) so nothing sleeps for a
//! schedule; pages are polled until a state appears, with a timeout.

#[path = "common/daemon.rs"]
mod support;

#[path = "desk/browser.rs"]
mod browser;

use std::time::Duration;

use browser::{Screen, overflows, screenshot, text, wait_page};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use support::common;
use support::{Admin, FakeTwilio, PUBLIC_URL, channel_env, text_in};

const ANN: &str = "+12025550201";
const HAL: &str = "+12025550202";
const MIA: &str = "+12025550203";
const PAT: &str = "+12025550204";
const BUD: &str = "+12025550205";
const OTTO: &str = "+12025550206";
const MARY: &str = "+12025550207";
const FAY: &str = "+12025550209";
const SAM: &str = "+12025550208";
const STRANGER: &str = "+12025550299";

fn config(twilio: &FakeTwilio) -> String {
    format!(
        r#"[server]
public_url = "{PUBLIC_URL}"

[village]
name = "Maple Street Village"
coordinators = ["coordinator-desk"]

[policy]
window = "1h"
reminders = []

{}"#,
        twilio.channel("sms", "twilio")
    )
}

async fn sign_in(c: &Client, base: &str) {
    c.goto(&format!("{base}/")).await.unwrap();
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), "/signin", "an unsigned visit goes to sign-in");
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(common::TOKEN)
        .await
        .unwrap();
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(c, 10, "Today after sign-in", "h1", "Today").await;
}

async fn state_of(c: &Client, member: &str) -> String {
    text(c, &format!("#m-{member} .state")).await
}

/// Builds a village with a member in each state, through the admin API and signed SMS.
async fn village(base: &str, twilio: &FakeTwilio) -> Admin {
    let admin = Admin::new(base);
    for (id, name, phone) in [
        ("bud-buddy", "Bud Buddy", BUD),
        ("fay-family", "Fay Family", FAY),
        ("coordinator-desk", "Coordinator Desk", "+12025550298"),
    ] {
        admin
            .add_person(json!({"id": id, "name": name, "phone": phone}))
            .await;
    }
    let soon = common::cron_in(3);
    for m in [
        json!({"id": "ann", "name": "Ann Answers", "phone": ANN, "checkin": soon}),
        json!({"id": "mia", "name": "Mia Misses", "phone": MIA, "checkin": soon, "window": "2s", "buddies": ["bud-buddy"], "family": ["fay-family"]}),
        json!({"id": "pat", "name": "Pat Prompted", "phone": PAT, "checkin": soon}),
        json!({"id": "hal", "name": "Hal Help", "phone": HAL, "checkin": "23:59"}),
        json!({"id": "otto", "name": "Otto Optout", "phone": OTTO, "checkin": "23:59"}),
        json!({"id": "paul", "name": "Paul Paused", "checkin": "23:59", "paused": true}),
        json!({"id": "ava", "name": "Ava Away", "checkin": "23:59"}),
        json!({"id": "mary-lopez", "name": "Mary <b>Lopez</b>", "phone": MARY, "checkin": "23:59"}),
    ] {
        admin.add_member(m).await;
    }
    let until = (chrono::Utc::now() + chrono::TimeDelta::days(3))
        .date_naive()
        .to_string();
    let (s, v) = admin
        .call(
            reqwest::Method::POST,
            "/api/v1/members/ava/away",
            Some(json!({ "until": until })),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // Ann answers her prompt in her own words; Hal asks for help; Otto texts STOP; a
    // stranger texts the village.
    common::wait_for(20, "Ann's prompt", || twilio.sms_to(ANN).into_iter().next());
    text_in(base, ANN, "fine thanks, off to the market", "SMann1").await;
    text_in(base, HAL, "help I fell in the kitchen", "SMhal1").await;
    text_in(base, OTTO, "STOP", "SMotto1").await;
    text_in(base, STRANGER, "who is this? is my mom ok", "SMstr1").await;
    // Mia stays quiet: at her deadline Bud is asked to knock, and says he is on his way.
    common::wait_for(20, "Bud's alert about Mia", || twilio.find_sms(BUD, "Mia"));
    text_in(base, BUD, "otw", "SMbud1").await;
    admin.wait_state(10, "pat", "prompted");
    admin.wait_state(10, "ann", "answered");
    admin.wait_state(10, "hal", "help");
    admin.wait_state(10, "otto", "opted_out");
    admin
}

#[tokio::test(flavor = "multi_thread")]
async fn the_desk_in_headless_chromium() {
    let Some(mut b) = browser::start() else {
        return;
    };
    let twilio = FakeTwilio::start().await;
    // Sam's check-in falls due and its window closes while the daemon is down: skipped.
    let dir = tempfile::tempdir().unwrap().keep();
    let mut down = common::start_in(dir.clone(), &config(&twilio), &channel_env());
    let due = chrono::Utc::now() + chrono::TimeDelta::seconds(3);
    Admin::new(&down.base)
        .add_member(json!({"id": "sam", "name": "Sam Skipped", "phone": SAM, "checkin": common::cron_in(3), "window": "2s"}))
        .await;
    down.kill9();
    common::wait_for(15, "Sam's window to close while the daemon is down", || {
        (chrono::Utc::now() > due + chrono::TimeDelta::seconds(3)).then_some(())
    });
    let d = common::start_in(dir, &config(&twilio), &channel_env());
    let admin = village(&d.base, &twilio).await;
    let base = d.base.clone();

    // ----- sign in (a wrong token first) --------------------------------------------------
    let c = b.session(Screen::Desktop).await;
    c.goto(&format!("{base}/alerts")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/signin");
    b.axe(&c, "sign-in").await;
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys("not-the-token")
        .await
        .unwrap();
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(&c, 10, "the wrong-token message", "main", "not right").await;
    sign_in(&c, &base).await;

    // ----- Today: a member in each state, problems first ----------------------------------
    wait_page(&c, 10, "Mia's claim", "#m-mia", "Claimed by Bud Buddy").await;
    for (id, words) in [
        ("hal", "Needs help"),
        ("mia", "Missed check-in"),
        ("sam", "Skipped (service down)"),
        ("pat", "Prompted, no answer yet"),
        ("ann", "Answered"),
        ("mary-lopez", "Not prompted yet"),
        ("ava", "Away"),
        ("paul", "Paused"),
        ("otto", "Opted out of texts"),
    ] {
        assert_eq!(state_of(&c, id).await, words, "{id}'s state in words");
        let icon = c
            .find(Locator::Css(&format!("#m-{id} .state svg use")))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(
            icon.starts_with("/desk/icons.svg#"),
            "{id} has an icon: {icon}"
        );
    }
    let problems: Vec<String> = {
        let mut v = Vec::new();
        for e in c
            .find_all(Locator::Css("#problems + ul.board > li"))
            .await
            .unwrap()
        {
            v.push(e.attr("id").await.unwrap().unwrap_or_default());
        }
        v
    };
    assert_eq!(
        problems,
        ["m-hal", "m-mia", "m-sam"],
        "help first, then the missed check-in, then the skipped one"
    );
    let ann = text(&c, "#m-ann").await;
    assert!(
        ann.contains("fine thanks, off to the market"),
        "Ann's words: {ann}"
    );
    let mia = text(&c, "#m-mia").await;
    assert!(
        mia.contains("level 1") && mia.contains("Alerted: Bud Buddy (level 1)"),
        "{mia}"
    );
    let counts = text(&c, ".counts")
        .await
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        counts.contains("9 members") && counts.contains("1 need help"),
        "{counts}"
    );
    // A name with HTML in it is text, not markup.
    assert_eq!(text(&c, "#m-mary-lopez h3 a").await, "Mary <b>Lopez</b>");
    assert!(
        c.find(Locator::Css("#m-mary-lopez h3 b")).await.is_err(),
        "no <b> element was made from the name"
    );
    b.axe(&c, "Today").await;
    screenshot(&c, "today").await;
    let (wide, w) = overflows(&c).await;
    assert!(!wide, "Today does not scroll sideways on a desktop: {w}");

    // ----- open a member ------------------------------------------------------------------
    c.find(Locator::LinkText("Pat Prompted"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(&c, 10, "Pat's page", "h1", "Pat Prompted").await;
    let page = text(&c, "main").await;
    for want in [
        "Contact",
        PAT,
        "Schedule and policy",
        "The last 30 days",
        "Messages sent (30 days)",
        "sent by sms",
    ] {
        assert!(page.contains(want), "Pat's page shows {want:?}:\n{page}");
    }
    let days = c.find_all(Locator::Css("ol.strip > li")).await.unwrap();
    assert_eq!(days.len(), 30, "a strip of 30 days");
    b.axe(&c, "member").await;
    screenshot(&c, "member").await;
    c.find(Locator::LinkText("Edit Pat Prompted"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(&c, 10, "the edit form", "h1", "Edit Pat Prompted").await;
    b.axe(&c, "member edit").await;

    // ----- mark away ----------------------------------------------------------------------
    c.goto(&format!("{base}/members/mary-lopez")).await.unwrap();
    let until = (chrono::Utc::now() + chrono::TimeDelta::days(5)).date_naive();
    // A date field's typing format depends on the locale; set its value as a picker would.
    c.execute(
        "document.getElementById('until').value = arguments[0]; return true;",
        vec![json!(until.to_string())],
    )
    .await
    .unwrap();
    c.find(Locator::Css("form[action$='/away'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(&c, 10, "the away confirmation", ".flash", "is away").await;
    assert_eq!(text(&c, "main .state").await, "Away");
    assert_eq!(
        admin.get("/api/v1/members/mary-lopez").await["away_until"],
        json!(until.to_string())
    );

    // ----- resolve an alert with a reason; the all-clear is queued --------------------------
    c.goto(&format!("{base}/alerts")).await.unwrap();
    wait_page(&c, 10, "the alerts page", "h1", "Open alerts").await;
    b.axe(&c, "alerts").await;
    screenshot(&c, "alerts").await;
    // Escalate now: the family, due 30 minutes after the miss, is alerted at once.
    assert!(
        twilio.sms_to(FAY).is_empty(),
        "the family is not alerted yet"
    );
    let escalate = c
        .find(Locator::Css(
            "form[action='/alerts/escalate']:has(input[value='mia']) button",
        ))
        .await
        .unwrap();
    assert!(escalate.text().await.unwrap().contains("level 2"));
    escalate.click().await.unwrap();
    wait_page(&c, 10, "the escalation", ".flash", "alerted Fay Family").await;
    common::wait_for(15, "Fay's alert about Mia", || twilio.find_sms(FAY, "Mia"));
    let reason = "Bud saw her, she is fine";
    let form = c
        .find(Locator::Css(
            "form[action='/alerts/resolve']:has(input[value='mia'])",
        ))
        .await
        .unwrap();
    form.find(Locator::Css("input[name=reason]"))
        .await
        .unwrap()
        .send_keys(reason)
        .await
        .unwrap();
    form.find(Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(
        &c,
        10,
        "the all-clear confirmation",
        ".flash",
        "All-clear queued for Bud Buddy",
    )
    .await;
    assert_eq!(c.current_url().await.unwrap().path(), "/members/mia");
    wait_page(
        &c,
        10,
        "the all-clear in Mia's messages",
        "#messages + table",
        "all-clear",
    )
    .await;
    let sms = common::wait_for(15, "the all-clear SMS to Bud", || {
        twilio.find_sms(BUD, "fine")
    });
    assert!(sms.body().contains("Mia"), "{}", sms.body());
    let events = admin.get("/api/v1/events?limit=5000").await;
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "resolved"
                && e["member"] == "mia"
                && e["text"].as_str().is_some_and(|t| t.contains(reason))),
        "the reason is recorded: {events}"
    );
    c.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(state_of(&c, "mia").await, "Resolved");

    // ----- a roll call fills in as replies arrive --------------------------------------------
    c.goto(&format!("{base}/rollcall")).await.unwrap();
    b.axe(&c, "roll call").await;
    c.find(Locator::Id("message"))
        .await
        .unwrap()
        .send_keys("heat advisory")
        .await
        .unwrap();
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(&c, 10, "the roll call page", ".flash", "Roll call started").await;
    let page = text(&c, "main").await;
    assert!(page.contains("heat advisory"), "{page}");
    let to_call = text(&c, "#tocall + table").await;
    for want in [
        "Ann Answers",
        ANN,
        "Unaccounted for",
        "Ava Away",
        "away until",
        "Not asked",
        "Otto Optout",
    ] {
        assert!(
            to_call.contains(want),
            "the call list has {want:?}:\n{to_call}"
        );
    }
    b.axe(&c, "roll call status").await;
    common::wait_for(20, "Ann's roll-call text", || {
        twilio.find_sms(ANN, "checking on everyone")
    });
    text_in(&base, ANN, "1", "SMann2").await;
    text_in(&base, PAT, "all good here", "SMpat2").await;
    wait_page(
        &c,
        20,
        "Ann's answer on the roll call",
        "#answered + table",
        "Ann Answers",
    )
    .await;
    wait_page(
        &c,
        20,
        "Pat's answer on the roll call",
        "#answered + table",
        "all good here",
    )
    .await;
    let refreshed = c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .attr("data-refreshed")
        .await
        .unwrap();
    assert!(
        refreshed.is_some(),
        "the page refreshed itself without a reload"
    );
    screenshot(&c, "rollcall").await;
    c.find(Locator::LinkText("Printable call list"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(&c, 10, "the call list", "h1", "Call list").await;
    let list = text(&c, "main").await;
    assert!(
        list.contains("Hal Help") && !list.contains("Ann Answers"),
        "{list}"
    );
    b.axe(&c, "call list").await;

    // ----- inbox ------------------------------------------------------------------------
    c.goto(&format!("{base}/inbox")).await.unwrap();
    let inbox = text(&c, "main").await;
    for want in [
        "Text from an unknown number",
        STRANGER,
        "who is this? is my mom ok",
        "Opted out of texts",
    ] {
        assert!(inbox.contains(want), "the inbox has {want:?}:\n{inbox}");
    }
    b.axe(&c, "inbox").await;
    let item = c
        .find(Locator::XPath(
            "//li[.//blockquote[contains(., 'who is this')]]",
        ))
        .await
        .unwrap();
    let item_id = item.attr("id").await.unwrap().unwrap();
    item.find(Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(&c, 10, "the done mark", ".flash", "Marked done").await;
    assert!(
        c.find(Locator::Id(&item_id)).await.is_err(),
        "a done item leaves the open list"
    );
    c.goto(&format!("{base}/inbox?show=all")).await.unwrap();
    assert!(
        text(&c, &format!("#{item_id}"))
            .await
            .contains("Done by coordinator")
    );

    // ----- roster: a CSV with one bad row is refused whole --------------------------------
    c.goto(&format!("{base}/roster")).await.unwrap();
    b.axe(&c, "roster").await;
    let people_before = admin.get("/api/v1/people").await;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("roster.csv");
    std::fs::write(
        &bad,
        "id,name,phone,checkin,buddies\nrosa,Rosa Diaz,+12025550301,09:30,\nbert,Bert Bad,not-a-phone,10:00,\n",
    )
    .unwrap();
    c.find(Locator::Id("csvfile"))
        .await
        .unwrap()
        .send_keys(&bad.display().to_string())
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/roster/upload'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(
        &c,
        10,
        "the upload preview",
        "#upload-errors",
        "Nothing was saved",
    )
    .await;
    let preview = text(&c, "main table").await;
    assert!(
        preview.contains('2') && preview.contains("phone"),
        "row 2's phone: {preview}"
    );
    b.axe(&c, "upload preview").await;
    screenshot(&c, "upload-errors").await;
    assert_eq!(
        admin.get("/api/v1/people").await,
        people_before,
        "nothing was saved"
    );
    // The fixed file is previewed, then saved.
    std::fs::write(
        &bad,
        "id,name,phone,checkin,buddies\nrosa,Rosa Diaz,+12025550301,09:30,\nbert,Bert Good,+12025550302,10:00,rosa\n",
    )
    .unwrap();
    c.goto(&format!("{base}/roster")).await.unwrap();
    c.find(Locator::Id("csvfile"))
        .await
        .unwrap()
        .send_keys(&bad.display().to_string())
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/roster/upload'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(
        &c,
        10,
        "the clean preview",
        "main",
        "2 members will be added",
    )
    .await;
    assert!(
        admin
            .call(reqwest::Method::GET, "/api/v1/members/rosa", None)
            .await
            .0
            == 404
    );
    c.find(Locator::Css("form[action='/roster/import'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(&c, 10, "the import confirmation", ".flash", "Roster saved").await;
    c.goto(&format!("{base}/roster")).await.unwrap();
    c.find(Locator::Css("a[href='/roster/people/bud-buddy/edit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(&c, 10, "the person edit form", "h1", "Edit Bud Buddy").await;
    b.axe(&c, "person edit").await;
    let phone = c.find(Locator::Id("phone")).await.unwrap();
    phone.clear().await.unwrap();
    phone.send_keys("+12025550255").await.unwrap();
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(&c, 10, "the saved person", ".flash", "Saved Bud Buddy").await;
    let people = admin.get("/api/v1/people").await;
    let bud = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "bud-buddy")
        .unwrap();
    assert_eq!(bud["phone"], "+12025550255", "{bud}");
    assert_eq!(
        admin.get("/api/v1/members/bert").await["buddies"],
        json!(["rosa"])
    );

    // ----- 360 px and 200% zoom ------------------------------------------------------------
    for (screen, name) in [
        (Screen::Phone360, "today-360px"),
        (Screen::Zoom200, "today-200pct"),
    ] {
        let s = b.session(screen).await;
        sign_in(&s, &base).await;
        let (wide, w) = overflows(&s).await;
        assert!(!wide, "{name}: Today does not scroll sideways: {w}");
        // The refresh swaps the content in place: the reader stays where they were.
        let y = s
            .execute("window.scrollTo(0, 400); return window.scrollY;", vec![])
            .await
            .unwrap();
        assert!(
            y.as_f64().unwrap_or(0.0) > 0.0,
            "{name}: the page scrolls: {y}"
        );
        s.execute("window.porchlightRefresh(); return true;", vec![])
            .await
            .unwrap();
        let main = s.find(Locator::Css("main")).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while main.attr("data-refreshed").await.unwrap().is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "{name}: the page refreshed"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let after = s.execute("return window.scrollY;", vec![]).await.unwrap();
        assert_eq!(
            after, y,
            "{name}: the scroll position is kept across a refresh"
        );
        s.execute("window.scrollTo(0, 0); return true;", vec![])
            .await
            .unwrap();
        let hal = text(&s, "#m-hal .state").await;
        assert_eq!(hal, "Needs help", "{name}");
        screenshot(&s, name).await;
        b.axe(&s, name).await;
        s.close().await.unwrap();
    }

    // ----- sign out -------------------------------------------------------------------------
    c.goto(&format!("{base}/")).await.unwrap();
    c.find(Locator::Css("form.signout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_page(&c, 10, "the sign-in page", "h1", "coordinator's desk").await;
    c.goto(&format!("{base}/inbox")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/signin");
    c.close().await.unwrap();
    drop(d);
    tokio::time::sleep(Duration::from_millis(10)).await;
}

// ----- without a browser -------------------------------------------------------------------

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
}

fn field(html: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let start = html.find(&key).map(|i| i + key.len()).expect("the field");
    html[start..].split('"').next().unwrap().to_string()
}

/// Signs in over plain HTTP: the session cookie and a page's CSRF token.
async fn http_sign_in(http: &reqwest::Client, base: &str) -> (String, String) {
    let r = http.get(format!("{base}/signin")).send().await.unwrap();
    let pre = cookie(&r, "porchlight_signin").expect("the pre-sign-in cookie");
    let csrf = field(&r.text().await.unwrap(), "csrf");
    let r = http
        .post(format!("{base}/signin"))
        .header("cookie", &pre)
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", common::TOKEN),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = cookie(&r, "porchlight_desk").expect("the session cookie");
    let set = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let page = http
        .get(format!("{base}/"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (session, field(&page, "csrf"))
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_session_every_page_and_form_redirects_to_sign_in() {
    let d = common::start("", &[]);
    let admin = Admin::new(&d.base);
    admin
        .add_member(json!({"id": "mary", "name": "Mary Lopez", "checkin": "09:00"}))
        .await;
    let http = no_redirects();
    for path in [
        "/",
        "/members/mary",
        "/members/mary/edit",
        "/alerts",
        "/rollcall",
        "/rollcall/rc-20260101-090000",
        "/rollcall/rc-20260101-090000/print",
        "/inbox",
        "/roster",
        "/roster/export.csv",
        "/roster/people/mary/edit",
    ] {
        let r = http.get(format!("{}{path}", d.base)).send().await.unwrap();
        assert_eq!(r.status(), 303, "GET {path}");
        let to = r.headers()["location"].to_str().unwrap().to_string();
        assert!(to.starts_with("/signin?next="), "GET {path} → {to}");
    }
    // A stale or forged cookie is no session either.
    let r = http
        .get(format!("{}/", d.base))
        .header("cookie", "porchlight_desk=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    for path in [
        "/members/mary/away",
        "/members/mary/pause",
        "/alerts/resolve",
        "/rollcall",
        "/inbox/done",
        "/roster/people",
    ] {
        let r = http
            .post(format!("{}{path}", d.base))
            .form(&[("until", "2099-01-01"), ("paused", "true"), ("name", "X")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "POST {path}");
        assert_eq!(r.headers()["location"], "/signin?next=%2F", "POST {path}");
    }
    let m = admin.get("/api/v1/members/mary").await;
    assert_eq!(m["away_until"], Value::Null);
    assert_eq!(m["paused"], false);
    // The sign-in page itself and the assets need no session.
    assert_eq!(
        http.get(format!("{}/signin", d.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(format!("{}/desk/desk.css", d.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_post_without_its_csrf_token_is_refused() {
    let d = common::start("", &[]);
    let admin = Admin::new(&d.base);
    admin
        .add_member(json!({"id": "mary", "name": "Mary Lopez", "checkin": "09:00"}))
        .await;
    let http = no_redirects();
    let (session, csrf) = http_sign_in(&http, &d.base).await;
    let away = format!("{}/members/mary/away", d.base);
    for form in [
        vec![("until", "2099-01-01")],
        vec![("until", "2099-01-01"), ("csrf", "")],
        vec![("until", "2099-01-01"), ("csrf", "not-the-token")],
    ] {
        let r = http
            .post(&away)
            .header("cookie", &session)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{form:?}");
        assert!(r.text().await.unwrap().contains("CSRF"));
    }
    assert_eq!(
        admin.get("/api/v1/members/mary").await["away_until"],
        Value::Null
    );
    // With the token the same post works.
    let r = http
        .post(&away)
        .header("cookie", &session)
        .form(&[("until", "2099-01-01"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        admin.get("/api/v1/members/mary").await["away_until"],
        "2099-01-01"
    );
    // Sign-in itself needs the token of its own form.
    let r = http
        .post(format!("{}/signin", d.base))
        .form(&[("token", common::TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        cookie(&r, "porchlight_desk").is_none(),
        "no session without the form's token"
    );
    // The upload (multipart) checks it too.
    let body = "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.csv\"\r\nContent-Type: text/csv\r\n\r\nid,name\nx,X\n\r\n--XYZ--\r\n";
    let r = http
        .post(format!("{}/roster/upload", d.base))
        .header("cookie", &session)
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn member_names_with_html_in_them_are_shown_as_text() {
    let d = common::start("", &[]);
    let admin = Admin::new(&d.base);
    let name = "<script>alert(1)</script><b>Mary</b>";
    admin
        .add_member(json!({"id": "mary", "name": name, "checkin": "09:00"}))
        .await;
    let http = no_redirects();
    let (session, _) = http_sign_in(&http, &d.base).await;
    for path in ["/", "/members/mary", "/roster", "/members/mary/edit"] {
        let page = http
            .get(format!("{}{path}", d.base))
            .header("cookie", &session)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;Mary&lt;/b&gt;"),
            "{path} shows the name as text"
        );
        assert!(
            !page.contains("<script>alert"),
            "{path} has no script from the name"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_sign_in_tokens_are_refused_and_then_limited() {
    let d = common::start("", &[]);
    let http = no_redirects();
    let r = http.get(format!("{}/signin", d.base)).send().await.unwrap();
    let pre = cookie(&r, "porchlight_signin").expect("the pre-sign-in cookie");
    let csrf = field(&r.text().await.unwrap(), "csrf");
    let attempt = |token: &'static str| {
        http.post(format!("{}/signin", d.base))
            .header("cookie", &pre)
            .form(&[("csrf", csrf.clone()), ("token", token.to_string())])
            .send()
    };
    for _ in 0..10 {
        let r = attempt("wrong-token-wrong-token").await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(cookie(&r, "porchlight_desk").is_none());
        assert!(r.text().await.unwrap().contains("not right"));
    }
    // Ten wrong tokens in a minute: even the right one waits.
    let r = attempt(common::TOKEN).await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "60");
    assert!(cookie(&r, "porchlight_desk").is_none());
}
