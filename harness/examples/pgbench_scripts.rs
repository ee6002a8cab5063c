//! The MessageBox statements of a scenario as pgbench custom scripts, so that pgbench runs the
//! very SQL habench sends (`scripts/vs-pgbench-messagebox.sh` uses them):
//!   cargo run --release --example pgbench_scripts -- SCENARIO.toml HOST publish|dequeue|chain
//! `publish`: one publish (variables :id drawn at random, :type, :ctx, :parts, :intended, set
//! with -D); `dequeue`: one dequeue of the host's batch size; `chain`: a dequeue of one message
//! whose id feeds the completion (`\gset`), as a host instance completes what it took.

use habench_workloads::messagebox::{schema, MessageBoxConfig};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, file, host, what] = args.as_slice() else {
        eprintln!("usage: pgbench_scripts SCENARIO.toml HOST publish|dequeue|chain");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    // Only the [messagebox] table matters here; the rest of the scenario is habench's.
    let table: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mb = table.get("messagebox").cloned().unwrap_or_else(|| panic!("{file}: no [messagebox] table"));
    let cfg = toml::Value::try_into::<MessageBoxConfig>(mb).unwrap_or_else(|e| panic!("{file}: {e}"));
    let h = cfg.hosts.iter().find(|h| h.name == *host).unwrap_or_else(|| panic!("no host {host:?} in {file}"));
    let script = match what.as_str() {
        // A random id from a range so wide that 10^6 draws collide with odds below 10^-6.
        "publish" => format!(
            "\\set id random(1, 9000000000000000000)\n{};\n",
            bind(&schema::publish_sql(&cfg), &[":id", ":type", ":ctx", ":parts", ":intended"])
        ),
        "dequeue" => format!("{};\n", bind(&schema::dequeue_sql(host), &[&h.batch_size.to_string(), ":instance"])),
        "chain" => format!(
            "\\set e2e 1000\n{} \\gset\n{};\n",
            bind(&schema::dequeue_sql(host), &["1", ":instance"]),
            bind(&schema::complete_sql(host), &[":msg_id", ":instance", ":e2e", ":attempts"])
        ),
        other => panic!("unknown statement {other:?}: publish, dequeue or chain"),
    };
    print!("{script}");
}

/// `$1`... replaced by pgbench variables (or literals), highest number first so `$1` does not
/// eat the start of `$10`. pgbench reads a statement per line: newlines become spaces.
fn bind(sql: &str, vars: &[&str]) -> String {
    let mut out = sql.to_string();
    for (i, v) in vars.iter().enumerate().rev() {
        out = out.replace(&format!("${}", i + 1), v);
    }
    out.replace('\n', " ")
}
