//! The admin web page (filled in with the admin API).
