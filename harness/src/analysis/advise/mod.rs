//! `habench advise`, the decision: requirements and measured evidence in, every design judged
//! against every requirement, the eligible ones ranked, and, when none is eligible, the
//! smallest relaxation that makes one so. Pure: no server, no file.

pub(crate) mod evidence;
pub(crate) mod judge;
pub(crate) mod options;
pub(crate) mod predict;

use crate::config::requirements::Requirements;
use crate::summary::{
    Advice, AdviceNotRun as NotRun, AdviceVerdict as Verdict, Cell, DesignDecision, Outage, Relaxation,
};
use evidence::DesignEvidence;

/// How folders are taken as evidence (stated in the decision).
pub(crate) const EVIDENCE_RULE: &str = "a run folder is evidence for its topology (its summary's `topology`), each \
     fault of it for the outage class of that fault (crash-primary: node-crash, kill-primary: postmaster-kill, \
     pause-primary: hang, kill-sync-standby: standby-loss, dcs-outage, partition-primary: partition); a capacity \
     folder for each topology label it searched";

/// The decision over every design's evidence.
/// `asked`: the outage classes the requirements are judged on, whatever was measured (a design
/// with no trial of one has no evidence for it and is not eligible).
pub(crate) fn decide(req: &Requirements, evidence: &[DesignEvidence], not_run: &[NotRun], asked: &[Outage]) -> Advice {
    let mut outages: Vec<Outage> = evidence.iter().flat_map(|d| d.outages.keys().copied()).collect();
    outages.extend(asked);
    outages.extend(not_run.iter().filter_map(|n| n.ruled_out_by));
    outages.sort();
    outages.dedup();
    let mut designs: Vec<DesignDecision> = evidence.iter().map(|d| decision(req, d, &outages)).collect();
    for n in not_run.iter().filter(|n| n.outage.is_none()) {
        if !designs.iter().any(|d| d.design == n.design) {
            let bare = DesignEvidence { design: n.design.clone(), topology: n.design.clone(), ..Default::default() };
            designs.push(decision(req, &bare, &outages));
        }
        let d = designs.iter_mut().find(|d| d.design == n.design).expect("just made");
        ruled_out(d, n.ruled_out_by, &n.why);
    }
    for n in not_run {
        let Some(o) = n.outage else { continue };
        let Some(d) = designs.iter_mut().find(|d| d.design == n.design) else { continue };
        let names = [format!("rto {}", o.as_str()), format!("rpo {}", o.as_str())];
        for c in d.cells.iter_mut().filter(|c| names.contains(&c.requirement) && c.verdict == Verdict::NoEvidence) {
            c.figure = format!("n/a: {}", n.why);
            if n.inapplicable {
                c.verdict = Verdict::NotApplicable;
            }
        }
        d.eligible = d.cells.iter().all(|c| matches!(c.verdict, Verdict::Meets | Verdict::NotApplicable));
    }
    rank(&mut designs);
    let recommended = designs.iter().find(|d| d.eligible).map(|d| d.design.clone());
    let relaxation = if recommended.is_none() { smallest_relaxation(req, &designs) } else { None };
    Advice {
        schema_version: crate::summary::ADVICE_SCHEMA_VERSION,
        requirements: serde_json::to_value(req).unwrap_or_default(),
        answer: answer(req, &designs, relaxation.as_ref(), not_run),
        recommended,
        options: options::options(&designs),
        designs,
        relaxation,
        not_run: not_run.to_vec(),
        evidence_rule: EVIDENCE_RULE.into(),
        reuse_rule: String::new(),
    }
}

fn decision(req: &Requirements, d: &DesignEvidence, outages: &[Outage]) -> DesignDecision {
    let cells = judge::cells(req, d, outages);
    DesignDecision {
        design: d.design.clone(),
        servers: d.servers,
        eligible: cells.iter().all(|c| matches!(c.verdict, Verdict::Meets | Verdict::NotApplicable)),
        headroom: d.capacity.as_ref().and_then(|c| c.mst).map(|m| m / req.load),
        commit_p99_us: d.commit_p99_us,
        commits_confirmed: d.commits_confirmed,
        tuning: d.tuning.clone(),
        tune_hint: None,
        cells,
    }
}

