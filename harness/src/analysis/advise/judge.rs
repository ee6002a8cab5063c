//! Each requirement against a design's evidence: meets, borderline, fails or no evidence, with
//! the figure, the rule and the folders. Pure: evidence in, cells out.

use crate::analysis::advise::evidence::{CapacityEvidence, DesignEvidence, TrialEvidence};
use crate::config::requirements::{Requirements, Rpo};
use crate::summary::{AdviceVerdict as Verdict, Cell, Outage};

/// Every cell of one design: capacity (and N-1 when asked), then RTO and RPO per outage class
/// measured for any design (a class this design lacks is "no evidence").
pub(crate) fn cells(req: &Requirements, d: &DesignEvidence, outages: &[Outage]) -> Vec<Cell> {
    let mut out = vec![capacity("capacity", req, d.capacity.as_ref().map(|c| (c.mst, c.unsustainable)), d)];
    if req.n_minus_1 {
        out.push(capacity("capacity n-1", req, d.capacity.as_ref().and_then(|c| c.n1), d));
    }
    for &o in outages {
        let trials = d.outages.get(&o).map(Vec::as_slice).unwrap_or_default();
        if o != Outage::StandbyLoss {
            out.push(rto(o, req, trials));
        }
        out.push(rpo(o, req, trials, d.commits_confirmed));
    }
    out
}

fn folders(trials: &[TrialEvidence]) -> Vec<String> {
    let mut f: Vec<String> = trials.iter().map(|t| t.folder.clone()).collect();
    f.dedup();
    f
}

fn no_evidence(requirement: String, what: &str) -> Cell {
    Cell {
        requirement,
        verdict: Verdict::NoEvidence,
        figure: format!("no {what} measured"),
        value: None,
        rule: String::new(),
        folders: Vec::new(),
    }
}

/// The MST's bracket against the load plus headroom: meets when the highest rate that held is
/// at least the required rate, fails when a rate at or below it failed, borderline between.
fn capacity(name: &str, req: &Requirements, bracket: Option<(Option<f64>, Option<f64>)>, d: &DesignEvidence) -> Cell {
    let folder = d.capacity.as_ref().map(|c: &CapacityEvidence| vec![c.folder.clone()]).unwrap_or_default();
    let Some((mst, failed)) = bracket else { return no_evidence(name.into(), "capacity search") };
    let need = req.required_rate();
    let verdict = match (mst, failed) {
        (Some(m), _) if m >= need => Verdict::Meets,
        (_, Some(f)) if f <= need => Verdict::Fails,
        (None, None) => Verdict::NoEvidence,
        _ => Verdict::Borderline,
    };
    let shown = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.0}/s"));
    Cell {
        requirement: name.into(),
        verdict,
        figure: format!("MST {} (failed at {})", shown(mst), shown(failed)),
        value: mst,
        rule: format!("MST >= {need:.0}/s: the load {:.0}/s + {:.0} % headroom", req.load, req.headroom * 100.0),
        folders: folder,
    }
}

/// The worst trial's RTO against the requirement. Meets only when every trial does and the
/// predicted band does not reach past it; fails when every trial misses (or one never
/// recovered); borderline when they straddle it.
fn rto(o: Outage, req: &Requirements, trials: &[TrialEvidence]) -> Cell {
    let name = format!("rto {}", o.as_str());
    if trials.is_empty() {
        return no_evidence(name, "trial");
    }
    let limit = req.rto.as_secs_f64() * 1e3;
    let never = trials.iter().filter(|t| t.rto_ms.is_none()).count();
    let worst = trials.iter().filter_map(|t| t.rto_ms).fold(0.0, f64::max);
    let met = trials.iter().filter(|t| t.rto_ms.is_some_and(|r| r <= limit)).count();
    let band_past = trials.iter().filter_map(|t| t.band).any(|(_, hi)| hi > limit);
    let verdict = if met == trials.len() && !band_past {
        Verdict::Meets
    } else if met == 0 || never > 0 {
        Verdict::Fails
    } else {
        Verdict::Borderline
    };
    let restarted = trials.iter().filter(|t| t.host_restarted).count();
    let figure = match (never, restarted) {
        (0, _) => format!("RTO {worst:.0} ms, worst of {}", trials.len()),
        (n, r) if r == n => format!("back only by restarting the lost host in {n} of {} trials", trials.len()),
        (n, _) => format!("no write after the fault in {n} of {} trials", trials.len()),
    };
    let mut rule = format!("every trial's RTO <= {limit:.0} ms");
    if band_past {
        rule.push_str("; the predicted band reaches past it");
    }
    let value = (never == 0).then_some(worst);
    Cell { requirement: name, verdict, figure, value, rule, folders: folders(trials) }
}

