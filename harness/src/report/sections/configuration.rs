//! The run's configuration, and the server settings folded beneath it.

use crate::config::Load;
use crate::report::doc::{table, Block};
use crate::report::sections::values::text;
use crate::run_data::RunData;
use crate::summary::Summary;

/// Settings that say where things are, not how the server behaves.
pub(super) const NOISE: [&str; 7] = [
    "port",
    "cluster_name",
    "listen_addresses",
    "unix_socket_directories",
    "log_line_prefix",
    "lc_messages",
    "DateStyle",
];

/// The cluster manager, when one ran the topology: versions, the timings it ran with (its own
/// clamping applied, with its words), its synchronous mode and its REST endpoints.
fn engine_rows(e: &serde_json::Value) -> Vec<Vec<String>> {
    if e.is_null() {
        return Vec::new();
    }
    if e["engine"] == "pg_auto_failover" {
        return auto_failover_rows(e);
    }
    let t = &e["timing"];
    let dynamic = &e["dynamic_config"];
    let mode = match (&dynamic["synchronous_mode"], &dynamic["synchronous_mode_strict"]) {
        (serde_json::Value::Bool(true), serde_json::Value::Bool(true)) => "strict".to_string(),
        (serde_json::Value::Bool(true), _) => "on".to_string(),
        (serde_json::Value::String(s), _) => s.clone(),
        _ => "off".to_string(),
    };
    let versions: Vec<String> =
        [&e["patroni_version"], &e["etcd_version"]].into_iter().filter(|v| !v.is_null()).map(text).collect();
    let mut rows = vec![
        vec!["cluster manager".into(), format!("{} ({})", text(&e["engine"]), versions.join(", "))],
        vec![
            "manager timings".into(),
            format!(
                "ttl {} s, loop_wait {} s, retry_timeout {} s, primary_start_timeout {} s, failsafe_mode {}",
                text(&t["ttl"]),
                text(&t["loop_wait"]),
                text(&t["retry_timeout"]),
                text(&t["primary_start_timeout"]),
                if t["failsafe_mode"].as_bool() == Some(true) { "on" } else { "off" }
            ),
        ],
        vec![
            "synchronous mode".into(),
            format!("{mode}, synchronous_node_count {}", dynamic["synchronous_node_count"].as_i64().unwrap_or(1)),
        ],
    ];
    if let Some(ms) = e["bootstrap_ms"].as_f64() {
        let p = &e["phases_ms"];
        let at = |k: &str| p[k].as_f64().map_or("-".to_string(), |v| format!("{:.1} s", v / 1e3));
        rows.push(vec![
            "cluster up in".into(),
            format!(
                "{:.1} s (etcd {}, leader {}, replicas streaming {}, sync standby {})",
                ms / 1e3,
                at("dcs_ready"),
                at("leader"),
                at("streaming"),
                at("sync_assigned")
            ),
        ]);
    }
    for note in t["adjusted"].as_array().into_iter().flatten().chain(e["engine_notes"].as_array().into_iter().flatten())
    {
        rows.push(vec!["manager adjusted".into(), text(note)]);
    }
    for pair in e["rest_urls"].as_array().into_iter().flatten() {
        rows.push(vec![format!("REST of {}", text(&pair[0])), text(&pair[1])]);
    }
    rows
}

/// pg_auto_failover: its version (against upstream's newest), the monitor's timings, the
/// formation's synchronous setting and each node's priority and quorum, as the monitor held them.
fn auto_failover_rows(e: &serde_json::Value) -> Vec<Vec<String>> {
    let mut rows = vec![vec!["cluster manager".into(), format!("pg_auto_failover ({})", text(&e["version"]))]];
    if let Some(note) = e["version_note"].as_str() {
        rows.push(vec!["engine version".into(), note.to_string()]);
    }
    let setting = |k: &str| {
        let pairs = e["monitor_settings"].as_array().into_iter().flatten();
        pairs.filter(|p| p[0] == format!("pgautofailover.{k}").as_str()).map(|p| text(&p[1])).next()
    };
    let timings: Vec<String> = crate::autofailover::MONITOR_SETTINGS
        .iter()
        .filter_map(|(k, unit)| setting(k).map(|v| format!("{k} {v}{}", if *unit == "ms" { " ms" } else { "" })))
        .collect();
    rows.push(vec!["monitor timings".into(), timings.join(", ")]);
    let f = &e["formation"];
    rows.push(vec!["number_sync_standbys".into(), text(&f["number_sync_standbys"])]);
    for n in f["nodes"].as_array().into_iter().flatten() {
        rows.push(vec![
            format!("node {}", text(&n[0])),
            format!("candidate_priority {}, replication_quorum {}", text(&n[1]), text(&n[2])),
        ]);
    }
    if let Some(ms) = e["formed_ms"].as_f64() {
        rows.push(vec!["formation up in".into(), format!("{:.1} s", ms / 1e3)]);
    }
    rows
}

