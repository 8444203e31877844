//! The WebDAV service: parse -> gate -> execute -> render.
//!
//! `DavService::handle` is the only `match` on the method. Each method lives
//! in `methods/` as a typed request (`parse`, no I/O), the paths it will
//! change (`intent`), and `execute`, which gets the `WritePermit` that the
//! write gate (`LockManager::check_write`) issued for that intent. Errors
//! become responses in `error.rs` only.

pub mod body;
pub mod conditional;
pub mod error;
pub mod headers;
pub mod live_props;
pub mod methods;
pub mod path;
pub mod xml;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::BodyExt;

use self::body::Body;
use self::conditional::Preconditions;
use self::error::DavError;
use self::path::parse_request_path;
use self::xml::XmlError;
use crate::locks::{LockManager, ResourcePath};
use crate::store::{ContentStore, Meta, PropertyStore, StoreError};

/// Limits and switches of the DAV layer.
#[derive(Debug, Clone)]
pub struct DavConfig {
    /// PROPFIND with Depth: infinity is refused unless this is set.
    pub allow_depth_infinity: bool,
    /// Largest XML request body accepted, in bytes.
    pub max_xml_body: u64,
}

impl Default for DavConfig {
    fn default() -> Self {
        Self {
            allow_depth_infinity: false,
            max_xml_body: 1024 * 1024,
        }
    }
}

/// Everything a request handler may use.
pub struct DavState {
    pub content: Arc<dyn ContentStore>,
    pub properties: Arc<dyn PropertyStore>,
    pub locks: LockManager,
    pub config: DavConfig,
}

impl DavState {
    /// Runs blocking store work on tokio's blocking pool.
    pub async fn blocking<T, F>(self: &Arc<Self>, work: F) -> Result<T, DavError>
    where
        F: FnOnce(&DavState) -> Result<T, DavError> + Send + 'static,
        T: Send + 'static,
    {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || work(&state))
            .await
            .map_err(|e| DavError::Internal(format!("blocking task failed: {e}")))?
    }

    /// The metadata of `path`, or `None` when nothing is there.
    pub fn metadata_if_exists(&self, path: &ResourcePath) -> Result<Option<Meta>, DavError> {
        match self.content.metadata(path) {
            Ok(meta) => Ok(Some(meta)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
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

    pub async fn handle(&self, request: Request<Body>) -> Response<Body> {
        match self.dispatch(request).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    }

    async fn dispatch(&self, request: Request<Body>) -> Result<Response<Body>, DavError> {
        use methods::*;
        let state = &self.state;
        let (parts, body) = request.into_parts();
        if parts.method == Method::OPTIONS && parts.uri.path() == "*" {
            return Ok(options::respond());
        }
        let target = parse_request_path(parts.uri.path())?;
        let preconditions = Preconditions::from_headers(&parts.headers);
        if !preconditions.is_empty() {
            let path = target.path.clone();
            let current = state.blocking(move |s| s.metadata_if_exists(&path)).await?;
            let safe = matches!(parts.method, Method::GET | Method::HEAD);
            preconditions.evaluate(safe, current.as_ref())?;
        }
        let gate = &state.locks;
        match parts.method.as_str() {
            "OPTIONS" => Ok(options::respond()),
            "GET" => get_head::execute(state, &parts, target.path, false).await,
            "HEAD" => get_head::execute(state, &parts, target.path, true).await,
            "PROPFIND" => {
                let request = propfind::PropfindRequest::parse(state, &parts, target, body).await?;
                propfind::execute(state, request).await
            }
            "PUT" => {
                let request = put::PutRequest::parse(&parts, target)?;
                let permit = gate.check_write(request.intent())?;
                put::execute(state, request, permit, body).await
            }
            "DELETE" => {
                let request = delete::DeleteRequest::parse(&parts, target)?;
                let permit = gate.check_write(request.intent())?;
                delete::execute(state, request, permit).await
            }
            "MKCOL" => {
                let request = mkcol::MkcolRequest::parse(state, target, body).await?;
                let permit = gate.check_write(request.intent())?;
                mkcol::execute(state, request, permit).await
            }
            "COPY" | "MOVE" => {
                let is_move = parts.method.as_str() == "MOVE";
                let request = copy_move::CopyMoveRequest::parse(&parts, target, is_move)?;
                let permit = gate.check_write(request.intent())?;
                copy_move::execute(state, request, permit).await
            }
            "PROPPATCH" => {
                let request = proppatch::ProppatchRequest::parse(state, target, body).await?;
                let permit = gate.check_write(request.intent())?;
                proppatch::execute(state, request, permit).await
            }
            "POST" => Err(DavError::MethodNotAllowed {
                allow: options::ALLOW,
                reason: "POST is not supported here; use PUT to upload".into(),
            }),
            "LOCK" | "UNLOCK" => Err(DavError::MethodNotAllowed {
                allow: options::ALLOW,
                reason: "this server does not offer WebDAV locking (class 2) yet".into(),
            }),
            other => Err(DavError::NotImplemented(format!(
                "the {other} method is not implemented"
            ))),
        }
    }
}

/// Reads a whole XML request body, refusing more than the configured limit.
pub async fn read_xml_body(state: &DavState, mut body: Body) -> Result<Bytes, DavError> {
    let limit = state.config.max_xml_body;
    let too_large = || DavError::from(XmlError::TooLarge { limit });
    if http_body::Body::size_hint(&body).lower() > limit {
        return Err(too_large());
    }
    let mut collected = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| DavError::BodyRead(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if (collected.len() + data.len()) as u64 > limit {
                return Err(too_large());
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}
