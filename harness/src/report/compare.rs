//! `habench compare BEFORE AFTER` as Markdown: each metric of two runs side by side, the
//! change, its confidence interval and the verdict (computed in `analysis::compare`).

use crate::analysis::compare::MetricChange;

fn fmt(v: Option<f64>) -> String {
    match v {
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.2}"),
        None => "-".into(),
    }
}

/// The comparison as a Markdown table (also what the terminal shows).
pub(crate) fn markdown(before: &str, after: &str, changes: &[MetricChange]) -> String {
    let mut md = format!("## Compare: `{before}` → `{after}`\n\n");
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|c| {
            let change = c.change_pct.map(|p| format!("{p:+.1}%")).unwrap_or_else(|| "-".into());
            let ci = c.ci95_pct.map(|[l, h]| format!("[{l:+.1}%, {h:+.1}%]")).unwrap_or_else(|| "-".into());
            vec![c.metric.clone(), fmt(c.before), fmt(c.after), change, ci, c.verdict.as_str().to_string()]
        })
        .collect();
    let header = ["metric", "before", "after", "change", "95% CI of change", "verdict"];
    md.push_str(&crate::text_table::markdown(&header, &rows));
    if changes.iter().any(|c| c.metric.starts_with("dequeue.")) {
        md.push_str(
            "\nA dequeue call takes a batch of messages, so its call rate is not judged (slower commits make \
             batches fuller and calls fewer): message throughput is `complete.ops_per_sec`.\n",
        );
    }
    md
}
