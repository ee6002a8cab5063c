//! A results folder read back: summary, manifest, timeline and the latency log, for reports and
//! comparisons. Missing optional files leave their part empty; a folder without summary.json
//! is not a run.

use std::collections::BTreeMap;
use std::path::Path;

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use serde_json::Value;

use crate::measure::stats::new_histogram;
use crate::summary::{FolderSummary, Summary};

/// timeline.csv as columns.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    pub names: Vec<String>,
    /// One entry per row: the phase.
    pub phases: Vec<String>,
    /// Column name -> one value per row (None: empty cell).
    pub columns: BTreeMap<String, Vec<Option<f64>>>,
}

impl Timeline {
    pub fn parse(text: &str) -> Timeline {
        let (names, rows) = crate::text_table::read(text);
        let mut t = Timeline { names: names.clone(), ..Default::default() };
        for n in &names {
            t.columns.insert(n.clone(), Vec::new());
        }
        for cells in &rows {
            for (i, n) in names.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                if n == "phase" {
                    t.phases.push(cell.to_string());
                }
                t.columns.get_mut(n).expect("column").push(cell.parse::<f64>().ok());
            }
        }
        t
    }

    pub(crate) fn col(&self, name: &str) -> Option<&[Option<f64>]> {
        self.columns.get(name).map(Vec::as_slice)
    }

    /// (t_s, value) of the rows where `name` has a value, in the phases given (all when empty).
    pub fn points(&self, name: &str, phases: &[&str]) -> Vec<(f64, f64)> {
        let (Some(t), Some(v)) = (self.col("t_s"), self.col(name)) else { return Vec::new() };
        t.iter()
            .zip(v)
            .zip(&self.phases)
            .filter(|(_, p)| phases.is_empty() || phases.contains(&p.as_str()))
            .filter_map(|((t, v), _)| Some((*t.as_ref()?, *v.as_ref()?)))
            .collect()
    }

    /// Values of `name` in the measured phase.
    pub(crate) fn measured(&self, name: &str) -> Vec<f64> {
        self.points(name, &["measure"]).into_iter().map(|(_, v)| v).collect()
    }

    /// Standby names that have lag columns.
    pub(crate) fn standbys(&self) -> Vec<String> {
        self.names
            .iter()
            .filter_map(|n| n.strip_prefix("lag_").and_then(|r| r.strip_suffix("_replay_ms")))
            .map(str::to_string)
            .collect()
    }
}

/// One run folder, read.
#[derive(Debug)]
pub(crate) struct RunData {
    pub summary: FolderSummary,
    pub manifest: Value,
    pub timeline: Timeline,
    /// Operation -> per measured interval histogram (µs), in time order.
    pub intervals: BTreeMap<String, Vec<Histogram<u64>>>,
}

impl RunData {
    pub(crate) fn load(dir: &Path) -> Result<RunData, String> {
        let read_json = |name: &str| -> Result<Value, String> {
            let p = dir.join(name);
            let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: not JSON ({e})", p.display()))
        };
        let path = dir.join("summary.json");
        let hint = "RUN_DIR is a folder that `habench run` wrote (it holds summary.json)";
        let summary = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| FolderSummary::parse(&text))
            .map_err(|e| format!("{}: {e}; {hint}", path.display()))?;
        let manifest = read_json("manifest.json").unwrap_or(Value::Null);
        let timeline =
            std::fs::read_to_string(dir.join("timeline.csv")).map(|t| Timeline::parse(&t)).unwrap_or_default();
        let intervals = read_hlog(&dir.join("latency.hlog"), &timeline).unwrap_or_default();
        Ok(RunData { summary, manifest, timeline, intervals })
    }

    /// Whole measured phase per operation (the intervals merged).
    pub(crate) fn merged(&self, op: &str) -> Option<Histogram<u64>> {
        let hs = self.intervals.get(op)?;
        let mut all = new_histogram();
        for h in hs {
            all.add(h).ok()?;
        }
        (!all.is_empty()).then_some(all)
    }

    /// One run's summary (None for a repeated run's top folder).
    pub(crate) fn run(&self) -> Option<&Summary> {
        match &self.summary {
            FolderSummary::Run(s) => Some(s),
            FolderSummary::Repeated(_) => None,
        }
    }

    /// The run id (or the scenario of a repeated run).
    /// The name of the node that was the primary when the run began (`primary` when the
    /// manifest does not say).
    pub(crate) fn primary_name(&self) -> String {
        self.manifest["topology"]["nodes"]
            .as_array()
            .and_then(|ns| ns.iter().find(|n| n["role"] == "primary"))
            .and_then(|n| n["name"].as_str())
            .unwrap_or("primary")
            .to_string()
    }

    /// What the folder holds, for a report's title: the scenario and topology with the variant
    /// and trial of a repeated run's trial, else with the run's folder name.
    pub(crate) fn title(&self) -> String {
        match &self.summary {
            FolderSummary::Run(s) => {
                let variant = self.manifest["config"]["variant"].as_str().map(|v| format!("variant {v}"));
                let trial =
                    s.run_id.strip_prefix("trial-").filter(|n| n.parse::<u32>().is_ok()).map(|n| format!("trial {n}"));
                let which: Vec<String> = variant.into_iter().chain(trial).collect();
                match which.is_empty() {
                    true => format!("{} on {} ({})", s.scenario, s.topology, s.run_id),
                    false => format!("{} on {}, {}", s.scenario, s.topology, which.join(", ")),
                }
            }
            FolderSummary::Repeated(s) => repeated_title(s),
        }
    }

    pub(crate) fn name(&self) -> String {
        match &self.summary {
            FolderSummary::Run(s) => s.run_id.clone(),
            FolderSummary::Repeated(s) => s.scenario.clone(),
        }
    }

    /// Operations with latencies in the measured phase, in the summary's order.
    pub(crate) fn ops(&self) -> Vec<String> {
        let Some(s) = self.run() else { return Vec::new() };
        let mut ops: Vec<String> = s.latency_us.iter().filter(|(_, l)| l.count > 0).map(|(o, _)| o.clone()).collect();
        let rank = |o: &String| crate::measure::Op::ALL.iter().position(|op| op.as_str() == o).unwrap_or(usize::MAX);
        ops.sort_by_key(rank);
        ops
    }
}

