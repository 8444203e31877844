//! UNLOCK (RFC 4918 §9.11): removes a whole lock, named by the Lock-Token
//! header, from any URL in its scope.

use std::sync::Arc;

use http::{Response, StatusCode, request::Parts};

use crate::dav::body::{self, Body};
use crate::dav::error::DavError;
use crate::dav::headers;
use crate::dav::path::RequestPath;
use crate::dav::{DavState, Requester, now};
use crate::locks::{LockError, LockToken, ResourcePath};
use crate::store::{LockSelection, Removal};

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
        .blocking(move |s| {
            let selection = LockSelection {
                path: request.path.clone(),
                with_members: false,
            };
            let now = now();
            let released = s.lock_transaction(
                std::slice::from_ref(&selection),
                now,
                &requester.event_context(Removal::Released),
                |manager, table| {
                    match manager.release(
                        table,
                        &request.token,
                        &request.path,
                        requester.name(),
                        now,
                    ) {
                        Ok(_) => Ok(true),
                        // §6.4: an administrator may remove anyone's lock.
                        Err(LockError::NotOwner) if requester.is_admin() => Ok(false),
                        Err(LockError::TokenMismatch) => Err(DavError::UnlockTokenMismatch),
                        Err(other) => Err(other.into()),
                    }
                },
            )?;
            if !released {
                s.lock_transaction(
                    &[selection],
                    now,
                    &requester.event_context(Removal::Broken),
                    |manager, table| {
                        manager
                            .break_lock(table, &request.token, now)
                            .map(|_| ())
                            .ok_or(DavError::UnlockTokenMismatch)
                    },
                )?;
            }
            Ok(())
        })
        .await?;
    let mut response = Response::new(body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}
