//! Reply links: `GET /r/{token}` shows a large, accessible page with the choices in the
//! recipient's language (recording nothing), `POST /r/{token}` records the chosen one.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use porchlight_core::model::Language;
use porchlight_core::reply::Role;
use porchlight_core::text::{self, MessageKind};
use porchlight_store::Committed;

use super::param;
use crate::app::App;

const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;font-size:1.5rem;line-height:1.5;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#111;background:#fff}\
h1{font-size:2rem}button{display:block;width:100%;font-size:1.6rem;padding:1.2rem;margin:1rem 0;border-radius:.6rem;border:3px solid #111;cursor:pointer}\
.ok{background:#e6f4ea}.help{background:#fde8e8}.other{background:#f1f1f1}p.note{font-size:1.1rem;color:#333}";

fn page(lang: &str, title: &str, body: &str) -> Html<String> {
    let title = html_escape(title);
    Html(format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>{title}</title><style>{PAGE_STYLE}</style></head><body><main>{body}</main></body></html>"
    ))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// What a reply-link page needs: the link, and the recipient's and member's records.
type LinkView = (
    porchlight_store::LinkToken,
    Option<porchlight_core::model::Person>,
    Option<porchlight_core::model::Person>,
);

/// Reads a link and its people off the async workers; `None` for an unknown or expired link.
async fn link_view(app: &App, token: String, now: chrono::DateTime<Utc>) -> Option<LinkView> {
    let store = app.store.clone();
    tokio::task::spawn_blocking(move || {
        let link = store.link(&token).ok().flatten()?;
        let person = store.person(&link.person).ok().flatten();
        let member = store.person(&link.context.member).ok().flatten();
        Some((link, person, member))
    })
    .await
    .ok()
    .flatten()
    .filter(|(l, _, _)| l.expires_at > now)
}

/// The page's question and buttons, in the recipient's language.
fn link_choices(view: &LinkView) -> (Language, String, Vec<text::LinkChoice>) {
    let (link, person, member) = view;
    let lang = person.as_ref().map_or(Language::En, |p| p.language);
    let words = text::link_page_strings(lang);
    let name = person.as_ref().map_or(words.someone, |p| p.first_name());
    let member_name = member.as_ref().map_or(words.them, |p| p.first_name());
    let (question, choices) = text::link_page_choices(lang, link.context.role, name, member_name);
    (lang, question, choices)
}

fn expired(lang: Language) -> Response {
    let w = text::link_page_strings(lang);
    (
        StatusCode::NOT_FOUND,
        page(
            w.html_lang,
            w.expired_title,
            &format!(
                "<h1>{}</h1><p>{}</p>",
                html_escape(w.expired_heading),
                html_escape(w.expired_body)
            ),
        ),
    )
        .into_response()
}

/// Texts of the answers to the sender in a commit (help reassurance, away/back
/// acknowledgements), to show on a reply-link page.
fn answers_to(committed: &Committed, person: Option<&str>) -> Vec<String> {
    committed
        .messages
        .iter()
        .chain(&committed.direct)
        .filter(|e| {
            matches!(
                e.message.kind,
                MessageKind::HelpAck | MessageKind::AwayAck | MessageKind::BackAck
            )
        })
        .filter(|e| person == Some(e.message.to.as_str()))
        .map(|e| e.message.text.clone())
        .collect()
}

/// `GET /r/{token}`: a large, accessible page with the choices, in the recipient's language.
/// It records nothing: link scanners and previews fetch it too.
pub async fn link_page(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    let Some(view) = link_view(&app, token, app.now()).await else {
        return expired(Language::En);
    };
    let (lang, question, choices) = link_choices(&view);
    let w = text::link_page_strings(lang);
    let mut body = format!("<h1>{}</h1><form method=\"post\">", html_escape(&question));
    for c in choices {
        body.push_str(&format!(
            "<button class=\"{}\" type=\"submit\" name=\"answer\" value=\"{}\">{}</button>",
            c.class,
            html_escape(c.value),
            html_escape(&c.label)
        ));
    }
    body.push_str(&format!(
        "</form><p class=\"note\">{}</p>",
        html_escape(w.footer)
    ));
    page(w.html_lang, w.title, &body).into_response()
}

/// `POST /r/{token}`: records the chosen answer. Only the page's own answers are accepted (a
/// forged `answer=stop` must not opt anyone out).
pub async fn link_answer(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let now = app.now();
    let Some(view) = link_view(&app, token.clone(), now).await else {
        return expired(Language::En);
    };
    let (lang, _, choices) = link_choices(&view);
    let w = text::link_page_strings(lang);
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    // No default: a link scanner that posts an empty form must not answer "I'm OK".
    let Some(choice) =
        param(&params, "answer").and_then(|a| choices.iter().find(|c| c.value == a.trim()))
    else {
        return (
            StatusCode::BAD_REQUEST,
            page(
                w.html_lang,
                w.choose_title,
                &format!("<h1>{}</h1>", html_escape(w.choose_heading)),
            ),
        )
            .into_response();
    };
    let answer = choice.value.to_string();
    let help = choice.class == "help";
    let store = app.store.clone();
    let recorded = tokio::task::spawn_blocking(move || {
        let (out, c) = store.reply_link(&token, &answer, now)?;
        // Answer latency counts link answers as it counts texted ones.
        crate::app::observe_outcome(&out);
        let person = store.link(&token)?.map(|l| l.person);
        Ok::<_, porchlight_store::StoreError>((c, person))
    })
    .await
    .unwrap_or_else(|e| {
        Err(porchlight_store::StoreError::Unavailable(format!(
            "link task failed: {e}"
        )))
    });
    match recorded {
        Ok((committed, link_person)) => {
            app.after_commit(&committed);
            let direct = answers_to(&committed, link_person.as_deref());
            let said = if help && view.0.context.role == Role::Member {
                w.help_body
            } else {
                w.thanks_body
            };
            let mut body = format!(
                "<h1>{}</h1><p>{}</p>",
                html_escape(w.thanks_heading),
                html_escape(said)
            );
            for d in direct {
                body.push_str(&format!("<p>{}</p>", html_escape(&d)));
            }
            page(w.html_lang, w.thanks_title, &body).into_response()
        }
        Err(porchlight_store::StoreError::NotFound(_)) => expired(lang),
        Err(porchlight_store::StoreError::Unavailable(why)) => {
            tracing::error!(reason = %why, "cannot make a link answer durable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "10")],
                "storage unavailable; nothing was recorded, try again",
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot record a link answer");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot record the answer",
            )
                .into_response()
        }
    }
}
