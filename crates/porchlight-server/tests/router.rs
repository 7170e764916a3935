//! The admin API's router in process: `tower::ServiceExt::oneshot` on
//! `porchlight_server::api::router`, over a real sled store in a temporary directory, with no
//! listener and no daemon tasks. Every error is `{"error": {"code", "message"}}` with the
//! right status, and every route needs the bearer token.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Request, StatusCode, header};
use porchlight_server::config::Config;
use porchlight_server::router::ADMIN_BODY_LIMIT;
use porchlight_store::Store;
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "router-test-token-0123456789";

/// The admin router over a fresh store, as `serve` mounts it (with its body limit); the
/// temporary directory lives as long as the router is used.
fn router_with(token: Option<&str>) -> (Router, tempfile::TempDir) {
    let token = token.map(str::to_string);
    let env = move |name: &str| {
        (name == "PORCHLIGHT_ADMIN_TOKEN")
            .then(|| token.clone())
            .flatten()
    };
    let config = Config::defaults(&env).expect("the defaults are a valid config");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(dir.path(), config.village.clone()).expect("a new store opens");
    let app = porchlight_server::in_process::app(Arc::new(store), Arc::new(config));
    let router = porchlight_server::api::router(app).layer(DefaultBodyLimit::max(ADMIN_BODY_LIMIT));
    (router, dir)
}

fn router() -> (Router, tempfile::TempDir) {
    router_with(Some(TOKEN))
}

/// A request with the token (when `auth` is `Some`) and a body sent as it is.
fn request(
    method: Method,
    path: &str,
    auth: Option<&str>,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(a) = auth {
        b = b.header(header::AUTHORIZATION, a);
    }
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    b.body(body.into()).expect("a valid request")
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn json_request(method: Method, path: &str, body: &Value) -> Request<Body> {
    request(
        method,
        path,
        Some(&bearer()),
        Some("application/json"),
        body.to_string(),
    )
}

/// Sends one request; the status, the content type and the body read as JSON.
async fn send(router: &Router, req: Request<Body>) -> (StatusCode, String, Value) {
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("the body reads");
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            )
        })
    };
    (status, ct, v)
}

/// The error shape, exactly: `{"error": {"code", "message"}}` and nothing else.
fn assert_error(status: StatusCode, ct: &str, v: &Value, want: StatusCode, code: &str) -> String {
    assert_eq!(status, want, "{v}");
    assert!(ct.starts_with("application/json"), "content type {ct:?}");
    let obj = v.as_object().expect("an object");
    assert_eq!(obj.len(), 1, "only `error`: {v}");
    let err = v["error"].as_object().expect("error is an object");
    assert_eq!(err.len(), 2, "only code and message: {v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    let message = v["error"]["message"].as_str().expect("a message");
    assert!(!message.is_empty(), "{v}");
    message.to_string()
}

#[tokio::test]
async fn every_route_refuses_a_missing_or_wrong_token() {
    let (router, _dir) = router();
    let wrong = [
        None,
        Some("Bearer wrong-token-0123456789".to_string()),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Basic {TOKEN}")),
        Some("Bearer ".to_string()),
        Some(TOKEN.to_string()),
    ];
    for (method, path) in [
        (Method::GET, "/api/v1/openapi.json"),
        (Method::GET, "/api/v1/people"),
        (Method::POST, "/api/v1/people"),
        (Method::GET, "/api/v1/members"),
        (Method::DELETE, "/api/v1/members/mary"),
        (Method::POST, "/api/v1/rollcall"),
        (Method::GET, "/api/v1/status"),
        (Method::GET, "/api/v1/export"),
        (Method::GET, "/api/v1/no-such-route"),
    ] {
        for auth in &wrong {
            let req = request(
                method.clone(),
                path,
                auth.as_deref(),
                Some("application/json"),
                "{}",
            );
            let (s, ct, v) = send(&router, req).await;
            let m = assert_error(s, &ct, &v, StatusCode::UNAUTHORIZED, "unauthorized");
            assert_eq!(
                m, "missing or wrong bearer token",
                "{method} {path} {auth:?}"
            );
        }
    }
    // Nothing the refused requests asked for happened.
    let req = request(Method::GET, "/api/v1/people", Some(&bearer()), None, "");
    let (s, _, v) = send(&router, req).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, json!([]));
}

#[tokio::test]
async fn the_scheme_is_case_insensitive() {
    let (router, _dir) = router();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let auth = format!("{scheme} {TOKEN}");
        let req = request(Method::GET, "/api/v1/members", Some(&auth), None, "");
        let (s, _, v) = send(&router, req).await;
        assert_eq!(s, StatusCode::OK, "{scheme}: {v}");
        assert_eq!(v, json!([]), "{scheme}");
    }
}

