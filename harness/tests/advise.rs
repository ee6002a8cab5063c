//! `habench advise` on the evidence of the fixture folders in results/examples/ (no servers): the
//! decision, a relaxation when nothing meets the requirements, every RTO and loss figure
//! recomputed from the summary.json files the decision cites, and bad requirements refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/examples")
}

fn advise(args: &[&str], out: &Path) -> Output {
    let (runs, search) = (examples().join("repeated-kill-primary"), examples().join("capacity-quick"));
    Command::new(env!("CARGO_BIN_EXE_habench"))
        .arg("advise")
        .args(args)
        // The fixtures measured a postmaster kill: the decision is on that outage alone.
        .args(["--outages", "postmaster-kill"])
        .args(["--reuse", runs.to_str().unwrap(), "--reuse", search.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// The first number in a cell's figure (`RTO 9339 ms, worst of 2`, `0 lost (worst trial)`).
fn first_number(text: &str) -> f64 {
    let digits: String =
        text.chars().skip_while(|c| !c.is_ascii_digit()).take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    digits.parse().unwrap_or_else(|_| panic!("no number in {text:?}"))
}

#[test]
fn an_outage_asked_but_not_measured_leaves_no_design_eligible() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("advise");
    let search = examples().join("capacity-quick");
    let o = Command::new(env!("CARGO_BIN_EXE_habench"))
        .args(["advise", "--load", "200/s", "--rto", "30s", "--reuse", search.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = read_json(&out.join("advise.json"));
    assert_eq!(a["recommended"], Value::Null, "capacity alone: {a:#}");
    let cells = a["designs"][0]["cells"].as_array().unwrap();
    assert!(cells.iter().any(|c| c["requirement"] == "rto node-crash" && c["verdict"] == "no_evidence"), "{cells:?}");
}

#[test]
fn the_fixture_evidence_makes_single_the_answer_and_every_figure_recomputes_from_its_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("advise");
    let o = advise(&["--load", "200/s", "--rto", "30s", "--rpo", "0"], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = read_json(&out.join("advise.json"));
    assert_eq!(a["recommended"], "single", "{a:#}");
    assert!(out.join("advise.md").is_file() && out.join("advise.html").is_file());
    let cells = a["designs"][0]["cells"].as_array().unwrap();
    assert!(cells.len() >= 3, "capacity, rto and rpo of postmaster-kill: {cells:?}");
    assert_figures_recompute(cells, "kill-primary");
}

/// Every measured cell's figure recomputed from the folders it cites: the worst RTO of the
/// fault's trials, the most lost, the MST; a cell without folders must be a prediction or n/a.
fn assert_figures_recompute(cells: &[Value], fault: &str) {
    for c in cells {
        let folders: Vec<&str> = c["folders"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        let requirement = c["requirement"].as_str().unwrap();
        let figure = c["figure"].as_str().unwrap();
        if folders.is_empty() {
            assert!(c["value"].is_null() && c["verdict"] != "meets", "a figure without its folders: {c}");
            continue;
        }
        if requirement.starts_with("rto") {
            // The worst trial's RTO over the cited folders' trials of the fault.
            let worst = folders
                .iter()
                .flat_map(|f| {
                    read_json(&Path::new(f).join("summary.json"))["failover"]["trials"].as_array().unwrap().clone()
                })
                .filter(|t| t["fault"]["kind"] == fault)
                .map(|t| t["rto_ms"].as_f64().unwrap())
                .fold(0.0, f64::max);
            assert_eq!(first_number(figure), worst.round(), "{figure}");
        } else if requirement.starts_with("rpo") {
            let lost = folders
                .iter()
                .map(|f| read_json(&Path::new(f).join("summary.json"))["check"]["lost"].as_u64().unwrap())
                .max()
                .unwrap();
            assert_eq!(first_number(figure), lost as f64, "{figure}");
        } else {
            let cap = read_json(&Path::new(folders[0]).join("capacity.json"));
            assert_eq!(first_number(figure), cap["topologies"][0]["mst"].as_f64().unwrap().round(), "{figure}");
        }
    }
}

#[test]
fn when_nothing_meets_the_requirements_the_smallest_relaxation_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("advise");
    let o = advise(&["--load", "200/s", "--rto", "5s"], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = read_json(&out.join("advise.json"));
    assert_eq!(a["recommended"], Value::Null);
    let change = a["relaxation"]["changes"][0].as_str().unwrap();
    assert!(change.starts_with("RTO to ") && change.contains("postmaster-kill"), "{change}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("no design measured meets it") && stdout.contains("FAILS"), "{stdout}");
}

#[test]
fn bad_requirements_are_refused_naming_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("advise");
    for (args, needle) in [
        (vec!["--load", "fast", "--rto", "30s"], "--load"),
        (vec!["--load", "200/s", "--rto", "10ms"], "--rto"),
        (vec!["--load", "200/s", "--rto", "30s", "--rpo", "lots"], "--rpo"),
        (vec!["--load", "200/s", "--rto", "30s", "--headroom", "2000%"], "--headroom"),
    ] {
        let o = advise(&args, &out);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    // Running experiments: the plan's own inputs (nothing starts when they are refused).
    for (args, needle) in [
        (vec!["--designs", "mainframe"], "--designs"),
        (vec!["--outages", "meteor"], "--outages"),
        (vec!["--budget", "1m"], "--budget 7m or more"),
        (vec!["--slo", "nothing.p99=5ms"], "--slo"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_habench"))
            .args(["advise", "--load", "200/s", "--rto", "30s", "--out", out.to_str().unwrap()])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_habench"))
        .args(["advise", "--load", "200/s", "--rto", "30s", "--reuse", "/nonexistent-habench-folder"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--reuse /nonexistent-habench-folder"));
}

/// With an RTO the default probes cannot meet, every design is ruled out before anything runs,
/// and the setting predicted to meet it is named (nothing starts: no server, no folder).
#[test]
fn an_rto_the_configuration_cannot_meet_prunes_before_running_and_names_the_tuning() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("advise");
    let o = Command::new(env!("CARGO_BIN_EXE_habench"))
        .args(["advise", "--load", "100/s", "--rto", "5s", "--designs", "single,sync,patroni", "--quick"])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("0 experiments"), "{stderr}");
    let a = read_json(&out.join("advise.json"));
    assert_eq!(a["recommended"], Value::Null);
    let not_run = a["not_run"].as_array().unwrap();
    assert_eq!(not_run.len(), 3, "{not_run:?}");
    let sync = not_run.iter().find(|n| n["design"] == "sync").unwrap();
    assert!(sync["why"].as_str().unwrap().contains("9.0-14.0 s"), "{sync}");
    assert!(sync["tuning"].as_str().unwrap().contains("--probe-interval 500ms --probe-threshold 3"), "{sync}");
    let patroni = not_run.iter().find(|n| n["design"] == "patroni").unwrap();
    assert!(patroni["tuning"].is_null(), "ttl cannot go below 20 s: {patroni}");
    let answer = a["answer"].as_str().unwrap();
    assert!(
        answer.contains("Predicted (not measured) to meet the RTO: sync with") && answer.contains("--tune"),
        "{answer}"
    );
    let md = std::fs::read_to_string(out.join("advise.md")).unwrap();
    assert!(md.contains("## Not run") && md.contains("not run: one server"), "{md}");
}

/// One real advise: single and sync, node crash only, one trial, the capacity searches reused
/// from the fixtures (so that only sync's failover run is made; single is ruled out before
/// running, a lost host being its end): sync is the answer, and the same command again runs
/// nothing and decides the same.
#[test]
fn a_quick_advise_runs_the_node_crash_trials_it_lacks_and_picks_sync() {
    let tmp = tempfile::Builder::new().prefix("habench-advise-test-").tempdir().unwrap();
    let out = tmp.path().join("advise");
    let cmd = || {
        Command::new(env!("CARGO_BIN_EXE_habench"))
            .args(["advise", "--load", "100/s", "--rto", "30s", "--designs", "single,sync", "--quick"])
            .args(["--reuse", examples().join("capacity-quick").to_str().unwrap()])
            .args(["--reuse", examples().join("capacity-sync").to_str().unwrap()])
            .args(["--out", out.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let o = cmd();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("single ruled out before running: one server"), "{stderr}");
    assert!(stderr.contains("capacity of sync: from the folders reused"), "{stderr}");
    assert!(out.join("sync-node-crash/summary.json").is_file() && !out.join("single-node-crash").exists());
    let manifest = read_json(&out.join("sync-node-crash/manifest.json"));
    assert_eq!(manifest["config"]["orchestrator"]["heal"], false, "a lost host stays lost");
    let a = read_json(&out.join("advise.json"));
    assert_eq!(a["recommended"], "sync", "{a:#}");
    assert_eq!(a["options"][0]["design"], "sync", "the only eligible design is every option: {a:#}");
    let single = a["designs"].as_array().unwrap().iter().find(|d| d["design"] == "single").unwrap().clone();
    let rto =
        single["cells"].as_array().unwrap().iter().find(|c| c["requirement"] == "rto node-crash").unwrap().clone();
    assert_eq!(rto["verdict"], "fails", "{rto}");
    assert!(rto["figure"].as_str().unwrap().contains("no other node"), "{rto}");
    let md = std::fs::read_to_string(out.join("advise.md")).unwrap();
    assert!(md.contains("## Options") && md.contains("## Tiers"), "{md}");
    for d in a["designs"].as_array().unwrap() {
        assert_figures_recompute(d["cells"].as_array().unwrap(), "crash-primary");
    }

    let again = cmd();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert_eq!(stderr.matches("done already").count(), 1, "nothing runs again: {stderr}");
    // Another advise folder reusing the first one: nothing runs, the same answer.
    let second = tmp.path().join("second");
    let o = Command::new(env!("CARGO_BIN_EXE_habench"))
        .args(["advise", "--load", "100/s", "--rto", "30s", "--designs", "single,sync", "--quick"])
        .args(["--reuse", examples().join("capacity-sync").to_str().unwrap()])
        .args(["--reuse", out.to_str().unwrap(), "--out", second.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(stderr.matches("from the folders reused").count(), 2, "the search and the trial: {stderr}");
    assert_eq!(read_json(&second.join("advise.json"))["answer"], a["answer"]);
    assert_eq!(read_json(&out.join("advise.json")), a, "the same evidence, the same decision");
}

/// `--cluster`: a server the test started, described by a cluster file without commands; the
/// cluster is the only design, its capacity is searched on it (quick steps), and the outage it
/// has no command for is n/a, which leaves it without evidence (not eligible).
#[test]
fn a_cluster_file_is_judged_as_it_is() {
    let (_servers, up) = common::start_up(&["single"]);
    let port = up["nodes"][0]["port"].as_u64().unwrap();
    let tmp = tempfile::Builder::new().prefix("habench-advise-cluster-").tempdir().unwrap();
    let file = tmp.path().join("cluster.toml");
    let text =
        format!("[[nodes]]\nname = \"n1\"\ndsn = \"host=127.0.0.1 port={port} user=postgres dbname=postgres\"\n");
    std::fs::write(&file, text).unwrap();
    let out = tmp.path().join("advise");
    let o = common::habench()
        .args(["advise", "--load", "100/s", "--rto", "30s", "--quick", "--outages", "postmaster-kill"])
        // A loose service level: the verdict is about the cluster file being measured and
        // judged, not about the latency that the tests running beside it (2 shared cores, crash
        // trials) leave to this one (with 50 ms it failed once in CI: MST 84/s).
        .args(["--slo", "publish.p99=1s"])
        .args(["--cluster", file.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("postmaster-kill on cluster: n/a") && stderr.contains("commands.kill"), "{stderr}");
    let a = read_json(&out.join("advise.json"));
    assert_eq!(a["designs"].as_array().unwrap().len(), 1, "{a:#}");
    let d = &a["designs"][0];
    assert_eq!((d["design"].as_str(), d["eligible"].as_bool()), (Some("cluster"), Some(false)), "{d:#}");
    let cell = |name: &str| d["cells"].as_array().unwrap().iter().find(|c| c["requirement"] == name).unwrap().clone();
    let capacity = cell("capacity");
    assert_eq!(capacity["verdict"], "meets", "100/s on one server: {capacity}");
    assert!(capacity["folders"][0].as_str().unwrap().ends_with("capacity-cluster"), "{capacity}");
    let rto = cell("rto postmaster-kill");
    assert_eq!(rto["verdict"], "no_evidence", "{rto}");
    assert!(rto["figure"].as_str().unwrap().starts_with("n/a: "), "{rto}");
}
