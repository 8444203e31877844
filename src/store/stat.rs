//! A resource's `Meta` from what the kernel says of it, through `std` or a
//! `statx` of our own: one formula for the entity tag either way, so the
//! ETag a listing shows is the one a GET of the same file sends.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{FileType, Statx, StatxFlags, StatxTimestamp};

use super::{Meta, ResourceKind};

/// What a listing asks `statx` for: `Meta`'s fields and the birth time.
pub(super) fn wanted() -> StatxFlags {
    StatxFlags::BASIC_STATS | StatxFlags::BTIME
}

pub(super) fn from_metadata(m: &fs::Metadata) -> Meta {
    let modified = (m.mtime(), m.mtime_nsec());
    meta(m.is_dir(), m.ino(), m.len(), modified, m.created().ok())
}

pub(super) fn from_statx(s: &Statx) -> Meta {
    let is_dir = FileType::from_raw_mode(s.stx_mode.into()) == FileType::Directory;
    // Like std's `created`: only when the filesystem reported it.
    let created = (s.stx_mask & StatxFlags::BTIME.bits() != 0).then(|| time(&s.stx_btime));
    let modified = (s.stx_mtime.tv_sec, i64::from(s.stx_mtime.tv_nsec));
    meta(is_dir, s.stx_ino, s.stx_size, modified, created)
}

pub(super) fn is_symlink(s: &Statx) -> bool {
    FileType::from_raw_mode(s.stx_mode.into()) == FileType::Symlink
}

fn meta(
    is_dir: bool,
    ino: u64,
    len: u64,
    (mtime, mtime_nsec): (i64, i64),
    created: Option<SystemTime>,
) -> Meta {
    // Inode, size and nanosecond mtime: any write through us changes one.
    // Written digit by digit: a listing makes one per member, and `format!`
    // was most of a member's cost.
    let mut etag = String::with_capacity(56);
    etag.push('"');
    push_hex(&mut etag, ino, 1);
    etag.push('-');
    push_hex(&mut etag, len, 1);
    etag.push('-');
    // As `{:x}` prints an i64: its two's complement bits.
    push_hex(&mut etag, mtime as u64, 1);
    push_hex(&mut etag, mtime_nsec as u64, 8);
    etag.push('"');
    let nanos = u32::try_from(mtime_nsec).unwrap_or(0);
    Meta {
        kind: match is_dir {
            true => ResourceKind::Collection,
            false => ResourceKind::File,
        },
        len: if is_dir { 0 } else { len },
        modified: since_epoch(mtime, nanos),
        created,
        etag,
    }
}

/// Appends `value` in lowercase hexadecimal, zero-padded to `width` digits.
fn push_hex(out: &mut String, value: u64, width: usize) {
    let digits = (64 - value.leading_zeros() as usize).div_ceil(4).max(width);
    for shift in (0..digits).rev() {
        let nibble = (value >> (shift * 4)) & 0xf;
        out.push(char::from(b"0123456789abcdef"[nibble as usize]));
    }
}

fn time(t: &StatxTimestamp) -> SystemTime {
    since_epoch(t.tv_sec, t.tv_nsec)
}

/// Seconds (before the epoch when negative) plus nanoseconds, as std reads
/// a file's times.
fn since_epoch(secs: i64, nanos: u32) -> SystemTime {
    let whole = Duration::from_secs(secs.unsigned_abs());
    let base = match secs >= 0 {
        true => UNIX_EPOCH.checked_add(whole),
        false => UNIX_EPOCH.checked_sub(whole),
    };
    base.and_then(|t| t.checked_add(Duration::from_nanos(nanos.into())))
        .unwrap_or(UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::push_hex;

    #[test]
    fn hex_digits_are_the_ones_format_writes() {
        let values = [0, 1, 0xf, 0x10, 0x1234_5678, u64::MAX, (-5_i64) as u64];
        for value in values {
            for width in [1, 8] {
                let mut out = String::new();
                push_hex(&mut out, value, width);
                assert_eq!(out, format!("{value:0width$x}"), "{value} at width {width}");
            }
        }
    }
}
