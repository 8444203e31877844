//! UNLOCK (RFC 4918 §9.11): removes a whole lock, named by the Lock-Token
//! header, from any URL in its scope.

use std::sync::Arc;

use http::{Response, StatusCode, request::Parts};

use crate::dav::body::{self, Body};
use crate::dav::error::DavError;
use crate::dav::headers;
use crate::dav::path::RequestPath;
use crate::dav::{DavState, now};
use crate::locks::{LockError, LockToken, ResourcePath};
use crate::store::LockSelection;

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
) -> Result<Response<Body>, DavError> {
    state
        .blocking(move |s| {
            let selection = LockSelection {
                path: request.path.clone(),
                with_members: false,
            };
            let now = now();
            s.lock_transaction(&[selection], now, |manager, table| {
                manager
                    .release(table, &request.token, &request.path, None, now)
                    .map_err(|e| match e {
                        LockError::TokenMismatch => DavError::UnlockTokenMismatch,
                        other => other.into(),
                    })?;
                Ok(())
            })
        })
        .await?;
    let mut response = Response::new(body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}
