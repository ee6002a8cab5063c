//! Durability exposure on real servers: a synchronous standby that dies and is dropped opens a
//! window of commits acknowledged on the primary alone; its bounds follow the primary's own log
//! of the setting changing, and its acknowledged count is the ledger's. With a second standby
//! to take over, no window opens.

mod common;

use std::path::Path;

use common::kept::{ledger_acks, read_json, Kept};
use serde_json::Value;

/// A sync run at 200/s whose synchronous standby is killed 2 s in, with a fast orchestrator
/// (probes every 200 ms, 3 missed = down), plus `more`.
fn run(out: &Path, standbys: u8, more: &[&str]) -> Kept {
    let standbys = standbys.to_string();
    let mut args = vec!["--topology", "sync", "--standbys", &standbys, "--rate", "200", "--duration", "10s"];
    args.extend(["--warmup", "1s", "--fault", "kill-sync-standby@2s", "--probe-interval", "200ms"]);
    args.extend(["--probe-threshold", "3"]);
    args.extend(more);
    Kept::run(out, &args)
}

/// Acknowledged publishes' ids in the ledger between two wall-clock instants.
fn ledger_ack_ids(dir: &Path, from_us: i64, to_us: i64) -> Vec<i64> {
    ledger_acks(dir).into_iter().filter(|a| a.at_us >= from_us && a.at_us < to_us).map(|a| a.msg_id).collect()
}

