//! The roster CSV: `/api/v1/import` (the CSV columns themselves are the server's).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ErrorDetail;

/// Import result.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct ImportResult {
    /// Members added or updated.
    pub imported: usize,
}

/// One bad row.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct RowError {
    /// 1-based data row number (the header is row 0).
    pub row: usize,
    /// What is wrong.
    pub message: String,
}

/// An import refused for bad rows (400): the error body plus every bad row.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ImportRejected {
    /// `invalid`, with how many rows were bad.
    pub error: ErrorDetail,
    /// Every bad row, in order.
    pub rows: Vec<RowError>,
}
