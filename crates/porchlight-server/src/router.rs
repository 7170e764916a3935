//! The daemon's whole HTTP surface in one [`router`]: the public endpoints (provider webhooks,
//! reply links, health, metrics), the admin API and the coordinator's desk.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::app::App;

/// Largest body accepted from the public endpoints (an SMS webhook is a few KB).
pub const PUBLIC_BODY_LIMIT: usize = 64 * 1024;
/// Largest body accepted by the admin API (a roster CSV).
pub const ADMIN_BODY_LIMIT: usize = 2 * 1024 * 1024;

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(app): State<Arc<App>>) -> impl IntoResponse {
    let why = app.why_not_ready();
    if why.is_empty() {
        (StatusCode::OK, "ready".to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}", why.join("; ")),
        )
    }
}

async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    // Counters kept by the store (no scans), read off the async workers.
    let store = app.store.clone();
    if let Ok((depth, members)) =
        tokio::task::spawn_blocking(move || (store.outbox_len(), store.member_count())).await
    {
        metrics::gauge!("porchlight_outbox_depth").set(depth as f64);
        metrics::gauge!("porchlight_members").set(members as f64);
    }
    match &app.metrics {
        Some(h) => (StatusCode::OK, h.render()).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed",
        )
            .into_response(),
    }
}

/// The whole HTTP surface.
pub fn router(app: Arc<App>) -> Router {
    let limiter = Arc::new(crate::limit::Limiter::default());
    let providers = Router::new()
        .route("/sms/twilio", post(crate::inbound::sms_twilio))
        .route("/voice/twilio", post(crate::inbound::voice_twilio))
        .route(
            "/sms/android-sms-gateway",
            post(crate::inbound::sms_android),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            limiter.clone(),
            crate::limit::limit_failures,
        ));
    let public = Router::new()
        .route(
            "/r/{token}",
            get(crate::inbound::link_page).post(crate::inbound::link_answer),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            limiter,
            crate::limit::limit,
        ))
        .merge(providers)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(PUBLIC_BODY_LIMIT))
        .with_state(app.clone());
    let app_desk = app.clone();
    let admin = crate::api::router(app).layer(DefaultBodyLimit::max(ADMIN_BODY_LIMIT));
    public
        .merge(admin)
        .merge(crate::desk::router(app_desk))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}
