//! Scenario files (TOML). Every key is optional; flags override what a file says; an unknown key
//! or a bad value is an error naming the line and the field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use habench_workloads::messagebox::MessageBoxConfig;
use serde::{Deserialize, Deserializer};

use crate::topology::{Quorum, SyncCommit, TopologyKind};

/// The scenarios shipped with habench, by name.
pub const SHIPPED: [(&str, &str); 8] = [
    ("quick", include_str!("../../../workloads/scenarios/quick.toml")),
    ("messaging", include_str!("../../../workloads/scenarios/messaging.toml")),
    ("failover-compare", include_str!("../../../workloads/scenarios/failover-compare.toml")),
    ("offload", include_str!("../../../workloads/scenarios/offload.toml")),
    ("distance", include_str!("../../../workloads/scenarios/distance.toml")),
    ("exposure", include_str!("../../../workloads/scenarios/exposure.toml")),
    ("receive", include_str!("../../../workloads/scenarios/receive.toml")),
    ("engines-compare", include_str!("../../../workloads/scenarios/engines-compare.toml")),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScenarioFile {
    pub name: Option<String>,
    /// Repetitions of the faulted run, each on a fresh topology.
    pub trials: Option<u32>,
    /// The same run on several topologies, compared in one table.
    #[serde(default)]
    pub variants: Vec<VariantSection>,
    pub duration: Option<Dur>,
    pub warmup: Option<Dur>,
    pub seed: Option<u64>,
    pub topology: Option<TopologySection>,
    pub load: Option<LoadSection>,
    pub workload: Option<WorkloadSection>,
    pub messagebox: Option<MessageBoxConfig>,
    #[serde(default)]
    pub faults: Vec<crate::fault::FaultEntry>,
    pub orchestrator: Option<OrchestratorSection>,
    pub check: Option<CheckSection>,
    pub reports: Option<ReportsSection>,
    pub receive: Option<ReceiveSection>,
    pub sso: Option<SsoSection>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrchestratorSection {
    pub probe_interval: Option<Dur>,
    pub probe_threshold: Option<u32>,
    pub manual_delay: Option<Dur>,
    pub p99_factor: Option<f64>,
    /// Bring lost nodes back (default true).
    pub heal: Option<bool>,
    /// Kill the old primary before a takeover (default true).
    pub fence: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckSection {
    pub exactly_once: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VariantSection {
    pub name: String,
    /// The variant's own topology; without one it runs on the scenario's, and consecutive
    /// variants without faults share one set of servers.
    pub topology: Option<TopologySection>,
    /// Where this variant's report queries go (overrides `[reports] on`).
    pub reports_on: Option<ReportsOn>,
    /// The variant's own faults, instead of the scenario's `[[faults]]`.
    pub faults: Option<Vec<crate::fault::FaultEntry>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TopologySection {
    pub kind: TopologyKind,
    pub standbys: Option<u8>,
    pub quorum: Option<Quorum>,
    pub sync_count: Option<u8>,
    pub sync_commit: Option<SyncCommit>,
    pub archive_timeout: Option<Dur>,
    /// Server settings for every node.
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
    /// Node name -> CPU list (`"1"`, `"0-1"`): emulates separate hosts.
    #[serde(default)]
    pub pin: BTreeMap<String, String>,
    /// Standby name -> link (`"delay:20ms,jitter:2ms"`).
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// patroni: nodes (2-9).
    pub nodes: Option<u8>,
    /// patroni: etcd members (1 or 3).
    pub dcs_members: Option<u8>,
    /// patroni: off, on, strict or quorum.
    pub sync_mode: Option<crate::patroni::SyncMode>,
    /// patroni: keys of its dynamic configuration (`ttl = 20`, `loop_wait = 1`).
    #[serde(default)]
    pub engine: BTreeMap<String, toml::Value>,
    /// parallel: groups (2-4).
    pub groups: Option<u8>,
    /// parallel: every group's topology (default single); the keys above describe it.
    pub group_topology: Option<TopologyKind>,
    /// parallel: the balancer's health probe interval.
    pub balancer_probe: Option<Dur>,
    /// parallel: failed probes in a row that take a group out of the rotation.
    pub balancer_threshold: Option<u32>,
    /// `loopback` (default) or `namespaces`: each node a host with its own address.
    pub net: Option<crate::topology::NetMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LoadMode {
    Open,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    Uniform,
    Poisson,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoadSection {
    pub mode: Option<LoadMode>,
    pub rate: Option<f64>,
    pub arrival: Option<Arrival>,
    pub publishers: Option<u16>,
    pub clients: Option<u16>,
    pub op_timeout: Option<Dur>,
    pub sync_wait_timeout: Option<Dur>,
    pub drain_timeout: Option<Dur>,
}

/// Where report queries are routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ReportsOn {
    /// No report load.
    #[default]
    None,
    /// Reports share the primary with the message traffic.
    Primary,
    /// Reports go to the readable secondaries, in turn (read-only routing).
    Standbys,
}

impl ReportsOn {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ReportsOn::None => "none",
            ReportsOn::Primary => "primary",
            ReportsOn::Standbys => "standbys",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    Messagebox,
    Insert,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkloadSection {
    pub kind: Option<WorkloadKind>,
    pub payload_bytes: Option<u32>,
    pub driver: Option<Driver>,
}

/// The client library of the calibration insert (MessageBox workers always use the wire client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Driver {
    /// habench's own wire-protocol client: one task per connection (the default).
    Wire,
    /// tokio-postgres: a client and a connection task per connection.
    TokioPostgres,
}

/// `[reports]` in a scenario file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportsSection {
    pub on: Option<ReportsOn>,
    pub rate: Option<f64>,
    pub clients: Option<u16>,
    pub window: Option<Dur>,
    pub mix: Option<habench_workloads::reporting::ReportMix>,
    pub standbys: Option<Vec<String>>,
}

/// How receive instances share the location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiveLock {
    /// List and read without claiming (an FTP adapter): duplicates and partial reads happen.
    None,
    /// Open only a file nobody writes (its writer holds an exclusive lock) and claim it by an
    /// atomic rename before reading (a file adapter that locks).
    Exclusive,
    /// One active instance reads as `none` does; another takes over after its death (a
    /// clustered host).
    Clustered,
}

impl ReceiveLock {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ReceiveLock::None => "none",
            ReceiveLock::Exclusive => "exclusive",
            ReceiveLock::Clustered => "clustered",
        }
    }
}

/// `[receive]` in a scenario file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReceiveSection {
    pub instances: Option<u16>,
    pub lock: Option<ReceiveLock>,
    pub poll_interval: Option<Dur>,
    pub write_time: Option<Dur>,
    pub pieces: Option<u16>,
    pub detect_interval: Option<Dur>,
    pub detect_threshold: Option<u32>,
}

/// Where the master secret server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SsoMode {
    /// No secret server: nothing in the load needs one.
    None,
    /// Its own PostgreSQL server, which habench starts beside the topology: it fails on its own.
    Separate,
    /// The `sso` schema on the MessageBox's own cluster: it fails over with the database.
    CoLocated,
}

