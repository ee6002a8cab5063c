//! habench watching itself, on real servers: a user's command that hangs never stalls the run
//! (it is killed with its children and reported as a failed fault), a habench that was stopped
//! marks its run compromised, and a full disk leaves whole files and a list of what is missing.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::kept::read_json;
use common::{habench, TempDir};

/// Processes whose command line holds `needle` (zombies excluded).
fn processes_with(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let zombie = std::fs::read_to_string(e.path().join("stat"))
            .map(|s| s.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z')))
            .unwrap_or(true);
        if !zombie && String::from_utf8_lossy(&cmdline).replace('\0', " ").contains(needle) {
            out.push(pid);
        }
    }
    out
}

fn run(args: &[&str]) -> (Output, Duration) {
    let t0 = Instant::now();
    let out = habench().args(args).stdin(Stdio::null()).output().unwrap();
    (out, t0.elapsed())
}

/// `habench run quick ARGS` with a 1 s warm-up and 5 s measured, quiet, a JSON line, into `out`.
fn run_quick(args: &[&str], out: &std::path::Path) -> (Output, Duration) {
    let mut all = vec!["run", "quick"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--warmup", "1s", "--duration", "5s", "--quiet", "--json", "--out"]);
    all.push(out.to_str().unwrap());
    run(&all)
}

#[test]
fn a_resume_command_that_hangs_is_killed_with_its_children_and_reported_as_a_failed_fault() {
    let (_servers, up) = common::start_up(&["single"]);
    let port = up["nodes"][0]["port"].as_u64().unwrap();
    let dir = TempDir::new("self-watch", "hanging-command");
    std::fs::create_dir_all(&*dir).unwrap();
    let file = dir.join("cluster.toml");
    // The resume hangs (a shell with two children); its own timeout is 2 s.
    let text = format!(
        "[[nodes]]\nname = \"n1\"\ndsn = \"host=127.0.0.1 port={port} user=postgres dbname=postgres\"\n\
         [nodes.commands]\npause = \"true\"\nresume = {{ run = \"sleep 123.25 & sleep 123.25\", timeout = \"2s\" }}\n"
    );
    std::fs::write(&file, text).unwrap();
    let out = dir.join("run");
    let (o, took) =
        run_quick(&["--cluster", file.to_str().unwrap(), "--fault", "pause-primary@1s:1s", "--rate", "100"], &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "the run goes on and completes: {stderr}");
    assert!(took < Duration::from_secs(60), "{took:?}");
    let s = read_json(&out.join("summary.json"));
    let failed = &s["failover"]["failed_faults"];
    assert_eq!(failed.as_array().map(Vec::len), Some(1), "{s:#}");
    assert_eq!(failed[0]["what"], "pause-primary resume on n1");
    let why = failed[0]["error"].as_str().unwrap();
    assert!(why.contains("n1") && why.contains("commands.resume") && why.contains("timeout of 2s"), "{why}");
    // The runtime never waited for the command: no stall near its 2 s.
    let largest = s["harness"]["largest_measured_stall_ms"].as_f64().unwrap();
    assert!(largest < 1000.0, "the command blocked habench for {largest} ms");
    assert_eq!(s["compromised"], false);
    let log = std::fs::read_to_string(out.join("commands.log")).unwrap();
    assert!(log.contains("node=n1 action=pause status=\"exit 0\""), "{log}");
    assert!(log.contains("node=n1 action=resume status=\"timed out, process group killed\""), "{log}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("**Fault failed**: pause-primary resume on n1"), "{report}");
    // Both children of the command's shell went with it.
    assert_eq!(processes_with("sleep 123.25"), Vec::<u32>::new(), "the command's children were left running");
}

#[test]
fn a_habench_stopped_in_its_measured_phase_marks_the_run_compromised() {
    let out = TempDir::new("self-watch", "stopped");
    let mut child = habench()
        .args(["run", "quick", "--rate", "200", "--warmup", "1s", "--duration", "6s", "--quiet", "--json"])
        .args(["--max-harness-stall", "200ms", "--out", out.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_measured_intervals(&mut child, &out, 2);
    // The fault under test: habench itself stopped for 1 s (its servers keep running).
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGSTOP);
    std::thread::sleep(Duration::from_secs(1));
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGCONT);
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "a compromised run has its own exit status: {stderr}");
    assert!(stderr.contains("COMPROMISED"), "{stderr}");
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["compromised"], true, "{s:#}");
    assert_eq!(s["complete"], true, "complete says whether the run finished, as before");
    let stalls = s["harness"]["stalls"].as_array().unwrap();
    let stop = stalls.iter().find(|x| x["runtime"] == "process").unwrap_or_else(|| panic!("{stalls:?}"));
    let ms = stop["duration_ms"].as_f64().unwrap();
    assert!((900.0..3000.0).contains(&ms) && stop["measured"] == true, "{stop}");
    assert!(s["compromised_reason"].as_str().unwrap().starts_with("habench stalled 1."), "{s:#}");
    // The schedule kept real time: the slots that fell due while stopped started late, and
    // their latency counts from their intended start.
    let late = s["pacing"]["started_late"].as_u64().unwrap();
    assert!(late >= 150, "about 200 slots fell due in the stop: {late}");
    assert!(s["latency_us"]["publish"]["max"].as_u64().unwrap() >= 900_000, "{}", s["latency_us"]["publish"]);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let first = report.lines().find(|l| l.starts_with("- **")).unwrap();
    assert!(first.starts_with("- **COMPROMISED**: habench stalled"), "{first}");
}

/// A tmpfs of `size` mounted for the test, unmounted on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", dir.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(ok.success(), "mounting a small tmpfs needs root (CI runs as root)");
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_leaves_only_whole_files_and_names_what_is_missing() {
    let dir = TempDir::new("self-watch", "full-disk");
    let disk = Tmpfs::mount(&dir.join("disk"), "256k");
    let out = disk.0.join("run");
    let (o, _) = run_quick(&["--rate", "400"], &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "an incomplete results folder has its own exit status: {stderr}");
    assert!(stderr.contains("results folder incomplete") && stderr.contains("cut ledger.csv"), "{stderr}");
    let mut files = Vec::new();
    for e in walk(&out) {
        let name = e.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp") && !name.contains(".tmp."), "a temporary file was left: {name}");
        let bytes = std::fs::read(&e).unwrap();
        assert!(!bytes.is_empty(), "{name} is empty");
        if [".csv", ".hlog", ".json", ".md", ".html", ".svg"].iter().any(|x| name.ends_with(x)) {
            assert_eq!(bytes.last(), Some(&b'\n'), "{name} ends in the middle of a record");
        }
        files.push(name);
    }
    // Every ledger row is whole: as many fields as the header.
    let ledger = std::fs::read_to_string(out.join("ledger.csv")).unwrap();
    let fields = ledger.lines().next().unwrap().split(',').count();
    assert!(ledger.lines().all(|l| l.split(',').count() == fields), "a ledger row is cut");
    // The summary on disk is the last one that fit: never a complete run.
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["complete"], false, "{files:?}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
