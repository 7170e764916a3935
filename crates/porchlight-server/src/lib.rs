//! Porchlight's daemon: configuration, the scheduler, the outbox dispatcher's glue to the
//! store, and the HTTP surface.
//!
//! # Layout
//! - [`config`]: the TOML config (PRODUCT §3), validated with file, key and reason; secrets
//!   from the environment.
//! - [`queue`]: the dispatcher's queue over the store, and the channel router from the config.
//! - [`app`]: shared state; metrics and wake-ups after each commit.
//! - [`inbound`]: `/sms/twilio`, `/voice/twilio`, `/sms/android-sms-gateway`, `/r/{token}`.
//! - [`api`]: the admin API under `/api/v1` and its OpenAPI document.
//! - [`desk`]: the coordinator's desk, server-rendered pages at `/`.
//! - [`limit`]: per-client rate limiting of the public endpoints.
//! - [`report`]: the monthly report, read from the archive.
//! - [`archive`]: report, backup and outbox routes; scheduled backups.
//! - [`clock`]: the daemon's clock, real or virtual (tests), read by every task and handler.
//! - [`serve`]: the daemon by pieces: `run(listener, config, shutdown, clock)`, its tasks and
//!   graceful shutdown.
//! - [`run`]: `porchlight serve`: binds the configured address, stops on SIGINT/SIGTERM.
//! - [`router`]: the whole HTTP surface, health and metrics.
//! - [`scheduler`]: the scheduler task, sleeping on the clock until the next due instant.
//! - [`watchdog`]: progress of the scheduler, dispatcher and store writer; restarts of
//!   panicked tasks; store recovery after a storage fault.
//! - [`summary`]: `GET /api/v1/summary`, the coordinators' daily summary for the desk.
//! - [`templates`]: `[templates.en]` / `[templates.es]`: overrides of message texts, checked.
//!
//! Domain rules live in `porchlight-core`; this crate only wires them to the world.

#![warn(missing_docs)]

pub mod api;
pub mod app;
pub mod archive;
pub mod clock;
pub mod config;
pub mod desk;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod in_process;
pub mod inbound;
pub mod limit;
pub mod openapi_errors;
pub mod queue;
pub mod report;
pub mod router;
pub mod run;
pub mod scheduler;
pub mod serve;
pub mod summary;
pub mod templates;
pub mod watchdog;
