//! Split brain on real servers: an async primary hangs (SIGSTOP) long enough to be taken over.
//! Without fencing it wakes up beside the new primary, its clients' writes go on landing on it
//! until the orchestrator sees two primaries and fences it, and those writes are gone from the
//! survivor; with fencing it takes none.

mod common;

use std::path::Path;

use common::kept::{ledger_acks, read_json, Kept};

/// async at 200/s; the primary hangs from 2 s for 5 s (the takeover needs ~1.5 s of it: 3 missed
/// probes of 200 ms plus their 200 ms timeouts, then the promotion).
fn run(out: &Path, more: &[&str]) -> Kept {
    let mut args = vec!["--topology", "async", "--rate", "200", "--duration", "10s", "--warmup", "1s"];
    args.extend(["--fault", "pause-primary@2s:5s", "--probe-interval", "200ms", "--probe-threshold", "3"]);
    args.extend(more);
    Kept::run(out, &args)
}

/// The port of the node that was the primary when the run began.
fn first_primary_port(dir: &Path) -> u16 {
    let m = read_json(&dir.join("manifest.json"));
    let nodes = m["topology"]["nodes"].as_array().unwrap();
    let p = nodes.iter().find(|n| n["name"] == "primary").expect("node `primary`");
    p["port"].as_u64().unwrap() as u16
}

#[test]
fn without_fencing_the_woken_primary_takes_writes_that_the_survivor_lacks() {
    let out = common::TempDir::new("split-brain", "no-fence");
    let servers = run(&out, &["--no-fence"]);
    let s = read_json(&out.join("summary.json"));
    let b = &s["split_brain"];
    assert_eq!(b["node"], "primary", "{b:#}");
    assert_eq!(b["port"].as_u64(), Some(u64::from(first_primary_port(&out))));
    let acked = b["acked"].as_u64().unwrap();
    assert!(acked > 0, "its clients' hung publishes completed on it when it woke: {b:#}");
    let (seen, fenced) = (b["seen_s"].as_f64().unwrap(), b["fenced_s"].as_f64().unwrap());
    assert!(b["promoted_s"].as_f64().unwrap() < seen && seen <= fenced, "{b:#}");
    // Independently: the ledger's publishes that its port acknowledged after the promotion are
    // the section's, and SQL on the survivor finds as many of them missing as the checker.
    let promoted_us = b["promoted_us"].as_i64().unwrap();
    let port = b["port"].as_u64().unwrap() as u16;
    let ids: Vec<i64> = ledger_acks(&out)
        .into_iter()
        .filter(|a| a.server_port == port && a.at_us >= promoted_us)
        .map(|a| a.msg_id)
        .collect();
    assert_eq!(ids.len() as u64, acked);
    let lost = b["lost"].as_u64().unwrap();
    assert_eq!(servers.missing_on_primary(&ids), lost, "{b:#}");
    assert_eq!(lost, acked, "the old primary was rewound: nothing it took alone survives");
    // The ledger's own count, which needs no orchestrator event, counts only publishes taken
    // while another server was taking them too; here the clients hung on the old primary and
    // stayed with it when it woke, so the new one may have taken none beside it. It never
    // claims more than happened.
    let two = &s["two_primaries"];
    assert_eq!(two["servers"].as_array().unwrap().len(), 2, "{two:#}");
    let mut names: Vec<&str> = two["names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["primary", "s1"], "each server by its node: {two:#}");
    assert!(two["lost"].as_u64().unwrap() <= lost, "{two:#}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Split brain"), "{report}");
    assert!(report.contains("Two primaries at once: **"), "{report}");
}

#[test]
fn with_fencing_the_old_primary_takes_no_write_once_the_new_one_does() {
    let out = common::TempDir::new("split-brain", "fenced");
    let _servers = run(&out, &[]);
    let s = read_json(&out.join("summary.json"));
    assert!(s["split_brain"].is_null(), "nothing was left running: {}", s["split_brain"]);
    let old = first_primary_port(&out);
    let acks = ledger_acks(&out);
    let first_new = acks.iter().filter(|a| a.server_port != old && a.server_port != 0).map(|a| a.at_us).min();
    let first_new = first_new.expect("the promoted standby took writes");
    let late = acks.iter().filter(|a| a.server_port == old && a.at_us >= first_new).count();
    assert_eq!(late, 0, "the fenced primary acknowledged writes after the new one began");
    let two = &s["two_primaries"];
    assert_eq!((two["servers"].as_array().unwrap().len(), two["acked"].as_u64()), (2, Some(0)), "{two:#}");
}
