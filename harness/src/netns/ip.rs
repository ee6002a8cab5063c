//! The programs a network is built with: `ip` (iproute2) and `nft` (nftables), run as root
//! and waited for (each takes milliseconds). A missing program or a refusal is an error that
//! says what failed and what installs it.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// What `--net namespaces` needs that may be missing, and what installs it.
pub(crate) const NEEDS: &str = "root, iproute2 (`ip`) and nftables (`nft`; Debian: apt-get install nftables)";

/// `ip ARGS`; the error carries what it printed.
pub(crate) fn ip(args: &[&str]) -> Result<String> {
    run("ip", args, None)
}

/// `ip netns exec NS nft -f -` with `script` on its input.
pub(crate) fn nft(ns: &str, script: &str) -> Result<String> {
    run("ip", &["netns", "exec", ns, "nft", "-f", "-"], Some(script))
}

/// `tc -n NS ARGS` (traffic control in a namespace).
pub(crate) fn tc(ns: &str, args: &[&str]) -> Result<String> {
    let all: Vec<&str> = ["-n", ns].into_iter().chain(args.iter().copied()).collect();
    run("tc", &all, None)
}

fn run(program: &str, args: &[&str], input: Option<&str>) -> Result<String> {
    let mut cmd = Command::new(program);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().map_err(|e| Error::Tool {
        tool: program.into(),
        status: "not started".into(),
        detail: format!("{e}; --net namespaces needs {NEEDS}"),
    })?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        let _ = stdin.write_all(text.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| Error::Tool {
        tool: program.into(),
        status: "not waited for".into(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(Error::Tool {
            tool: format!("{program} {}", args.join(" ")),
            status: out.status.to_string(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `nft` can be run (it is installed and we are root).
pub(crate) fn missing() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some(format!("--net namespaces needs {NEEDS}: habench does not run as root"));
    }
    for p in ["ip", "nft"] {
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .any(|d| d.join(p).is_file());
        if !found {
            return Some(format!("--net namespaces needs {NEEDS}: `{p}` was not found"));
        }
    }
    None
}
