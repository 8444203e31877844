//! UNLOCK (RFC 4918 §9.11): removes a whole lock, named by the Lock-Token
//! header, from any URL in its scope.

use std::sync::Arc;

use http::{Response, StatusCode, request::Parts};

use crate::auth::Requester;
use crate::authority::AuthorityError;
use crate::dav::DavState;
use crate::dav::error::DavError;
use crate::dav::headers;
use crate::locks::{LockError, LockToken, ResourcePath};
use crate::web::body::{self, Body};
use crate::web::path::RequestPath;

pub struct UnlockRequest {
    path: ResourcePath,
    token: LockToken,
}

impl UnlockRequest {
    pub fn parse(parts: &Parts, target: RequestPath) -> Result<Self, DavError> {
        Ok(Self {
            path: target.path,
            token: headers::lock_token(&parts.headers)?,
        })
    }
}

pub async fn execute(
    state: &Arc<DavState>,
    request: UnlockRequest,
    requester: Requester,
) -> Result<Response<Body>, DavError> {
    state
        .authority
        .release_async(&request.token, &request.path, &requester)
        .await
        .map_err(|e| match e {
            AuthorityError::Refused(LockError::TokenMismatch) => DavError::UnlockTokenMismatch,
            other => other.into(),
        })?;
    let mut response = Response::new(body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}
