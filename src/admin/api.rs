//! The admin JSON API (routes under the reserved admin prefix).
