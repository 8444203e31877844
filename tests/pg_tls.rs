//! TLS to PostgreSQL (issue 9): a node connects with `sslmode=require`
//! and with `verify-full` against the CA, and refuses a server whose
//! certificate another CA signed. The cluster refuses every TCP connection
//! without TLS, so a node that works there spoke TLS.
mod support;

use std::time::Duration;

use support::Launch;
use support::lock::*;
use support::pg::{PgCluster, make_certificates};

fn refused_start(database: &str) -> String {
    let (status, _, stderr) = Launch::new()
        .args(&["--database", database])
        .run_to_exit(Duration::from_secs(60));
    assert!(!status.success(), "the node must not start: {stderr}");
    stderr
}

#[test]
fn nodes_speak_tls_to_postgres_and_check_its_certificate() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let ca = cluster.require_tls();
    let database = cluster.new_database_by_socket();

    // Without TLS the cluster says no: the nodes below did use it.
    let plain = refused_start(&format!("{database}?sslmode=disable"));
    assert!(plain.contains("state"), "{plain}");

    let require = format!("{database}?sslmode=require");
    let s = Launch::new().args(&["--database", &require]).start();
    assert_eq!(put(&s, "/a.txt", "a").status, 201);
    let token = lock_ok(&s, "/a.txt", Scope::Exclusive, "0");
    drop(s);

    let verified = format!(
        "{database}?sslmode=verify-full&sslrootcert={}",
        ca.display()
    );
    let s = Launch::new().args(&["--database", &verified]).start();
    assert_eq!(put(&s, "/b.txt", "b").status, 201);
    assert_eq!(
        put(&s, "/a.txt", "x").status,
        423,
        "the lock taken over TLS holds"
    );
    assert_eq!(unlock(&s, "/a.txt", &token).status, 204);
    drop(s);

    // A certificate from another CA is refused by verify-ca and verify-full.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let (other_ca, _, _) = make_certificates(elsewhere.path(), "other");
    for mode in ["verify-ca", "verify-full"] {
        let wrong = format!(
            "{database}?sslmode={mode}&sslrootcert={}",
            other_ca.display()
        );
        let stderr = refused_start(&wrong);
        assert!(
            stderr.to_lowercase().contains("certificate"),
            "{mode}: {stderr}"
        );
    }
    // The certificate names 127.0.0.1 only: through the name localhost,
    // verify-full refuses it and verify-ca (the CA alone) accepts it.
    let by_name = database.replace("127.0.0.1", "localhost");
    let full = format!("{by_name}?sslmode=verify-full&sslrootcert={}", ca.display());
    let stderr = refused_start(&full);
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    let ca_only = format!("{by_name}?sslmode=verify-ca&sslrootcert={}", ca.display());
    let s = Launch::new().args(&["--database", &ca_only]).start();
    assert_eq!(put(&s, "/c.txt", "c").status, 201);
}
