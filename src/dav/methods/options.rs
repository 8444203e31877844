//! OPTIONS (RFC 9110 §9.3.7, RFC 4918 §10.1): what this server can do.

use http::{Response, StatusCode, header};

use crate::web::body::{self, Body};

/// Compliance classes (RFC 4918 §18): 1, locking (2), and the RFC 4918
/// revisions (3).
pub const DAV_CLASSES: &str = "1, 2, 3";

/// Every method the DAV tree answers.
pub const ALLOW: &str =
    "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK";

pub fn respond() -> Response<Body> {
    let mut response = Response::new(body::empty());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert("dav", header::HeaderValue::from_static(DAV_CLASSES));
    headers.insert(header::ALLOW, header::HeaderValue::from_static(ALLOW));
    // Makes Microsoft clients speak WebDAV instead of FrontPage extensions.
    headers.insert("ms-author-via", header::HeaderValue::from_static("DAV"));
    headers.insert(
        header::CONTENT_LENGTH,
        header::HeaderValue::from_static("0"),
    );
    response
}
