//! `habench report DIR`: a run's report, or a capacity search's.

use crate::cli::ReportArgs;

pub(crate) fn run(args: ReportArgs) -> anyhow::Result<()> {
    if !args.dir.is_dir() {
        anyhow::bail!(
            "{} is not a results folder (give a folder written by `habench run` or `habench capacity`)",
            args.dir.display()
        );
    }
    let out = crate::report::write(&args.dir).map_err(anyhow::Error::msg)?;
    for w in &out.warnings {
        eprintln!("habench: warning: {w}");
    }
    println!(
        "{}",
        serde_json::json!({
            "report_md": out.markdown,
            "report_html": out.html,
            "charts": out.charts,
            "warnings": out.warnings,
        })
    );
    Ok(())
}