#[tokio::test]
async fn without_a_configured_token_the_api_is_off_and_says_how_to_turn_it_on() {
    let (router, _dir) = router_with(None);
    let req = request(Method::GET, "/api/v1/status", Some(&bearer()), None, "");
    let (s, ct, v) = send(&router, req).await;
    let m = assert_error(s, &ct, &v, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(
        m,
        "the admin API is disabled: start the daemon with PORCHLIGHT_ADMIN_TOKEN set"
    );
}

#[tokio::test]
async fn a_bad_value_is_a_400_naming_the_field_and_changes_nothing() {
    let (router, _dir) = router();
    for (body, field) in [
        (json!({"name": "Mary Lopez", "phone": "555"}), "phone"),
        (
            json!({"name": "Mary Lopez", "checkin": "8.30am"}),
            "checkin",
        ),
        (
            json!({"name": "Mary Lopez", "timezone": "Mars/Base"}),
            "timezone",
        ),
        (json!({"name": "Mary Lopez", "window": "soon"}), "window"),
        (json!({"name": "Mary Lopez", "by": "cat"}), "by"),
        (
            json!({"name": "Mary Lopez", "buddies": ["nobody"]}),
            "buddies",
        ),
        (
            json!({"name": "Mary Lopez", "escalation": [{"after": "soon", "notify": "family"}]}),
            "escalation",
        ),
    ] {
        let req = json_request(Method::POST, "/api/v1/members", &body);
        let (s, ct, v) = send(&router, req).await;
        let m = assert_error(s, &ct, &v, StatusCode::BAD_REQUEST, "invalid");
        assert!(m.starts_with(field), "{field}: {m}");
    }
    let req = json_request(
        Method::POST,
        "/api/v1/people",
        &json!({"name": "Bob", "phone": "1"}),
    );
    let (s, ct, v) = send(&router, req).await;
    let m = assert_error(s, &ct, &v, StatusCode::BAD_REQUEST, "invalid");
    assert!(m.starts_with("phone"), "{m}");
    let req = json_request(Method::POST, "/api/v1/rollcall", &json!({"window": "0s"}));
    let (s, ct, v) = send(&router, req).await;
    let m = assert_error(s, &ct, &v, StatusCode::BAD_REQUEST, "invalid");
    assert_eq!(m, "window: must be longer than 0s");
    let req = request(
        Method::GET,
        "/api/v1/checkins?date=yesterday",
        Some(&bearer()),
        None,
        "",
    );
    let (s, ct, v) = send(&router, req).await;
    let m = assert_error(s, &ct, &v, StatusCode::BAD_REQUEST, "invalid");
    assert_eq!(m, "date: \"yesterday\" is not YYYY-MM-DD");

    let req = request(Method::GET, "/api/v1/members", Some(&bearer()), None, "");
    assert_eq!(send(&router, req).await.2, json!([]));
    let req = request(Method::GET, "/api/v1/people", Some(&bearer()), None, "");
    assert_eq!(send(&router, req).await.2, json!([]));
}

#[tokio::test]
async fn malformed_json_is_a_400_bad_request() {
    let (router, _dir) = router();
    let req = request(
        Method::POST,
        "/api/v1/members",
        Some(&bearer()),
        Some("application/json"),
        "{\"name\": \"Mary Lopez\", ",
    );
    let (s, ct, v) = send(&router, req).await;
    assert_error(s, &ct, &v, StatusCode::BAD_REQUEST, "bad_request");
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_a_422_naming_what_is_wrong() {
    let (router, _dir) = router();
    // An unknown field (the bodies deny them) and a wrong type.
    for (body, says) in [
        (json!({"name": "Mary Lopez", "colour": "blue"}), "colour"),
        (json!({"name": "Mary Lopez", "paused": "yes"}), "paused"),
        (json!({"until": 20261224}), "until"),
    ] {
        let path = if body.get("until").is_some() {
            "/api/v1/members/mary-lopez/away"
        } else {
            "/api/v1/members"
        };
        let req = json_request(Method::POST, path, &body);
        let (s, ct, v) = send(&router, req).await;
        let m = assert_error(s, &ct, &v, StatusCode::UNPROCESSABLE_ENTITY, "bad_request");
        assert!(m.contains(says), "{says}: {m}");
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let (router, _dir) = router();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let req = request(
            Method::POST,
            "/api/v1/members",
            Some(&bearer()),
            ct,
            "{\"name\": \"Mary Lopez\"}",
        );
        let (s, got_ct, v) = send(&router, req).await;
        assert_error(
            s,
            &got_ct,
            &v,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        );
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let (router, _dir) = router();
    let big = format!(
        "{{\"name\": \"Mary Lopez\", \"padding\": \"{}\"}}",
        "x".repeat(ADMIN_BODY_LIMIT + 1)
    );
    let req = request(
        Method::POST,
        "/api/v1/members",
        Some(&bearer()),
        Some("application/json"),
        big.clone(),
    );
    let (s, ct, v) = send(&router, req).await;
    assert_error(s, &ct, &v, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    // The CSV import reads its body as bytes: the same limit, the same shape.
    let req = request(
        Method::POST,
        "/api/v1/import",
        Some(&bearer()),
        Some("text/csv"),
        big,
    );
    let (s, ct, v) = send(&router, req).await;
    let m = assert_error(s, &ct, &v, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    assert_eq!(m, "the request body is too large");
}

#[tokio::test]
async fn unknown_things_are_404s() {
    let (router, _dir) = router();
    for (method, path, want) in [
        (Method::GET, "/api/v1/no-such-route", "no such API route"),
        (
            Method::GET,
            "/api/v1/members/nobody",
            "member \"nobody\" not found",
        ),
        (
            Method::GET,
            "/api/v1/people/nobody",
            "person \"nobody\" not found",
        ),
        (
            Method::DELETE,
            "/api/v1/people/nobody",
            "person \"nobody\" not found",
        ),
        (
            Method::GET,
            "/api/v1/rollcall/rc-20261124-090000",
            "roll call \"rc-20261124-090000\" not found",
        ),
        (
            Method::GET,
            "/api/v1/messages/12345",
            "message 12345 not found",
        ),
    ] {
        let req = request(method.clone(), path, Some(&bearer()), None, "");
        let (s, ct, v) = send(&router, req).await;
        let m = assert_error(s, &ct, &v, StatusCode::NOT_FOUND, "not_found");
        assert_eq!(m, want, "{method} {path}");
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_405() {
    let (router, _dir) = router();
    for (method, path) in [
        (Method::DELETE, "/api/v1/status"),
        (Method::PUT, "/api/v1/people"),
        (Method::GET, "/api/v1/rollcall"),
        (Method::POST, "/api/v1/export"),
    ] {
        let req = request(method.clone(), path, Some(&bearer()), None, "");
        let (s, ct, v) = send(&router, req).await;
        let m = assert_error(
            s,
            &ct,
            &v,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        );
        assert_eq!(m, "this route does not take that method", "{method} {path}");
    }
}

#[tokio::test]
async fn a_duplicate_is_a_409_and_the_first_stays() {
    let (router, _dir) = router();
    let mary = json!({"name": "Mary Lopez", "phone": "+12025550143"});
    let (s, _, v) = send(
        &router,
        json_request(Method::POST, "/api/v1/members", &mary),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v, json!({"id": "mary-lopez"}));
    let (s, ct, v) = send(
        &router,
        json_request(Method::POST, "/api/v1/members", &mary),
    )
    .await;
    let m = assert_error(s, &ct, &v, StatusCode::CONFLICT, "conflict");
    assert_eq!(m, "\"mary-lopez\" already exists");
    // The wire types read the answers back.
    let req = request(Method::GET, "/api/v1/members", Some(&bearer()), None, "");
    let (_, _, v) = send(&router, req).await;
    let members: Vec<porchlight_wire::MemberOut> =
        serde_json::from_value(v).expect("the members read as MemberOut");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].id, "mary-lopez");
    assert_eq!(members[0].phone.as_deref(), Some("+12025550143"));
}

#[tokio::test]
async fn a_bad_csv_import_lists_every_bad_row_and_imports_nothing() {
    let (router, _dir) = router();
    let csv = "id,name,phone,checkin\nmary,Mary Lopez,+12025550143,09:00\nbob,Bob,555,\nana,Ana,,8.30am\n";
    let req = request(
        Method::POST,
        "/api/v1/import",
        Some(&bearer()),
        Some("text/csv"),
        csv,
    );
    let (s, _, v) = send(&router, req).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let refused: porchlight_wire::ImportRejected =
        serde_json::from_value(v.clone()).expect("the body reads as ImportRejected");
    assert_eq!(refused.error.code, "invalid");
    assert_eq!(refused.error.message, "2 bad row(s); nothing was imported");
    let rows: Vec<usize> = refused.rows.iter().map(|r| r.row).collect();
    assert_eq!(rows, [2, 3], "{v}");
    assert!(refused.rows[0].message.starts_with("phone"), "{v}");
    assert!(refused.rows[1].message.starts_with("checkin"), "{v}");
    let req = request(Method::GET, "/api/v1/members", Some(&bearer()), None, "");
    assert_eq!(send(&router, req).await.2, json!([]));
}
