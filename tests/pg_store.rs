//! The PostgreSQL store against a real, throwaway PostgreSQL cluster: the
//! backend conformance suite every store passes, and what only a shared
//! database has to show.
mod support;

use deadbolt::store::conformance::{self, Fixture};
use deadbolt::store::{StateLocation, open};
use support::pg::PgCluster;

#[test]
fn postgres_passes_the_conformance_suite() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    conformance::run("postgres", &|| Fixture {
        stores: open(&StateLocation::Postgres(cluster.new_database())).expect("open"),
        _keep: None,
    });
}
