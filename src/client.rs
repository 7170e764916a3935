//! The admin API's client: where the daemon is, the admin token, and one call that turns the
//! daemon's answer into a value or a [`CliError`] with the right exit code. Paths are built
//! from segments with [`reqwest::Url`], which percent-encodes each one (a check-in id has a
//! slash, a name a space).

use std::time::Duration;

use porchlight_wire::{ErrorBody, ImportRejected};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::CliError;

/// The admin token from `PORCHLIGHT_ADMIN_TOKEN` (the variable the daemon reads), if set.
pub fn token() -> Option<String> {
    std::env::var("PORCHLIGHT_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
}

/// The admin token, or the error that says how to set it.
pub fn require_token() -> Result<String, CliError> {
    token().ok_or(CliError::NoToken)
}

/// Where the daemon is and how to authenticate.
pub struct Client {
    /// The daemon's address as given, without a trailing slash (for messages).
    base: String,
    url: Url,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// A client of `server` (e.g. `http://127.0.0.1:7878`), authenticating with the admin token
    /// from the environment.
    pub fn new(server: &str) -> Result<Client, CliError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| CliError::failed(format!("cannot build the HTTP client: {e}")))?;
        Client::with_http(server, http)
    }

    /// A client of `server` using `http` (its own timeouts).
    pub fn with_http(server: &str, http: reqwest::Client) -> Result<Client, CliError> {
        let base = server.trim_end_matches('/').to_string();
        let url = Url::parse(&base)
            .ok()
            .filter(|u| !u.cannot_be_a_base())
            .ok_or_else(|| {
                CliError::usage(format!(
                    "--server {server:?} is not a URL like http://127.0.0.1:7878"
                ))
            })?;
        Ok(Client {
            base,
            url,
            token: token(),
            http,
        })
    }

    /// The URL of `segments` under the daemon's address, each segment percent-encoded.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.url.clone();
        // A base URL (checked in `new`) always has path segments.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// The URL of `segments` with a query string of `pairs`.
    pub fn url_with_query(&self, segments: &[&str], pairs: &[(&str, &str)]) -> Url {
        let mut url = self.url(segments);
        if !pairs.is_empty() {
            url.query_pairs_mut().extend_pairs(pairs);
        }
        url
    }

    /// Sends a request with the admin token: the response when it succeeded, the daemon's
    /// reason otherwise.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Body>,
    ) -> Result<reqwest::Response, CliError> {
        self.send_or(self.http.request(method, url), body, "request failed")
            .await
    }

    /// Sends `req` (a request of this client's, with any query added) with the admin token and
    /// `body`; `fallback` is said when a refusal has no message.
    pub async fn send_or(
        &self,
        req: reqwest::RequestBuilder,
        body: Option<Body>,
        fallback: &str,
    ) -> Result<reqwest::Response, CliError> {
        let token = self.token.as_deref().ok_or(CliError::NoToken)?;
        let mut req = req.bearer_auth(token);
        req = match body {
            Some(Body::Json(bytes)) => req.header("content-type", "application/json").body(bytes),
            Some(Body::Csv(bytes)) => req.header("content-type", "text/csv").body(bytes),
            None => req,
        };
        let resp = req.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED {
            return Err(CliError::TokenRefused);
        }
        if !status.is_success() {
            let bytes = resp.bytes().await.map_err(|e| {
                CliError::Daemon(format!("reading the daemon's answer failed: {e}"))
            })?;
            return Err(refusal(status, &bytes, fallback));
        }
        Ok(resp)
    }

    /// The error for a request that never got an answer.
    pub fn transport(&self, e: reqwest::Error) -> CliError {
        let server = self.base.clone();
        if e.is_connect() {
            CliError::Unreachable { server }
        } else if e.is_timeout() {
            CliError::Timeout { server }
        } else {
            CliError::Request { server, source: e }
        }
    }

    /// A request of this client's, to add a query to before [`Client::send_or`].
    pub fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        self.http.request(method, url)
    }

    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<Body>,
    ) -> Result<Vec<u8>, CliError> {
        let resp = self.send(method, url, body).await?;
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| CliError::Daemon(format!("reading the daemon's answer failed: {e}")))?;
        Ok(bytes.to_vec())
    }

    /// A JSON call: `body` (if any) as JSON, the answer read as `T`.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, CliError> {
        let body = body
            .map(|b| {
                serde_json::to_vec(b)
                    .map(Body::Json)
                    .map_err(|e| CliError::failed(format!("cannot write the request: {e}")))
            })
            .transpose()?;
        let bytes = self.call(method, url, body).await?;
        read_json(&bytes)
    }

    /// `GET` a JSON resource.
    pub async fn get<T: DeserializeOwned>(&self, url: Url) -> Result<T, CliError> {
        self.json(Method::GET, url, None::<&Value>).await
    }

    /// `DELETE` a resource; the answer is not read.
    pub async fn delete(&self, url: Url) -> Result<(), CliError> {
        self.call(Method::DELETE, url, None).await.map(drop)
    }

    /// `DELETE` a resource with `query` as its query string; the answer is not read.
    pub async fn delete_with(&self, url: Url, query: &impl Serialize) -> Result<(), CliError> {
        let req = self.request(Method::DELETE, url).query(query);
        self.send_or(req, None, "request failed").await.map(drop)
    }

    /// Posts a CSV body; the answer read as `T`.
    pub async fn csv<T: DeserializeOwned>(&self, url: Url, csv: Vec<u8>) -> Result<T, CliError> {
        let bytes = self.call(Method::POST, url, Some(Body::Csv(csv))).await?;
        read_json(&bytes)
    }

    /// Gets raw bytes.
    pub async fn raw(&self, url: Url) -> Result<Vec<u8>, CliError> {
        self.call(Method::GET, url, None).await
    }
}

