//! Hosts as control groups (cgroup v2): every process of an emulated host (a cluster manager, the
//! postgres it daemonizes and every child) lives in one cgroup, so a node crash (`cgroup.kill`)
//! and a hung node (`cgroup.freeze`) take all of it at once, whatever re-parents itself.
//!
//! A topology's cgroups live under one parent that a *janitor* watches: a tiny shell holding the
//! read end of a pipe whose write end only habench holds. However habench ends (`kill -9`
//! included) the pipe closes, the janitor writes `cgroup.kill` and removes the directories.

use std::ffi::CString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::pg::os_user::OsUser;

/// How long a kill waits for every process of a cgroup to be gone.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// Where habench's cgroups live, below the cgroup v2 mount.
const HABENCH_DIR: &str = "habench";

/// The cgroup v2 mount point (`/sys/fs/cgroup` or, on hybrid systems, `/sys/fs/cgroup/unified`).
pub fn mount_point() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    text.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mount = left.split_whitespace().nth(4)?;
        (right.split_whitespace().next() == Some("cgroup2")).then(|| PathBuf::from(mount))
    })
}

/// The directory every habench cgroup lives under; created when missing.
pub(crate) fn habench_root() -> Result<PathBuf> {
    let mount = mount_point().ok_or_else(|| {
        Error::config("--topology", "this topology needs a cgroup v2 hierarchy (none is mounted on this machine)")
    })?;
    let root = mount.join(HABENCH_DIR);
    std::fs::create_dir_all(&root).map_err(|e| {
        Error::config(
            "--topology",
            format!(
                "this topology runs each host in its own cgroup and cannot create {} ({e}); run habench as root",
                root.display()
            ),
        )
    })?;
    Ok(root)
}

/// One cgroup: an emulated host, or the parent of a topology's hosts.
#[derive(Debug)]
pub struct Group {
    path: PathBuf,
}

impl Group {
    /// Creates `parent/name`.
    pub(crate) fn create(parent: &Path, name: &str) -> Result<Group> {
        let path = parent.join(name);
        std::fs::create_dir_all(&path).map_err(|e| Error::io("creating cgroup", &path, e))?;
        Ok(Group { path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Pids of every process in this cgroup and those below it.
    pub(crate) fn pids(&self) -> Vec<u32> {
        Group::pids_under(&self.path)
    }

    /// Pids of every process in the cgroup at `path` and below it.
    pub fn pids_under(path: &Path) -> Vec<u32> {
        let mut out = Vec::new();
        collect_pids(path, &mut out);
        out
    }

    /// SIGKILL to every process at once (the kernel's `cgroup.kill`); returns how many there
    /// were. A frozen cgroup is killed too: SIGKILL wakes frozen tasks. (Writing and reading
    /// cgroupfs files is a kernel call that does not wait on anything: fine on a runtime.)
    fn signal_kill(&self) -> usize {
        let n = self.pids().len();
        let _ = std::fs::write(self.path.join("cgroup.kill"), "1");
        n
    }

    /// The same, waiting (without blocking the runtime) until every process is gone, up to 10 s.
    pub(crate) async fn kill_async(&self) -> usize {
        let n = self.signal_kill();
        let deadline = Instant::now() + KILL_WAIT;
        while !self.pids().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        n
    }

    /// The same, blocking: only for Drop and teardown outside a runtime's tasks (a dropped
    /// topology, the process's end), where nothing async can run.
    pub(crate) fn kill(&self) -> usize {
        let n = self.signal_kill();
        let deadline = Instant::now() + KILL_WAIT;
        while !self.pids().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        n
    }

    /// Freezes (true) or thaws (false) every process: a hung host, no signal seen by anyone.
    pub(crate) fn freeze(&self, frozen: bool) -> Result<()> {
        let path = self.path.join("cgroup.freeze");
        std::fs::write(&path, if frozen { "1" } else { "0" }).map_err(|e| Error::io("writing", &path, e))
    }

    pub(crate) fn is_frozen(&self) -> bool {
        std::fs::read_to_string(self.path.join("cgroup.events"))
            .is_ok_and(|t| t.lines().any(|l| l.trim() == "frozen 1"))
    }

    /// Makes `cmd`'s process start inside this cgroup, then (when `user` switches) become the
    /// servers' user, then die with habench's thread that spawns it. Replaces `OsUser::apply`:
    /// joining needs root, so it must happen before the uid switch.
    pub(crate) fn spawn_inside(&self, cmd: &mut std::process::Command, user: &OsUser) {
        use nix::fcntl::{open, OFlag};
        use nix::sys::stat::Mode;
        use nix::unistd::{getppid, setgid, setgroups, setuid, write, Gid, Uid};
        let procs = CString::new(self.path.join("cgroup.procs").into_os_string().into_encoded_bytes())
            .expect("cgroup path without NUL");
        let (switch, uid, gid) = (user.switch, Uid::from_raw(user.uid), Gid::from_raw(user.gid));
        let parent = nix::unistd::getpid();
        // SAFETY: the closure runs between fork and exec and makes only async-signal-safe system
        // calls (open, write, close, setgroups, setgid, setuid, prctl, getppid) through wrappers
        // that allocate nothing, on memory prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                let fd = open(procs.as_c_str(), OFlag::O_WRONLY, Mode::empty())?;
                if write(&fd, b"0")? != 1 {
                    return Err(std::io::Error::other("joining the cgroup: short write"));
                }
                drop(fd);
                if switch {
                    setgroups(&[])?;
                    setgid(gid)?;
                    setuid(uid)?;
                }
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
                if getppid() != parent {
                    return Err(std::io::Error::other("habench exited while starting a host"));
                }
                Ok(())
            });
        }
    }

