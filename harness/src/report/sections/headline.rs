//! The answer first: did the run complete, did any acknowledged message get lost or doubled,
//! how long was the outage, how does the commit latency stand against the physical floor. The
//! same facts lead report.md and report.html and end the run on a terminal.

use crate::analysis::floor::setup_floor;
use crate::report::doc::{Fact, Tone};
use crate::report::sections::values::{fixed, us_as_ms};
use crate::run_data::RunData;
use crate::summary::{CheckSection, RepeatedSummary, Summary};

fn fact(label: &str, value: String, note: String, tone: Tone) -> Fact {
    Fact { label: label.into(), value, note, tone }
}

/// The headline of a single run.
///
/// Over 80 lines: one card after another, in the order the report shows them.
pub(crate) fn facts(d: &RunData, s: &Summary) -> Vec<Fact> {
    let mut out = Vec::new();
    // A measurement habench itself froze comes first, in words.
    if s.compromised {
        let (head, detail) = match s.harness.as_ref().and_then(|h| h.compromised_parts()) {
            Some(parts) => parts,
            None => (s.compromised_reason.clone().unwrap_or_else(|| "habench stalled".into()), String::new()),
        };
        out.push(fact("COMPROMISED", head, detail, Tone::Bad));
    }
    let setup = format!("{} on {}, {:.1} s measured", s.scenario, s.topology, s.measured_s);
    out.push(if s.complete {
        fact("Run", "complete".into(), setup, Tone::Good)
    } else {
        let why = s.stop_reason.as_deref().unwrap_or("stopped");
        fact("Run", "INCOMPLETE".into(), format!("{why}; {setup}"), Tone::Bad)
    });
    match &s.check {
        Some(CheckSection::Report(c)) => {
            let of = format!("of {} acknowledged; {} recovered", c.acknowledged, c.recovered);
            let tone = if c.valid { Tone::Good } else { Tone::Bad };
            out.push(fact("Messages", format!("{} lost, {} duplicated", c.lost, c.duplicated), of, tone));
        }
        Some(CheckSection::Error { error }) => {
            out.push(fact("Messages", "not checked".into(), error.clone(), Tone::Bad))
        }
        None => {}
    }
    if let Some(f) = rto(s) {
        out.push(f);
    }
    for f in s.failover.iter().flat_map(|f| &f.failed_faults) {
        out.push(fact("Fault failed", f.what.clone(), format!("at {:.1} s: {}", f.at_s, f.error), Tone::Bad));
    }
    if let Some(p) = &s.parallel {
        for m in &p.maneuvers {
            let failed = format!("{} publishes failed before the balancer noticed", m.failed_before_out);
            let (value, tone) = match m.stranded_never_delivered {
                0 => (format!("{} stranded, all delivered", m.stranded), Tone::Plain),
                n => (format!("{} stranded, {n} never delivered", m.stranded), Tone::Bad),
            };
            let delay = m.extra_delay_ms.map(|d| format!("; delayed up to {:.1} s", d.max / 1e3)).unwrap_or_default();
            out.push(fact(&format!("{} {}", m.kind, m.group), value, format!("{failed}{delay}"), tone));
        }
    }
    if let Some(r) = &s.receive {
        let harmed = r.duplicate_receipts > 0 || r.incomplete_reads > 0;
        out.push(fact(
            "Receive",
            format!("{} read twice, {} half-written", r.duplicate_receipts, r.incomplete_reads),
            format!(
                "of {} files: {:.0} and {:.0} per 10,000; lock {}, {} {}",
                r.files_written,
                r.duplicates_per_10k,
                r.incomplete_per_10k,
                r.lock,
                r.instances,
                if r.instances == 1 { "instance" } else { "instances" }
            ),
            if harmed { Tone::Bad } else { Tone::Good },
        ));
    }
    if let Some(x) = &s.sso {
        let failed = x.encryptions_failed + x.encryptions_unknown;
        out.push(fact(
            "SSO secret",
            format!("{failed} encryptions failed"),
            format!(
                "{} decryptions failed of {}; host instance starts that waited for the secret: {}",
                x.decryptions_failed,
                x.decryptions_ok + x.decryptions_failed,
                x.starts_blocked
            ),
            match (x.decryptions_failed, failed + x.starts_blocked) {
                (0, 0) => Tone::Good,
                (0, _) => Tone::Plain,
                _ => Tone::Bad,
            },
        ));
    }
    let op = s.commit_op();
    if let Some(l) = s.latency(op) {
        let p50 = l.p50 as f64;
        let vs_floor = match setup_floor(d, s) {
            Some(f) => {
                f.floor_us.zip(f.vs_floor).map(|(fl, x)| format!(" = {x:.1}x the {} ms floor", us_as_ms(Some(fl))))
            }
            None => None,
        }
        .unwrap_or_default();
        out.push(fact(
            &format!("{op} p99"),
            format!("{} ms", us_as_ms(Some(l.p99 as f64))),
            format!("p50 {} ms{vs_floor}", us_as_ms(Some(p50))),
            Tone::Plain,
        ));
        let counts = s.ops.get(op).copied().unwrap_or_default();
        // Failed and unknown operations are what a fault costs; the check says whether any
        // acknowledged message suffered.
        out.push(fact(
            "Throughput",
            format!("{} {op}/s", fixed(s.rate(op), 1)),
            match counts.acked_unreplicated {
                0 => format!("{} failed, {} unknown outcome", counts.fail, counts.unknown),
                n => format!(
                    "{} failed, {} unknown outcome, {n} acknowledged after a cancelled standby wait",
                    counts.fail, counts.unknown
                ),
            },
            Tone::Plain,
        ));
    }
    out
}

