//! Parallel groups on real servers: two groups behind habench's load balancer, one of them
//! crashed (and back, or never back) or drained under load. Each summary figure is checked
//! against the ledger read here on its own (which group acknowledged what, and when) and against
//! each group's own database count.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::kept::{read_json, Kept};
use serde_json::Value;

/// The quick scenario on two single groups with a fast balancer probe.
const PARALLEL: [&str; 14] = [
    "--topology",
    "parallel",
    "--rate",
    "200",
    "--warmup",
    "1s",
    "--duration",
    "10s",
    "--balancer-probe",
    "200ms",
    "--balancer-threshold",
    "2",
    "--quiet",
    "--out",
];

/// `habench run quick` on parallel groups with `extra`; the summary, once no server of the run
/// is left.
fn run(out: &Path, extra: &[&str]) -> Value {
    let child = common::habench()
        .args(["run", "quick"])
        .args(PARALLEL)
        .arg(out)
        .args(extra)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let status = common::Guard(child).0.wait().unwrap();
    assert!(status.success(), "habench run failed: {status}");
    assert_nothing_left(pid);
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["complete"], true, "{s}");
    s
}

/// No server of habench process `pid` runs (their directories are named after its pid).
fn assert_nothing_left(pid: u32) {
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&format!("topo-{pid}-")))
        .collect();
    assert!(left.is_empty(), "servers left behind: {left:?}");
}

/// One publish as ledger.csv has it.
struct Publish {
    at_us: i64,
    msg_id: i64,
    group: String,
    outcome: String,
}

