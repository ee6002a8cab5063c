//! The cluster file's shell commands, run without ever blocking a runtime: asynchronously, in a
//! process group of their own, with a timeout. On timeout, and when the run ends with a command
//! still running, the whole group is killed (killing `sh` alone would leave its children: an
//! `ssh`, a `sleep`). Every command's output, exit status and duration go to `commands.log` in
//! the results folder, with the file's secrets masked.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};

/// How long a command may run unless the file says otherwise (`timeout`).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// One command as the file gives it: what `sh -c` runs, and how long it may take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShellCommand {
    pub run: String,
    #[serde(rename = "timeout_ms", serialize_with = "as_ms")]
    pub timeout: Duration,
}

fn as_ms<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    /// It exited with this code (0: success).
    Exited(i32),
    /// A signal ended it.
    Signalled(i32),
    /// It ran past its timeout; its process group was killed.
    TimedOut,
    /// The run ended while it ran; its process group was killed.
    Cancelled,
    /// It could not be started.
    NotStarted(String),
}

/// What one command did: how it ended, how long it took, what it printed (secrets masked).
#[derive(Debug)]
struct Ran {
    ended: Ended,
    took: Duration,
    stdout: String,
    stderr: String,
}

/// Runs the commands of one cluster file and keeps their log.
#[derive(Debug, Default)]
pub(crate) struct CommandRunner {
    /// Where each command's record goes (`commands.log` of the run); none before a run.
    log: Mutex<Option<PathBuf>>,
    /// Process groups of the commands running now.
    running: Arc<Mutex<BTreeSet<i32>>>,
    /// Process groups killed because the run ended.
    cancelled: Mutex<BTreeSet<i32>>,
    /// Texts never written anywhere (passwords of the file's connection strings).
    secrets: Vec<String>,
}

impl CommandRunner {
    pub(crate) fn new(secrets: Vec<String>) -> CommandRunner {
        CommandRunner { secrets: secrets.into_iter().filter(|s| !s.is_empty()).collect(), ..Default::default() }
    }

    /// From now on, every command's record is appended to `path`.
    pub(crate) fn log_to(&self, path: PathBuf) {
        *self.log.lock().expect("command log lock") = Some(path);
    }

    /// Runs `cmd` for `action` on `node`; returns what it printed (stdout, then stderr), or an
    /// error naming the node, the action and why (its exit status, or its timeout).
    pub(crate) async fn run(&self, node: &str, action: &str, cmd: &ShellCommand) -> Result<String> {
        let t0 = Instant::now();
        let (ended, stdout, stderr) = self.execute(cmd).await;
        let ran = Ran { ended, took: t0.elapsed(), stdout: self.mask(&stdout), stderr: self.mask(&stderr) };
        self.record(node, action, cmd, &ran).await;
        let text = format!("{}{}", ran.stdout, ran.stderr);
        let why = match ran.ended {
            Ended::Exited(0) => return Ok(text.trim().to_string()),
            Ended::Exited(code) => format!("exited with status {code}"),
            Ended::Signalled(sig) => format!("was ended by signal {sig}"),
            Ended::TimedOut => format!(
                "did not finish within its timeout of {} (its process group was killed)",
                habench_workloads::duration::format_duration(cmd.timeout)
            ),
            Ended::Cancelled => "was still running when the run ended (its process group was killed)".to_string(),
            Ended::NotStarted(e) => format!("could not start: {e}"),
        };
        let tail = crate::pg::env::tail(&text, 5);
        let tail = if tail.trim().is_empty() { String::new() } else { format!(": {}", tail.trim()) };
        Err(Error::node(node, format!("commands.{action} {why}{tail}")))
    }

    /// Kills the process group of every command still running; returns how many.
    pub(crate) fn kill_running(&self) -> usize {
        let groups = std::mem::take(&mut *self.running.lock().expect("running commands lock"));
        for g in &groups {
            self.cancelled.lock().expect("cancelled commands lock").insert(*g);
            kill_group(*g);
        }
        groups.len()
    }

    async fn execute(&self, cmd: &ShellCommand) -> (Ended, String, String) {
        let mut command = tokio::process::Command::new("/bin/sh");
        command
            .args(["-c", &cmd.run])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let child = match command.spawn() {
            Ok(c) => c,
            Err(e) => return (Ended::NotStarted(e.to_string()), String::new(), String::new()),
        };
        // The child leads its own group: the group's id is its pid. The guard kills the group
        // when this future ends or is dropped (a run that ends while the command runs).
        let pgid = child.id().map(|pid| pid as i32);
        let guard = pgid.map(|g| GroupGuard::new(g, self.running.clone()));
        let out = tokio::time::timeout(cmd.timeout, child.wait_with_output()).await;
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let ended = match &out {
            Err(_) => Ended::TimedOut,
            Ok(Err(e)) => Ended::NotStarted(e.to_string()),
            Ok(Ok(o)) => {
                use std::os::unix::process::ExitStatusExt;
                let cancelled = pgid.is_some_and(|g| self.cancelled.lock().expect("cancelled lock").remove(&g));
                match (o.status.code(), o.status.signal()) {
                    (None, Some(_)) if cancelled => Ended::Cancelled,
                    (Some(c), _) => Ended::Exited(c),
                    (None, Some(s)) => Ended::Signalled(s),
                    (None, None) => Ended::Exited(-1),
                }
            }
        };
        drop(guard);
        match out {
            Ok(Ok(o)) => (ended, text(&o.stdout), text(&o.stderr)),
            _ => (ended, String::new(), String::new()),
        }
    }

