//! The MessageBox over habench's wire client: every acknowledged message is in the database
//! as the ledger and the scenario say (its type, its body byte for byte in 1 KiB fragments,
//! one completion per subscribed host). (Before the tokio-postgres path of the MessageBox
//! workers was removed, this test ran both clients on one seed and found the same ledger and
//! database contents.)

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use habench::cli::RunArgs;
use habench::topology::{AnyTopology, TopologyKind, TopologySpec};

/// Bodies of 1-3 fragments (1 KiB each), nothing purged during the run (every message
/// stays in the database to be compared), no simulated failures (outcomes do not depend on which
/// instance took which message).
const SCENARIO: &str = r#"
name = "wire"
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

/// Per message id: its publish outcome and type, and its completions (host:outcome), from
/// ledger.csv.
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
            "publish" => e.0 = format!("{} {}", &row[outcome], &row[subject]),
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
/// rows, queue entries left), without times and instance names.
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

/// A fresh `single` server and a run of the scenario `text` on it for `secs` (4 clients, seed
/// 7); returns the server (drop it last), its DSN, the test's folder (the run's results in
/// `out/`) and the run's summary.
async fn run_on_single(name: &str, text: &str, secs: u64) -> (AnyTopology, String, common::TempDir, serde_json::Value) {
    let topo = AnyTopology::up(common::env(), TopologySpec::new(TopologyKind::Single)).await.unwrap();
    let dsn = topo.as_topology().primary().dsn();
    let dir = common::TempDir::new("wire", name);
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join(format!("{name}.toml"));
    std::fs::write(&scenario, text).unwrap();
    let out = dir.join("out");
    let args = RunArgs {
        scenario: Some(scenario.to_str().unwrap().into()),
        target_dsn: Some(dsn.clone()),
        clients: Some(4),
        duration: Some(Duration::from_secs(secs)),
        warmup: Some(Duration::ZERO),
        seed: Some(7),
        out: Some(out.clone()),
        quiet: true,
        ..Default::default()
    };
    habench::commands::run_cmd::run(args).await.expect("run");
    let s = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    (topo, dsn, dir, s)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_acknowledged_message_is_stored_as_the_ledger_and_the_scenario_say() {
    let (topo, dsn, dir, s) = run_on_single("messagebox", SCENARIO, 3).await;
    let out = dir.join("out");
    assert_eq!(
        (s["check"]["valid"].as_bool(), s["check"]["duplicated"].as_u64()),
        (Some(true), Some(0)),
        "{:#}",
        s["check"]
    );
    let m = &s["messages"];
    assert_eq!(m["routed_ok"], m["completed_ok"], "every delivery completed: {m}");
    let (ledger, db) = (ledger(&out), contents(&dsn).await);
    // Ids from 1 on (a client stopped between drawing its id and publishing leaves a gap, at
    // most one per client).
    let n = ledger.len() as i64;
    let last = *ledger.keys().next_back().unwrap();
    assert!(n > 100 && last - n <= 4, "{n} messages, ids up to {last}");
    assert_eq!(db.len() as i64, n, "one spool row per message");
    for (id, (publish, completes)) in &ledger {
        let row = &db[id];
        let (outcome, msg_type) = publish.split_once(' ').unwrap();
        assert_eq!(outcome, "ok", "message {id}");
        assert!(row.starts_with(&format!("{msg_type} {{\"type\":\"{msg_type}\"")), "message {id}: {row}");
        // Completed once by each subscribed host, as the ledger says, and released.
        let hosts: Vec<&str> = if msg_type == "order" { vec!["archive", "send"] } else { vec!["send"] };
        let expected: Vec<String> = hosts.iter().map(|h| format!("{h}:ok")).collect();
        assert_eq!(completes, &expected, "message {id}");
        let tracking: Vec<String> = hosts.iter().map(|h| format!("{h}/completed/1")).collect();
        assert!(
            row.contains(" refs=0 ") && row.contains(&format!(" tracking={} queued=0", tracking.join(","))),
            "message {id}: {row}"
        );
        // The body in the database is as long as the context says.
        let bytes = row.split("\"bytes\":").nth(1).and_then(|r| r.split('}').next()).unwrap();
        assert!(row.contains(&format!(" body={bytes}:")), "message {id}: {row}");
    }
    // Byte for byte: the first messages' bodies are the fragments habench drew for them.
    let (client, conn) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    for id in 1..=20i64 {
        let rows = client
            .query("SELECT length(body), body FROM mbox.parts WHERE msg_id = $1 ORDER BY fragment_no", &[&id])
            .await
            .unwrap();
        let stored: Vec<Vec<u8>> = rows.iter().map(|r| r.get::<_, Vec<u8>>(1)).collect();
        let len: usize = stored.iter().map(Vec::len).sum();
        let drawn: Vec<Vec<u8>> =
            habench_workloads::messagebox::ops::fragments(id, len, 1024).iter().map(|f| f.to_vec()).collect();
        assert_eq!(stored, drawn, "message {id}: {len} bytes in {} fragments", stored.len());
    }
    drop(topo);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A stopped host (`instances = 0`, BizTalk: its host instances stopped): what is routed to it
/// waits in its queue, counted as undelivered (not lost); the run ends once the hosts that run
/// have drained, without waiting the drain timeout for a queue that never empties.
#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_hosts_messages_wait_in_its_queue_and_the_run_does_not_wait_for_them() {
    let text = format!("{}\n[load]\ndrain_timeout = \"30s\"\n", SCENARIO.replace("instances = 1\n", "instances = 0\n"));
    assert!(text.contains("instances = 0"));
    let (topo, dsn, dir, s) = run_on_single("stopped", &text, 2).await;
    let (client, conn) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let count = |sql: &'static str| {
        let c = &client;
        async move { c.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    let (orders, waiting, sent) = (
        count("SELECT count(*) FROM mbox.spool WHERE msg_type = 'order'").await,
        count("SELECT count(*) FROM mbox.q_archive").await,
        count("SELECT count(*) FROM mbox.q_send").await,
    );
    assert!(orders > 10, "{orders} orders");
    assert_eq!((waiting, sent), (orders, 0), "every order waits for archive; send delivered all");
    assert_eq!(s["check"]["lost"], 0, "{:#}", s["check"]);
    assert_eq!(s["check"]["undelivered"].as_i64(), Some(orders), "{:#}", s["check"]);
    let d = &s["drain"];
    assert_eq!((d["drained"].as_bool(), d["left_in_queues"].as_i64()), (Some(true), Some(orders)), "{d}");
    assert!(d["drain_ms"].as_f64().unwrap() < 30_000.0, "the drain did not wait its timeout: {d}");
    drop(topo);
    std::fs::remove_dir_all(&dir).unwrap();
}
