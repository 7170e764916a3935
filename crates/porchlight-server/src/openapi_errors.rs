//! The error statuses every admin operation can answer, added to the OpenAPI document so it
//! documents what the server really says (found by schemathesis, `scripts/schemathesis.sh`):
//! 400 (a bad path or query value), 401 (no or a wrong token), and for operations with a JSON
//! body (`application/json`, `application/merge-patch+json`) 413 (too large), 415 (not JSON) and 422 (JSON of the wrong shape). Each has the API's
//! error body.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// Adds the common error responses to every operation that does not document them itself.
pub struct CommonErrors;

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
            )
            .build(),
    )
}

fn add(op: &mut Operation) {
    let mut statuses = vec![
        ("400", "Bad request: a path or query value is not valid"),
        ("401", "Unauthorized: no admin token, or a wrong one"),
    ];
    let json_body = op
        .request_body
        .as_ref()
        .is_some_and(|b| b.content.keys().any(|k| k.contains("json")));
    if op.request_body.is_some() {
        statuses.push(("413", "Payload too large"));
    }
    if json_body {
        statuses.push(("415", "Unsupported media type: the body is not JSON"));
        statuses.push(("422", "Unprocessable: JSON of the wrong shape"));
    }
    for (status, description) in statuses {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(description));
    }
}

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add(op);
            }
        }
    }
}
