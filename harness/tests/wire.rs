//! habench's wire client (the calibration insert's driver) against real servers:
//! authentication methods, the listener's host list, errors with their SQLSTATE.

mod common;

use std::time::Duration;

use habench::pg::wire::{self, CallBuf, Param, WireConn, INT4_OID};
use habench::topology::{AnyTopology, TopologyKind, TopologySpec};
use tokio_postgres::Config;

const TIMEOUT: Duration = Duration::from_secs(5);

async fn single() -> AnyTopology {
    AnyTopology::up(common::env(), TopologySpec::new(TopologyKind::Single)).await.unwrap()
}

fn dsn(extra: &str, ports: &[u16]) -> Config {
    let hosts = vec!["127.0.0.1"; ports.len()].join(",");
    let ports: Vec<String> = ports.iter().map(|p| p.to_string()).collect();
    format!("host={hosts} port={} dbname=postgres {extra}", ports.join(",")).parse().expect("dsn")
}

async fn value(c: &mut WireConn, sql: &str) -> String {
    c.query_value(sql).await.expect(sql).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prepared_insert_commits_each_call_and_server_errors_keep_their_sqlstate() {
    let topo = single().await;
    let port = topo.as_topology().primary().port();
    let mut c = wire::connect(&dsn("user=postgres", &[port]), TIMEOUT).await.expect("trust");
    value(&mut c, "CREATE TABLE calib (payload text)").await;
    c.prepare("ins", "INSERT INTO calib VALUES (repeat('x', $1::int))", &[INT4_OID]).await.unwrap();
    let mut call = CallBuf::default();
    call.set("ins", &[Param::Int4(100)]).unwrap();
    for _ in 0..5 {
        assert_eq!(c.execute(&call).await.unwrap(), 1, "one row per call");
    }
    assert_eq!(value(&mut c, "SELECT count(*) || '/' || min(length(payload)) FROM calib").await, "5/100");

    // An ERROR names its SQLSTATE and leaves the session usable.
    let e = c.prepare("bad", "INSERT INTO missing VALUES ($1::int)", &[INT4_OID]).await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("42P01"), "{e}");
    assert!(e.message.contains("missing") && !e.closed, "{e:?}");
    assert_eq!(c.execute(&call).await.unwrap(), 1);

    // A backend terminated under it: FATAL 57P01, the session is gone (an unknown outcome).
    let pid = value(&mut c, "SELECT pg_backend_pid()").await;
    let mut other = wire::connect(&dsn("user=postgres", &[port]), TIMEOUT).await.unwrap();
    assert_eq!(value(&mut other, &format!("SELECT pg_terminate_backend({pid})")).await, "t");
    let e = c.execute(&call).await.unwrap_err();
    assert!(e.closed && c.is_closed(), "{e:?}");
    assert_eq!(e.code.as_deref(), Some("57P01"), "the server's last word, not just EOF: {e:?}");
    assert_eq!(
        habench_workloads::classify_sqlstate(e.code.as_deref(), habench_workloads::Phase::Commit),
        habench_workloads::Outcome::Unknown,
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn password_md5_and_scram_authentication_work_and_say_what_is_missing() {
    let topo = single().await;
    let node = topo.as_topology().primary();
    let port = node.port();
    let mut admin = wire::connect(&dsn("user=postgres", &[port]), TIMEOUT).await.unwrap();
    for (role, method) in [("u_scram", "scram-sha-256"), ("u_md5", "md5"), ("u_plain", "password")] {
        let enc = if method == "md5" { "md5" } else { "scram-sha-256" };
        value(&mut admin, &format!("SET password_encryption = '{enc}'; CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}'"))
            .await;
    }
    let hba = node.data_dir().join("pg_hba.conf");
    let old = std::fs::read_to_string(&hba).unwrap();
    let rules = "host all u_scram 127.0.0.1/32 scram-sha-256\nhost all u_md5 127.0.0.1/32 md5\n\
                 host all u_plain 127.0.0.1/32 password\n";
    std::fs::write(&hba, format!("{rules}{old}")).unwrap();
    assert_eq!(value(&mut admin, "SELECT pg_reload_conf()").await, "t");

    for role in ["u_scram", "u_md5", "u_plain"] {
        // Without a password: the error says what to add (polled: the reload is asynchronous).
        let e = common::poll("the new pg_hba rules", Duration::from_secs(10), || async {
            wire::connect(&dsn(&format!("user={role}"), &[port]), TIMEOUT).await.err()
        })
        .await;
        assert!(e.message.contains("password="), "{role}: {e}");
        let wrong = wire::connect(&dsn(&format!("user={role} password=nope"), &[port]), TIMEOUT).await.unwrap_err();
        assert_eq!(wrong.code.as_deref(), Some("28P01"), "{role}: {wrong}");
        let mut c = wire::connect(&dsn(&format!("user={role} password=pw-{role}"), &[port]), TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("{role}: {e}"));
        assert_eq!(value(&mut c, "SELECT current_user").await, role);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_host_list_is_tried_in_order_until_a_session_has_the_target_attributes() {
    let topo = AnyTopology::up(common::env(), TopologySpec::new(TopologyKind::Sync).with_standbys(1)).await.unwrap();
    let t = topo.as_topology();
    let (primary, standby) = (t.primary().port(), t.nodes()[1].port());
    assert_ne!(primary, standby);
    let recovery = |attrs: &'static str, ports: Vec<u16>| async move {
        let mut c = wire::connect(&dsn(&format!("user=postgres target_session_attrs={attrs}"), &ports), TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("{attrs}: {e}"));
        value(&mut c, "SELECT pg_is_in_recovery()").await
    };
    assert_eq!(recovery("read-write", vec![standby, primary]).await, "f", "skips the standby");
    assert_eq!(recovery("read-only", vec![primary, standby]).await, "t", "skips the primary");
    assert_eq!(recovery("any", vec![standby, primary]).await, "t", "takes the first");
    let e =
        wire::connect(&dsn("user=postgres target_session_attrs=read-write", &[standby]), TIMEOUT).await.unwrap_err();
    assert!(e.message.contains("read-only"), "{e}");
    // A dead host in front is skipped too.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert_eq!(recovery("read-write", vec![dead, primary]).await, "f");
}
