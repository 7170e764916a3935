//! A per-client token bucket for the public endpoints (inbound SMS, calls, reply links).
//!
//! Generous by default — a village's whole roster answering at once must never be refused —
//! but it stops one client from flooding the daemon. Over the limit: 429 with `Retry-After`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Requests per second each client may sustain.
pub const RATE_PER_SEC: f64 = 2000.0;
/// Requests a client may burst.
pub const BURST: f64 = 10_000.0;
/// Clients tracked before idle ones are forgotten.
const MAX_CLIENTS: usize = 10_000;

/// Token buckets by client address.
#[derive(Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Limiter {
    /// Takes a token for `ip` at `now`; false when the bucket is empty.
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        // The map is only touched for a few instructions; a std Mutex is the right tool.
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > MAX_CLIENTS {
            buckets.retain(|_, (tokens, at)| {
                *tokens < BURST && now.duration_since(*at).as_secs() < 60
            });
        }
        let (tokens, at) = buckets.entry(ip).or_insert((BURST, now));
        let refill = now.duration_since(*at).as_secs_f64() * RATE_PER_SEC;
        *tokens = (*tokens + refill).min(BURST);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Middleware: 429 for a client over its rate.
pub async fn limit(State(limiter): State<Arc<Limiter>>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = ip {
        if !limiter.allow(ip, Instant::now()) {
            metrics::counter!("porchlight_rate_limited_total").increment(1);
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "1")],
                "too many requests",
            )
                .into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_then_refills() {
        let l = Limiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..BURST as usize {
            assert!(l.allow(ip, t0));
        }
        assert!(!l.allow(ip, t0));
        // Another client is unaffected.
        assert!(l.allow("127.0.0.2".parse().unwrap(), t0));
        // A hundredth of a second later, 20 more.
        let t1 = t0 + Duration::from_millis(10);
        for _ in 0..20 {
            assert!(l.allow(ip, t1));
        }
        assert!(!l.allow(ip, t1));
    }
}