/// Names, on each design that misses only on RTO, the setting predicted to meet it (`hints`:
/// design and setting, from the band model).
pub(crate) fn hint(advice: &mut Advice, hints: &[(String, String)]) {
    for d in advice.designs.iter_mut() {
        let missed: Vec<&Cell> =
            d.cells.iter().filter(|c| !matches!(c.verdict, Verdict::Meets | Verdict::NotApplicable)).collect();
        let only_rto = !missed.is_empty() && missed.iter().all(|c| c.requirement.starts_with("rto"));
        if let (true, Some((_, t))) = (only_rto, hints.iter().find(|(name, _)| *name == d.design)) {
            d.tune_hint = Some(t.clone());
        }
    }
}

/// A design the configuration ruled out before running: the unmeasured RTO cell of the outage
/// that ruled it out fails on the prediction, which the cell says (it holds no figure); its
/// other unmeasured cells say they were not run.
fn ruled_out(d: &mut DesignDecision, by: Option<Outage>, why: &str) {
    let by = by.map(|o| format!("rto {}", o.as_str()));
    for c in d.cells.iter_mut().filter(|c| c.verdict == Verdict::NoEvidence) {
        if Some(&c.requirement) == by.as_ref() {
            c.verdict = Verdict::Fails;
            c.figure = format!("not run: {why}");
            c.rule = "ruled out by the configuration's predicted RTO band, not measured".into();
        } else {
            c.figure = "not run: the design was ruled out before running".into();
        }
    }
    d.eligible = false;
}

/// Eligible designs first: by headroom over the load (more first), then fewer servers, then
/// lower commit p99; the others after, by how many requirements they meet.
fn rank(designs: &mut [DesignDecision]) {
    let met = |d: &DesignDecision| d.cells.iter().filter(|c| c.verdict == Verdict::Meets).count();
    designs.sort_by(|a, b| {
        b.eligible
            .cmp(&a.eligible)
            .then_with(|| met(b).cmp(&met(a)))
            .then_with(|| b.headroom.unwrap_or(0.0).total_cmp(&a.headroom.unwrap_or(0.0)))
            .then_with(|| a.servers.unwrap_or(u32::MAX).cmp(&b.servers.unwrap_or(u32::MAX)))
            .then_with(|| a.commit_p99_us.unwrap_or(u64::MAX).cmp(&b.commit_p99_us.unwrap_or(u64::MAX)))
            .then_with(|| a.design.cmp(&b.design))
    });
}

/// What each unmet requirement would have to become for this design, or None when one of them
/// cannot be relaxed into a pass (nothing measured, or writes never came back).
fn relaxations(req: &Requirements, d: &DesignDecision) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for c in d.cells.iter().filter(|c| !matches!(c.verdict, Verdict::Meets | Verdict::NotApplicable)) {
        out.push(relax(req, c)?);
    }
    Some(out)
}

fn relax(req: &Requirements, c: &Cell) -> Option<String> {
    if c.verdict == Verdict::NoEvidence {
        return None;
    }
    let v = c.value?;
    if c.requirement.starts_with("rto") {
        return Some(format!("RTO to {:.0} s ({})", (v / 1e3).ceil(), c.requirement));
    }
    if c.requirement.starts_with("capacity") {
        let load = v / (1.0 + req.headroom);
        return Some(format!("load to {load:.0}/s with {:.0} % headroom ({})", req.headroom * 100.0, c.requirement));
    }
    // RPO in messages (an RPO in time has no value to relax to).
    (v > 0.0).then(|| format!("RPO to {v:.0} messages ({})", c.requirement))
}

/// The design needing the fewest relaxed requirements (ties: the ranking's order).
fn smallest_relaxation(req: &Requirements, designs: &[DesignDecision]) -> Option<Relaxation> {
    designs
        .iter()
        .filter_map(|d| relaxations(req, d).map(|changes| Relaxation { design: d.design.clone(), changes }))
        .filter(|r| !r.changes.is_empty())
        .min_by_key(|r| r.changes.len())
}

