//! The summary's split-brain section: after a takeover without fencing, or a partition that cut
//! the primary off while clients still reached it, the publishes the old primary acknowledged
//! once the new one had been promoted (from the ledger's `server_port`), how long it went on,
//! and how many of them the checker found lost.

use std::collections::HashSet;

use crate::events::{Event, EventKind};
use crate::measure::exposure::MessageAck;
use crate::measure::RunClock;
use crate::summary::SplitBrainSection;

/// None unless an old primary was left running (the orchestrator's `--no-fence`, or a
/// partition of pg_auto_failover's primary). Publishes only: a completion the
/// old primary took is undone with it and shows as the message delivered again (a duplicate).
pub(crate) fn section(
    events: &[Event],
    clock: &RunClock,
    acks: &[MessageAck],
    lost_ids: &[i64],
) -> Option<SplitBrainSection> {
    let start_us = clock.epoch_us(clock.start());
    let t_s = |us: i64| (us - start_us) as f64 / 1e6;
    let (left_at, node, port, cut_off) = events.iter().find_map(|e| match &e.kind {
        EventKind::LeftRunning { node, port, cut_off, .. } => Some((e.at, node.clone(), *port, *cut_off)),
        _ => None,
    })?;
    let after = |pred: &dyn Fn(&EventKind) -> bool, from: std::time::Instant| {
        events.iter().filter(|e| e.at >= from).find(|e| pred(&e.kind))
    };
    let promoted = after(&|k| matches!(k, EventKind::Promoted { .. }), left_at);
    let seen = after(&|k| matches!(k, EventKind::SplitBrain { node: n } if *n == node), left_at);
    let fenced = after(&|k| matches!(k, EventKind::Fenced { node: n, .. } if *n == node), left_at);
    let mut out = SplitBrainSection {
        node: node.clone(),
        port,
        cut_off,
        promoted_node: promoted.and_then(|p| match &p.kind {
            EventKind::Promoted { node, .. } => Some(node.clone()),
            _ => None,
        }),
        promoted_s: promoted.map(|p| t_s(clock.epoch_us(p.at))),
        seen_s: seen.map(|e| t_s(clock.epoch_us(e.at))),
        fenced_s: fenced.map(|e| t_s(clock.epoch_us(e.at))),
        ..Default::default()
    };
    let Some(promoted) = promoted else { return Some(out) };
    let promoted_us = clock.epoch_us(promoted.at);
    out.promoted_us = Some(promoted_us);
    let lost: HashSet<i64> = lost_ids.iter().copied().collect();
    let writes: Vec<&MessageAck> = acks.iter().filter(|a| a.server_port == port && a.at_us >= promoted_us).collect();
    out.acked = writes.len() as u64;
    out.lost = writes.iter().filter(|a| lost.contains(&a.msg_id)).count() as u64;
    let last = writes.last().map(|a| a.at_us);
    out.first_write_s = writes.first().map(|a| t_s(a.at_us));
    out.last_write_s = last.map(t_s);
    out.accepted_for_ms = last.map(|l| (l - promoted_us) as f64 / 1e3);
    Some(out)
}
