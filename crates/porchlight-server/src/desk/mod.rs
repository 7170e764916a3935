//! The coordinator's desk: server-rendered pages at `/` for running the village from a
//! browser (PRODUCT §7).
//!
//! # Layout
//! - [`session`]: sign-in with the admin token, the session cookie, CSRF tokens, sign-out.
//! - [`today`]: `/`, every member's state today, problems first.
//! - [`member`]: `/members/{id}`: contact, circle, schedule, 30 days, messages; away, pause.
//! - [`member_edit`]: `/members/{id}/edit`: the edit form and how it is applied.
//! - [`alert_rows`]: an open alert in words (level, who was alerted, the claim), shared by
//!   the board, the alerts page and a member's page; person names for a page.
//! - [`alerts`]: `/alerts`: open alerts, resolve with a reason, escalate now.
//! - [`rollcall`]: `/rollcall`: start one, watch it fill in, a printable call list.
//! - [`inbox`]: `/inbox`: notes, unknown numbers, opt-outs, delivery failures; mark done.
//! - [`roster`]: `/roster`: add and edit people and members, CSV upload with a preview, download.
//!
//! Pages are [maud] templates (compile-time checked, every value escaped). Every asset (one
//! CSS file, one script that only refreshes pages, an SVG icon set) is embedded in the binary.
//! Every action is a plain form post and works without JavaScript. Store calls run on blocking
//! threads ([`blocking`]); sessions live in memory, so a restart signs everyone out.

pub mod alert_rows;
pub mod alerts;
pub mod inbox;
pub mod member;
pub mod member_edit;
pub mod rollcall;
pub mod roster;
pub mod session;
pub mod today;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::app::App;
use session::{Session, Sessions};

/// The desk's state: the daemon's and the signed-in sessions.
pub struct Desk {
    /// The daemon.
    pub app: Arc<App>,
    /// Sessions, in memory.
    pub sessions: Sessions,
}

/// The desk's routes (sign-in, pages, forms, assets), to merge into the daemon's router.
pub fn router(app: Arc<App>) -> Router {
    let secure = app
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    let desk = Arc::new(Desk {
        app,
        sessions: Sessions::new(secure),
    });
    let pages = Router::new()
        .route("/", get(today::page))
        .route("/members/{id}", get(member::page))
        .route("/members/{id}/away", post(member::away))
        .route("/members/{id}/back", post(member::back))
        .route("/members/{id}/pause", post(member::pause))
        .route(
            "/members/{id}/edit",
            get(member_edit::edit_page).post(member_edit::edit),
        )
        .route("/alerts", get(alerts::page))
        .route("/alerts/resolve", post(alerts::resolve))
        .route("/alerts/escalate", post(alerts::escalate))
        .route("/rollcall", get(rollcall::page).post(rollcall::start))
        .route("/rollcall/{id}", get(rollcall::show))
        .route("/rollcall/{id}/print", get(rollcall::print))
        .route("/inbox", get(inbox::page))
        .route("/inbox/done", post(inbox::done))
        .route("/roster", get(roster::page))
        .route("/roster/people", post(roster::add_person))
        .route(
            "/roster/people/{id}/edit",
            get(roster::edit_person_page).post(roster::edit_person),
        )
        .route("/roster/members", post(roster::add_member))
        .route("/roster/upload", post(roster::upload))
        .route("/roster/import", post(roster::import))
        .route("/roster/export.csv", get(roster::export))
        .route("/signout", post(session::sign_out))
        .route_layer(axum::middleware::from_fn_with_state(
            desk.clone(),
            session::require_session,
        ));
    Router::new()
        .merge(pages)
        .route("/signin", get(session::sign_in_page).post(session::sign_in))
        .route("/desk/desk.css", get(css))
        .route("/desk/desk.js", get(js))
        .route("/desk/icons.svg", get(icons))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::router::ADMIN_BODY_LIMIT,
        ))
        .with_state(desk)
}

/// No framing, no sniffing, nothing loaded from elsewhere: every asset is ours.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("same-origin"),
    );
    resp
}

const CSS: &str = include_str!("assets/desk.css");
const JS: &str = include_str!("assets/desk.js");
const ICONS: &str = include_str!("assets/icons.svg");

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}
async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}
async fn icons() -> Response {
    asset("image/svg+xml", ICONS)
}

/// Which page is current, for the navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// `/`.
    Today,
    /// `/alerts`.
    Alerts,
    /// `/rollcall`.
    RollCall,
    /// `/inbox`.
    Inbox,
    /// `/roster`.
    Roster,
    /// A page under none of them.
    None,
}

/// An icon from the embedded set, hidden from screen readers (the words next to it say it).
pub fn icon(name: &str) -> Markup {
    html! {
        svg.icon aria-hidden="true" focusable="false" width="24" height="24" {
            use href=(format!("/desk/icons.svg#{name}")) {}
        }
    }
}

