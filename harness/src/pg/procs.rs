//! Processes of a server instance, read from /proc.
//!
//! PostgreSQL children call `setsid()`, so a process-group kill misses them. An instance is the
//! postmaster and all its descendants: to crash a whole node we stop the postmaster (so it cannot
//! fork), collect its descendants, and kill them all.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use nix::sched::{sched_setaffinity, CpuSet};
use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// A process identity that survives pid reuse: pid plus start time (clock ticks since boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcId {
    pub pid: u32,
    pub start_ticks: u64,
}

impl ProcId {
    pub fn of(pid: u32) -> Option<ProcId> {
        let st = stat(pid)?;
        Some(ProcId { pid, start_ticks: st.start_ticks })
    }

    pub(crate) fn current() -> ProcId {
        ProcId::of(std::process::id()).expect("own /proc entry")
    }

    /// Still the same process, and not a zombie.
    pub fn is_running(&self) -> bool {
        stat(self.pid).is_some_and(|s| s.start_ticks == self.start_ticks && s.state != 'Z' && s.state != 'X')
    }

    /// Text form for owner and lease files: `pid start_ticks`.
    pub(crate) fn to_line(self) -> String {
        format!("{} {}", self.pid, self.start_ticks)
    }

    pub(crate) fn parse_line(line: &str) -> Option<ProcId> {
        let mut it = line.split_whitespace();
        Some(ProcId { pid: it.next()?.parse().ok()?, start_ticks: it.next()?.parse().ok()? })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub ppid: u32,
    pub state: char,
    pub start_ticks: u64,
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
}

/// Parses `/proc/<pid>/stat`; the command name may hold spaces and parentheses.
pub fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] = state (field 3), [1] = ppid (4), [11] utime (14), [12] stime (15),
    // [19] = starttime (22)
    let num = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: num(1)? as u32,
        start_ticks: num(19)?,
        cpu_ticks: num(11)? + num(12)?,
    })
}

/// Every live descendant of `root` (children, grandchildren...), not `root` itself.
pub fn descendants(root: u32) -> Vec<ProcId> {
    let mut children: HashMap<u32, Vec<ProcId>> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(st) = stat(pid) {
                if st.state != 'Z' {
                    children.entry(st.ppid).or_default().push(ProcId { pid, start_ticks: st.start_ticks });
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        for c in children.remove(&p).unwrap_or_default() {
            stack.push(c.pid);
            out.push(c);
        }
    }
    out
}

/// Sends `sig` to the process if it is still the same one.
pub(crate) fn signal(p: ProcId, sig: Signal) -> bool {
    if stat(p.pid).is_none_or(|s| s.start_ticks != p.start_ticks) {
        return false;
    }
    nix::sys::signal::kill(Pid::from_raw(p.pid as i32), sig).is_ok()
}

/// Kills the postmaster and every descendant at once (a node crash). Returns what was killed;
/// the caller reaps the postmaster if it is its child and waits with [`wait_gone`].
pub(crate) fn kill_instance(postmaster: ProcId) -> Vec<ProcId> {
    signal(postmaster, Signal::SIGSTOP); // no forks from here on
    let mut all = descendants(postmaster.pid);
    for p in &all {
        signal(*p, Signal::SIGKILL);
    }
    signal(postmaster, Signal::SIGKILL);
    all.push(postmaster);
    all
}

/// Stops (SIGSTOP) every process of the instance: a hung node.
pub(crate) fn pause_instance(postmaster: ProcId) {
    signal(postmaster, Signal::SIGSTOP);
    // Two passes: a child forked just before the postmaster stopped is caught by the second.
    for _ in 0..2 {
        for p in descendants(postmaster.pid) {
            signal(p, Signal::SIGSTOP);
        }
    }
}

/// Resumes (SIGCONT) every process of the instance.
pub(crate) fn resume_instance(postmaster: ProcId) {
    for p in descendants(postmaster.pid) {
        signal(p, Signal::SIGCONT);
    }
    signal(postmaster, Signal::SIGCONT);
}

/// Polls until none of `procs` is running (zombies count as gone). Returns false on timeout.
pub(crate) async fn wait_gone(procs: &[ProcId], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if procs.iter().all(|p| !p.is_running()) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Reaps a child that was killed, waiting without blocking the runtime (up to 10 s; a child
/// still there then is left to `Child`'s drop, which does not wait).
pub(crate) async fn reap(mut child: std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Blocking variant for Drop (teardown, where nothing async can run; no runtime task waits).
pub fn wait_gone_blocking(procs: &[ProcId], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while procs.iter().any(|p| p.is_running()) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

/// True while the child lives; reaps it (and forgets it) once it has exited.
pub(crate) fn child_alive(child: &mut Option<std::process::Child>) -> bool {
    match child.as_mut().map(|c| c.try_wait()) {
        Some(Ok(None)) => true,
        Some(_) => {
            *child = None;
            false
        }
        None => false,
    }
}

/// Makes the command's process die (SIGKILL) when the thread that started it exits, however
/// habench ends: `kill -9` included. Set in the child after the switch to the server user
/// (a uid change clears it); a parent already gone before that is caught by `getppid`.
pub(crate) fn die_with_parent(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs between fork and exec and makes only async-signal-safe system
    // calls (prctl, getppid) through wrappers that allocate nothing.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::other("habench exited while starting a server"));
            }
            Ok(())
        });
    }
}

/// Makes the command's process (and every process it forks) run only on `cpus`.
pub(crate) fn pin_on_exec(cmd: &mut std::process::Command, cpus: Vec<usize>) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    let mut set = CpuSet::new();
    for &c in &cpus {
        set.set(c)?;
    }
    // SAFETY: the closure runs between fork and exec and makes one async-signal-safe system
    // call (sched_setaffinity) on a set prepared before the fork.
    unsafe {
        cmd.pre_exec(move || Ok(sched_setaffinity(Pid::from_raw(0), &set)?));
    }
    Ok(())
}

/// The CPUs a process may run on (from `/proc/<pid>/status`, `Cpus_allowed_list`).
pub fn allowed_cpus(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).map(|v| v.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing_survives_odd_command_names() {
        let line = "4242 (post gres) (x)) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        let st = parse_stat(line).unwrap();
        assert_eq!(st.state, 'S');
        assert_eq!(st.ppid, 17);
        assert_eq!(st.start_ticks, 987654);
    }

    #[test]
    fn own_process_is_running_and_identity_round_trips() {
        let me = ProcId::current();
        assert!(me.is_running());
        assert_eq!(ProcId::parse_line(&me.to_line()), Some(me));
        let stale = ProcId { pid: me.pid, start_ticks: me.start_ticks + 1 };
        assert!(!stale.is_running(), "a reused pid is not the same process");
    }

    #[test]
    fn killing_an_instance_takes_its_descendants() {
        let mut child = std::process::Command::new("sh").args(["-c", "sleep 30 & sleep 30 & wait"]).spawn().unwrap();
        let root = ProcId::of(child.id()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while descendants(root.pid).len() < 2 {
            assert!(Instant::now() < deadline, "children never appeared");
            std::thread::sleep(Duration::from_millis(5));
        }
        let killed = kill_instance(root);
        child.wait().unwrap();
        assert_eq!(killed.len(), 3);
        assert!(wait_gone_blocking(&killed, Duration::from_secs(5)));
    }
}
