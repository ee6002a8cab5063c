//! The MessageBox over habench's wire client (the default) and over tokio-postgres
//! (`--driver tokio-postgres`): on the same seed and a closed-loop load, both leave the same
//! messages with the same outcomes in the ledger and the same database contents.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use habench::cli::{DriverArg, RunArgs};
use habench::topology::{AnyTopology, TopologyKind, TopologySpec};

/// Bodies of 1-3 fragments (1 KiB each), nothing purged during the run (every message
/// stays in the database to be compared), no simulated failures (outcomes do not depend on which
/// instance took which message).
const SCENARIO: &str = r#"
name = "drivers"
[messagebox]
fragment_bytes = 1024
cleanup_interval = "1h"
body = { distribution = "uniform", min_bytes = 10, max_bytes = 3000 }
[[messagebox.hosts]]
name = "send"
instances = 2
batch_size = 5
polling_interval = "20ms"
[[messagebox.hosts]]
name = "archive"
instances = 1
batch_size = 10
polling_interval = "20ms"
[[messagebox.message_types]]
name = "order"
weight = 3
subscribers = ["send", "archive"]
[[messagebox.message_types]]
name = "invoice"
subscribers = ["send"]
"#;

/// Per message id: its publish outcome and its completions (host, outcome), from ledger.csv.
fn ledger(dir: &Path) -> BTreeMap<i64, (String, Vec<String>)> {
    let mut r = csv::Reader::from_path(dir.join("ledger.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|c| c == n).unwrap_or_else(|| panic!("ledger column {n}"));
    let (event, id, subject, outcome) = (col("event"), col("msg_id"), col("subject"), col("outcome"));
    let mut out: BTreeMap<i64, (String, Vec<String>)> = BTreeMap::new();
    for row in r.records() {
        let row = row.unwrap();
        let e = out.entry(row[id].parse().unwrap()).or_default();
        match &row[event] {
            "publish" => e.0 = row[outcome].to_string(),
            "complete" => e.1.push(format!("{}:{}", &row[subject], &row[outcome])),
            other => panic!("unexpected ledger event {other}"),
        }
    }
    for (_, c) in out.values_mut() {
        c.sort();
    }
    out
}

/// Per message id: what the database holds of it (spool row, body length and digest, tracking
/// rows, queue entries left), without the times and instance names that differ between runs.
async fn contents(dsn: &str) -> BTreeMap<i64, String> {
    let (client, conn) = tokio_postgres::connect(dsn, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT s.id, s.msg_type || ' ' || s.context || ' parts=' || s.part_count || ' refs=' || s.ref_count
                || ' body=' || coalesce((SELECT sum(length(body)) || ':' || md5(string_agg(body, ''::bytea ORDER BY fragment_no))
                                          FROM mbox.parts p WHERE p.msg_id = s.id), 'none')
                || ' tracking=' || coalesce((SELECT string_agg(host || '/' || status || '/' || attempts, ',' ORDER BY host)
                                             FROM mbox.tracking t WHERE t.msg_id = s.id), '')
                || ' queued=' || ((SELECT count(*) FROM mbox.q_send q WHERE q.msg_id = s.id)
                                  + (SELECT count(*) FROM mbox.q_archive q WHERE q.msg_id = s.id))
             FROM mbox.spool s",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1))).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn both_drivers_leave_the_same_messages_outcomes_and_database() {
    let topo = AnyTopology::up(common::env(), TopologySpec::new(TopologyKind::Single)).await.unwrap();
    let dsn = topo.as_topology().primary().dsn();
    let dir = common::TempDir::new("drivers", "equivalence");
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("drivers.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let mut seen = Vec::new();
    for (driver, tag) in [(DriverArg::Wire, "wire"), (DriverArg::TokioPostgres, "tokio-postgres")] {
        let out = dir.join(tag);
        let args = RunArgs {
            scenario: Some(scenario.to_str().unwrap().into()),
            target_dsn: Some(dsn.clone()),
            driver: Some(driver),
            clients: Some(4),
            duration: Some(Duration::from_secs(3)),
            warmup: Some(Duration::ZERO),
            seed: Some(7),
            out: Some(out.clone()),
            quiet: true,
            ..Default::default()
        };
        habench::commands::run_cmd::run(args).await.unwrap_or_else(|e| panic!("{tag}: {e}"));
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!(
            (s["check"]["valid"].as_bool(), s["check"]["duplicated"].as_u64()),
            (Some(true), Some(0)),
            "{tag}: {:#}",
            s["check"]
        );
        let m = &s["messages"];
        assert_eq!(m["routed_ok"], m["completed_ok"], "{tag}: every delivery completed: {m}");
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["config"]["workload"]["driver"], tag);
        let (ledger, db) = (ledger(&out), contents(&dsn).await);
        // Ids from 1 on (a client stopped between drawing its id and publishing leaves a gap,
        // at most one per client), every publish acknowledged, completed once per subscribed host.
        let n = ledger.len() as i64;
        let last = *ledger.keys().next_back().unwrap();
        assert!(n > 100 && last - n <= 4, "{tag}: {n} messages, ids up to {last}");
        for (id, (publish, completes)) in &ledger {
            assert_eq!(publish, "ok", "{tag}: message {id}");
            assert!(completes.iter().all(|c| c.ends_with(":ok")), "{tag}: message {id}: {completes:?}");
        }
        assert_eq!(db.len() as i64, n, "{tag}: one spool row per message");
        // The body in the database is as long as the context says.
        for (id, row) in &db {
            let bytes = row.split("\"bytes\":").nth(1).and_then(|r| r.split('}').next()).unwrap();
            assert!(row.contains(&format!(" body={bytes}:")), "{tag}: message {id}: {row}");
        }
        seen.push((tag, ledger, db));
    }
    let (wire, tp) = (&seen[0], &seen[1]);
    let both: Vec<i64> = wire.1.keys().filter(|id| tp.1.contains_key(id)).copied().collect();
    assert!(both.len() > 100, "{} messages in both runs", both.len());
    for id in both {
        assert_eq!(wire.1[&id], tp.1[&id], "message {id}: ledger differs between the drivers");
        assert_eq!(wire.2[&id], tp.2[&id], "message {id}: database differs between the drivers");
    }
    drop(topo);
    std::fs::remove_dir_all(&dir).unwrap();
}
