//! What every WebDAV method handler may use: the content and property
//! stores, the lock authority, and the surface's settings.

use std::sync::Arc;

use bytes::Bytes;

use super::error::{DavError, Disclosure};
use super::xml::XmlError;
use crate::authority::LockService;
use crate::locks::{ActiveLock, ResourcePath};
use crate::store::{ContentStore, Meta, PropertyStore, StoreError};
use crate::web::body::{Body, ReadError, read_limited};

/// Limits and switches of the DAV layer.
#[derive(Debug, Clone)]
pub struct DavConfig {
    /// Whether 423 answers name who holds the lock.
    pub disclosure: Disclosure,
    /// PROPFIND with Depth: infinity is refused unless this is set.
    pub allow_depth_infinity: bool,
    /// Largest XML request body accepted, in bytes.
    pub max_xml_body: u64,
}

impl Default for DavConfig {
    fn default() -> Self {
        Self {
            disclosure: Disclosure::ShowHolder,
            allow_depth_infinity: false,
            max_xml_body: 1024 * 1024,
        }
    }
}

pub struct DavState {
    pub content: Arc<dyn ContentStore>,
    pub properties: Arc<dyn PropertyStore>,
    /// Every lock decision and every write permit comes from here.
    pub authority: Arc<LockService>,
    /// Whether the server has users: then anonymous requesters may only
    /// read (when allowed at all).
    pub authentication: bool,
    pub config: DavConfig,
    /// `--quota`: how much the served tree may hold.
    pub quota: Option<super::quota::Quota>,
}

impl DavState {
    /// Whether something exists at `path`. Asked on the request's task: a
    /// metadata read from the page cache costs less than a hop to the
    /// blocking pool.
    pub fn exists(&self, path: &ResourcePath) -> Result<bool, DavError> {
        Ok(self.metadata_if_exists(path)?.is_some())
    }

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

    /// Live locks covering `path` (lockdiscovery, the If header).
    pub fn covering_locks(&self, path: &ResourcePath) -> Result<Vec<ActiveLock>, DavError> {
        Ok(self.authority.covering_locks(path)?)
    }
}

/// Reads a whole XML request body, refusing more than the configured limit.
pub async fn read_xml_body(state: &DavState, body: Body) -> Result<Bytes, DavError> {
    read_limited(body, state.config.max_xml_body)
        .await
        .map_err(|e| match e {
            ReadError::TooLarge { limit } => XmlError::TooLarge { limit }.into(),
            ReadError::Body(reason) => DavError::BodyRead(reason),
        })
}
