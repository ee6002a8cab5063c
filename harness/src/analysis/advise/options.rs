//! The trade-offs beside the ranking: among the eligible designs, the safest (least lost, then
//! commits confirmed by a standby before they are acknowledged, then the shortest worst RTO), the cheapest (fewest servers, then the most headroom) and the one
//! with the fastest commits (lowest commit p99), each with what it gives up against the
//! recommended design. Pure: the judged designs in, at most three options out.

use crate::summary::{AdviceOption, DesignDecision};

/// The worst measured RTO (ms) over the design's outages.
fn worst_rto(d: &DesignDecision) -> Option<f64> {
    d.cells.iter().filter(|c| c.requirement.starts_with("rto")).filter_map(|c| c.value).reduce(f64::max)
}

/// The most acknowledged messages lost in any trial (RPO cells in messages).
fn worst_loss(d: &DesignDecision) -> Option<f64> {
    d.cells.iter().filter(|c| c.requirement.starts_with("rpo")).filter_map(|c| c.value).reduce(f64::max)
}

/// What `d` gives up against `best`, in words (empty: nothing measured is worse).
fn gives_up(d: &DesignDecision, best: &DesignDecision) -> String {
    let mut out = Vec::new();
    if d.commits_confirmed != Some(true) && best.commits_confirmed == Some(true) {
        out.push("no standby confirms a commit before it is acknowledged".to_string());
    }
    if let (Some(a), Some(b)) = (d.servers, best.servers) {
        if a > b {
            out.push(format!("{} more server{}", a - b, if a - b == 1 { "" } else { "s" }));
        }
    }
    if let (Some(a), Some(b)) = (d.headroom, best.headroom) {
        if a < b {
            out.push(format!("headroom {a:.2}x instead of {b:.2}x"));
        }
    }
    if let (Some(a), Some(b)) = (d.commit_p99_us, best.commit_p99_us) {
        if a > b {
            out.push(format!("commit p99 {:.1} ms instead of {:.1} ms", a as f64 / 1e3, b as f64 / 1e3));
        }
    }
    if let (Some(a), Some(b)) = (worst_rto(d), worst_rto(best)) {
        if a > b {
            out.push(format!("worst RTO {:.1} s instead of {:.1} s", a / 1e3, b / 1e3));
        }
    }
    if let (Some(a), Some(b)) = (worst_loss(d), worst_loss(best)) {
        if a > b {
            out.push(format!("{a:.0} messages lost instead of {b:.0}"));
        }
    }
    out.join(", ")
}

/// The options along the trade-offs, at most one per trade-off; a design best on several
/// carries them together. `designs` is ranked (the recommended first).
pub(crate) fn options(designs: &[DesignDecision]) -> Vec<AdviceOption> {
    let eligible: Vec<&DesignDecision> = designs.iter().filter(|d| d.eligible).collect();
    let Some(&recommended) = eligible.first() else { return Vec::new() };
    let inf = |v: Option<f64>| v.unwrap_or(f64::INFINITY);
    let two_copies = |d: &DesignDecision| d.commits_confirmed == Some(true);
    let safest = eligible.iter().min_by(|a, b| {
        inf(worst_loss(a))
            .total_cmp(&inf(worst_loss(b)))
            .then(two_copies(b).cmp(&two_copies(a)))
            .then(inf(worst_rto(a)).total_cmp(&inf(worst_rto(b))))
    });
    let cheapest = eligible.iter().min_by(|a, b| {
        a.servers
            .unwrap_or(u32::MAX)
            .cmp(&b.servers.unwrap_or(u32::MAX))
            .then(b.headroom.unwrap_or(0.0).total_cmp(&a.headroom.unwrap_or(0.0)))
    });
    let fastest = eligible.iter().min_by_key(|d| d.commit_p99_us.unwrap_or(u64::MAX));
    let mut out: Vec<AdviceOption> = Vec::new();
    for (trade_off, pick) in [("safest", safest), ("cheapest", cheapest), ("fastest commits", fastest)] {
        let Some(d) = pick else { continue };
        match out.iter_mut().find(|o| o.design == d.design) {
            Some(o) => o.trade_offs.push(trade_off.into()),
            None => out.push(AdviceOption {
                design: d.design.clone(),
                trade_offs: vec![trade_off.into()],
                gives_up: gives_up(d, recommended),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{AdviceVerdict as Verdict, Cell};

    fn design(name: &str, servers: u32, headroom: f64, p99_us: u64, rto_ms: f64, lost: f64) -> DesignDecision {
        let cell = |requirement: &str, value| Cell {
            requirement: requirement.into(),
            verdict: Verdict::Meets,
            figure: String::new(),
            value: Some(value),
            rule: String::new(),
            folders: Vec::new(),
        };
        DesignDecision {
            design: name.into(),
            servers: Some(servers),
            eligible: true,
            headroom: Some(headroom),
            commit_p99_us: Some(p99_us),
            commits_confirmed: None,
            tuning: None,
            tune_hint: None,
            cells: vec![cell("rto node-crash", rto_ms), cell("rpo node-crash", lost)],
        }
    }

    #[test]
    fn each_trade_off_names_its_design_and_what_it_gives_up_against_the_recommended_one() {
        let ranked = [
            design("shared-disk", 2, 2.0, 4_000, 12_000.0, 0.0),
            design("sync", 2, 1.8, 6_000, 9_000.0, 0.0),
            design("patroni", 3, 1.5, 3_000, 25_000.0, 0.0),
        ];
        let o = options(&ranked);
        let names: Vec<(&str, Vec<&str>)> =
            o.iter().map(|x| (x.design.as_str(), x.trade_offs.iter().map(String::as_str).collect())).collect();
        assert_eq!(
            names,
            [("sync", vec!["safest"]), ("shared-disk", vec!["cheapest"]), ("patroni", vec!["fastest commits"])]
        );
        assert!(o[0].gives_up.contains("headroom 1.80x instead of 2.00x"), "{}", o[0].gives_up);
        assert!(o[2].gives_up.starts_with("1 more server"), "{}", o[2].gives_up);
        assert!(o[1].gives_up.is_empty(), "the recommended design gives up nothing against itself");
        // Two copies before the acknowledgement weigh before a faster failover.
        let mut copies = ranked.clone();
        copies[2].commits_confirmed = Some(true);
        assert_eq!(options(&copies)[0].design, "patroni", "{:?}", options(&copies));
        let mut none = ranked.clone();
        none.iter_mut().for_each(|d| d.eligible = false);
        assert!(options(&none).is_empty());
    }
}
