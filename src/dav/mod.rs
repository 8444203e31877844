//! The WebDAV surface: parse -> intent -> authority -> execute -> render.
//!
//! `DavService::dispatch` is the only `match` on the method. Each method
//! lives in `methods/` as a typed request (`parse`, no I/O), the paths it
//! will change (`intent`), and `execute`, which gets the `WritePermit` the
//! lock authority issued for that intent. Errors become responses in
//! `error.rs` only.

pub mod conditional;
mod conditions;
pub mod error;
pub mod headers;
pub mod if_header;
pub mod live_props;
pub mod methods;
mod quota;
mod state;
pub mod sync_clients;
pub mod xml;

use std::sync::Arc;

use http::{Method, Response, StatusCode};

pub use self::error::Disclosure;
pub use self::quota::Quota;
pub use self::state::{DavConfig, DavState, read_xml_body};

use self::conditions::{Conditions, pass_gate};
use self::error::DavError;
use crate::auth::{AuthError, Requester, WriteDenied};
use crate::web::body::Body;
use crate::web::path::parse_request_path;

/// Methods that change something; read-only users and anonymous readers
/// may not use them (and unknown methods count as changing).
fn is_modifying(method: &Method) -> bool {
    !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS" | "PROPFIND")
}

/// The DAV tree as one service; cheap to clone.
#[derive(Clone)]
pub struct DavService {
    state: Arc<DavState>,
}

impl DavService {
    pub fn new(state: DavState) -> Self {
        Self {
            state: Arc::new(state),
        }
    }

    fn render(&self, error: DavError) -> Response<Body> {
        error.into_response(self.state.config.disclosure)
    }

    /// 401 for a request the app could not authenticate.
    pub fn refuse_unauthenticated(&self, error: AuthError) -> Response<Body> {
        self.render(error.into())
    }

    /// 400 with `reason`, for a request refused before it is parsed.
    pub fn bad_request(&self, reason: String) -> Response<Body> {
        self.render(DavError::BadRequest(reason))
    }

    /// `status` (414, 429 or 431; 400 for any other) with `reason`, for a
    /// request refused before it is served.
    pub fn refuse(&self, status: StatusCode, reason: String) -> Response<Body> {
        self.render(match status {
            StatusCode::URI_TOO_LONG => DavError::UriTooLong(reason),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => DavError::HeaderTooLarge(reason),
            StatusCode::TOO_MANY_REQUESTS => DavError::TooManyRequests(reason),
            _ => DavError::BadRequest(reason),
        })
    }

    pub async fn handle(
        &self,
        parts: http::request::Parts,
        body: Body,
        requester: Requester,
    ) -> Response<Body> {
        // Authorization comes before everything else, locks and conditions
        // included (§8.1).
        let result = match self.authorize(&parts.method, &requester) {
            Ok(()) => self.dispatch(parts, body, requester).await,
            Err(e) => Err(e),
        };
        result.unwrap_or_else(|error| self.render(error))
    }

    /// With users, anonymous readers may not change anything (401) and
    /// read-only users neither (403).
    fn authorize(&self, method: &Method, requester: &Requester) -> Result<(), DavError> {
        if !self.state.authentication || !is_modifying(method) {
            return Ok(());
        }
        match requester.may_write() {
            Ok(()) => Ok(()),
            Err(WriteDenied::Anonymous) => Err(AuthError::Missing.into()),
            Err(WriteDenied::ReadOnly(name)) => {
                Err(DavError::Forbidden(WriteDenied::read_only_reason(&name)))
            }
        }
    }

