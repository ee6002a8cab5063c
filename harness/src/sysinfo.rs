//! What the machine looked like: cores, memory, load, pressure. Recorded with every result,
//! since every server of a topology shares these cores.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Machine {
    pub cores: usize,
    pub memory_bytes: Option<u64>,
    pub kernel: Option<String>,
    pub hostname: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct Load {
    pub loadavg: Option<[f64; 3]>,
    /// `/proc/pressure/{cpu,io,memory}`: share of time some task waited, averaged over 10 s.
    pub pressure_some_avg10: Option<Pressure>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct Pressure {
    pub cpu: Option<f64>,
    pub io: Option<f64>,
    pub memory: Option<f64>,
}

/// CPUs this process may run on.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

pub(crate) fn machine() -> Machine {
    Machine {
        cores: cores(),
        memory_bytes: meminfo_total(),
        kernel: read_trim("/proc/sys/kernel/osrelease"),
        hostname: read_trim("/proc/sys/kernel/hostname"),
    }
}

pub(crate) fn load() -> Load {
    let pressure = |r: &str| {
        let text = std::fs::read_to_string(format!("/proc/pressure/{r}")).ok()?;
        let line = text.lines().find(|l| l.starts_with("some"))?;
        line.split_whitespace().find_map(|f| f.strip_prefix("avg10=")).and_then(|v| v.parse().ok())
    };
    Load {
        loadavg: loadavg(),
        pressure_some_avg10: Some(Pressure { cpu: pressure("cpu"), io: pressure("io"), memory: pressure("memory") }),
    }
}

pub(crate) fn loadavg() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let v: Vec<f64> = text.split_whitespace().take(3).filter_map(|x| x.parse().ok()).collect();
    (v.len() == 3).then(|| [v[0], v[1], v[2]])
}

/// Resident set size of this process, bytes.
pub fn rss_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = text.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn meminfo_total() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = text.lines().find(|l| l.starts_with("MemTotal:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}