/// Every publish in the run's ledger, and every (message -> end times) of its deliveries.
fn ledger(dir: &Path) -> (Vec<Publish>, BTreeMap<i64, Vec<i64>>) {
    let text = std::fs::read_to_string(dir.join("ledger.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).unwrap_or_else(|| panic!("no {n} in {head:?}"));
    let (at, event, id, outcome, held, group) =
        (col("at_us"), col("event"), col("msg_id"), col("outcome"), col("held"), col("group"));
    let (mut publishes, mut done) = (Vec::new(), BTreeMap::<i64, Vec<i64>>::new());
    for c in lines.map(|l| l.split(',').collect::<Vec<_>>()) {
        let acked = c[outcome] == "ok" || c[outcome] == "acked_unreplicated";
        match c[event] {
            "publish" => publishes.push(Publish {
                at_us: c[at].parse().unwrap(),
                msg_id: c[id].parse().unwrap(),
                group: c[group].to_string(),
                outcome: c[outcome].to_string(),
            }),
            "complete" | "suspend" if acked && c[held] == "true" => {
                done.entry(c[id].parse().unwrap()).or_default().push(c[at].parse().unwrap())
            }
            _ => {}
        }
    }
    (publishes, done)
}

fn acked(p: &Publish) -> bool {
    p.outcome == "ok" || p.outcome == "acked_unreplicated"
}

/// Per group: acknowledged publishes in the ledger against the summary and the group's own
/// database count (an unknown outcome may have committed).
fn assert_groups_match_the_ledger(s: &Value, publishes: &[Publish]) {
    let p = &s["parallel"];
    let mut total = 0;
    for g in p["per_group"].as_array().unwrap() {
        let name = g["name"].as_str().unwrap();
        let mine: Vec<&Publish> = publishes.iter().filter(|x| x.group == name).collect();
        let ok = mine.iter().filter(|x| acked(x)).count() as u64;
        let unknown = mine.iter().filter(|x| x.outcome == "unknown").count() as u64;
        assert!(ok > 0, "the balancer sent {name} publishes: {g}");
        assert_eq!(g["published_ok"].as_u64(), Some(ok), "{g}");
        assert_eq!(g["published_unknown"].as_u64(), Some(unknown), "{g}");
        if let Some(held) = g["in_database"].as_u64() {
            assert!(
                (ok..=ok + unknown).contains(&held),
                "{name}'s database holds {held}; ledger {ok} + {unknown} unknown"
            );
        }
        total += ok;
    }
    assert!(publishes.iter().all(|x| !x.group.is_empty()), "every publish names its group");
    assert_eq!(s["check"]["acknowledged"].as_u64(), Some(total), "a message lives in exactly one group");
}

/// The longest pause between consecutive acknowledged publishes of `group` (µs), and how many
/// came after it.
fn longest_pause(publishes: &[Publish], group: &str) -> (i64, usize) {
    let mut at: Vec<i64> = publishes.iter().filter(|p| p.group == group && acked(p)).map(|p| p.at_us).collect();
    at.sort_unstable();
    let (i, gap) = at.windows(2).enumerate().map(|(i, w)| (i, w[1] - w[0])).max_by_key(|&(_, g)| g).unwrap();
    (gap, at.len() - i - 1)
}

#[test]
fn a_crashed_group_strands_its_messages_until_it_returns_and_loses_none() {
    let out = common::TempDir::new("parallel", "crash");
    let mut args = PARALLEL[..PARALLEL.len() - 2].to_vec();
    args.extend(["--fault", "crash-group@3s:3s"]);
    let k = Kept::run(&out, &args);
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["complete"], true, "{s}");
    assert_eq!(s["check"]["valid"], true, "{}", s["check"]);
    assert_eq!(s["check"]["lost"], 0);
    let (publishes, _done) = ledger(&out);
    assert_groups_match_the_ledger(&s, &publishes);
    // Each group's own database, read here: it holds every message the ledger says it
    // acknowledged, and none that went to the other group (an unknown publish may be there).
    let groups = k.info["groups"].as_array().expect("the kept groups");
    assert_eq!(groups.len(), 2, "{}", k.info);
    for g in groups {
        let name = g["name"].as_str().unwrap();
        let dsn = g["topology"]["write_dsn"].as_str().unwrap();
        let held: std::collections::BTreeSet<i64> = k
            .query_on(dsn, "SELECT id FROM mbox.spool UNION SELECT msg_id FROM mbox.tracking")
            .iter()
            .map(|r| r[0].parse().unwrap())
            .collect();
        for p in &publishes {
            match (p.group == name, acked(p), p.outcome.as_str()) {
                (true, true, _) => assert!(held.contains(&p.msg_id), "{name} lost message {}", p.msg_id),
                (true, false, "unknown") => {}
                _ => assert!(
                    !held.contains(&p.msg_id),
                    "{name} holds message {} ({} of {})",
                    p.msg_id,
                    p.outcome,
                    p.group
                ),
            }
        }
    }
    let pid = k.pid();
    drop(k);
    assert_nothing_left(pid);
    let m = &s["parallel"]["maneuvers"][0];
    assert_eq!((m["kind"].as_str(), m["group"].as_str()), (Some("crash-group"), Some("g1")), "{m}");
    // Out of the rotation after 2 failed probes 200 ms apart (probes are not aligned to the crash).
    let out_ms = m["out_after_ms"].as_f64().unwrap();
    assert!((200.0..1_500.0).contains(&out_ms), "{m}");
    let (at_s, back_s) = (m["at_s"].as_f64().unwrap(), m["back_s"].as_f64().expect("the group came back"));
    assert!(back_s - at_s >= 3.0, "{m}");
    // Publishes the balancer sent to g1 before it noticed failed; none after it took g1 out.
    let failed = m["failed_before_out"].as_u64().unwrap();
    assert!(failed > 0, "{m}");
    let g1 = &s["parallel"]["per_group"][0];
    assert_eq!(g1["published_failed"].as_u64().unwrap() + g1["published_unknown"].as_u64().unwrap(), failed, "{g1}");
    // Stranded: acknowledged by g1, undelivered at the crash, all delivered once it was back,
    // each at least the outage later.
    let stranded = m["stranded"].as_u64().unwrap();
    assert!(stranded > 0, "{m}");
    assert_eq!(m["stranded_delivered"].as_u64(), Some(stranded), "{m}");
    assert_eq!(m["stranded_never_delivered"], 0);
    let p50 = m["extra_delay_ms"]["p50"].as_f64().unwrap();
    assert!(p50 >= (back_s - at_s) * 1e3 * 0.9, "extra delay {p50} ms for an outage of {} s", back_s - at_s);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Parallel groups"), "the report has the section");
    assert!(report.contains(&format!("**crash-group g1**: {stranded} stranded, all delivered")), "headline");
}

#[test]
fn a_group_that_never_returns_loses_what_it_held_and_only_that() {
    let out = common::TempDir::new("parallel", "gone");
    let s = run(&out, &["--fault", "crash-group@3s"]);
    let (publishes, _done) = ledger(&out);
    assert_groups_match_the_ledger(&s, &publishes);
    let m = &s["parallel"]["maneuvers"][0];
    assert!(m["back_s"].is_null(), "{m}");
    let stranded = m["stranded"].as_u64().unwrap();
    let never = m["stranded_never_delivered"].as_u64().unwrap();
    assert!(stranded > 0 && never > 0, "{m}");
    // A completion in flight when the fault was logged may still have committed before the kill
    // (its acknowledgement comes a few ms after): delivered, but only that close to the crash.
    if never < stranded {
        let late = m["extra_delay_ms"]["max"].as_f64().unwrap();
        assert!(late < 1_000.0, "a group that never returns delivered a stranded message {late} ms later: {m}");
    }
    // The checker could not read g1: every message g1 acknowledged is lost (the stranded ones,
    // and the delivered ones whose tracking went with it), and nothing of g2.
    let g1 = &s["parallel"]["per_group"][0];
    assert!(g1["in_database"].is_null(), "{g1}");
    let g1_acked = publishes.iter().filter(|p| p.group == "g1" && acked(p)).count() as u64;
    assert_eq!(g1["lost"].as_u64(), Some(g1_acked), "{g1}");
    assert_eq!(s["parallel"]["per_group"][1]["lost"], 0);
    assert_eq!(s["check"]["lost"].as_u64(), Some(g1_acked), "{}", s["check"]);
    assert!(g1_acked >= stranded);
    // Nothing g1 acknowledged came after its first failure: it was gone from then on.
    let last_ack = publishes.iter().filter(|p| p.group == "g1" && acked(p)).map(|p| p.at_us).max().unwrap();
    let first_fail = publishes.iter().filter(|p| p.group == "g1" && !acked(p)).map(|p| p.at_us).min().unwrap();
    assert!(last_ack < first_fail, "g1 acknowledged at {last_ack} after failing at {first_fail}");
}

#[test]
fn a_drained_group_patched_and_back_costs_no_publish_and_strands_nothing() {
    let out = common::TempDir::new("parallel", "drain");
    let s = run(&out, &["--group-topology", "sync", "--fault", "drain-group@3s:2s"]);
    assert_eq!(s["check"]["valid"], true, "{}", s["check"]);
    let (publishes, done) = ledger(&out);
    assert_groups_match_the_ledger(&s, &publishes);
    let m = &s["parallel"]["maneuvers"][0];
    assert_eq!(m["kind"], "drain-group");
    assert_eq!((m["failed_before_out"].as_u64(), m["left_at_stop"].as_i64()), (Some(0), Some(0)), "{m}");
    assert_eq!(m["stranded"], 0, "its hosts emptied its queues before it stopped: {m}");
    let g1 = &s["parallel"]["per_group"][0];
    assert_eq!((g1["published_failed"].as_u64(), g1["published_unknown"].as_u64()), (Some(0), Some(0)), "{g1}");
    assert_eq!(s["parallel"]["group_topology"], "sync");
    // The ledger's own view: g1 acknowledged nothing for the drain (2 s) and took publishes
    // again after it, every one of them delivered.
    let (gap_us, after) = longest_pause(&publishes, "g1");
    assert!(gap_us >= 2_000_000 && after > 0, "g1 paused {gap_us} µs, {after} publishes after");
    let back_s = m["back_s"].as_f64().expect("back");
    assert!(back_s > m["at_s"].as_f64().unwrap() + 2.0, "{m}");
    let g1_acked: Vec<&Publish> = publishes.iter().filter(|p| p.group == "g1" && acked(p)).collect();
    assert!(g1_acked.iter().all(|p| done.contains_key(&p.msg_id)), "every g1 message delivered");
}
