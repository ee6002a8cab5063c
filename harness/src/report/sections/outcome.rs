//! What happened to the messages: the check, and each failover's timeline.

use habench_workloads::duration::format_duration;

use crate::fault::FaultSpec;
use crate::report::doc::{table, Block};
use crate::report::sections::charts::rto_chart;
use crate::report::sections::values::fixed;
use crate::report::sections::Draw;
use crate::report::AnyChart;
use crate::summary::Trial;
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

/// Durability exposure: the windows in which commits were acknowledged without the
/// synchronous guarantee the run started with.
pub(super) fn exposure(s: &Summary) -> Vec<Block> {
    if let Some(a) = &s.async_exposure {
        return async_exposure(a);
    }
    let Some(e) = &s.exposure else { return Vec::new() };
    let mut out = vec![Block::Heading(2, "Durability exposure".into())];
    if e.windows.is_empty() {
        out.push(Block::Para(format!(
            "Every commit was acknowledged with `synchronous_standby_names = '{}'` in force (sampled every 50 ms): \
             no window of unprotected commits.",
            e.configured
        )));
        return out;
    }
    out.push(Block::Para(format!(
        "The run started with `synchronous_standby_names = '{}'` ({} standby{} confirming each commit). For {:.1} s \
         the primary required fewer and acknowledged **{} publishes that lived on fewer nodes than promised**; of \
         the {} acknowledged messages lost, {} were acknowledged inside a window (shaded orange on the timeline).",
        e.configured,
        e.required,
        if e.required == 1 { "" } else { "s" },
        e.exposed_s,
        e.acked_exposed,
        e.lost,
        e.lost_in_windows
    )));
    let rows = e
        .windows
        .iter()
        .map(|w| {
            vec![
                format!("{:.2}", w.start_s),
                w.end_s.map(|x| format!("{x:.2}")).unwrap_or("end of run".into()),
                format!("'{}'", w.names),
                w.cause.clone(),
                w.acked.to_string(),
                w.lost.to_string(),
            ]
        })
        .collect();
    out.push(table(&["from s", "to s", "setting", "cause", "acknowledged", "lost"], rows));
    out
}

/// An asynchronous setup: every commit acknowledged without waiting for a standby, alone for as long as the
/// write lag; at each fault, what was on no standby.
fn async_exposure(a: &crate::summary::AsyncExposureSection) -> Vec<Block> {
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1} ms"));
    let mut out = vec![
        Block::Heading(2, "Durability exposure".into()),
        Block::Para(format!(
            "No standby confirms a commit here: each of the {} acknowledged publishes was acknowledged without \
             waiting for {}, and lived on the primary alone for as long as the write lag: {} at the median, {} at \
             the most, over {} samples (`pg_stat_replication.write_lag`, once an interval; a peak between samples \
             is not seen).",
            a.acked,
            if a.standbys == 1 { "the standby".to_string() } else { format!("any of the {} standbys", a.standbys) },
            ms(a.median_write_lag_ms),
            ms(a.max_write_lag_ms),
            a.samples
        )),
    ];
    if !a.at_faults.is_empty() {
        let rows = a
            .at_faults
            .iter()
            .map(|f| vec![f.fault.clone(), format!("{:.2}", f.at_s), ms(f.write_lag_ms), f.acked_in_lag.to_string()])
            .collect();
        out.push(table(&["fault", "at s", "write lag before it", "acknowledged within it (on no standby)"], rows));
    }
    out
}