    /// Kills what is left and removes the directory (and those below it).
    pub(crate) fn remove(&self) {
        if !self.path.exists() {
            return;
        }
        self.kill();
        remove_tree(&self.path);
    }
}

fn collect_pids(dir: &Path, out: &mut Vec<u32>) {
    if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                collect_pids(&e.path(), out);
            }
        }
    }
}

/// Removes a cgroup tree bottom-up (cgroup directories go with rmdir only). Blocking: teardown
/// and Drop only.
fn remove_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path());
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::remove_dir(dir).is_err() && dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A topology's parent cgroup and its janitor. Dropping it kills every process below it and
/// removes the directories; so does habench's death, through the janitor.
#[derive(Debug)]
pub(crate) struct TopologyGroup {
    group: Group,
    janitor: Option<Child>,
}

impl TopologyGroup {
    /// `habench/<name>` with a janitor watching it.
    pub(crate) fn create(name: &str) -> Result<TopologyGroup> {
        let group = Group::create(&habench_root()?, name)?;
        let path = group.path().display().to_string();
        // The janitor waits for EOF on stdin, then kills the tree and removes it bottom-up.
        let script = r#"read _ ; echo 1 > "$1/cgroup.kill" ; i=0
while [ $i -lt 200 ] ; do
  find "$1" -depth -type d -exec rmdir {} + 2>/dev/null ; [ -d "$1" ] || exit 0
  sleep 0.05 ; i=$((i+1))
done"#;
        let janitor = std::process::Command::new("/bin/sh")
            .args(["-c", script, "habench-janitor", &path])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own session: Ctrl-C in the terminal does not reach it.
            .process_group(0)
            .spawn()
            .map_err(|e| Error::io("starting", Path::new("/bin/sh"), e))?;
        Ok(TopologyGroup { group, janitor: Some(janitor) })
    }

    pub(crate) fn path(&self) -> &Path {
        self.group.path()
    }

    /// A host's cgroup below this one.
    pub(crate) fn host(&self, name: &str) -> Result<Group> {
        Group::create(self.group.path(), name)
    }
}

impl Drop for TopologyGroup {
    fn drop(&mut self) {
        self.group.remove();
        if let Some(mut j) = self.janitor.take() {
            if let Some(stdin) = j.stdin.as_mut() {
                let _ = stdin.write_all(b"\n");
            }
            drop(j.stdin.take());
            let _ = j.wait();
        }
    }
}

/// Cgroups under `habench/` whose processes are all gone or whose owner died: killed and
/// removed. `alive(name)` says whether the topology named so still has its owner. Returns one
/// line per group swept.
pub(crate) fn sweep(alive: impl Fn(&str) -> bool) -> Vec<String> {
    let Some(root) = mount_point().map(|m| m.join(HABENCH_DIR)) else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir(&root) else { return Vec::new() };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !e.file_type().is_ok_and(|t| t.is_dir()) || alive(&name) {
            continue;
        }
        let g = Group { path: e.path() };
        let n = g.pids().len();
        g.remove();
        out.push(format!("swept cgroup {}: {n} process(es) killed", e.path().display()));
    }
    out
}
