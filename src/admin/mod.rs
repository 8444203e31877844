//! The admin surface under the reserved prefix `/_deadbolt/`: the admin
//! page, its JSON API and the metrics; and the CLI's `deadbolt locks` and
//! `deadbolt hold` (`commands`). All of them read and change locks and
//! holds through the lock authority, like every other surface, so a
//! server sees every change on its next request.

pub mod api;
pub mod commands;
pub mod page;
pub mod views;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Response, StatusCode};

use self::api::ApiError;
use crate::auth::{AuthError, Requester};
use crate::authority::LockService;
use crate::metrics::Metrics;
use crate::web::body::{self, Body, read_limited};
use crate::web::guard;

/// The reserved URL prefix of the admin page and API. A file or folder of
/// this name in the served directory stops the server from starting.
pub const ADMIN_PREFIX: &str = crate::web::RESERVED_PREFIX;

/// The admin page, API and metrics; cheap to clone.
#[derive(Clone)]
pub struct AdminService {
    authority: Arc<LockService>,
    metrics: Arc<Metrics>,
    /// With users, only administrators get in; without, everyone does.
    authentication: bool,
    max_body: u64,
}

impl AdminService {
    pub fn new(
        authority: Arc<LockService>,
        metrics: Arc<Metrics>,
        authentication: bool,
        max_body: u64,
    ) -> Self {
        Self {
            authority,
            metrics,
            authentication,
            max_body,
        }
    }

    /// 401 for a request the app could not authenticate.
    pub fn refuse_unauthenticated(&self, error: AuthError) -> Response<Body> {
        api::error_response(error.into())
    }

    /// 400 with `reason`, for a request refused before it is parsed.
    pub fn bad_request(&self, reason: String) -> Response<Body> {
        self.refuse(StatusCode::BAD_REQUEST, reason)
    }

    /// `status` with `reason`, for a request refused before it is parsed.
    pub fn refuse(&self, status: StatusCode, reason: String) -> Response<Body> {
        api::error_response(ApiError::new(status, reason))
    }

    /// Serves one request; `rest` is the path after the prefix.
    pub async fn handle(
        &self,
        parts: http::request::Parts,
        body: Body,
        requester: Requester,
        rest: Vec<String>,
    ) -> Response<Body> {
        self.serve(parts, body, requester, rest)
            .await
            .unwrap_or_else(api::error_response)
    }

    async fn serve(
        &self,
        parts: http::request::Parts,
        body: Body,
        requester: Requester,
        rest: Vec<String>,
    ) -> Result<Response<Body>, ApiError> {
        if self.authentication {
            match &requester.principal {
                None => return Err(AuthError::Missing.into()),
                Some(p) if !p.is_admin() => {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "the admin page and API are for administrators",
                    ));
                }
                Some(_) => {}
            }
        }
        match rest.first().map(String::as_str) {
            None | Some("") if matches!(parts.method, Method::GET | Method::HEAD) => {
                Ok(page::respond())
            }
            Some("metrics") if rest.len() == 1 && parts.method == Method::GET => {
                let service = self.clone();
                let text = blocking(move || {
                    let stats = service.authority.stats()?;
                    Ok(service.metrics.render(&stats))
                })
                .await?;
                Response::builder()
                    .header(
                        http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )
                    .body(body::full(text))
                    .map_err(|e| ApiError::internal(e.to_string()))
            }
            Some("api") => {
                if !matches!(parts.method, Method::GET | Method::HEAD) {
                    // A change: never on behalf of a page on another site.
                    if let Some(why) = guard::cross_site(&parts.headers) {
                        return Err(ApiError::new(StatusCode::FORBIDDEN, why));
                    }
                }
                let body = read_body(body, self.max_body).await?;
                if !matches!(parts.method, Method::GET | Method::HEAD)
                    && !guard::json_or_empty(&parts.headers, body.len())
                {
                    return Err(ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "send the body as Content-Type: application/json",
                    ));
                }
                let authority = Arc::clone(&self.authority);
                let api_path = rest[1..].to_vec();
                blocking(move || {
                    api::handle(
                        &authority,
                        &requester,
                        &parts.method,
                        &parts.uri,
                        &api_path,
                        &body,
                    )
                })
                .await
            }
            _ => Err(ApiError::new(StatusCode::NOT_FOUND, "no such admin page")),
        }
    }
}

/// Runs authority calls (blocking store work) on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("blocking task failed: {e}")))?
}

/// Reads a whole JSON request body, refusing more than `limit` bytes.
async fn read_body(body: Body, limit: u64) -> Result<Bytes, ApiError> {
    Ok(read_limited(body, limit).await?)
}
