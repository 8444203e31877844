//! Lock limits (docs/locking.md I10): `--max-locks` in all and
//! `--max-locks-per-user` per authenticated user; a LOCK beyond either gets
//! 507 with the reason, conflicts still come first, and an UNLOCK frees room.
mod support;

use support::TestServer;
use support::lock::*;
use support::users::{launch_with_users, req_as};

#[test]
fn a_lock_beyond_max_locks_gets_507_and_an_unlock_makes_room() {
    let s = TestServer::start_with(&["--max-locks", "2"]);
    let first = lock_ok(&s, "/a.txt", Scope::Exclusive, "0");
    lock_ok(&s, "/b.txt", Scope::Exclusive, "0");
    let refused = lock(&s, "/c.txt", Scope::Exclusive, "0");
    assert_eq!(refused.status, 507, "{refused:?}");
    assert!(refused.body.contains("--max-locks"), "{refused:?}");
    assert!(
        !s.root().join("c.txt").exists(),
        "a refused LOCK creates no empty file"
    );
    // A conflict says more than a full table.
    assert_eq!(lock(&s, "/a.txt", Scope::Exclusive, "0").status, 423);
    assert_eq!(unlock(&s, "/a.txt", &first).status, 204);
    lock_ok(&s, "/c.txt", Scope::Exclusive, "0");
}

#[test]
fn the_per_user_limit_stops_one_user_and_not_the_others() {
    let s = launch_with_users(&["alice", "bob"])
        .args(&["--max-locks-per-user", "2"])
        .start();
    for path in ["/a1.txt", "/a2.txt"] {
        lock_ok_as(&s, Some("alice"), path, "0");
    }
    let refused = lock_as(&s, Some("alice"), "/a3.txt", "0", None);
    assert_eq!(refused.status, 507, "{refused:?}");
    assert!(refused.body.contains("--max-locks-per-user"), "{refused:?}");
    lock_ok_as(&s, Some("bob"), "/b1.txt", "0");
    // The limit survives a restart: the counts are in the state database.
    let mut s = s;
    s.restart();
    assert_eq!(lock_as(&s, Some("alice"), "/a3.txt", "0", None).status, 507);
    assert_eq!(
        req_as(&s, Some("alice"), "GET", "/a1.txt").send().status,
        200
    );
}
