//! The live progress line on stderr.

use crate::measure::{IntervalRow, Op};
use crate::run_result::Progress;

pub(crate) fn line(row: &IntervalRow, p: &Progress<'_>) -> String {
    let main = if row.stats.op(Op::Insert).is_some() { Op::Insert } else { Op::Publish };
    let (rate, p99) = match row.stats.op(main) {
        Some(s) if row.interval_s > 0.0 => (s.ok as f64 / row.interval_s, s.latency().p99),
        _ => (0.0, 0),
    };
    let (mut fail, mut unknown) = (0, 0);
    for (_, s) in row.stats.ops() {
        fail += s.fail;
        unknown += s.unknown;
    }
    let mut text = format!(
        "[{:>6.1}s/{:.0}s {:<7}] {} {:>7.0}/s p99 {:>8.2} ms",
        p.elapsed_s,
        p.planned_s,
        row.phase.as_str(),
        main.as_str(),
        rate,
        p99 as f64 / 1000.0
    );
    if let Some(e2e) = row.stats.op(Op::EndToEnd) {
        text.push_str(&format!(" | e2e p99 {:>8.2} ms", e2e.latency().p99 as f64 / 1000.0));
    }
    text.push_str(&format!(" | errors {fail} fail {unknown} unknown"));
    if let Some(d) = &row.queue_depths {
        text.push_str(&format!(" | queues {d:?}"));
    }
    text
}
