//! The admin API (`/api/v1`) on the wire: the JSON request and response bodies, shared by
//! the daemon (which derives its OpenAPI document from them) and the CLI client (which reads
//! responses into them instead of untyped JSON).
//!
//! Plain data with serde and `utoipa::ToSchema`; no behaviour. Validation of the inputs lives
//! in `porchlight_core::roster`.

#![warn(missing_docs)]

mod error;
mod people;
mod rollcall;
mod roster_csv;
mod status;

pub use error::{ErrorBody, ErrorDetail};
pub use people::{
    AwayIn, Created, LevelOut, MemberIn, MemberOut, PersonIn, PersonOut, RemoveQuery,
};
pub use rollcall::{
    ResolveIn, Resolved, RollCallIn, RollCallMember, RollCallStarted, RollCallStatus,
};
pub use roster_csv::{ImportRejected, ImportResult, RowError};
pub use status::{AlertOut, CheckinOut, DateQuery, EventOut, EventsQuery, Status, StatusRow};