impl SsoMode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SsoMode::None => "none",
            SsoMode::Separate => "separate",
            SsoMode::CoLocated => "co-located",
        }
    }
}

/// `[sso]` in a scenario file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SsoSection {
    pub mode: Option<SsoMode>,
    pub refresh: Option<Dur>,
    pub decrypt_share: Option<f64>,
    pub encrypt_rate: Option<f64>,
    pub restart_after: Option<Dur>,
}

/// A duration written as a string in a scenario (`"10s"`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        habench_workloads::duration::parse_duration(&s).map(Dur).map_err(serde::de::Error::custom)
    }
}

/// Where a scenario came from.
#[derive(Debug)]
pub(crate) struct LoadedScenario {
    pub source: String,
    pub text: String,
    pub file: ScenarioFile,
}

/// Loads a shipped scenario by name, or a file by path.
pub(crate) fn load(name_or_path: &str) -> Result<LoadedScenario, String> {
    let shipped = SHIPPED.iter().find(|(n, _)| *n == name_or_path || format!("{n}.toml") == name_or_path);
    let path = Path::new(name_or_path);
    let (source, text) = match shipped {
        Some((n, text)) if !path.exists() => (format!("shipped scenario `{n}`"), text.to_string()),
        _ => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                let names: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
                format!("scenario `{name_or_path}`: {e} (shipped scenarios: {})", names.join(", "))
            })?;
            (PathBuf::from(path).display().to_string(), text)
        }
    };
    let file = parse(&text).map_err(|e| format!("{source}: {e}"))?;
    Ok(LoadedScenario { source, text, file })
}

/// Parses scenario text; toml's error names the line, the column and the key.
pub(crate) fn parse(text: &str) -> Result<ScenarioFile, String> {
    let file: ScenarioFile = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
    if let Some(mb) = &file.messagebox {
        mb.validate().map_err(|e| {
            let key = e.split(':').next().unwrap_or("");
            match line_of(text, &format!("messagebox.{key}")) {
                Some(n) => format!("line {n}: [messagebox] {e}"),
                None => format!("[messagebox] {e}"),
            }
        })?;
    }
    check_names(&file)?;
    Ok(file)
}

/// A name habench turns into a folder: letters, digits, `-`, `_` and `.`, not `.` or `..`, at
/// most 64 characters.
pub(crate) fn check_plain_name(name: &str) -> Result<(), String> {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(())
    } else {
        let shown: String = name.chars().take(64).flat_map(char::escape_default).collect();
        Err(format!("`{shown}` names a results folder: use 1 to 64 letters, digits, -, _ and . (not . or ..)"))
    }
}