/// A request body.
pub enum Body {
    /// JSON bytes.
    Json(Vec<u8>),
    /// CSV bytes.
    Csv(Vec<u8>),
}

/// The daemon's answer read as `T`; an empty answer reads as JSON `null`.
fn read_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CliError> {
    let bytes: &[u8] = if bytes.is_empty() { b"null" } else { bytes };
    serde_json::from_slice(bytes)
        .map_err(|e| CliError::Daemon(format!("the daemon sent something that is not JSON: {e}")))
}

/// The error for a refused request: the daemon's message (and the CSV rows at fault), exit 2
/// for a 4xx answer and 1 for a 5xx one. `fallback` is said when the answer has no message.
pub fn refusal(status: StatusCode, bytes: &[u8], fallback: &str) -> CliError {
    let line = if let Ok(r) = serde_json::from_slice::<ImportRejected>(bytes) {
        let mut line = r.error.message;
        for row in r.rows {
            line.push_str(&format!("\n  row {}: {}", row.row, row.message));
        }
        line
    } else if let Ok(e) = serde_json::from_slice::<ErrorBody>(bytes) {
        e.error.message
    } else {
        fallback.to_string()
    };
    if status.is_client_error() {
        CliError::Refused(line)
    } else {
        CliError::Daemon(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded_one_by_one() {
        let c = Client::with_http("http://127.0.0.1:7878/", reqwest::Client::new())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.url(&["api", "v1", "alerts", "mary/2026-11-24T09:00", "resolve"])
                .as_str(),
            "http://127.0.0.1:7878/api/v1/alerts/mary%2F2026-11-24T09:00/resolve"
        );
        assert_eq!(
            c.url(&["api", "v1", "members", "50% off?#x"]).as_str(),
            "http://127.0.0.1:7878/api/v1/members/50%25%20off%3F%23x"
        );
        assert_eq!(
            c.url_with_query(
                &["api", "v1", "members", "mary"],
                &[("force", "true"), ("reason", "moved & gone")]
            )
            .as_str(),
            "http://127.0.0.1:7878/api/v1/members/mary?force=true&reason=moved+%26+gone"
        );
    }

    #[test]
    fn a_server_that_is_not_a_url_is_bad_input_naming_it() {
        let e = Client::with_http("127.0.0.1:7878", reqwest::Client::new())
            .err()
            .map(|e| (e.exit_code(), e.to_string()));
        let (code, msg) = e.unwrap_or_default();
        assert_eq!(code, 2);
        assert!(msg.contains("--server \"127.0.0.1:7878\""), "{msg}");
    }

    #[test]
    fn refusals_carry_the_daemons_message_and_rows() {
        let body = br#"{"error":{"code":"bad_request","message":"nothing imported"},"rows":[{"row":2,"message":"phone: not a number"}]}"#;
        let e = refusal(StatusCode::BAD_REQUEST, body, "request failed");
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "nothing imported\n  row 2: phone: not a number"
        );
        let e = refusal(StatusCode::INTERNAL_SERVER_ERROR, b"", "request failed");
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.to_string(), "request failed");
    }
}
