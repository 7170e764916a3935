//! The OpenAPI document of the admin API (`/api/v1/openapi.json`), generated from the
//! handlers with utoipa.

use axum::response::IntoResponse;
use utoipa::OpenApi;

use super::{alerts, members, people, rollcall, roster_csv, status};
use crate::openapi_errors::CommonErrors;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of the admin API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Porchlight admin API", description = "Roster, status, roll calls and alerts of a Porchlight daemon."),
    paths(people::add_person, people::list_people, members::add_member, members::list_members,
          members::get_member, members::put_member, members::delete_member, members::away, members::back,
          people::get_person, people::patch_person, people::delete_person, members::patch_member,
          rollcall::start_rollcall, rollcall::get_rollcall, alerts::resolve_alert, status::status,
          status::checkins, status::events, status::message, roster_csv::import, roster_csv::export,
          crate::summary::get_summary),
    modifiers(&BearerAuth, &CommonErrors)
)]
pub struct ApiDoc;

pub(crate) async fn openapi() -> impl IntoResponse {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::archive::ArchiveDoc::openapi());
    // The merged operations get the common error statuses too.
    utoipa::Modify::modify(&CommonErrors, &mut doc);
    axum::Json(doc)
}