/// Loss against the RPO: the worst trial's lost acknowledged messages, and what the design
/// risked when none was lost (commits acknowledged that no standby had confirmed).
fn rpo(o: Outage, req: &Requirements, trials: &[TrialEvidence], confirmed: Option<bool>) -> Cell {
    let name = format!("rpo {}", o.as_str());
    if trials.is_empty() {
        return no_evidence(name, "trial");
    }
    let lost = trials.iter().filter_map(|t| t.lost).max();
    let unconfirmed = trials.iter().filter_map(|t| t.unconfirmed).max();
    let asynchronous = confirmed == Some(false);
    let (verdict, figure, rule) = match req.rpo {
        Rpo::Messages(n) => {
            let lag = trials.iter().filter_map(|t| t.longest_unconfirmed_ms).reduce(f64::max);
            let figure = match (lost, unconfirmed) {
                (Some(l), Some(u)) if asynchronous => format!(
                    "{l} lost (worst trial); every commit acknowledged without waiting for a standby (write lag up to {}, \
                     {u} acknowledged within it before the fault)",
                    lag.map_or("-".into(), |x| format!("{x:.1} ms"))
                ),
                (Some(l), Some(u)) => format!("{l} lost (worst trial), {u} acknowledged unconfirmed"),
                (Some(l), None) if asynchronous => format!("{l} lost (worst trial); no standby confirms a commit"),
                (Some(l), None) => format!("{l} lost (worst trial)"),
                (None, _) => "loss not checked".into(),
            };
            let verdict = match lost {
                None => Verdict::NoEvidence,
                Some(l) if l > n => Verdict::Fails,
                // Zero loss in these trials proves nothing when commits were acknowledged
                // before any standby had them.
                Some(_) if n == 0 && (asynchronous || unconfirmed.is_some_and(|u| u > 0)) => Verdict::Fails,
                Some(_) if unconfirmed.is_some_and(|u| u > n) => Verdict::Borderline,
                Some(_) => Verdict::Meets,
            };
            (verdict, figure, format!("lost <= {n} in every trial, and no more commits left unconfirmed"))
        }
        Rpo::Time(limit) => {
            let limit_ms = limit.as_secs_f64() * 1e3;
            let window = trials.iter().filter_map(|t| t.lost_before_switch_ms).reduce(f64::max);
            let open = trials.iter().filter_map(|t| t.longest_unconfirmed_ms).reduce(f64::max);
            let (verdict, figure) = match (lost, window, open) {
                (None, _, _) => (Verdict::NoEvidence, "loss not checked".to_string()),
                (Some(l), Some(w), _) if l > 0 => (
                    if w <= limit_ms { Verdict::Meets } else { Verdict::Fails },
                    format!("lost writes up to {w:.0} ms old"),
                ),
                (Some(l), None, _) if l > 0 => (Verdict::Borderline, format!("{l} lost, their age unknown")),
                (Some(_), _, Some(w)) => (
                    if w <= limit_ms { Verdict::Meets } else { Verdict::Fails },
                    format!("nothing lost; commits unconfirmed for up to {w:.0} ms"),
                ),
                (Some(_), _, None) if asynchronous => {
                    (Verdict::Borderline, "nothing lost; how long commits stayed unconfirmed is not measured".into())
                }
                (Some(_), _, None) => (Verdict::Meets, "nothing lost, no commit unconfirmed".into()),
            };
            (verdict, figure, format!("no lost write older than {limit_ms:.0} ms"))
        }
    };
    let value = match req.rpo {
        Rpo::Messages(_) => lost.map(|l| l as f64),
        Rpo::Time(_) => None,
    };
    Cell { requirement: name, verdict, figure, value, rule, folders: folders(trials) }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;

    pub(crate) fn req(rto_s: u64, rpo: Rpo) -> Requirements {
        Requirements { load: 800.0, rpo, rto: Duration::from_secs(rto_s), headroom: 0.25, n_minus_1: false }
    }

    pub(crate) fn trial(rto_ms: Option<f64>, lost: u64) -> TrialEvidence {
        TrialEvidence {
            folder: "t".into(),
            rto_ms,
            host_restarted: false,
            lost: Some(lost),
            lost_before_switch_ms: None,
            unconfirmed: None,
            longest_unconfirmed_ms: None,
            band: None,
        }
    }

    #[test]
    fn rto_meets_only_when_the_worst_trial_does_and_straddling_is_borderline() {
        let r = req(30, Rpo::Messages(0));
        let all = [trial(Some(10_000.0), 0), trial(Some(20_000.0), 0)];
        assert_eq!(rto(Outage::NodeCrash, &r, &all).verdict, Verdict::Meets);
        let straddle = [trial(Some(10_000.0), 0), trial(Some(40_000.0), 0)];
        assert_eq!(rto(Outage::NodeCrash, &r, &straddle).verdict, Verdict::Borderline);
        let mut in_place = trial(None, 0);
        in_place.host_restarted = true;
        let c = rto(Outage::NodeCrash, &r, &[in_place]);
        assert_eq!(c.verdict, Verdict::Fails);
        assert!(c.figure.contains("restarting the lost host"), "{}", c.figure);
        let never = [trial(Some(10_000.0), 0), trial(None, 0)];
        let c = rto(Outage::NodeCrash, &r, &never);
        assert_eq!(c.verdict, Verdict::Fails);
        assert!(c.figure.contains("1 of 2"), "{}", c.figure);
        let mut banded = trial(Some(10_000.0), 0);
        banded.band = Some((5_000.0, 35_000.0));
        assert_eq!(rto(Outage::NodeCrash, &r, &[banded]).verdict, Verdict::Borderline, "the band reaches past 30 s");
        assert_eq!(rto(Outage::Hang, &r, &[]).verdict, Verdict::NoEvidence);
    }

    #[test]
    fn rpo_zero_fails_on_loss_and_on_commits_no_standby_confirmed() {
        let r = req(30, Rpo::Messages(0));
        assert_eq!(rpo(Outage::NodeCrash, &r, &[trial(Some(1.0), 0)], Some(true)).verdict, Verdict::Meets);
        assert_eq!(rpo(Outage::NodeCrash, &r, &[trial(Some(1.0), 3)], Some(true)).verdict, Verdict::Fails);
        let lucky = rpo(Outage::NodeCrash, &r, &[trial(Some(1.0), 0)], Some(false));
        assert_eq!(lucky.verdict, Verdict::Fails, "async lost nothing by luck");
        let mut exposed = trial(Some(1.0), 0);
        exposed.unconfirmed = Some(12);
        assert_eq!(rpo(Outage::NodeCrash, &r, &[exposed.clone()], Some(true)).verdict, Verdict::Fails);
        let some = req(30, Rpo::Messages(100));
        assert_eq!(rpo(Outage::NodeCrash, &some, &[exposed], Some(true)).verdict, Verdict::Meets);
        let one_copy = rpo(Outage::PostmasterKill, &r, &[trial(Some(1.0), 0)], None);
        assert_eq!(one_copy.verdict, Verdict::Meets, "one copy on disk: nothing to confirm");
    }

    #[test]
    fn rpo_in_time_judges_the_age_of_lost_writes_or_of_unconfirmed_commits() {
        let r = req(30, Rpo::Time(Duration::from_secs(2)));
        let mut old = trial(Some(1.0), 4);
        old.lost_before_switch_ms = Some(3_500.0);
        assert_eq!(rpo(Outage::NodeCrash, &r, &[old], Some(false)).verdict, Verdict::Fails);
        let mut fresh = trial(Some(1.0), 4);
        fresh.lost_before_switch_ms = Some(800.0);
        assert_eq!(rpo(Outage::NodeCrash, &r, &[fresh], Some(false)).verdict, Verdict::Meets);
        let unmeasured = rpo(Outage::NodeCrash, &r, &[trial(Some(1.0), 0)], Some(false));
        assert_eq!(unmeasured.verdict, Verdict::Borderline, "{}", unmeasured.figure);
        let mut lagged = trial(Some(1.0), 0);
        (lagged.unconfirmed, lagged.longest_unconfirmed_ms) = (Some(9), Some(14.0));
        let c = rpo(Outage::NodeCrash, &r, &[lagged.clone()], Some(false));
        assert_eq!(c.verdict, Verdict::Meets, "a 14 ms write lag is within 2 s: {}", c.figure);
        let zero = rpo(Outage::NodeCrash, &req(30, Rpo::Messages(0)), &[lagged], Some(false));
        assert_eq!(zero.verdict, Verdict::Fails);
        assert!(
            zero.figure.contains("without waiting for a standby (write lag up to 14.0 ms, 9 acknowledged"),
            "{}",
            zero.figure
        );
    }

    #[test]
    fn capacity_judges_the_bracket_against_load_and_headroom() {
        let r = req(30, Rpo::Messages(0)); // 800/s + 25 % = 1000/s
        let d = |mst, failed| DesignEvidence {
            capacity: Some(CapacityEvidence { folder: "cap".into(), mst, unsustainable: failed, n1: None }),
            ..Default::default()
        };
        let c = |e: &DesignEvidence| capacity("capacity", &r, e.capacity.as_ref().map(|c| (c.mst, c.unsustainable)), e);
        assert_eq!(c(&d(Some(1200.0), Some(1300.0))).verdict, Verdict::Meets);
        assert_eq!(c(&d(Some(900.0), Some(950.0))).verdict, Verdict::Fails);
        assert_eq!(c(&d(Some(950.0), Some(1100.0))).verdict, Verdict::Borderline);
        assert_eq!(c(&DesignEvidence::default()).verdict, Verdict::NoEvidence);
    }
}