    async fn dispatch(
        &self,
        parts: http::request::Parts,
        body: Body,
        requester: Requester,
    ) -> Result<Response<Body>, DavError> {
        use methods::*;
        let state = &self.state;
        if parts.method == Method::OPTIONS && parts.uri.path() == "*" {
            return Ok(options::respond());
        }
        let target = parse_request_path(parts.uri.path())?;
        let conditions = Conditions::from_request(&parts, &target.path)?;
        let submitted = conditions.submitted_tokens();
        // Reads evaluate their conditions first; writes after the gate,
        // while their permit latches their paths (see `pass_gate`).
        match parts.method.as_str() {
            "OPTIONS" => Ok(options::respond()),
            "GET" | "HEAD" => {
                conditions.check(state, true).await?;
                let head = parts.method == Method::HEAD;
                get_head::execute(state, &parts, target.path, head).await
            }
            "PROPFIND" => {
                conditions.check(state, true).await?;
                let request = propfind::PropfindRequest::parse(state, &parts, target, body).await?;
                propfind::execute(state, request).await
            }
            "PUT" => {
                let request = put::PutRequest::parse(&parts, target)?;
                let exists = state.exists(request.path())?;
                let intent = request.intent(exists);
                let permit = pass_gate(state, conditions, intent, &submitted, &requester).await?;
                put::execute(state, request, permit, body).await
            }
            "DELETE" => {
                let request = delete::DeleteRequest::parse(&parts, target)?;
                let intent = request.intent();
                let permit = pass_gate(state, conditions, intent, &submitted, &requester).await?;
                delete::execute(state, request, permit, requester).await
            }
            "MKCOL" => {
                let request = mkcol::MkcolRequest::parse(state, target, body).await?;
                let intent = request.intent();
                let permit = pass_gate(state, conditions, intent, &submitted, &requester).await?;
                mkcol::execute(state, request, permit).await
            }
            "COPY" | "MOVE" => {
                let is_move = parts.method.as_str() == "MOVE";
                let request = copy_move::CopyMoveRequest::parse(&parts, target, is_move)?;
                let destination_exists = state.exists(request.destination())?;
                let intent = request.intent(destination_exists);
                let permit = pass_gate(state, conditions, intent, &submitted, &requester).await?;
                copy_move::execute(state, request, permit, requester).await
            }
            "PROPPATCH" => {
                let request = proppatch::ProppatchRequest::parse(state, target, body).await?;
                let intent = request.intent();
                let permit = pass_gate(state, conditions, intent, &submitted, &requester).await?;
                proppatch::execute(state, request, permit).await
            }
            "LOCK" => {
                let body = read_xml_body(state, body).await?;
                if terraform::speaks_json(&parts.headers, &body) {
                    conditions.check(state, false).await?;
                    return terraform::lock(state, &parts, target, &body, submitted, requester)
                        .await;
                }
                let request = lock::LockRequest::parse(&parts, target, &body, &submitted)?;
                match conditions.check(state, false).await {
                    // §9.10.6: a refresh whose token does not cover the URL
                    // is 412 with lock-token-matches-request-uri.
                    Err(DavError::IfHeaderFalse) if request.is_refresh() => {
                        let token = request.refresh_token().cloned();
                        let path = request.path().clone();
                        let covers = state
                            .blocking(move |s| {
                                Ok(s.covering_locks(&path)?
                                    .iter()
                                    .any(|l| Some(&l.token) == token.as_ref()))
                            })
                            .await?;
                        return Err(if covers {
                            DavError::IfHeaderFalse
                        } else {
                            DavError::RefreshTokenMismatch
                        });
                    }
                    other => other?,
                }
                let wait = crate::web::prefer::wait(&parts.headers);
                lock::execute(state, request, submitted, requester, wait).await
            }
            "UNLOCK" => {
                let body = read_xml_body(state, body).await?;
                if terraform::speaks_json(&parts.headers, &body) {
                    conditions.check(state, false).await?;
                    return terraform::unlock(state, target, &body, requester).await;
                }
                let request = unlock::UnlockRequest::parse(&parts, target)?;
                conditions.check(state, false).await?;
                unlock::execute(state, request, requester).await
            }
            // Terraform's state write (http backend): a PUT by another name.
            "POST" if terraform::is_state_write(&parts.headers) => {
                let request = terraform::StateWrite::parse(&parts, target)?;
                let exists = state.exists(request.path())?;
                let intent = request.intent(exists);
                let tokens = request.tokens(state, submitted).await?;
                let permit = pass_gate(state, conditions, intent, &tokens, &requester).await?;
                put::execute(state, request.into_put(), permit, body).await
            }
            "POST" => Err(DavError::MethodNotAllowed {
                allow: options::ALLOW,
                reason: "POST is only for Terraform state (Content-Type: application/json); use PUT to upload".into(),
            }),
            other => Err(DavError::NotImplemented(format!(
                "the {other} method is not implemented"
            ))),
        }
    }
}