/// The outage: the longest RTO of the run's faults.
fn rto(s: &Summary) -> Option<Fact> {
    let trials = s.trials();
    if trials.is_empty() {
        return None;
    }
    let max = s.failover.as_ref().and_then(|f| f.rto_ms).map(|r| r.max);
    let kinds: Vec<String> = trials.iter().map(|t| t.fault.kind.to_string()).collect();
    Some(match max {
        Some(m) => fact(
            "RTO",
            format!("{m:.0} ms"),
            format!("last ack before the fault to first after: {}", kinds.join(", ")),
            Tone::Plain,
        ),
        None => {
            fact("RTO", "not measured".into(), format!("no acknowledged write after {}", kinds.join(", ")), Tone::Bad)
        }
    })
}

/// The headline of a repeated run (variants and trials).
pub(crate) fn repeated_facts(s: &RepeatedSummary) -> Vec<Fact> {
    let runs = s.runs.len();
    let mut out = Vec::new();
    let compromised: Vec<String> =
        s.runs.iter().filter(|r| r.compromised).map(|r| format!("{} trial {}", r.variant, r.trial)).collect();
    if !compromised.is_empty() {
        let what = format!("{} of {runs} runs: habench stalled in their measured phase", compromised.len());
        out.push(fact("COMPROMISED", what, compromised.join(", "), Tone::Bad));
    }
    out.push(fact(
        "Runs",
        if s.complete { format!("{runs} complete") } else { format!("{runs}, INCOMPLETE") },
        s.scenario.clone(),
        if s.complete { Tone::Good } else { Tone::Bad },
    ));
    let t = crate::analysis::variants::totals(s);
    let (lost, dup) = (t.lost, t.duplicated);
    let tone = if t.all_valid { Tone::Good } else { Tone::Bad };
    out.push(fact("Messages", format!("{lost} lost, {dup} duplicated"), "over every run".into(), tone));
    for v in &s.variants {
        if let Some(r) = v.rto_ms {
            // What else the outage cost, so that a short RTO does not read better than the
            // variant's own row of the table.
            let mut note = format!("p50 {:.0} ms over {} runs", r.p50, v.runs);
            if v.failed_publishes > 0 {
                note.push_str(&format!("; {} publishes failed or unknown", v.failed_publishes));
            }
            if let Some(n) = v.stranded.filter(|n| *n > 0) {
                let delay = v.stranded_delay_max_ms.map(|d| format!(" up to {:.1} s", d / 1e3)).unwrap_or_default();
                note.push_str(&format!("; {n} messages stranded{delay}"));
            }
            let tone = if v.lost > 0 || v.duplicated > 0 { Tone::Bad } else { Tone::Plain };
            out.push(fact(&format!("RTO {}", v.variant), format!("{:.0} ms max", r.max), note, tone));
        }
    }
    out
}

/// The facts as a few terminal lines, like hyperfine's summary.
pub(crate) fn terminal_lines(facts: &[Fact]) -> Vec<String> {
    let width = facts.iter().map(|f| f.label.chars().count()).max().unwrap_or(0);
    facts
        .iter()
        .map(|f| {
            let note = if f.note.is_empty() { String::new() } else { format!("  ({})", f.note) };
            format!("  {:width$}  {}{note}", f.label, f.value)
        })
        .collect()
}