/// `2026-12-02 01:16:43.898 UTC` (the server's `%m`) as wall-clock µs.
fn log_time_us(line: &str) -> Option<i64> {
    let (date, rest) = line.split_once(' ')?;
    let time = rest.split(' ').next()?;
    let d: Vec<i64> = date.split('-').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let (hms, ms) = time.split_once('.')?;
    let t: Vec<i64> = hms.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    // Days from the civil date (proleptic Gregorian), as in Howard Hinnant's algorithm.
    let (y, m) = if d[1] <= 2 { (d[0] - 1, d[1] + 9) } else { (d[0], d[1] - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some(((days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]) * 1000 + ms.parse::<i64>().ok()?) * 1000)
}

/// The server log of the run's first primary.
fn primary_log(manifest: &Value) -> String {
    let nodes = manifest["topology"]["nodes"].as_array().unwrap();
    let primary = nodes.iter().find(|n| n["role"] == "primary").expect("a primary");
    std::fs::read_to_string(primary["log"].as_str().unwrap()).unwrap()
}

/// When the primary's log says `synchronous_standby_names` changed, and to what.
fn setting_changes(manifest: &Value) -> Vec<(i64, String)> {
    let log = primary_log(manifest);
    log.lines()
        .filter(|l| l.contains("parameter \"synchronous_standby_names\" changed to"))
        .filter_map(|l| Some((log_time_us(l)?, l.rsplit_once("changed to ")?.1.trim_matches('"').to_string())))
        .collect()
}

#[test]
fn a_dropped_only_standby_opens_a_window_that_the_primary_log_and_the_ledger_agree_with() {
    let out = common::TempDir::new("exposure", "first-1-of-1");
    let _servers = run(&out, 1, &[]);
    let s = read_json(&out.join("summary.json"));
    let e = &s["exposure"];
    assert_eq!(e["configured"], "FIRST 1 (s1)", "{e:#}");
    let windows = e["windows"].as_array().unwrap();
    assert!(!windows.is_empty(), "the dropped standby left commits unprotected: {e:#}");
    let w = &windows[0];
    assert_eq!(w["names"], "");
    assert!(w["cause"].as_str().unwrap().contains("s1 dropped"), "{w}");
    // The primary's own log: the setting was emptied (the drop) and restored (the rejoin); the
    // window cannot have been seen before the first, nor have ended before the second.
    let changes = setting_changes(&read_json(&out.join("manifest.json")));
    let dropped = changes.iter().find(|c| c.1.is_empty()).unwrap_or_else(|| panic!("no drop logged: {changes:?}"));
    let (start, end) = (w["start_us"].as_i64().unwrap(), w["end_us"].as_i64().unwrap());
    let seen = w["seen_us"].as_i64().unwrap();
    // The change happened between the last sample before it and the first that showed it (the
    // log's clock has ms; the sampler's query follows the log line).
    assert!(start <= dropped.0 + 1000 && dropped.0 <= seen + 1000, "{start} <= {} <= {seen}", dropped.0);
    if let Some(restored) = changes.iter().find(|c| c.0 > dropped.0 && !c.1.is_empty()) {
        assert!(end >= restored.0 - 1000, "closed at {end}, restored at {}", restored.0);
    }
    // Its acknowledged count is the ledger's, counted from the file.
    assert_eq!(w["acked"].as_u64(), Some(ledger_ack_ids(&out, start, end).len() as u64), "{w}");
    assert!(w["acked"].as_u64().unwrap() > 0, "200/s were acknowledged while exposed: {w}");
    assert_eq!((e["lost"].as_u64(), s["check"]["lost"].as_u64()), (Some(0), Some(0)), "no primary failed");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Durability exposure") && report.contains("s1 dropped"), "{report}");
}

#[test]
fn with_a_second_standby_to_take_over_no_window_opens() {
    let out = common::TempDir::new("exposure", "first-1-of-2");
    let _servers = run(&out, 2, &[]);
    let s = read_json(&out.join("summary.json"));
    let e = &s["exposure"];
    assert_eq!(e["configured"], "FIRST 1 (s1, s2)", "{e:#}");
    assert_eq!(e["windows"].as_array().map(Vec::len), Some(0), "{e:#}");
    let trial = &s["failover"]["trials"][0];
    let events: Vec<&str> = trial["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert!(events.contains(&"standby_dropped"), "the dead standby was dropped all the same: {events:?}");
    // The primary's log: after the drop, the setting still names a standby.
    let changes = setting_changes(&read_json(&out.join("manifest.json")));
    assert!(changes.iter().all(|c| !c.1.is_empty()), "{changes:?}");
}

#[test]
fn a_primary_lost_while_exposed_loses_what_the_window_acknowledged_and_it_is_attributed_there() {
    let out = common::TempDir::new("exposure", "second-fault");
    // The standby stays lost (--no-heal); 4 s later the primary's node crashes. Nothing else
    // runs, so the orchestrator starts the stale standby and promotes it (a forced failover).
    let servers = run(&out, 1, &["--no-heal", "--fault", "crash-primary@6s"]);
    let s = read_json(&out.join("summary.json"));
    let e = &s["exposure"];
    let windows = e["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1, "one window, from the drop to the end of the run: {e:#}");
    let w = &windows[0];
    assert!(w["end_s"].is_null(), "the standby never came back: {w}");
    let lost = e["lost"].as_u64().unwrap();
    assert!(lost > 0, "the promoted standby stopped at 2 s; the primary acknowledged 4 s more: {e:#}");
    assert_eq!(e["lost_in_windows"].as_u64(), Some(lost), "all the loss sits in the window: {e:#}");
    assert_eq!(w["lost"].as_u64(), Some(lost), "{w}");
    assert_eq!(s["check"]["lost_publishes"].as_u64(), Some(lost), "{}", s["check"]);
    // Independently: every publish the ledger shows acknowledged in the window before the
    // standby was promoted is missing on the survivor, counted there by SQL.
    let trial = s["failover"]["trials"].as_array().unwrap().iter().find(|t| t["fault"]["kind"] == "crash-primary");
    let trial = trial.expect("the crash's trial");
    let promoted_s = trial["injected_at_s"].as_f64().unwrap() + trial["promoted_ms"].as_f64().unwrap() / 1e3;
    let start_us = w["start_us"].as_i64().unwrap();
    let promoted_us = start_us + ((promoted_s - w["start_s"].as_f64().unwrap()) * 1e6) as i64;
    // The window opens at the last sample before the change: the commits acknowledged before
    // the first sample that showed it may have been protected; every one after it is lost.
    let ids = ledger_ack_ids(&out, start_us, promoted_us);
    let missing = servers.missing_on_primary(&ids);
    assert_eq!(missing, lost, "SQL on the survivor: {missing} of {} acknowledged ids absent", ids.len());
    // On the time axis: all of it in the window, before the switch to timeline 2, charted.
    let l = &s["lost_writes"];
    assert_eq!(
        (l["lost"].as_u64(), l["in_windows"].as_u64(), l["timeline"].as_u64()),
        (Some(lost), Some(lost), Some(2))
    );
    assert!(l["latest_s"].as_f64().unwrap() < l["switch_s"].as_f64().unwrap(), "{l}");
    assert!(out.join("charts/lost-writes.svg").exists());
    let sure = ledger_ack_ids(&out, w["seen_us"].as_i64().unwrap(), promoted_us);
    assert!(!sure.is_empty());
    assert_eq!(servers.missing_on_primary(&sure), sure.len() as u64, "every ack after the drop was seen is lost");
}

#[test]
fn commits_whose_standby_wait_was_cancelled_are_counted_apart_as_the_primary_log_warns() {
    let out = common::TempDir::new("exposure", "cancelled-waits");
    // The standby dies at 2 s and is dropped ~0.6 s later; meanwhile every commit waits for it
    // and is cancelled after 100 ms: PostgreSQL acknowledges it with a warning.
    let _servers = run(&out, 1, &["--sync-wait-timeout", "100ms"]);
    let s = read_json(&out.join("summary.json"));
    let ops = s["ops"].as_object().unwrap();
    let counted: u64 = ops.values().map(|o| o["acked_unreplicated"].as_u64().unwrap_or(0)).sum();
    // The independent count: the primary's own log has one warning per such commit.
    let log = primary_log(&read_json(&out.join("manifest.json")));
    let warned = log.matches("canceling wait for synchronous replication due to user request").count() as u64;
    assert!(warned > 0, "commits waited for the dead standby and were cancelled");
    assert_eq!(counted, warned, "every warned commit counted apart, none as plain ok: {ops:?}");
    // The ledger has them too (publishes and completions: every op but the dequeues).
    let text = std::fs::read_to_string(out.join("ledger.csv")).unwrap();
    let in_ledger = text.lines().filter(|l| l.contains(",acked_unreplicated,")).count() as u64;
    let dequeues = s["ops"]["dequeue"]["acked_unreplicated"].as_u64().unwrap_or(0);
    assert_eq!(in_ledger + dequeues, warned);
    // Acknowledged all the same: the checker holds them to the promise (nothing failed here).
    assert_eq!(s["check"]["lost"].as_u64(), Some(0));
}

#[test]
fn a_primary_that_takes_connections_but_never_acknowledges_ends_the_run_at_its_hard_end() {
    let out = common::TempDir::new("exposure", "never-acked");
    // `quick` with a 2 s drain.
    let quick =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../workloads/scenarios/quick.toml")).unwrap();
    let scenario_dir = common::TempDir::new("exposure", "never-acked-scenario");
    std::fs::create_dir_all(&*scenario_dir).unwrap();
    let scenario = scenario_dir.join("quick-2s-drain.toml");
    let text = quick.replacen("[load]\n", "[load]\ndrain_timeout = \"2s\"\n", 1);
    assert_ne!(text, quick);
    std::fs::write(&scenario, text).unwrap();
    // The only standby dies and is never declared failed (1000 missed probes): every commit
    // waits for it. Publishers must give up at the hard end (drain 2 s + 5 s after the 4 s of
    // publishing) instead of trying each remaining slot for one op timeout after another.
    let mut child = common::habench()
        .args(["run", scenario.to_str().unwrap(), "--topology", "sync", "--rate", "100", "--duration", "4s"])
        .args(["--warmup", "1s"])
        .args(["--fault", "kill-sync-standby@1s", "--probe-threshold", "1000", "--op-timeout", "2s", "--quiet"])
        .args(["--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // With the bug the run took hours (~300 slots x 2 s over 8 publishers); done, it takes
    // ~20 s. The deadline is only there so that a regression fails instead of hanging CI.
    common::wait_exit(&mut child, std::time::Duration::from_secs(300));
    let s = read_json(&out.join("summary.json"));
    assert!(s["messages"]["not_attempted"].as_u64().unwrap() > 0, "{}", s["messages"]);
}
