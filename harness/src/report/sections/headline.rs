//! The answer first: did the run complete, did any acknowledged message get lost or doubled,
//! how long was the outage, how does the commit latency stand against the physical floor. The
//! same facts lead report.md and report.html and end the run on a terminal.

use serde_json::Value;

use crate::report::data::RunData;
use crate::report::doc::{Fact, Tone};
use crate::report::sections::figures::{commit_op, setup_floor};
use crate::report::sections::values::{ms, num, text};

fn fact(label: &str, value: String, note: String, tone: Tone) -> Fact {
    Fact { label: label.into(), value, note, tone }
}

/// The headline of a single run.
pub fn facts(d: &RunData) -> Vec<Fact> {
    let s = &d.summary;
    let mut out = Vec::new();
    let setup =
        format!("{} on {}, {} s measured", text(&s["scenario"]), text(&s["topology"]), num(&s["measured_s"], 1));
    out.push(if s["complete"] == true {
        fact("Run", "complete".into(), setup, Tone::Good)
    } else {
        fact("Run", "INCOMPLETE".into(), format!("{}; {setup}", text(&s["stop_reason"])), Tone::Bad)
    });
    let c = &s["check"];
    if c.is_object() {
        let (lost, dup) = (c["lost"].as_u64().unwrap_or(0), c["duplicated"].as_u64().unwrap_or(0));
        let of = format!("of {} acknowledged; {} recovered", text(&c["acknowledged"]), text(&c["recovered"]));
        let tone = if c["valid"] == true { Tone::Good } else { Tone::Bad };
        out.push(fact("Messages", format!("{lost} lost, {dup} duplicated"), of, tone));
    }
    if let Some(f) = rto(&s["failover"]) {
        out.push(f);
    }
    let op = commit_op(d);
    let l = &s["latency_us"][op];
    if l.is_object() {
        let floor = setup_floor(d).and_then(|f| f.floor_us);
        let vs_floor = match (floor, l["p50"].as_f64()) {
            (Some(fl), Some(p50)) if fl > 0.0 => format!(" = {:.1}x the {} ms floor", p50 / fl, ms(&fl.into())),
            _ => String::new(),
        };
        out.push(fact(
            &format!("{op} p99"),
            format!("{} ms", ms(&l["p99"])),
            format!("p50 {} ms{vs_floor}", ms(&l["p50"])),
            Tone::Plain,
        ));
        let rate = num(&s["throughput"][op]["ops_per_sec"], 1);
        let errors = (s["ops"][op]["fail"].as_u64().unwrap_or(0), s["ops"][op]["unknown"].as_u64().unwrap_or(0));
        // Failed and unknown operations are what a fault costs; the check says whether any
        // acknowledged message suffered.
        out.push(fact(
            "Throughput",
            format!("{rate} {op}/s"),
            format!("{} failed, {} unknown outcome", errors.0, errors.1),
            Tone::Plain,
        ));
    }
    out
}

/// The outage: the longest RTO of the run's faults.
fn rto(failover: &Value) -> Option<Fact> {
    let trials = failover["trials"].as_array()?;
    let rtos: Vec<f64> = trials.iter().filter_map(|t| t["rto_ms"].as_f64()).collect();
    let max = rtos.iter().copied().fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    let kinds: Vec<String> = trials.iter().map(|t| text(&t["fault"]["kind"])).collect();
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
pub fn repeated_facts(d: &RunData) -> Vec<Fact> {
    let s = &d.summary;
    let runs = s["runs"].as_array().map_or(0, Vec::len);
    let complete = s["complete"] == true;
    let mut out = vec![fact(
        "Runs",
        if complete { format!("{runs} complete") } else { format!("{runs}, INCOMPLETE") },
        text(&s["scenario"]),
        if complete { Tone::Good } else { Tone::Bad },
    )];
    let variants = s["variants"].as_array().cloned().unwrap_or_default();
    let lost: u64 = variants.iter().filter_map(|v| v["lost"].as_u64()).sum();
    let dup: u64 = variants.iter().filter_map(|v| v["duplicated"].as_u64()).sum();
    if variants.iter().any(|v| v["lost"].is_u64()) {
        let tone = if lost == 0 && dup == 0 { Tone::Good } else { Tone::Bad };
        out.push(fact("Messages", format!("{lost} lost, {dup} duplicated"), "over every run".into(), tone));
    }
    for v in &variants {
        if let Some(max) = v["rto_ms"]["max"].as_f64() {
            let note = format!("p50 {} ms over {} runs", num(&v["rto_ms"]["p50"], 0), text(&v["runs"]));
            out.push(fact(&format!("RTO {}", text(&v["variant"])), format!("{max:.0} ms max"), note, Tone::Plain));
        }
    }
    out
}

/// The facts as a few terminal lines, like hyperfine's summary.
pub fn terminal_lines(facts: &[Fact]) -> Vec<String> {
    let width = facts.iter().map(|f| f.label.chars().count()).max().unwrap_or(0);
    facts
        .iter()
        .map(|f| {
            let note = if f.note.is_empty() { String::new() } else { format!("  ({})", f.note) };
            format!("  {:width$}  {}{note}", f.label, f.value)
        })
        .collect()
}