/// A whole page: header, navigation, the flash message, the content.
pub fn layout(
    session: &Session,
    title: &str,
    nav: Nav,
    refresh: bool,
    flash: Option<String>,
    body: Markup,
) -> Markup {
    let link = |n: Nav, href: &str, label: &str, ic: &str| {
        html! {
            li { a href=(href) aria-current=[(nav == n).then_some("page")] { (icon(ic)) " " (label) } }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Porchlight" }
                link rel="stylesheet" href="/desk/desk.css";
                script src="/desk/desk.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    p.brand { (icon("porch")) " Porchlight" }
                    nav aria-label="Desk" {
                        ul {
                            (link(Nav::Today, "/", "Today", "today"))
                            (link(Nav::Alerts, "/alerts", "Alerts", "bell"))
                            (link(Nav::RollCall, "/rollcall", "Roll call", "list"))
                            (link(Nav::Inbox, "/inbox", "Inbox", "inbox"))
                            (link(Nav::Roster, "/roster", "Roster", "people"))
                        }
                    }
                    form.signout method="post" action="/signout" {
                        (session.csrf_field())
                        button type="submit" { "Sign out" }
                    }
                }
                main #main data-refresh=[refresh.then_some("30")] {
                    @if let Some(f) = flash {
                        p.flash role="status" { (f) }
                    }
                    (body)
                }
            }
        }
    }
}

/// A page for someone not signed in (sign-in, errors before a session).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Porchlight" }
                link rel="stylesheet" href="/desk/desk.css";
            }
            body {
                main #main.narrow { (body) }
            }
        }
    }
}

/// A failed desk request, shown as a page.
#[derive(Debug)]
pub struct DeskError {
    status: StatusCode,
    message: String,
}

impl DeskError {
    /// With a status and a message for the coordinator.
    pub fn new(status: StatusCode, message: impl Into<String>) -> DeskError {
        DeskError {
            status,
            message: message.into(),
        }
    }
    /// 400: what was wrong with the form.
    pub fn bad(message: impl Into<String>) -> DeskError {
        DeskError::new(StatusCode::BAD_REQUEST, message)
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> DeskError {
        DeskError::new(StatusCode::NOT_FOUND, message)
    }
    /// Whether the request was at fault (a 4xx): the form is shown again with the message.
    pub fn is_input(&self) -> bool {
        self.status.is_client_error()
    }
    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// 500, logged.
    pub fn internal(e: impl std::fmt::Display) -> DeskError {
        tracing::error!(error = %e, "desk request failed");
        DeskError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong; see the daemon's log. Nothing was changed.",
        )
    }
}

impl From<porchlight_store::StoreError> for DeskError {
    fn from(e: porchlight_store::StoreError) -> Self {
        use porchlight_store::StoreError as E;
        match e {
            E::NotFound(what) => DeskError::not_found(format!("{what} not found")),
            E::Conflict(why) => DeskError::new(StatusCode::CONFLICT, why),
            E::Unavailable(why) => {
                tracing::error!(reason = %why, "storage unavailable in the desk");
                DeskError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Storage is unavailable; nothing was saved. Try again.",
                )
            }
            other => DeskError::internal(other),
        }
    }
}

impl From<crate::api::ApiError> for DeskError {
    fn from(e: crate::api::ApiError) -> Self {
        // The API's message is written for people already; its status says whose fault it is.
        let message = e.message.clone();
        let status = e.into_response().status();
        DeskError::new(status, message)
    }
}

impl IntoResponse for DeskError {
    fn into_response(self) -> Response {
        let body = bare(
            "Problem",
            html! {
                h1 { "That did not work" }
                p role="alert" { (self.message) }
                p { a href="/" { "Back to Today" } }
            },
        );
        (self.status, body).into_response()
    }
}

/// A desk result.
pub type DeskResult<T> = Result<T, DeskError>;

/// Runs store work on a blocking thread: sled reads block, and writes wait for the writer.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> DeskResult<T> + Send + 'static,
) -> DeskResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(DeskError::internal(e)))
}

/// A local time as `09:05` (with the day when it is not `today`).
pub fn local_time(at: DateTime<Utc>, tz: Tz, today: chrono::NaiveDate) -> String {
    let l = at.with_timezone(&tz);
    if l.date_naive() == today {
        l.format("%H:%M").to_string()
    } else {
        l.format("%a %-d %b %H:%M").to_string()
    }
}

/// A local date and time with the zone, for pages that span days.
pub fn local_stamp(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%a %-d %b %H:%M %Z")
        .to_string()
}

/// After a form post: back to a page (303, so a reload does not post again).
pub fn see(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A member's or person's display name.
pub fn name_of(app: &App, id: &str) -> DeskResult<String> {
    Ok(app
        .store
        .person(id)?
        .map_or_else(|| id.to_string(), |p| p.name))
}

/// URL path segment encoding for ids (they are slugs, but never trust that on a page).
pub fn seg(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// Raw markup, for the few places that need it (never with user data).
pub fn raw(s: &'static str) -> PreEscaped<&'static str> {
    PreEscaped(s)
}
