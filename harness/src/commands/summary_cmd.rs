//! `habench summary RUN_DIR...`: the capacity table over results folders.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::SummaryArgs;
use crate::export::summary_table;

/// Every run folder (with summary.json and manifest.json) at or below `dir` (repeated runs keep
/// theirs in `<variant>/trial-<n>/`).
fn run_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("manifest.json").is_file() && dir.join("summary.json").is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut subs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    subs.sort();
    for s in subs {
        run_dirs(&s, out);
    }
}

pub(crate) fn run(args: SummaryArgs) -> anyhow::Result<()> {
    let mut dirs = Vec::new();
    for d in &args.dirs {
        if !d.is_dir() {
            anyhow::bail!("{} is not a results folder (give folders written by `habench run`)", d.display());
        }
        run_dirs(d, &mut dirs);
    }
    if dirs.is_empty() {
        anyhow::bail!("no run folders (with summary.json and manifest.json) under {:?}", args.dirs);
    }
    let mut rows = Vec::new();
    for d in dirs {
        let read = |f: &str| -> anyhow::Result<serde_json::Value> {
            let text =
                std::fs::read_to_string(d.join(f)).with_context(|| format!("reading {}", d.join(f).display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing {}", d.join(f).display()))
        };
        let path = d.join("summary.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let summary = crate::summary::Summary::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut row = summary_table::row(&summary, &read("manifest.json")?);
        // The folder names the run (trial folders repeat their own names).
        row.run_id = d.display().to_string();
        rows.push(row);
    }
    print!("{}", summary_table::markdown(&rows));
    if let Some(csv) = &args.csv {
        std::fs::write(csv, summary_table::csv(&rows)).with_context(|| format!("writing {}", csv.display()))?;
    }
    Ok(())
}