/// The scenario's name and its variants' names become folders: plain, and each variant once.
fn check_names(file: &ScenarioFile) -> Result<(), String> {
    if let Some(name) = &file.name {
        check_plain_name(name).map_err(|e| format!("name: {e}"))?;
    }
    for (i, v) in file.variants.iter().enumerate() {
        let at = |m: String| format!("variants[{i}].name: {m}");
        check_plain_name(&v.name).map_err(at)?;
        if file.variants[..i].iter().any(|o| o.name == v.name) {
            return Err(at(format!("`{}` is used twice: give every variant its own name", v.name)));
        }
    }
    Ok(())
}

/// The 1-based line that sets `key` (`load.rate`, `duration`, `topology.pin`, or an element of
/// an array of tables, `messagebox.hosts[1].name`), when the text sets it: the key inside its
/// own table, not a key of the same name elsewhere.
pub(crate) fn line_of(text: &str, key: &str) -> Option<usize> {
    // `messagebox.hosts[1].name` -> table `messagebox.hosts`, element 1, key `name`.
    let (table, element, name) = match key.split_once('[') {
        Some((table, rest)) => {
            let (n, after) = rest.split_once(']')?;
            (table, n.parse::<usize>().ok(), after.trim_start_matches('.'))
        }
        None => match key.rsplit_once('.') {
            Some((table, name)) => (table, None, name),
            None => ("", None, key),
        },
    };
    let (parent, last) = table.rsplit_once('.').unwrap_or(("", table));
    let mut current = String::new();
    let mut occurrence: Option<usize> = None;
    let (mut element_header, mut inline, mut key_header) = (None, None, None);
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            current = l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            if current == table {
                let n = occurrence.map_or(0, |o| o + 1);
                occurrence = Some(n);
                if element == Some(n) {
                    element_header = Some(i + 1);
                }
            }
            if current == key {
                key_header.get_or_insert(i + 1);
            }
            continue;
        }
        let sets = |k: &str| l.strip_prefix(k).is_some_and(|rest| rest.trim_start().starts_with('='));
        let in_target = current == table && element.is_none_or(|e| occurrence == Some(e));
        if in_target && sets(name) {
            return Some(i + 1);
        }
        // An array written inline (`hosts = [{ ... }]`) in its parent table.
        if element.is_some() && current == parent && sets(last) {
            inline.get_or_insert(i + 1);
        }
    }
    element_header.or(inline).or(key_header)
}

impl TopologySection {
    /// Server settings as `name = value` text pairs.
    pub(crate) fn settings(&self) -> Vec<(String, String)> {
        self.settings
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_scenarios_parse() {
        for (name, _) in SHIPPED {
            let s = load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(s.file.name.as_deref(), Some(name));
        }
    }

    #[test]
    fn an_unknown_key_names_its_line() {
        let err = parse("name = \"x\"\n[load]\nrat = 5\n").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("rat"), "{err}");
    }

    #[test]
    fn a_bad_value_names_the_field_and_the_fix() {
        let err = parse("[load]\nop_timeout = \"10\"\n").unwrap_err();
        assert!(err.contains("line 2") && err.contains("needs a unit"), "{err}");
        let err = parse("[topology]\nkind = \"cluster\"\n").unwrap_err();
        assert!(err.contains("line 2") && err.contains("shared-disk"), "{err}");
        let err = parse("[messagebox]\nhosts = [{ name = \"send\" }]\nmessage_types = [{ name = \"a\", subscribers = [\"ftp\"] }]\n")
            .unwrap_err();
        assert!(err.contains("line 3") && err.contains("`ftp` is not one of the hosts"), "{err}");
    }

    #[test]
    fn lines_are_found_in_their_own_table_and_array_element() {
        let text = "rate = 1\n[reports]\nrate = 2\n[load]\nrate = 3\n[[messagebox.hosts]]\nname = \"a\"\n\
                    [[messagebox.hosts]]\ninstances = 2\nname = \"b\"\n";
        assert_eq!(line_of(text, "rate"), Some(1));
        assert_eq!(line_of(text, "reports.rate"), Some(3));
        assert_eq!(line_of(text, "load.rate"), Some(5));
        assert_eq!(line_of(text, "messagebox.hosts[0].name"), Some(7));
        assert_eq!(line_of(text, "messagebox.hosts[1].name"), Some(10));
        assert_eq!(line_of(text, "messagebox.hosts[1].batch_size"), Some(8), "the element's header");
        assert_eq!(line_of(text, "load.clients"), None);
        let inline = "[messagebox]\nhosts = [{ name = \"A\" }]\n";
        assert_eq!(line_of(inline, "messagebox.hosts[0].name"), Some(2));
    }

    #[test]
    fn settings_keep_their_text() {
        let f = parse(
            "[topology]\nkind = \"single\"\n[topology.settings]\nshared_buffers = \"256MB\"\nmax_connections = 300\n",
        )
        .unwrap();
        let s = f.topology.unwrap().settings();
        assert!(s.contains(&("shared_buffers".into(), "256MB".into())));
        assert!(s.contains(&("max_connections".into(), "300".into())));
    }
}
