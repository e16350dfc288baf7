//! The connection to a district database over TLS: `sslmode=require` with the district's own
//! CA (`sslrootcert=`) connects, encrypted; a certificate the CA did not sign is refused with
//! a sentence; `sslmode=disable` still works where the server allows it.

use rollcall_core::store::Store;
use rollcall_store_postgres::cluster::{Durability, TestCluster};
use rollcall_store_postgres::{DatabaseUrl, PostgresStore};

#[test]
fn sslmode_require_checks_the_servers_certificate() {
    let cluster = TestCluster::start_with_tls(Durability::Fast).unwrap();
    let plain = cluster.create_database().unwrap();
    let ca = cluster.ca_file();

    let trusted = format!("{plain}?sslmode=require&sslrootcert={}", ca.display());
    let url = DatabaseUrl::parse(&trusted).unwrap();
    let mut client = url.connect().expect("TLS with the district's CA connects");
    let encrypted: bool = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(encrypted, "the session is encrypted");
    drop(client);
    let store = PostgresStore::open(&url).expect("the store opens over TLS");
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(store.shutdown());

    // The public roots do not know this CA: refused, and the error says where.
    let untrusted = DatabaseUrl::parse(&format!("{plain}?sslmode=require")).unwrap();
    let error = untrusted.connect().err().expect("an unknown CA is refused");
    let text = error.to_string();
    assert!(
        text.contains("cannot be reached") && text.contains("127.0.0.1"),
        "{text}"
    );
    assert!(
        error.user_message().contains("IT team"),
        "{}",
        error.user_message()
    );

    let unencrypted = DatabaseUrl::parse(&format!("{plain}?sslmode=disable")).unwrap();
    assert!(unencrypted.connect().is_ok());
}
