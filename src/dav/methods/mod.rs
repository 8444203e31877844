//! One module per method (or family). Each has a typed request with
//! `parse` (no I/O beyond reading a bounded body), `intent` for the methods
//! that write, and `execute`.

pub mod copy_move;
pub mod delete;
pub mod get_head;
mod listing;
pub mod lock;
pub mod mkcol;
pub mod options;
pub mod propfind;
pub mod proppatch;
pub mod put;
pub mod terraform;
pub mod unlock;
