//! What happened to the messages: the check, and each failover's timeline.

use habench_workloads::duration::format_duration;

use crate::failover::trials::Trial;
use crate::fault::FaultSpec;
use crate::report::doc::{table, Block};
use crate::report::sections::charts::rto_chart;
use crate::report::sections::values::fixed;
use crate::report::sections::Draw;
use crate::report::AnyChart;
use crate::summary::{CheckSection, Summary};

pub(super) fn check(s: &Summary) -> Vec<Block> {
    let keys = ["acknowledged", "lost", "duplicated", "recovered", "unexpected", "undelivered", "valid"];
    let row = match &s.check {
        None => return Vec::new(),
        Some(CheckSection::Error { error }) => {
            return vec![Block::Heading(2, "Check".into()), Block::Para(format!("**No check**: {error}."))]
        }
        Some(CheckSection::Report(c)) => vec![
            c.acknowledged.to_string(),
            c.lost.to_string(),
            c.duplicated.to_string(),
            c.recovered.to_string(),
            c.unexpected.to_string(),
            c.undelivered.to_string(),
            c.valid.to_string(),
        ],
    };
    vec![
        Block::Heading(2, "Check".into()),
        Block::Para(
            "The ledger of acknowledged operations against what survived in the database after the drain.".into(),
        ),
        table(&keys, vec![row]),
    ]
}

/// A fault as it was asked for (`kill-primary@8s`, `pause-primary@2s:6s`): its time counts from
/// the measured phase's start, like the flag's.
pub(super) fn fault_label(f: &FaultSpec) -> String {
    let mut label = format!("{}@{}", f.kind, format_duration(f.at));
    if let Some(d) = f.duration {
        label.push(':');
        label.push_str(&format_duration(d));
    }
    label
}

pub(super) fn failover(s: &Summary, draw: &mut Draw<'_>) -> Vec<Block> {
    let trials = s.trials();
    if trials.is_empty() {
        return Vec::new();
    }
    let rows = trials
        .iter()
        .map(|t| {
            let ms = |v: Option<f64>| fixed(v, 0);
            vec![
                fault_label(&t.fault),
                ms(t.detected_ms),
                ms(t.fenced_ms),
                ms(t.promoted_ms),
                ms(t.endpoint_ready_ms),
                ms(t.rto_ms),
                ms(t.p99_recovered_ms),
                ms(t.recovery_ms),
            ]
        })
        .collect();
    let mut out = vec![
        Block::Heading(2, "Failover".into()),
        Block::Para("Milliseconds from the fault's injection.".into()),
        table(
            &["fault", "detected", "fenced", "promoted", "endpoint ready", "RTO", "p99 recovered", "crash recovery"],
            rows,
        ),
    ];
    let labelled: Vec<(String, &Trial)> = trials.iter().enumerate().map(|(i, t)| ((i + 1).to_string(), t)).collect();
    out.extend(draw(AnyChart::Rto(rto_chart(&labelled))));
    out
}
