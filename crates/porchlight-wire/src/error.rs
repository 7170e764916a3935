//! The error body every admin API error has.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The error body.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    // No doc comment: it would become the schema's description (the document stays as it was).
    #[allow(missing_docs)]
    pub error: ErrorDetail,
}

/// The error detail.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    /// Machine-readable: `unauthorized`, `bad_request`, `invalid`, `not_found`, `conflict`, `too_large`, `internal`.
    pub code: String,
    /// For people.
    pub message: String,
}