/// Split brain: what an old primary left running by a takeover without fencing acknowledged
/// after the new primary was promoted.
pub(super) fn split_brain(s: &Summary) -> Vec<Block> {
    let ledger = s.two_primaries.as_ref().map(two_primaries);
    let Some(b) = &s.split_brain else {
        // No engine event of an old primary left running: the ledger's own count still speaks
        // when it found writes on two primaries at once, or when a fault moved the writes from
        // one server to another (then "none" is a finding too).
        return match (&s.two_primaries, ledger) {
            (Some(t), Some(text)) if t.acked > 0 || s.failover.is_some() => {
                vec![Block::Heading(2, "Split brain".into()), Block::Para(text)]
            }
            _ => Vec::new(),
        };
    };
    let secs = |x: Option<f64>| x.map(|v| format!("{v:.2} s")).unwrap_or("never".into());
    let promoted = match (&b.promoted_node, b.promoted_s) {
        (Some(n), Some(t)) => format!("{n} was promoted at {t:.2} s"),
        _ => "no standby was promoted".into(),
    };
    let verdict = if b.acked == 0 {
        "It acknowledged no publish after the promotion: no write went to two primaries.".to_string()
    } else {
        format!(
            "After the promotion it still acknowledged **{} publishes** (from {} to {}, {} ms after the promotion); \
             the checker finds **{} of them lost**: they lived only on the old primary, whose divergent history \
             was discarded when it was fenced and rejoined.",
            b.acked,
            secs(b.first_write_s),
            secs(b.last_write_s),
            b.accepted_for_ms.map(|m| format!("{m:.0}")).unwrap_or("-".into()),
            b.lost
        )
    };
    let how = if b.cut_off {
        format!(
            "A partition cut the primary ({}, port {}) off from the monitor and the other nodes while habench's \
             clients still reached it: {promoted} while it still ran. It was seen answering as a primary beside the \
             new one at {} and stopped itself at {}.",
            b.node,
            b.port,
            secs(b.seen_s),
            secs(b.fenced_s)
        )
    } else {
        format!(
            "The takeover did not fence the old primary ({}, port {}): {promoted} while it still ran. It was seen \
             answering as a primary at {} and fenced at {}.",
            b.node,
            b.port,
            secs(b.seen_s),
            secs(b.fenced_s)
        )
    };
    let mut out = vec![Block::Heading(2, "Split brain".into()), Block::Para(format!("{how} {verdict}"))];
    out.extend(ledger.map(Block::Para));
    out
}

/// The ledger's own count of publishes acknowledged by two servers at once.
fn two_primaries(t: &crate::summary::TwoPrimariesSection) -> String {
    // A port with its server's name where the run knows it: `29767 (n1 at 10.213.1.1:29766)`.
    let named = |p: &u16| match t.servers.iter().position(|s| s == p).and_then(|i| t.names.get(i)) {
        Some(n) if !n.is_empty() => format!("{p} ({n})"),
        _ => p.to_string(),
    };
    let ports = |p: &[u16]| p.iter().map(named).collect::<Vec<_>>().join(", ");
    let rule = format!(
        "counted from the ledger alone: a publish one server acknowledged between two acknowledgements of another \
         less than {} s apart; servers by the port habench reached, {}",
        crate::analysis::two_primaries::GAP_US / 1_000_000,
        ports(&t.servers)
    );
    match (t.acked, t.first_s, t.last_s) {
        (0, ..) => format!(
            "Two primaries at once: **none**; no server took a publish while another was taking them around it \
             ({rule})."
        ),
        (n, Some(a), Some(b)) => format!(
            "Two primaries at once: **{n} publishes** acknowledged from {a:.2} s to {b:.2} s by servers {}, \
             {} of them lost ({rule}).",
            ports(&t.by),
            t.lost
        ),
        (n, ..) => format!("Two primaries at once: **{n} publishes** ({rule})."),
    }
}

/// Lost writes on the time axis: how long before the timeline switch the lost publishes were
/// acknowledged, and how many inside an exposure window; the chart shows each one.
pub(super) fn lost_writes(s: &Summary, draw: &mut super::Draw<'_>) -> Vec<Block> {
    let Some(l) = &s.lost_writes else { return Vec::new() };
    let switch = match (&l.switch_node, l.switch_s) {
        (Some(n), Some(t)) => {
            let fork = match (l.timeline, &l.switch_lsn) {
                (Some(tl), Some(lsn)) => format!(" (timeline {tl}, forked at WAL {lsn})"),
                _ => String::new(),
            };
            format!("the promotion of {n} at {t:.2} s{fork}")
        }
        _ => match &s.split_brain {
            Some(b) if b.lost > 0 => format!(
                "the old primary ({}), which took them after {} had been promoted (split brain) and lost them when it \
                 was fenced and rewound",
                b.node,
                b.promoted_node.as_deref().unwrap_or("a standby")
            ),
            _ => "no promotion after them (none was needed, or it failed)".into(),
        },
    };
    let span = l.before_switch_ms.map(|m| format!(", the first {m:.0} ms before the switch")).unwrap_or_default();
    let mut out = vec![
        Block::Heading(2, "Lost writes".into()),
        Block::Para(format!(
            "{} acknowledged publishes were lost, acknowledged from {} s to {} s{span}; they were lost by {switch}. \
             {} of them were acknowledged inside a durability-exposure window.",
            l.lost,
            l.earliest_s.map(|t| format!("{t:.2}")).unwrap_or("-".into()),
            l.latest_s.map(|t| format!("{t:.2}")).unwrap_or("-".into()),
            l.in_windows
        )),
    ];
    let origin = l.switch_s.or(l.latest_s).unwrap_or(0.0);
    let ms = |t: f64| (t - origin) * 1e3;
    let chart = crate::report::charts::lost::LostChart {
        title: "Lost acknowledged publishes against the timeline switch".into(),
        points: l.at_s.iter().enumerate().map(|(i, &t)| (ms(t), (i + 1) as f64)).collect(),
        windows: s
            .exposure
            .iter()
            .flat_map(|e| &e.windows)
            .map(|w| (ms(w.start_s), ms(w.end_s.unwrap_or(f64::MAX / 4e3))))
            .collect(),
        switch_label: match (l.timeline, &l.switch_lsn) {
            (Some(tl), Some(lsn)) => format!("timeline {tl} from {lsn}"),
            _ => "switch".into(),
        },
        faults: s.trials().iter().map(|t| (ms(t.injected_at_s), t.fault.kind.to_string())).collect(),
    };
    out.extend(draw(crate::report::AnyChart::Lost(chart)));
    out
}