fn answer(
    req: &Requirements,
    designs: &[DesignDecision],
    relaxation: Option<&Relaxation>,
    not_run: &[NotRun],
) -> String {
    let asked = format!(
        "{:.0}/s with {:.0} % headroom, RPO {}, RTO {:.0} s",
        req.load,
        req.headroom * 100.0,
        req.rpo,
        req.rto.as_secs_f64()
    );
    let eligible: Vec<&str> = designs.iter().filter(|d| d.eligible).map(|d| d.design.as_str()).collect();
    let tunable: Vec<String> =
        not_run.iter().filter_map(|n| n.tuning.as_ref().map(|t| format!("{} with {t}", n.design))).collect();
    let tune = match (eligible.is_empty(), tunable.is_empty()) {
        (true, false) => {
            format!(" Predicted (not measured) to meet the RTO: {}; `--tune` measures it.", tunable.join("; "))
        }
        _ => String::new(),
    };
    let said = match (eligible.first(), relaxation) {
        (Some(best), _) => {
            let others = match &eligible[1..] {
                [] => String::new(),
                [one] => format!("; {one} also meets it"),
                more => format!("; {} also meet it", more.join(", ")),
            };
            format!("For {asked}: {best}{others}.")
        }
        (None, Some(r)) => {
            format!("For {asked}: no design measured meets it; {} would with {}.", r.design, r.changes.join(", "))
        }
        (None, None) => {
            format!("For {asked}: no design measured meets it, and no relaxation of the measured figures makes one.")
        }
    };
    said + &tune
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::evidence::CapacityEvidence;
    use super::judge::tests::{req, trial};
    use super::*;
    use crate::config::requirements::Rpo;

    fn design(
        name: &str,
        servers: u32,
        mst: f64,
        rto_ms: Option<f64>,
        lost: u64,
        confirmed: Option<bool>,
    ) -> DesignEvidence {
        DesignEvidence {
            design: name.into(),
            topology: name.into(),
            servers: Some(servers),
            commits_confirmed: confirmed,
            capacity: Some(CapacityEvidence {
                folder: format!("cap/{name}"),
                mst: Some(mst),
                unsustainable: Some(mst * 1.1),
                n1: None,
            }),
            outages: BTreeMap::from([(
                Outage::NodeCrash,
                vec![trial(rto_ms, lost), trial(rto_ms.map(|r| r * 0.8), 0)],
            )]),
            commit_p99_us: Some(5_000),
            tuning: None,
        }
    }

    #[test]
    fn the_eligible_designs_rank_by_headroom_then_fewer_servers() {
        let r = req(30, Rpo::Messages(0));
        let ev = [
            design("single", 1, 2000.0, None, 0, None),
            design("async", 2, 1900.0, Some(3_000.0), 0, Some(false)),
            design("sync", 2, 1500.0, Some(4_000.0), 0, Some(true)),
            design("shared-disk", 2, 1500.0, Some(12_000.0), 0, None),
            design("patroni", 3, 1500.0, Some(25_000.0), 0, Some(true)),
        ];
        let a = decide(&r, &ev, &[], &[]);
        let order: Vec<&str> = a.designs.iter().map(|d| d.design.as_str()).collect();
        assert_eq!(&order[..3], ["shared-disk", "sync", "patroni"], "tie on headroom: fewer servers, then the name");
        assert_eq!(a.recommended.as_deref(), Some("shared-disk"));
        let single = a.designs.iter().find(|d| d.design == "single").unwrap();
        assert!(
            !single.eligible
                && single.cells.iter().any(|c| c.requirement == "rto node-crash" && c.verdict == Verdict::Fails)
        );
        let asy = a.designs.iter().find(|d| d.design == "async").unwrap();
        assert!(asy.cells.iter().any(|c| c.requirement == "rpo node-crash" && c.verdict == Verdict::Fails), "{asy:?}");
        assert!(a.answer.contains("shared-disk") && a.answer.contains("also meet"), "{}", a.answer);
    }

    #[test]
    fn when_none_is_eligible_the_smallest_relaxation_is_named() {
        let r = req(5, Rpo::Messages(0));
        let ev = [
            design("sync", 2, 1500.0, Some(9_000.0), 0, Some(true)),
            design("async", 2, 900.0, Some(8_000.0), 2, Some(false)),
        ];
        let a = decide(&r, &ev, &[], &[]);
        assert_eq!(a.recommended, None);
        let relax = a.relaxation.as_ref().expect("a relaxation");
        assert_eq!(relax.design, "sync");
        assert_eq!(relax.changes, ["RTO to 9 s (rto node-crash)"]);
        assert!(a.answer.contains("sync would with RTO to 9 s"), "{}", a.answer);
    }

    #[test]
    fn a_design_ruled_out_before_running_fails_its_rto_on_the_prediction_and_is_never_relaxed_into() {
        let r = req(30, Rpo::Messages(0));
        let pruned = NotRun {
            design: "single".into(),
            outage: None,
            ruled_out_by: Some(Outage::NodeCrash),
            inapplicable: false,
            why: "one server: a lost host never comes back".into(),
            tuning: None,
        };
        let sync = [design("sync", 2, 1500.0, Some(40_000.0), 0, Some(true))];
        let both = decide(&r, &sync, std::slice::from_ref(&pruned), &[Outage::NodeCrash, Outage::PostmasterKill]);
        let single = both.designs.iter().find(|d| d.design == "single").unwrap();
        let kill = single.cells.iter().find(|c| c.requirement == "rto postmaster-kill").unwrap();
        assert_eq!(kill.verdict, Verdict::NoEvidence, "a restart in place is not what ruled it out: {kill:?}");
        let a = decide(&r, &sync, &[pruned], &[]);
        let single = a.designs.iter().find(|d| d.design == "single").expect("a row for the pruned design");
        let rto = single.cells.iter().find(|c| c.requirement == "rto node-crash").unwrap();
        assert_eq!(rto.verdict, Verdict::Fails);
        assert!(rto.figure.starts_with("not run: one server") && rto.value.is_none(), "{rto:?}");
        assert_eq!(a.relaxation.as_ref().map(|x| x.design.as_str()), Some("sync"), "only measured figures relax");
        assert_eq!(a.not_run.len(), 1);
    }

    #[test]
    fn an_outage_that_cannot_happen_counts_neither_way_and_one_habench_cannot_cause_is_no_evidence() {
        let r = req(30, Rpo::Messages(0));
        let n = |design: &str, inapplicable| NotRun {
            design: design.into(),
            outage: Some(Outage::StandbyLoss),
            ruled_out_by: None,
            inapplicable,
            why: "no standby".into(),
            tuning: None,
        };
        let single = design("single", 1, 2000.0, Some(9_000.0), 0, None);
        let a = decide(&r, std::slice::from_ref(&single), &[n("single", true)], &[Outage::StandbyLoss]);
        assert_eq!(a.recommended.as_deref(), Some("single"), "{a:?}");
        let cell = a.designs[0].cells.iter().find(|c| c.requirement == "rpo standby-loss").unwrap();
        assert_eq!((cell.verdict, cell.figure.as_str()), (Verdict::NotApplicable, "n/a: no standby"));
        let a = decide(&r, &[single], &[n("single", false)], &[Outage::StandbyLoss]);
        assert_eq!(a.recommended, None, "an outage habench could not cause is not evidence");
    }

    #[test]
    fn a_design_that_misses_only_on_rto_is_given_the_setting_predicted_to_meet_it() {
        let r = req(20, Rpo::Messages(0));
        let ev = [
            design("patroni", 3, 1500.0, Some(25_000.0), 0, Some(true)),
            design("async", 2, 1500.0, Some(25_000.0), 0, Some(false)),
        ];
        let mut a = decide(&r, &ev, &[], &[]);
        let hints = [("patroni".to_string(), "ttl 20".to_string()), ("async".to_string(), "probes".to_string())];
        hint(&mut a, &hints);
        let by = |n: &str| a.designs.iter().find(|d| d.design == n).unwrap().tune_hint.clone();
        assert_eq!(by("patroni").as_deref(), Some("ttl 20"));
        assert_eq!(by("async"), None, "it also fails RPO: no setting of the failover fixes that");
    }

    #[test]
    fn capacity_alone_never_makes_a_design_eligible_for_an_outage_asked() {
        let r = req(30, Rpo::Messages(0));
        let mut bare = design("sync", 2, 1500.0, None, 0, Some(true));
        bare.outages.clear();
        let a = decide(&r, &[bare], &[], &[Outage::NodeCrash]);
        assert_eq!(a.recommended, None, "no trial of a node crash: {a:?}");
        let cell = a.designs[0].cells.iter().find(|c| c.requirement == "rto node-crash").unwrap();
        assert_eq!(cell.verdict, Verdict::NoEvidence);
    }

    #[test]
    fn a_design_without_evidence_for_a_measured_outage_is_not_eligible() {
        let r = req(30, Rpo::Messages(0));
        let mut bare = design("sync", 2, 1500.0, Some(4_000.0), 0, Some(true));
        bare.outages.clear();
        let ev = [bare, design("shared-disk", 2, 1500.0, Some(12_000.0), 0, None)];
        let a = decide(&r, &ev, &[], &[]);
        assert_eq!(a.recommended.as_deref(), Some("shared-disk"));
        let sync = a.designs.iter().find(|d| d.design == "sync").unwrap();
        assert!(sync.cells.iter().any(|c| c.verdict == Verdict::NoEvidence), "{sync:?}");
    }
}
