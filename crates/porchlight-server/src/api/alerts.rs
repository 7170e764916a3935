//! Alerts: `POST /api/v1/alerts/{id}/resolve` resolves open alerts by hand and sends the
//! all-clear.

use std::sync::Arc;

use axum::extract::{Path, State};
use porchlight_wire::{ErrorBody, ResolveIn, Resolved};

use super::blocking;
use crate::app::App;
use crate::error::{ApiError, ApiJson, ApiResult};

/// Resolves an open alert (check-in id, or member id for all their open alerts) and sends the all-clear.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/resolve", params(("id" = String, Path, description = "check-in id (URL-encoded) or member id")),
    request_body = ResolveIn, responses((status = 200), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn resolve_alert(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<ResolveIn>,
) -> ApiResult<axum::Json<Resolved>> {
    blocking(move || {
        if r.reason.trim().is_empty() {
            return Err(ApiError::invalid("reason: say why, for the record"));
        }
        let by = r.by.clone().unwrap_or_else(|| "coordinator".into());
        let now = app.now();
        let (member, checkins): (String, Vec<String>) = match id.split_once('/') {
            Some((m, _)) => (m.to_string(), vec![id.clone()]),
            None => {
                let st = app.store.member(&id)?.ok_or_else(|| {
                    ApiError::not_found(format!("no open alert or member {id:?}"))
                })?;
                let open: Vec<String> = st
                    .open
                    .iter()
                    .filter(|c| c.alert().is_some())
                    .map(|c| c.id.clone())
                    .collect();
                (id.clone(), open)
            }
        };
        if checkins.is_empty() {
            return Err(ApiError::not_found(format!("{member:?} has no open alert")));
        }
        let mut resolved = Vec::new();
        for c in checkins {
            let committed = app.store.resolve(&member, &c, &by, r.reason.trim(), now)?;
            app.after_commit(&committed);
            resolved.push(c);
        }
        Ok(axum::Json(Resolved { resolved }))
    })
    .await
}