pub(super) fn configuration(d: &RunData, s: &Summary) -> Vec<Block> {
    let m = &d.manifest;
    let c = &m["config"];
    let primary = d.primary_name();
    let settings = &m["server_settings"][&primary];
    let spec = &c["target"]["topology"];
    let load_text = match &s.load {
        Load::Open { rate, arrival, publishers } => {
            let rate = serde_json::Value::from(*rate);
            format!("open loop, {rate} msgs/s ({}), {publishers} connections", format!("{arrival:?}").to_lowercase())
        }
        Load::Closed { clients } => format!("closed loop, {clients} clients"),
    };
    let mut rows = vec![
        vec!["scenario".into(), s.scenario.clone()],
        vec!["topology".into(), s.topology.clone()],
        vec!["standbys".into(), text(&spec["standbys"])],
        vec!["synchronous_standby_names".into(), text(&settings["synchronous_standby_names"])],
        vec!["synchronous_commit".into(), text(&settings["synchronous_commit"])],
        vec!["workload".into(), s.workload.clone()],
        vec!["load".into(), load_text],
        vec!["measured".into(), format!("{:.1} s after {} warm-up", s.measured_s, text(&c["warmup"]))],
        vec!["seed".into(), s.seed.to_string()],
        vec!["PostgreSQL".into(), text(&m["postgres_version"]).split(" on ").next().unwrap_or("-").to_string()],
        vec!["habench".into(), format!("{} ({})", text(&m["habench_version"]), text(&m["git_commit"]))],
        vec!["machine".into(), format!("{} cores", text(&m["machine"]["cores"]))],
    ];
    if c["reports"]["on"].as_str().is_some_and(|o| o != "none") {
        let r = &c["reports"];
        rows.push(vec![
            "reports".into(),
            format!("on {}, {} queries/s, {} workers", text(&r["on"]), text(&r["rate"]), text(&r["clients"])),
        ]);
    }
    for n in m["topology"]["nodes"].as_array().into_iter().flatten() {
        if let Some(cpus) = n["cpus"].as_str() {
            rows.push(vec![format!("CPUs of {}", text(&n["name"])), cpus.to_string()]);
        }
    }
    for n in m["cluster"]["nodes"].as_array().into_iter().flatten() {
        rows.push(vec![format!("node {}", text(&n["name"])), format!("{} ({})", text(&n["role"]), text(&n["dsn"]))]);
    }
    if !m["cluster"].is_null() {
        rows.push(vec!["cluster file".into(), text(&m["cluster"]["file"])]);
    }
    let engine = [&m["topology"]["engine"], &m["cluster"]["engine"], &m["cluster"]["auto_failover"]]
        .into_iter()
        .find(|e| !e.is_null())
        .unwrap_or(&serde_json::Value::Null);
    rows.extend(engine_rows(engine));
    let mut out = vec![Block::Heading(2, "Configuration".into()), table(&["", ""], rows)];
    if let Some(map) = settings.as_object() {
        let rows: Vec<Vec<String>> = map
            .iter()
            .filter(|(k, _)| !NOISE.contains(&k.as_str()))
            .map(|(k, v)| vec![format!("`{k}`"), text(v)])
            .collect();
        out.push(Block::Folded {
            summary: format!(
                "Server settings of `{primary}`: {} that differ from PostgreSQL's defaults, and its durability settings",
                rows.len()
            ),
            blocks: vec![table(&["setting", "value"], rows)],
        });
    }
    out
}
