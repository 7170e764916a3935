//! Sign-in with the admin token, sessions, and CSRF tokens.
//!
//! A session is 128 random bits in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` when the
//! public URL is https), kept in memory: it expires after [`IDLE`] without use and
//! [`LIFETIME`] after sign-in, and a restart signs everyone out. Every form carries the
//! session's CSRF token, compared in constant time; the sign-in form, posted before there is
//! a session, carries a token that must match a short-lived pre-sign-in cookie.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{Desk, DeskError, bare};

/// The session cookie.
pub const COOKIE: &str = "porchlight_desk";
/// The pre-sign-in cookie holding the sign-in form's CSRF token.
pub const PRE_COOKIE: &str = "porchlight_signin";
/// A session ends after this long unused.
pub const IDLE: Duration = Duration::from_secs(12 * 3600);
/// A session ends this long after sign-in, used or not.
pub const LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// Most sessions kept at once (the oldest go first).
const MAX_SESSIONS: usize = 1000;
/// Wrong tokens one client may try per [`FAILURE_WINDOW`] before sign-in refuses it (429).
pub const MAX_FAILURES: u32 = 10;
/// The window wrong tokens are counted over.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Clients whose failures are remembered at once.
const MAX_FAILING_CLIENTS: usize = 10_000;

/// A signed-in coordinator's session, as handlers see it.
#[derive(Clone)]
pub struct Session {
    /// The session id (the cookie's value).
    pub id: String,
    /// The token every form must carry.
    pub csrf: String,
    flash: Arc<Mutex<Option<String>>>,
}

impl Session {
    /// The hidden field with the CSRF token, for every form.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }

    /// Refuses a form whose CSRF token is missing or wrong (403).
    pub fn check(&self, given: Option<&str>) -> Result<(), DeskError> {
        let given = given.unwrap_or("");
        if bool::from(given.as_bytes().ct_eq(self.csrf.as_bytes())) && !given.is_empty() {
            Ok(())
        } else {
            Err(DeskError::new(
                StatusCode::FORBIDDEN,
                "This form is out of date or did not come from the desk (missing or wrong CSRF token). Go back, reload the page and try again.",
            ))
        }
    }

    /// A message for the next page this session sees ("Resolved; all-clear queued ...").
    pub fn set_flash(&self, message: String) {
        if let Ok(mut f) = self.flash.lock() {
            *f = Some(message);
        }
    }

    /// The message left for this page, if any (shown once).
    pub fn take_flash(&self) -> Option<String> {
        self.flash.lock().ok().and_then(|mut f| f.take())
    }
}

struct Entry {
    session: Session,
    created: Instant,
    used: Instant,
}

/// The sessions of the desk.
pub struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
    secure: bool,
    /// Wrong sign-ins per client address: how many, since when.
    failures: Mutex<HashMap<std::net::IpAddr, (u32, Instant)>>,
}

/// 128 random bits, base64url.
fn token() -> String {
    use base64::Engine as _;
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Sessions {
    /// Empty; `secure` marks cookies `Secure` (the desk is served over https).
    pub fn new(secure: bool) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            secure,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a client may try a token now (fewer than [`MAX_FAILURES`] wrong ones in the
    /// window).
    fn may_try(&self, ip: std::net::IpAddr, now: Instant) -> bool {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&ip).is_none_or(|(n, since)| {
            *n < MAX_FAILURES || now.duration_since(*since) >= FAILURE_WINDOW
        })
    }

    /// Counts a wrong token from a client.
    fn failed(&self, ip: std::net::IpAddr, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_FAILING_CLIENTS {
            map.retain(|_, (_, since)| now.duration_since(*since) < FAILURE_WINDOW);
        }
        let e = map.entry(ip).or_insert((0, now));
        if now.duration_since(e.1) >= FAILURE_WINDOW {
            *e = (0, now);
        }
        e.0 += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock cannot leave the map half-written (single inserts
        // and removes): keep using it.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn create(&self, now: Instant) -> Session {
        let session = Session {
            id: token(),
            csrf: token(),
            flash: Arc::default(),
        };
        let mut map = self.lock();
        map.retain(|_, e| alive(e, now));
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            session.id.clone(),
            Entry {
                session: session.clone(),
                created: now,
                used: now,
            },
        );
        session
    }

    fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let mut map = self.lock();
        let entry = map.get_mut(id)?;
        if !alive(entry, now) {
            map.remove(id);
            return None;
        }
        entry.used = now;
        Some(entry.session.clone())
    }

    fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    fn cookie(&self, name: &'static str, value: String, max_age: Option<Duration>) -> String {
        let mut c = cookie::Cookie::build((name, value))
            .http_only(true)
            .same_site(cookie::SameSite::Strict)
            .secure(self.secure)
            .path("/");
        if let Some(age) = max_age {
            c = c.max_age(cookie::time::Duration::seconds(
                i64::try_from(age.as_secs()).unwrap_or(i64::MAX),
            ));
        }
        c.build().to_string()
    }
}