/// The latency log's histograms of measured intervals, by tag. An interval is measured when
/// the timeline row ending at the same time says so.
fn read_hlog(path: &Path, timeline: &Timeline) -> Option<BTreeMap<String, Vec<Histogram<u64>>>> {
    let bytes = std::fs::read(path).ok()?;
    let ends: Vec<(i64, bool)> = timeline
        .col("t_s")
        .unwrap_or(&[])
        .iter()
        .zip(&timeline.phases)
        .filter_map(|(t, p)| Some(((t.as_ref()? * 1000.0).round() as i64, p == "measure")))
        .collect();
    let measured = |end_ms: i64| ends.iter().any(|(e, m)| *m && (e - end_ms).abs() <= 2);
    let mut de = Deserializer::new();
    let mut out: BTreeMap<String, Vec<Histogram<u64>>> = BTreeMap::new();
    for entry in IntervalLogIterator::new(&bytes) {
        let Ok(LogEntry::Interval(ih)) = entry else { continue };
        let end_ms = ((ih.start_timestamp() + ih.duration()).as_secs_f64() * 1000.0).round() as i64;
        if !measured(end_ms) {
            continue;
        }
        let Some(tag) = ih.tag() else { continue };
        let Some(encoded) = base64_decode(ih.encoded_histogram()) else { continue };
        let Ok(h) = de.deserialize::<u64, _>(&mut encoded.as_slice()) else { continue };
        out.entry(tag.as_str().to_string()).or_default().push(h);
    }
    Some(out)
}

/// Decodes the standard base64 of hlog lines (HdrHistogram's encoding of a histogram).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()
}

/// A repeated run's title: the scenario, its variants and how many runs.
pub(crate) fn repeated_title(s: &crate::summary::RepeatedSummary) -> String {
    let variants: Vec<&str> = s.variants.iter().map(|v| v.variant.as_str()).collect();
    format!("{}: {} ({} runs)", s.scenario, variants.join(", "), s.runs.len())
}

/// Reads `capacity.json` of a capacity folder.
pub(crate) fn load_capacity(dir: &Path) -> Result<crate::capacity::outcome::CapacityOutcome, String> {
    let path = dir.join("capacity.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeline_reads_as_columns_with_empty_cells() {
        let t = Timeline::parse(
            "t_s,interval_s,phase,publish_p99_us,lag_s1_replay_ms\n1.0,1.0,warmup,5,\n2.0,1.0,measure,7,0.5\n",
        );
        assert_eq!(t.points("publish_p99_us", &["measure"]), vec![(2.0, 7.0)]);
        assert_eq!(t.points("lag_s1_replay_ms", &[]), vec![(2.0, 0.5)]);
        assert_eq!(t.measured("publish_p99_us"), vec![7.0]);
        assert_eq!(t.standbys(), vec!["s1".to_string()]);
    }

    #[test]
    fn base64_round_trips_known_text() {
        assert_eq!(base64_decode("aGFiZW5jaA==").unwrap(), b"habench");
        assert!(base64_decode("a*b").is_none());
    }
}
