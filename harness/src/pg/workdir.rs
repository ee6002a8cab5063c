//! Where habench keeps its servers: one work root (default `$TMPDIR/habench`) holding the port
//! leases, the initdb template and one directory per live topology. Each topology directory names
//! its owner process; a directory whose owner died (a crashed earlier run) is swept on the next
//! bring-up: its servers are found through their `postmaster.pid` files and killed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::pg::procs::{self, ProcId};

/// Environment variable naming the work root.
pub(crate) const WORK_ENV: &str = "HABENCH_WORK";
const OWNER_FILE: &str = "owner";

#[derive(Debug, Clone)]
pub struct WorkRoot {
    path: PathBuf,
}

impl WorkRoot {
    /// `explicit` (--work-dir), else `HABENCH_WORK`, else `$TMPDIR/habench`.
    pub(crate) fn resolve(explicit: Option<&Path>) -> Result<WorkRoot> {
        let path = explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(WORK_ENV).filter(|v| !v.is_empty()).map(PathBuf::from))
            .unwrap_or_else(|| std::env::temp_dir().join("habench"));
        let path = std::path::absolute(&path).map_err(|e| Error::io("resolving", &path, e))?;
        std::fs::create_dir_all(&path).map_err(|e| Error::io("creating", &path, e))?;
        // Server processes (another OS user when we are root) must traverse it.
        set_mode(&path, 0o755)?;
        Ok(WorkRoot { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn ports_dir(&self) -> PathBuf {
        self.path.join("ports")
    }

    pub(crate) fn templates_dir(&self) -> PathBuf {
        self.path.join("templates")
    }

    /// Creates `topo-<pid>-<seq>-<kind>/` owned by this process.
    pub(crate) fn new_topology_dir(&self, kind: &str) -> Result<TopologyDir> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let me = ProcId::current();
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let name = format!("topo-{}-{seq}-{kind}", me.pid);
        let path = self.path.join(&name);
        if path.exists() {
            // Left by an earlier process that had our pid.
            remove_dir(&path)?;
        }
        // Built under a name the sweep ignores, then renamed: a sweep never sees it ownerless.
        let staging = self.path.join(format!(".new-{name}"));
        let _ = remove_dir(&staging);
        std::fs::create_dir_all(&staging).map_err(|e| Error::io("creating", &staging, e))?;
        set_mode(&staging, 0o755)?;
        let owner = staging.join(OWNER_FILE);
        std::fs::write(&owner, me.to_line()).map_err(|e| Error::io("writing", &owner, e))?;
        std::fs::rename(&staging, &path).map_err(|e| Error::io("renaming to", &path, e))?;
        Ok(TopologyDir { path })
    }

    /// Kills the servers of topology directories whose owner process is gone and removes those
    /// directories. Returns one line per directory swept.
    pub(crate) async fn sweep_leftovers(&self) -> Vec<String> {
        // Hosts of cluster managers (Patroni, etcd) first: they would restart what is killed.
        let mut report = crate::pg::cgroup::sweep(|name| {
            let pid = name.strip_prefix("topo-").and_then(|r| r.split('-').next()).and_then(|p| p.parse::<u32>().ok());
            pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
        });
        let Ok(entries) = std::fs::read_dir(&self.path) else { return report };
        for entry in entries.flatten() {
            let dir = entry.path();
            let is_topo = entry.file_name().to_str().is_some_and(|n| n.starts_with("topo-"));
            if !is_topo || owner_alive(&dir) {
                continue;
            }
            let mut killed = 0;
            for data_dir in find_data_dirs(&dir, 4) {
                if let Some(pm) = running_postmaster(&data_dir) {
                    let procs = procs::kill_instance(pm);
                    killed += procs.len();
                    procs::wait_gone(&procs, Duration::from_secs(10)).await;
                }
            }
            let removed = remove_dir(&dir).is_ok();
            report.push(format!(
                "swept {}: {killed} server process(es) killed, {}",
                dir.display(),
                if removed { "removed" } else { "could not remove" }
            ));
        }
        report
    }
}

fn owner_alive(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(OWNER_FILE))
        .ok()
        .and_then(|s| ProcId::parse_line(&s))
        .is_some_and(|p| p.is_running())
}

/// The postmaster of `data_dir` if one runs: the pid of `postmaster.pid`, when that process is a
/// postgres whose working directory is this data directory.
pub(crate) fn running_postmaster(data_dir: &Path) -> Option<ProcId> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let pid: u32 = text.lines().next()?.trim().parse().ok()?;
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    let same_dir = std::fs::canonicalize(data_dir).ok().is_some_and(|d| d == cwd);
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let is_pg = comm.trim() == "postgres" || comm.trim() == "postmaster";
    if same_dir && is_pg {
        ProcId::of(pid)
    } else {
        None
    }
}

fn find_data_dirs(dir: &Path, depth: u32) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if dir.join("PG_VERSION").is_file() {
        out.push(dir.to_path_buf());
        return out;
    }
    if depth == 0 {
        return out;
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.extend(find_data_dirs(&e.path(), depth - 1));
            }
        }
    }
    out
}

/// A topology's directory; removed with everything in it when dropped.
#[derive(Debug)]
pub(crate) struct TopologyDir {
    path: PathBuf,
}

impl TopologyDir {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TopologyDir {
    fn drop(&mut self) {
        let _ = remove_dir(&self.path);
    }
}

fn remove_dir(path: &Path) -> Result<()> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("removing", path, e)),
    }
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| Error::io("chmod", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_of_a_dead_owner_is_swept_and_a_live_one_kept() {
        let root =
            WorkRoot::resolve(Some(&std::env::temp_dir().join(format!("habench-wd-{}", std::process::id())))).unwrap();
        let live = root.new_topology_dir("single").unwrap();
        let dead = root.path().join("topo-999999999-0-single");
        std::fs::create_dir_all(dead.join("nodes/primary/data")).unwrap();
        std::fs::write(dead.join("nodes/primary/data/PG_VERSION"), "15").unwrap();
        std::fs::write(dead.join(OWNER_FILE), "999999999 1").unwrap();

        let report = root.sweep_leftovers().await;
        // The sweep also takes other dead owners' cgroups machine-wide (left by earlier runs):
        // only the lines about this test's root are this test's.
        let mine: Vec<_> = report.iter().filter(|l| l.contains(&*root.path().to_string_lossy())).collect();
        assert_eq!(mine.len(), 1, "{report:?}");
        assert!(mine[0].contains("topo-999999999-0-single"), "{report:?}");
        assert!(!dead.exists());
        assert!(live.path().exists());
        let live_path = live.path().to_path_buf();
        drop(live);
        assert!(!live_path.exists());
        std::fs::remove_dir_all(root.path()).unwrap();
    }
}