fn alive(e: &Entry, now: Instant) -> bool {
    now.duration_since(e.used) < IDLE && now.duration_since(e.created) < LIFETIME
}

/// The value of a cookie in a request.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// Lets a request through with its [`Session`] when it has one; otherwise sends the browser
/// to sign in (and back here afterwards, for a page).
pub async fn require_session(
    State(desk): State<Arc<Desk>>,
    mut req: Request,
    next: Next,
) -> Response {
    let session =
        cookie_value(req.headers(), COOKIE).and_then(|id| desk.sessions.get(&id, Instant::now()));
    match session {
        Some(s) => {
            req.extensions_mut().insert(s);
            let mut resp = next.run(req).await;
            // Pages show live state and a CSRF token: never cached.
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            resp
        }
        None => {
            let next_path = if req.method() == Method::GET {
                req.uri()
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "/".into())
            } else {
                "/".into()
            };
            let to = format!(
                "/signin?next={}",
                form_urlencoded::byte_serialize(next_path.as_bytes()).collect::<String>()
            );
            Redirect::to(&to).into_response()
        }
    }
}

/// `?next=` on the sign-in page.
#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only a path on this site (never `//elsewhere` or a full URL): no open redirect.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/".into(),
    }
}

fn sign_in_form(csrf: &str, next: &str, error: Option<&str>) -> Markup {
    bare(
        "Sign in",
        html! {
            h1 { "Porchlight — coordinator's desk" }
            @if let Some(e) = error {
                p.error role="alert" #signin-error { (e) }
            }
            form method="post" action="/signin" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                p {
                    label for="token" { "Admin token" }
                    input #token type="password" name="token" autocomplete="current-password" required
                        aria-describedby=[error.map(|_| "signin-error")];
                }
                p { button type="submit" { "Sign in" } }
            }
            p.hint { "The token is the value of the daemon's admin token variable (PORCHLIGHT_ADMIN_TOKEN unless the config names another)." }
        },
    )
}

