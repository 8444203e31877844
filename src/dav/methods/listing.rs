//! GET of a collection: a plain HTML page listing its members, with a
//! badge beside each member a lock covers ("locked by ana since 10:02").

use std::sync::Arc;

use http::{Response, StatusCode, header};
use quick_xml::escape::escape;

use crate::authority::now;
use crate::authority::view::{owner_text, rfc3339};
use crate::dav::DavState;
use crate::dav::error::{DavError, Disclosure};
use crate::locks::{ActiveLock, LockScope, ResourcePath, Timestamp};
use crate::store::DirEntry;
use crate::web::body::{self, Body};
use crate::web::path::href;

/// The listing of the collection at `path` (`head`: its headers only).
pub async fn respond(
    state: &Arc<DavState>,
    path: ResourcePath,
    head: bool,
) -> Result<Response<Body>, DavError> {
    let html = {
        let path = path.clone();
        state
            .blocking(move |s| {
                let mut entries: Vec<DirEntry> = s.content.members(&path)?.collect();
                entries.sort_by(|a, b| {
                    (!a.meta.is_collection(), a.name()).cmp(&(!b.meta.is_collection(), b.name()))
                });
                // One read of the locks for the whole page.
                let table = s.authority.view_children(&path)?;
                let now = now();
                let mut members = Vec::with_capacity(entries.len());
                for entry in entries {
                    let locks = table.covering_locks(&entry.path, now);
                    members.push(Member { entry, locks });
                }
                let own_locks = table.covering_locks(&path, now);
                let page = Listing {
                    path: &path,
                    own_locks: &own_locks,
                    members: &members,
                    disclosure: s.config.disclosure,
                    now,
                };
                Ok(page.render())
            })
            .await?
    };
    let len = html.len();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CONTENT_LENGTH, len)
        .body(if head {
            body::empty()
        } else {
            body::full(html)
        })
        .map_err(|e| DavError::Internal(e.to_string()))
}

/// A member of a listed collection and the live locks covering it.
struct Member {
    entry: DirEntry,
    locks: Vec<ActiveLock>,
}

/// Everything the HTML listing of one collection shows.
struct Listing<'a> {
    path: &'a ResourcePath,
    /// Locks covering the collection itself.
    own_locks: &'a [ActiveLock],
    members: &'a [Member],
    /// `--hide-lock-owners` hides the holder here too, as in 423 answers.
    disclosure: Disclosure,
    now: Timestamp,
}

const LISTING_STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em}\
     table{border-collapse:collapse}th,td{padding:.2em .8em;text-align:left}\
     .lock{color:#8a4600;white-space:nowrap}";

impl Listing<'_> {
    fn render(&self) -> String {
        let title = escape(self.path.key()).into_owned();
        let mut rows = String::new();
        if let Some(parent) = self.path.parent() {
            rows.push_str(&format!(
                "<tr><td><a href=\"{}\">../</a></td><td></td><td></td><td></td></tr>\n",
                escape(href(&parent, true))
            ));
        }
        for Member { entry, locks } in self.members {
            let is_dir = entry.meta.is_collection();
            let size = if is_dir {
                String::new()
            } else {
                entry.meta.len.to_string()
            };
            rows.push_str(&format!(
                "<tr><td><a href=\"{}\">{}{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                escape(href(&entry.path, is_dir)),
                escape(entry.name()),
                if is_dir { "/" } else { "" },
                size,
                httpdate::fmt_http_date(entry.meta.modified),
                self.badges(locks),
            ));
        }
        let own = if self.own_locks.is_empty() {
            String::new()
        } else {
            format!("<p>{}</p>\n", self.badges(self.own_locks))
        };
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title>\
             <style>{LISTING_STYLE}</style></head>\n\
             <body><h1>Index of {title}</h1>\n{own}<table>\n\
             <tr><th>Name</th><th>Size</th><th>Modified</th><th>Lock</th></tr>\n\
             {rows}</table></body></html>\n"
        )
    }

    /// One badge per lock, e.g. "🔒 locked by alice since 10:02, until
    /// 11:02 UTC"; the full times are in the tooltip. Escaped.
    fn badges(&self, locks: &[ActiveLock]) -> String {
        let mut html = String::new();
        for lock in locks {
            if !html.is_empty() {
                html.push_str("<br>");
            }
            html.push_str(&format!(
                "<span class=\"lock\" title=\"{}\">{}</span>",
                escape(format!(
                    "{} lock, depth {}, {} to {}",
                    lock.scope.as_str(),
                    lock.depth.as_str(),
                    rfc3339(lock.created),
                    rfc3339(lock.expires),
                )),
                escape(badge_text(lock, self.disclosure, self.now)),
            ));
        }
        html
    }
}

/// "🔒 locked by alice since 10:02, until 11:02 UTC": the holder is the user
/// who took the lock, else the text of its DAV:owner. Unescaped.
fn badge_text(lock: &ActiveLock, disclosure: Disclosure, now: Timestamp) -> String {
    let what = match lock.scope {
        LockScope::Exclusive => "locked",
        LockScope::Shared => "shared lock",
    };
    let holder = match disclosure {
        Disclosure::HideHolder => None,
        Disclosure::ShowHolder => lock
            .principal
            .clone()
            .or_else(|| owner_text(lock.owner.as_deref())),
    };
    let by = holder.map(|h| format!(" by {h}")).unwrap_or_default();
    format!(
        "\u{1f512} {what}{by} since {}, until {} UTC",
        clock(lock.created, now),
        clock(lock.expires, now)
    )
}