/// A fault as it was asked for (`kill-primary@8s`, `pause-primary@2s:6s`): its time counts from
/// the measured phase's start, like the flag's.
pub(super) fn fault_label(f: &FaultSpec) -> String {
    let mut label = format!("{}@{}", f.kind, format_duration(f.at));
    if let Some(d) = f.duration {
        label.push(':');
        label.push_str(&format_duration(d));
    }
    if let Some(net) = &f.net {
        label.push('=');
        label.push_str(&net.to_string());
    }
    label
}

/// `9000-14000 inside`, `19000-24000 OUTSIDE`, or `-` when the configuration predicts nothing.
fn band_cell(t: &Trial) -> String {
    match &t.band {
        None => "-".into(),
        Some(b) => {
            let verdict = match b.inside {
                Some(true) => "inside",
                Some(false) => "OUTSIDE",
                None => "no RTO",
            };
            format!("{:.0}-{:.0} {verdict}", b.lo_ms, b.hi_ms)
        }
    }
}

/// The model behind each band, once per distinct text; trials outside their band are named.
fn band_notes(trials: &[Trial]) -> Vec<Block> {
    let mut models: Vec<String> = Vec::new();
    for t in trials {
        if let Some(b) = &t.band {
            let line = format!("{}: {}.", t.fault.kind, b.model);
            if !models.contains(&line) {
                models.push(line);
            }
        }
    }
    if models.is_empty() {
        return Vec::new();
    }
    let mut out = vec![Block::Para(format!("Predicted RTO, from the configuration: {}", models.join(" ")))];
    let outside: Vec<String> = trials
        .iter()
        .enumerate()
        .filter(|(_, t)| t.band.as_ref().is_some_and(|b| b.inside == Some(false)))
        .map(|(i, t)| {
            format!("trial {} ({}, RTO {:.0} ms)", i + 1, fault_label(&t.fault), t.rto_ms.unwrap_or_default())
        })
        .collect();
    if !outside.is_empty() {
        out.push(Block::Para(format!(
            "**Outside the predicted band**: {}. The model does not explain these: look at the engine's events below and its log.",
            outside.join(", ")
        )));
    }
    out
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
                band_cell(t),
                ms(t.p99_recovered_ms),
                ms(t.recovery_ms),
            ]
        })
        .collect();
    let mut out = vec![
        Block::Heading(2, "Failover".into()),
        Block::Para("Milliseconds from the fault's injection.".into()),
        table(
            &[
                "fault",
                "detected",
                "fenced",
                "promoted",
                "endpoint ready",
                "RTO",
                "predicted RTO",
                "p99 recovered",
                "crash recovery",
            ],
            rows,
        ),
    ];
    out.extend(band_notes(trials));
    let labelled: Vec<(String, &Trial)> = trials.iter().enumerate().map(|(i, t)| ((i + 1).to_string(), t)).collect();
    out.extend(draw(AnyChart::Rto(rto_chart(&labelled))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::TwoPrimariesSection;

    fn text(blocks: &[Block]) -> String {
        blocks.iter().map(|b| format!("{b:?}")).collect()
    }

    #[test]
    fn two_primaries_speak_after_a_fault_even_when_they_found_none() {
        let mut s = Summary::blank("r");
        s.two_primaries = Some(TwoPrimariesSection {
            servers: vec![29767, 29771],
            names: vec!["n1 at 10.213.1.1:29766".into(), "n3 at 10.213.1.3:29770".into()],
            ..Default::default()
        });
        // No fault: two servers and no overlap say nothing.
        assert!(split_brain(&s).is_empty());
        s.failover = Some(Default::default());
        let said = text(&split_brain(&s));
        assert!(said.contains("Two primaries at once: **none**"), "{said}");
        assert!(said.contains("29767 (n1 at 10.213.1.1:29766)"), "each server by name and address: {said}");
    }
}
