//! The `log` channel: prints each message instead of sending it. The default, so a new user
//! sees Porchlight work with no SMS account, and what `simulate` uses.
//!
//! It writes to standard output (not the tracing log): this *is* the delivery, so it shows
//! the recipient's person id and the text, never a phone number.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::{BoxFuture, Channel, Delivery, Receipt, SendError};

/// Prints messages to a writer.
#[derive(Clone)]
pub struct LogChannel {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for LogChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogChannel")
    }
}

impl Default for LogChannel {
    fn default() -> Self {
        LogChannel::to(Box::new(std::io::stdout()))
    }
}

impl LogChannel {
    /// A log channel writing to `out`.
    pub fn to(out: Box<dyn Write + Send>) -> LogChannel {
        LogChannel {
            out: Arc::new(Mutex::new(out)),
        }
    }
}

impl Channel for LogChannel {
    fn kind(&self) -> crate::ChannelKind {
        crate::ChannelKind::Log
    }

    fn send<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(async move {
            let line = format!(
                "[log channel] {} {} → {} ({:?}{}): {}\n",
                d.occurred_at.format("%Y-%m-%d %H:%M:%SZ"),
                d.id,
                d.to.id,
                d.kind,
                d.level.map(|l| format!(", level {l}")).unwrap_or_default(),
                d.text
            );
            // A poisoned lock only means another send panicked mid-write; the writer is fine.
            let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
            out.write_all(line.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| SendError::retryable(format!("cannot write the log: {e}")))?;
            Ok(Receipt {
                provider_id: None,
                status: Some("logged".into()),
            })
        })
    }
}