/// `HH:MM` (UTC) on the day of `now`, `YYYY-MM-DD HH:MM` on another day.
fn clock(t: Timestamp, now: Timestamp) -> String {
    // 2026-01-02T10:02:03Z
    let at = rfc3339(t);
    let today = rfc3339(now);
    let (Some(date), Some(time)) = (at.get(..10), at.get(11..16)) else {
        return at;
    };
    if today.get(..10) == Some(date) {
        time.to_owned()
    } else {
        format!("{date} {time}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locks::LockDepth;
    use crate::store::Meta;

    fn file(len: u64) -> Meta {
        Meta {
            kind: crate::store::ResourceKind::File,
            len,
            modified: std::time::UNIX_EPOCH,
            created: None,
            etag: "\"e\"".into(),
        }
    }

    /// 2026-03-04T10:02:00Z
    const T0: Timestamp = Timestamp(1_772_618_520_000);

    fn lock_on(name: &str, principal: Option<&str>, owner: Option<&str>) -> ActiveLock {
        ActiveLock {
            token: crate::locks::LockToken("urn:uuid:1".into()),
            root: ResourcePath::root().join(name).unwrap(),
            root_is_collection: false,
            scope: LockScope::Exclusive,
            depth: LockDepth::Zero,
            owner: owner.map(str::to_owned),
            principal: principal.map(str::to_owned),
            client: Default::default(),
            timeout_seconds: 3600,
            created: T0,
            expires: T0.plus_seconds(3600),
            fencing: 1,
        }
    }

    fn render(members: &[Member], disclosure: Disclosure) -> String {
        Listing {
            path: &ResourcePath::root(),
            own_locks: &[],
            members,
            disclosure,
            now: T0.plus_seconds(60),
        }
        .render()
    }

    #[test]
    fn listing_escapes_names() {
        let html = render(
            &[Member {
                entry: DirEntry {
                    path: ResourcePath::root().join("<b>&.txt").unwrap(),
                    meta: file(3),
                },
                locks: vec![],
            }],
            Disclosure::ShowHolder,
        );
        assert!(html.contains("&lt;b&gt;&amp;.txt"));
        assert!(html.contains("href=\"/%3Cb%3E%26.txt\""), "{html}");
        assert!(
            !html.contains("class=\"lock\""),
            "no lock, no badge: {html}"
        );
    }

    #[test]
    fn locked_members_get_a_badge_with_holder_and_times() {
        let html = render(
            &[
                Member {
                    entry: DirEntry {
                        path: ResourcePath::root().join("a.txt").unwrap(),
                        meta: file(1),
                    },
                    locks: vec![lock_on(
                        "a.txt",
                        Some("alice"),
                        Some("<D:owner xmlns:D=\"DAV:\">Ana</D:owner>"),
                    )],
                },
                Member {
                    entry: DirEntry {
                        path: ResourcePath::root().join("b.txt").unwrap(),
                        meta: file(1),
                    },
                    locks: vec![],
                },
            ],
            Disclosure::ShowHolder,
        );
        assert!(
            html.contains("\u{1f512} locked by alice since 10:02, until 11:02 UTC"),
            "{html}"
        );
        assert!(
            html.contains("2026-03-04T10:02:00Z to 2026-03-04T11:02:00Z"),
            "{html}"
        );
        assert_eq!(html.matches("class=\"lock\"").count(), 1, "{html}");
    }

    #[test]
    fn badge_falls_back_to_the_owner_text_and_escapes_it() {
        let owner = "<D:owner xmlns:D=\"DAV:\"><D:href>&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</D:href></D:owner>";
        let html = render(
            &[Member {
                entry: DirEntry {
                    path: ResourcePath::root().join("a.txt").unwrap(),
                    meta: file(1),
                },
                locks: vec![lock_on("a.txt", None, Some(owner))],
            }],
            Disclosure::ShowHolder,
        );
        assert!(
            html.contains("locked by &lt;script&gt;alert(1)&lt;/script&gt; &amp; co since 10:02"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
    }

    #[test]
    fn hidden_holders_stay_hidden_in_the_badge() {
        let html = render(
            &[Member {
                entry: DirEntry {
                    path: ResourcePath::root().join("a.txt").unwrap(),
                    meta: file(1),
                },
                locks: vec![lock_on("a.txt", Some("alice"), None)],
            }],
            Disclosure::HideHolder,
        );
        assert!(
            html.contains("\u{1f512} locked since 10:02, until 11:02 UTC"),
            "{html}"
        );
        assert!(!html.contains("alice"), "{html}");
    }

    #[test]
    fn times_on_another_day_carry_the_date() {
        assert_eq!(clock(T0, T0), "10:02");
        assert_eq!(clock(T0.plus_seconds(86_400), T0), "2026-03-05 10:02");
    }
}
