//! What the `--cluster` files of topologies habench runs share (`topology up --cluster-file`):
//! TOML quoting, and the commands that break a node through its cgroup and postmaster.

use std::path::Path;

/// `v` as a TOML string.
pub(crate) fn q(v: &str) -> String {
    toml::Value::String(v.to_string()).to_string()
}

/// A node's `[nodes.commands]`: crash (its cgroup killed), kill (its postmaster), pause and
/// resume (its cgroup frozen and thawed).
pub(crate) fn node_commands(group: &Path, data_dir: &Path) -> String {
    let freeze = group.join("cgroup.freeze");
    format!(
        "[nodes.commands]\ncrash = {}\nkill = {}\npause = {}\nresume = {}\n",
        q(&format!("echo 1 > {}", group.join("cgroup.kill").display())),
        q(&format!("kill -KILL $(head -n 1 {})", data_dir.join("postmaster.pid").display())),
        q(&format!("echo 1 > {}", freeze.display())),
        q(&format!("echo 0 > {}", freeze.display())),
    )
}
