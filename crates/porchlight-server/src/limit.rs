//! A per-client token bucket for the public endpoints.
//!
//! A validly signed provider request (Twilio SMS and voice, the Android gateway) is **never**
//! refused for rate: the provider does not retry a 429, so the reply would be lost and become
//! a false alarm, and one provider address carries a whole village's traffic. Only what fails
//! authentication there costs tokens ([`limit_failures`]), and reply links — where anyone can
//! try tokens — are limited before they run ([`limit`]). Over the limit: 429 with
//! `Retry-After`.

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
pub const RATE_PER_SEC: f64 = 100.0;
/// Requests a client may burst.
pub const BURST: f64 = 1_000.0;
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

/// Middleware for the signed provider endpoints: the request runs (its signature is checked
/// by the handler); only one that fails authentication takes a token, and a client out of
/// tokens gets 429 instead of 403.
pub async fn limit_failures(
    State(limiter): State<Arc<Limiter>>,
    req: Request,
    next: Next,
) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let resp = next.run(req).await;
    if resp.status() == StatusCode::FORBIDDEN {
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
    }
    resp
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
        // A tenth of a second later, RATE_PER_SEC / 10 more.
        let t1 = t0 + Duration::from_millis(100);
        for _ in 0..(RATE_PER_SEC / 10.0) as usize {
            assert!(l.allow(ip, t1));
        }
        assert!(!l.allow(ip, t1));
    }

    /// A provider behind one address sends far more than a bucket holds: every request that
    /// passes authentication is served; only failed ones are limited.
    #[tokio::test]
    async fn signed_provider_requests_are_never_limited() {
        use axum::body::Body;
        use axum::routing::post;
        use tower::ServiceExt;
        let limiter = Arc::new(Limiter::default());
        let app = axum::Router::new()
            .route(
                "/sms/twilio",
                post(|req: Request| async move {
                    if req.headers().contains_key("x-good") {
                        StatusCode::OK
                    } else {
                        StatusCode::FORBIDDEN
                    }
                }),
            )
            .route_layer(axum::middleware::from_fn_with_state(
                limiter,
                limit_failures,
            ));
        let from: SocketAddr = "10.0.0.7:443".parse().unwrap();
        let call = |good: bool| {
            let mut req = Request::builder().method("POST").uri("/sms/twilio");
            if good {
                req = req.header("x-good", "1");
            }
            let mut req = req.body(Body::empty()).unwrap();
            req.extensions_mut().insert(ConnectInfo(from));
            app.clone().oneshot(req)
        };
        // Failures cost tokens until the address is refused...
        let mut failures = 0;
        loop {
            match call(false).await.unwrap().status() {
                StatusCode::FORBIDDEN => failures += 1,
                StatusCode::TOO_MANY_REQUESTS => break,
                other => panic!("unexpected {other}"),
            }
            assert!(
                failures < 10 * BURST as usize,
                "failures were never limited"
            );
        }
        assert!(failures >= BURST as usize);
        // ...yet a validly signed request from it is served, however many.
        for _ in 0..1000 {
            assert_eq!(call(true).await.unwrap().status(), StatusCode::OK);
        }
    }
}