fn sign_in_response(desk: &Desk, next: &str, error: Option<&str>, status: StatusCode) -> Response {
    let csrf = token();
    let cookie = desk
        .sessions
        .cookie(PRE_COOKIE, csrf.clone(), Some(Duration::from_secs(3600)));
    (
        status,
        [
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        sign_in_form(&csrf, next, error),
    )
        .into_response()
}

/// `GET /signin`.
pub async fn sign_in_page(State(desk): State<Arc<Desk>>, Query(q): Query<NextQuery>) -> Response {
    sign_in_response(&desk, &safe_next(q.next.as_deref()), None, StatusCode::OK)
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignInForm {
    token: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /signin`: the admin token, compared in constant time, opens a session. A client
/// that sends [`MAX_FAILURES`] wrong tokens in a minute is refused (429) until the minute ends.
pub async fn sign_in(
    State(desk): State<Arc<Desk>>,
    client: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<SignInForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    let ip = client.map(|c| c.0.0.ip());
    if ip.is_some_and(|ip| !desk.sessions.may_try(ip, Instant::now())) {
        let mut resp = sign_in_response(
            &desk,
            &next,
            Some("Too many wrong tokens from this computer. Wait a minute, then try again."),
            StatusCode::TOO_MANY_REQUESTS,
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
        return resp;
    }
    let pre = cookie_value(&headers, PRE_COOKIE).unwrap_or_default();
    if f.csrf.is_empty() || !bool::from(f.csrf.as_bytes().ct_eq(pre.as_bytes())) {
        return sign_in_response(
            &desk,
            &next,
            Some("The sign-in form was out of date (CSRF check failed). Please sign in again."),
            StatusCode::FORBIDDEN,
        );
    }
    let Some(expected) = desk.app.config.admin_token.as_ref() else {
        return sign_in_response(
            &desk,
            &next,
            Some(&format!(
                "Sign-in is disabled: start the daemon with {} set.",
                desk.app.config.admin_token_env
            )),
            StatusCode::UNAUTHORIZED,
        );
    };
    if !bool::from(
        f.token
            .trim()
            .as_bytes()
            .ct_eq(expected.expose().as_bytes()),
    ) {
        tracing::warn!("desk sign-in with a wrong token");
        if let Some(ip) = ip {
            desk.sessions.failed(ip, Instant::now());
        }
        return sign_in_response(
            &desk,
            &next,
            Some("That token is not right. Check it and try again."),
            StatusCode::UNAUTHORIZED,
        );
    }
    let session = desk.sessions.create(Instant::now());
    let cookie = desk
        .sessions
        .cookie(COOKIE, session.id.clone(), Some(LIFETIME));
    let clear_pre = desk
        .sessions
        .cookie(PRE_COOKIE, String::new(), Some(Duration::ZERO));
    let mut resp = Redirect::to(&next).into_response();
    let h = resp.headers_mut();
    for c in [cookie, clear_pre] {
        if let Ok(v) = header::HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// A form with only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    /// The token.
    #[serde(default)]
    pub csrf: Option<String>,
}

/// `POST /signout`.
pub async fn sign_out(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Result<Response, DeskError> {
    session.check(f.csrf.as_deref())?;
    desk.sessions.remove(&session.id);
    let clear = desk
        .sessions
        .cookie(COOKIE, String::new(), Some(Duration::ZERO));
    let mut resp = Redirect::to("/signin").into_response();
    if let Ok(v) = header::HeaderValue::from_str(&clear) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_and_at_their_lifetime() {
        let s = Sessions::new(false);
        let t0 = Instant::now();
        let a = s.create(t0);
        assert!(s.get(&a.id, t0 + Duration::from_secs(60)).is_some());
        assert!(s.get(&a.id, t0 + IDLE + Duration::from_secs(61)).is_none());
        // Used every hour, it still ends at its lifetime.
        let b = s.create(t0);
        let mut t = t0;
        while t.duration_since(t0) + Duration::from_secs(3600) < LIFETIME {
            t += Duration::from_secs(3600);
            assert!(s.get(&b.id, t).is_some());
        }
        assert!(s.get(&b.id, t0 + LIFETIME).is_none());
        assert!(s.get("no-such-session", t0).is_none());
    }

    #[test]
    fn wrong_tokens_are_limited_per_client_for_a_minute() {
        let s = Sessions::new(false);
        let (a, b): (std::net::IpAddr, std::net::IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert!(s.may_try(a, t0));
            s.failed(a, t0);
        }
        assert!(!s.may_try(a, t0 + Duration::from_secs(30)));
        assert!(s.may_try(b, t0), "another client is unaffected");
        assert!(s.may_try(a, t0 + FAILURE_WINDOW), "the window ends");
    }

    #[test]
    fn csrf_tokens_must_match() {
        let s = Sessions::new(true).create(Instant::now());
        assert!(s.check(Some(&s.csrf.clone())).is_ok());
        assert!(s.check(None).is_err());
        assert!(s.check(Some("")).is_err());
        assert!(s.check(Some("wrong")).is_err());
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_over_https() {
        let c = Sessions::new(true).cookie(COOKIE, "x".into(), None);
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"),
            "{c}"
        );
        let c = Sessions::new(false).cookie(COOKIE, "x".into(), None);
        assert!(!c.contains("Secure"), "{c}");
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/members/mary")), "/members/mary");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
