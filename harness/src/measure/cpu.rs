//! CPU time spent over the measured phase: by server processes, from /proc, per node (the
//! postmaster and all its children) and per registered backend (the report connections); and
//! by habench itself (every thread of this process, from getrusage).
//! A process that exits between the two snapshots loses its CPU time (the run's connections
//! are long-lived, so little is missed).

use std::collections::{BTreeMap, HashMap};

use nix::sys::resource::{getrusage, UsageWho};
use serde::Serialize;

use crate::pg::procs;

/// Clock ticks per second of /proc's CPU times.
fn ticks_per_s() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t as f64,
        _ => 100.0,
    }
}

/// CPU ticks of every process of every node at one moment.
#[derive(Debug, Clone, Default)]
pub(crate) struct CpuSnapshot {
    /// (pid, start ticks) -> (node name, CPU ticks).
    procs: HashMap<(u32, u64), (String, u64)>,
    /// CPU seconds this process had used, user and system.
    own_s: f64,
    own_sys_s: f64,
}

/// CPU seconds of the children this process has reaped so far (a tool it ran to completion).
pub fn children_cpu_s() -> f64 {
    rusage_cpu_s(UsageWho::RUSAGE_CHILDREN)
}

fn rusage_cpu_s(who: UsageWho) -> f64 {
    let (user, sys) = rusage_split_s(who);
    user + sys
}

/// (user, system) CPU seconds.
fn rusage_split_s(who: UsageWho) -> (f64, f64) {
    let Ok(ru) = getrusage(who) else { return (0.0, 0.0) };
    let s = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    (s(ru.user_time()), s(ru.system_time()))
}

/// Takes a snapshot of the nodes `(name, postmaster pid)`.
pub(crate) fn snapshot(nodes: &[(String, u32)]) -> CpuSnapshot {
    let (user, sys) = rusage_split_s(UsageWho::RUSAGE_SELF);
    let mut out = CpuSnapshot { own_s: user + sys, own_sys_s: sys, ..Default::default() };
    for (name, pm) in nodes {
        let mut pids = vec![*pm];
        pids.extend(procs::descendants(*pm).iter().map(|p| p.pid));
        for pid in pids {
            if let Some(st) = procs::stat(pid) {
                out.procs.insert((pid, st.start_ticks), (name.clone(), st.cpu_ticks));
            }
        }
    }
    out
}

/// CPU seconds between two snapshots.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuUsage {
    /// Node -> CPU seconds of all its processes.
    pub by_node: BTreeMap<String, f64>,
    /// Node -> CPU seconds of the registered (report) backends on it.
    pub report_backends: BTreeMap<String, f64>,
    /// CPU seconds habench itself used (all its threads: workers, driver, sampler, exporters),
    /// and the system (kernel) part of it.
    pub harness_s: f64,
    pub harness_sys_s: f64,
    /// Wall-clock seconds between the snapshots.
    pub wall_s: f64,
}

/// What each process used between `start` and `end` (a process born in between counts whole);
/// `report_pids` are (node, backend pid) of the report connections.
pub(crate) fn usage(start: &CpuSnapshot, end: &CpuSnapshot, report_pids: &[(String, i32)], wall_s: f64) -> CpuUsage {
    let tps = ticks_per_s();
    let mut u = CpuUsage {
        wall_s,
        harness_s: (end.own_s - start.own_s).max(0.0),
        harness_sys_s: (end.own_sys_s - start.own_sys_s).max(0.0),
        ..Default::default()
    };
    for (key, (node, ticks)) in &end.procs {
        let before = start.procs.get(key).map(|(_, t)| *t).unwrap_or(0);
        let s = ticks.saturating_sub(before) as f64 / tps;
        *u.by_node.entry(node.clone()).or_default() += s;
        if report_pids.iter().any(|(n, p)| n == node && *p as u32 == key.0) {
            *u.report_backends.entry(node.clone()).or_default() += s;
        }
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_the_difference_per_process_and_new_processes_count_whole() {
        let mut a = CpuSnapshot::default();
        a.procs.insert((10, 1), ("n1".into(), 100));
        a.procs.insert((11, 1), ("n1".into(), 50));
        let mut b = a.clone();
        b.procs.insert((10, 1), ("n1".into(), 300));
        b.procs.insert((12, 5), ("n2".into(), 40));
        b.procs.remove(&(11, 1));
        let u = usage(&a, &b, &[("n1".into(), 10)], 2.0);
        let tps = ticks_per_s();
        assert!((u.by_node["n1"] - 200.0 / tps).abs() < 1e-9);
        assert!((u.by_node["n2"] - 40.0 / tps).abs() < 1e-9);
        assert!((u.report_backends["n1"] - 200.0 / tps).abs() < 1e-9);
        assert!(!u.report_backends.contains_key("n2"));
    }

    /// The process's CPU time from the kernel's clock, independent of the code under test.
    fn process_cpu_s() -> f64 {
        let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID).unwrap();
        ts.tv_sec() as f64 + ts.tv_nsec() as f64 / 1e9
    }

    #[test]
    fn habench_own_cpu_is_what_the_kernel_clock_says() {
        // Other tests run in this process at the same time: compare against the process clock
        // read around the same window, not against a wall-clock guess.
        let outer_start = process_cpu_s();
        let before = snapshot(&[]);
        let inner_start = process_cpu_s();
        let mut x = 0u64;
        while process_cpu_s() - inner_start < 0.05 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(std::hint::black_box(1));
        }
        std::hint::black_box(x);
        let inner = process_cpu_s() - inner_start;
        let after = snapshot(&[]);
        let outer = process_cpu_s() - outer_start;
        let u = usage(&before, &after, &[], 0.05);
        // getrusage and the clock account the same time; allow a scheduler tick either side.
        let tick = 0.011;
        assert!(u.harness_s >= inner - tick && u.harness_s <= outer + tick, "{} not in {inner}..{outer}", u.harness_s);
        assert!(u.by_node.is_empty());
    }

    #[test]
    fn this_process_is_measured() {
        let me = std::process::id();
        let st = procs::stat(me).expect("own stat");
        let snap = snapshot(&[("me".into(), me)]);
        assert!(snap.procs.contains_key(&(me, st.start_ticks)));
    }
}