    fn mask(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_string(), |t, s| t.replace(s.as_str(), crate::pg::dsn::HIDDEN))
    }

    async fn record(&self, node: &str, action: &str, cmd: &ShellCommand, ran: &Ran) {
        let Some(path) = self.log.lock().expect("command log lock").clone() else { return };
        let entry = log_entry(node, action, &self.mask(&cmd.run), ran);
        // tokio's file I/O runs on its blocking pool: the runtime is not held.
        let write = async {
            use tokio::io::AsyncWriteExt;
            let mut f = tokio::fs::OpenOptions::new().create(true).append(true).open(&path).await?;
            f.write_all(entry.as_bytes()).await?;
            f.flush().await
        };
        if let Err(e) = write.await {
            tracing::warn!("writing {}: {e}", path.display());
        }
    }
}

/// One record of `commands.log`: a header line, then the output lines indented.
fn log_entry(node: &str, action: &str, run: &str, ran: &Ran) -> String {
    let status = match &ran.ended {
        Ended::Exited(c) => format!("exit {c}"),
        Ended::Signalled(s) => format!("signal {s}"),
        Ended::TimedOut => "timed out, process group killed".into(),
        Ended::Cancelled => "cancelled at the run's end, process group killed".into(),
        Ended::NotStarted(e) => format!("not started: {e}"),
    };
    let mut out = format!(
        "{} node={node} action={action} status=\"{status}\" duration_ms={:.1}\n  command: {run}\n",
        crate::timefmt::rfc3339(std::time::SystemTime::now()),
        ran.took.as_secs_f64() * 1e3
    );
    for (name, text) in [("stdout", &ran.stdout), ("stderr", &ran.stderr)] {
        for line in text.lines() {
            out.push_str(&format!("  {name}: {line}\n"));
        }
    }
    out
}

/// Kills a command's process group when dropped, and keeps it in the list of running groups
/// until then.
#[derive(Debug)]
struct GroupGuard {
    pgid: i32,
    running: Arc<Mutex<BTreeSet<i32>>>,
}

impl GroupGuard {
    fn new(pgid: i32, running: Arc<Mutex<BTreeSet<i32>>>) -> GroupGuard {
        running.lock().expect("running commands lock").insert(pgid);
        GroupGuard { pgid, running }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        // Whatever the command left behind in its group goes with it (a finished `sh` whose
        // background children still run, or one that timed out).
        if self.running.lock().expect("running commands lock").remove(&self.pgid) {
            kill_group(self.pgid);
        }
    }
}

fn kill_group(pgid: i32) {
    if pgid > 1 {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), nix::sys::signal::Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(run: &str, timeout_ms: u64) -> ShellCommand {
        ShellCommand { run: run.into(), timeout: Duration::from_millis(timeout_ms) }
    }

    fn alive(pid: i32) -> bool {
        // A zombie counts as gone. (procfs: the kernel answers from memory, no disk wait.)
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.rsplit(')').next().is_some_and(|r| !r.trim_start().starts_with('Z')))
            .unwrap_or(false)
    }

    #[tokio::test]
    async fn a_command_that_hangs_is_killed_with_its_children_at_its_timeout() {
        let dir = std::env::temp_dir().join(format!("habench-cmd-test-{}", std::process::id()));
        tokio::fs::create_dir_all(&dir).await.unwrap();
        let pidfile = dir.join("child.pid");
        let r = CommandRunner::new(vec!["s3cret".into()]);
        r.log_to(dir.join("commands.log"));
        let run = format!("sleep 60 & echo $! > {}; echo token s3cret; wait", pidfile.display());
        let t0 = Instant::now();
        let err = r.run("n1", "resume", &cmd(&run, 300)).await.unwrap_err().to_string();
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        assert!(err.contains("n1") && err.contains("commands.resume") && err.contains("timeout"), "{err}");
        let child: i32 = tokio::fs::read_to_string(&pidfile).await.unwrap().trim().parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(child) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!alive(child), "the command's child `sleep` was left running");
        let log = tokio::fs::read_to_string(dir.join("commands.log")).await.unwrap();
        assert!(log.contains("node=n1 action=resume status=\"timed out"), "{log}");
        assert!(!log.contains("s3cret") && log.contains("***"), "{log}");
        tokio::fs::remove_dir_all(&dir).await.unwrap();
    }

    #[tokio::test]
    async fn a_failing_command_names_its_status_and_a_good_one_returns_its_output() {
        let r = CommandRunner::new(Vec::new());
        assert_eq!(r.run("n1", "pause", &cmd("echo paused", 5000)).await.unwrap(), "paused");
        let err = r.run("n2", "crash", &cmd("echo no route >&2; exit 3", 5000)).await.unwrap_err().to_string();
        assert!(err.contains("n2") && err.contains("exited with status 3") && err.contains("no route"), "{err}");
    }

    #[tokio::test]
    async fn a_command_running_when_the_run_ends_is_killed_with_its_group() {
        let r = Arc::new(CommandRunner::new(Vec::new()));
        let r2 = r.clone();
        let task = tokio::spawn(async move { r2.run("dcs", "resume", &cmd("sleep 60", 60_000)).await });
        let deadline = Instant::now() + Duration::from_secs(5);
        while r.running.lock().unwrap().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let pgid = *r.running.lock().unwrap().first().expect("the command runs");
        assert_eq!(r.kill_running(), 1);
        let err = tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap().unwrap_err();
        assert!(err.to_string().contains("still running when the run ended"), "{err}");
        assert!(!alive(pgid));
    }
}
