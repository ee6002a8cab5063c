//! Parallel groups: where the messages went, and what a crash or a drain of one group cost
//! (publishes failed before the balancer noticed, messages stranded in the group, their delay).

use crate::report::doc::Block;
use crate::summary::{Maneuver, Summary};

pub(super) fn parallel(s: &Summary) -> Vec<Block> {
    let Some(p) = &s.parallel else { return Vec::new() };
    let mut out = vec![
        Block::Heading(2, "Parallel groups".into()),
        Block::Para(format!(
            "{} independent groups, each {}, behind a load balancer that sends each publish to the next group in \
             its rotation; its health probe runs every {:.0} ms and takes a group out after {} failed probes in a \
             row. A message lives in the group that acknowledged it: no other group can deliver it.",
            p.groups, p.group_topology, p.probe_interval_ms, p.probe_threshold
        )),
        Block::Table {
            head: ["group", "acknowledged", "failed", "unknown", "in its database", "lost"].map(String::from).to_vec(),
            rows: p
                .per_group
                .iter()
                .map(|g| {
                    vec![
                        g.name.clone(),
                        g.published_ok.to_string(),
                        g.published_failed.to_string(),
                        g.published_unknown.to_string(),
                        g.in_database.map_or("unreadable (never back)".into(), |n| n.to_string()),
                        g.lost.to_string(),
                    ]
                })
                .collect(),
        },
    ];
    for m in &p.maneuvers {
        out.push(Block::Para(maneuver_text(m)));
    }
    if !p.maneuvers.is_empty() {
        out.push(Block::Table {
            head: ["", "before", "during"].map(String::from).to_vec(),
            rows: p
                .maneuvers
                .iter()
                .flat_map(|m| {
                    let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1} ms"));
                    [
                        vec![
                            format!("{} {}: acknowledged publishes/s", m.kind, m.group),
                            format!("{:.1}", m.throughput_before),
                            format!("{:.1}", m.throughput_during),
                        ],
                        vec![
                            format!("{} {}: publish p99", m.kind, m.group),
                            ms(m.publish_p99_before_ms),
                            ms(m.publish_p99_during_ms),
                        ],
                    ]
                })
                .collect(),
        });
    }
    out
}

fn maneuver_text(m: &Maneuver) -> String {
    let back = match m.back_s {
        Some(b) => format!("was back at {b:.1} s"),
        None => "never came back".into(),
    };
    let out = match (m.kind.as_str(), m.out_after_ms) {
        ("drain-group", _) => "left the balancer's rotation at once".to_string(),
        (_, Some(ms)) => format!("left the balancer's rotation {:.1} s later", ms / 1e3),
        (_, None) => "was never taken out of the rotation".to_string(),
    };
    let emptied = match (m.emptied_after_ms, m.left_at_stop) {
        (Some(ms), Some(0)) => format!(" Its hosts emptied its queues in {:.1} s; then its servers stopped.", ms / 1e3),
        (Some(ms), Some(n)) => {
            format!(" After {:.1} s its queues still held {n} entries when its servers stopped.", ms / 1e3)
        }
        _ => String::new(),
    };
    let delay = match &m.extra_delay_ms {
        Some(d) => format!(
            " {} were delivered after it came back, {:.1} s later (p50; max {:.1} s).",
            m.stranded_delivered,
            d.p50 / 1e3,
            d.max / 1e3
        ),
        None => String::new(),
    };
    let never = if m.stranded_never_delivered > 0 {
        format!(" {} were never delivered.", m.stranded_never_delivered)
    } else {
        String::new()
    };
    format!(
        "{} of {} at {:.1} s: the group {out} and {back}; {} publishes sent to it failed or got no answer \
         before.{emptied} {} acknowledged messages were stranded in it, undelivered when it went down.{delay}{never}",
        m.kind, m.group, m.at_s, m.failed_before_out, m.stranded
    )
}
