//! The admin web page: a single HTML document (with its script) embedded
//! in the binary; it reads and changes locks through the admin API.

use http::{Response, StatusCode, header};

use crate::dav::body::{self, Body};

const PAGE: &str = include_str!("../../assets/admin.html");

pub fn respond() -> Response<Body> {
    let mut response = Response::new(body::full(PAGE));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}
