//! A receive location on a real server: files written in pieces into a real directory, read by
//! receive instances without locks, with exclusive claims, or as a clustered host; the summary's
//! counts checked against the receipts the database holds and the files left on disk.

mod common;

use std::path::Path;

use common::kept::{read_json, Kept};
use serde_json::Value;

/// The shipped `receive` scenario with faster polls (and `extra` keys of `[receive]`), as a file.
fn scenario(dir: &Path, receive: &str) -> String {
    let shipped = habench::config::scenario::SHIPPED.iter().find(|(n, _)| *n == "receive").unwrap().1;
    let text = shipped.replace("[receive]\n", &format!("[receive]\n{receive}\n"));
    let text = text.replace("poll_interval = \"1s\"", "").replace("write_time = \"50ms\"", "");
    let text = text.replace("detect_interval = \"1s\"", "").replace("detect_threshold = 3", "");
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("receive-test.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// What the database's receipts say: (rows, distinct files, rows beyond the first per file,
/// rows whose bytes differ from the length in the file's name).
fn db_counts(k: &Kept) -> (u64, u64, u64, u64) {
    let row = &k.query(
        "SELECT count(*), count(DISTINCT file), count(*) - count(DISTINCT file), \
         count(*) FILTER (WHERE split_part(file, '-', 2)::int <> bytes) FROM mbox.receipts",
    )[0];
    let n = |i: usize| row[i].parse::<u64>().unwrap();
    (n(0), n(1), n(2), n(3))
}

fn receive_of(out: &Path) -> Value {
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["complete"], true, "{s}");
    assert_eq!(s["check"]["valid"], true, "{}", s["check"]);
    s["receive"].clone()
}

fn files_left(out: &Path) -> usize {
    std::fs::read_dir(out.join("receive")).unwrap().count()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn reading_without_locks_duplicates_files_and_the_database_counts_the_same() {
    let tmp = common::TempDir::new("receive", "none");
    let out = tmp.join("run");
    let sc = scenario(&tmp, "poll_interval = \"100ms\"\nwrite_time = \"100ms\"");
    let k = Kept::run_scenario(&sc, &out, &["--receive-instances", "4", "--receive-lock", "none", "--duration", "6s"]);
    let r = receive_of(&out);
    let (rows, files, dups, short) = db_counts(&k);
    assert_eq!(r["lock"], "none");
    assert!(u(&r["duplicate_receipts"]) > 0, "four instances without locks read some file twice: {r}");
    assert_eq!((u(&r["receipts"]), u(&r["duplicate_receipts"]), u(&r["incomplete_reads"])), (rows, dups, short), "{r}");
    assert_eq!(u(&r["files_written"]), files, "every file written was read at least once: {r}");
    assert_eq!(files_left(&out), 0, "nothing left in the receive location");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let headline = format!("**Receive**: {} read twice, {} half-written", dups, short);
    assert!(report.contains(&headline), "the report's headline says it: {headline}");
    assert!(report.contains("## Receive location"));
    let csv = std::fs::read_to_string(out.join("receive.csv")).unwrap();
    assert_eq!(csv.lines().count() as u64 - 1, rows, "receive.csv has a line per read");
}

#[test]
fn exclusive_claims_never_read_a_file_twice_or_half_written() {
    let tmp = common::TempDir::new("receive", "exclusive");
    let out = tmp.join("run");
    // Uploads take 300 ms: most polls find files still being written, which must be skipped.
    let sc = scenario(&tmp, "poll_interval = \"100ms\"\nwrite_time = \"300ms\"");
    let k =
        Kept::run_scenario(&sc, &out, &["--receive-instances", "4", "--receive-lock", "exclusive", "--duration", "6s"]);
    let r = receive_of(&out);
    let (rows, files, dups, short) = db_counts(&k);
    assert_eq!((u(&r["duplicate_receipts"]), u(&r["incomplete_reads"])), (0, 0), "{r}");
    assert_eq!((dups, short), (0, 0), "the database holds each file once, whole");
    assert_eq!((u(&r["files_written"]), u(&r["files_received"])), (files, rows), "{r}");
    assert_eq!(files_left(&out), 0);
}

#[test]
fn a_clustered_host_takes_over_after_its_active_instance_dies() {
    let tmp = common::TempDir::new("receive", "clustered");
    let out = tmp.join("run");
    let sc = scenario(&tmp, "poll_interval = \"200ms\"\ndetect_interval = \"200ms\"\ndetect_threshold = 3");
    let k = Kept::run_scenario(
        &sc,
        &out,
        &[
            "--receive-instances",
            "2",
            "--receive-lock",
            "clustered",
            "--duration",
            "6s",
            "--fault",
            "kill-receive-instance@2s:1s",
        ],
    );
    let r = receive_of(&out);
    let kill = &r["kills"][0];
    assert_eq!((kill["instance"].as_str(), kill["taken_over_by"].as_str()), (Some("recv-1"), Some("recv-2")), "{r}");
    let takeover_ms = kill["takeover_ms"].as_f64().unwrap();
    assert!((600.0..5_000.0).contains(&takeover_ms), "3 missed 200 ms heartbeats, then a takeover: {takeover_ms}");
    assert!(kill["pickup_gap_ms"].as_f64().unwrap() >= 600.0, "{kill}");
    // Started again 1 s after its death, it found recv-2 active and waited.
    let back = kill["restarted_after_ms"].as_f64().expect("recv-1 was started again");
    assert!((1_000.0..3_000.0).contains(&back), "{kill}");
    let (rows, files, dups, _) = db_counts(&k);
    // One instance reads at a time: a file is read again only if the dead one published it
    // and had not deleted it yet.
    assert_eq!(u(&r["duplicate_receipts"]), u(&kill["read_again"]), "{r}");
    assert_eq!((u(&r["receipts"]), u(&r["duplicate_receipts"])), (rows, dups));
    assert_eq!(u(&r["files_written"]), files, "the survivor read everything left: {r}");
    let after = k.query("SELECT count(*) FROM mbox.receipts WHERE instance = 'recv-2'");
    assert!(after[0][0].parse::<u64>().unwrap() > 0, "recv-2 published after the takeover");
    assert_eq!(files_left(&out), 0);
}
