//! Before anything runs: what the configuration predicts of each design and outage class (the
//! band model of `failover/band.rs`), which designs it rules out, and the setting the model
//! predicts would meet a missed RTO. Predictions prune and suggest; only measurements decide.
//! Pure: requirements and models in, predictions out.

use std::time::Duration;

use habench_workloads::duration::format_duration;

use crate::failover::band::{self, RtoModel};
use crate::fault::{FaultKind, FaultSpec};
use crate::patroni::Timing;
use crate::summary::Outage;
use crate::topology::TopologyKind;

/// When the plan injects each fault, from the start of the measured phase.
pub(crate) const FAULT_AT: Duration = Duration::from_secs(5);

/// The fault of an outage class, and how long it lasts (None: until the end).
pub(crate) fn fault_of(o: Outage) -> (FaultKind, Option<Duration>) {
    match o {
        Outage::NodeCrash => (FaultKind::CrashPrimary, None),
        Outage::PostmasterKill => (FaultKind::KillPrimary, None),
        Outage::Hang => (FaultKind::PausePrimary, Some(Duration::from_secs(30))),
        Outage::StandbyLoss => (FaultKind::KillSyncStandby, None),
        Outage::Dcs => (FaultKind::DcsOutage, Some(Duration::from_secs(20))),
        Outage::Partition => (FaultKind::PartitionPrimary, Some(Duration::from_secs(30))),
    }
}

/// What the configuration says of one design against one outage's RTO.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Prediction {
    /// The whole band is within the requirement.
    Meets,
    /// The band straddles it: the measurement decides.
    Straddles,
    /// Ruled out, and why.
    Fails(String),
    /// The model has no band for it (or no RTO is judged): the measurement decides.
    Unknown,
}

/// The band-model prediction of `design` under `model` for outage `o` against an RTO of `rto`.
pub(crate) fn predict(design: TopologyKind, o: Outage, model: &RtoModel, rto: Duration) -> Prediction {
    if design == TopologyKind::Single && o == Outage::NodeCrash {
        return Prediction::Fails("one server: a lost host never comes back, and no other node can take over".into());
    }
    if o == Outage::StandbyLoss {
        return Prediction::Unknown;
    }
    let (kind, duration) = fault_of(o);
    let Some(b) = band::predict(model, &FaultSpec { kind, at: FAULT_AT, duration, net: None }) else {
        return Prediction::Unknown;
    };
    let limit = rto.as_secs_f64() * 1e3;
    if b.lo_ms > limit {
        Prediction::Fails(format!(
            "{}: the configuration predicts RTO {:.1}-{:.1} s ({}), all of it above {}",
            o.as_str(),
            b.lo_ms / 1e3,
            b.hi_ms / 1e3,
            b.model,
            format_duration(rto)
        ))
    } else if b.hi_ms <= limit {
        Prediction::Meets
    } else {
        Prediction::Straddles
    }
}

/// The first outage that rules the design out, and why.
pub(crate) fn ruled_out(
    design: TopologyKind,
    outages: &[Outage],
    model: &RtoModel,
    rto: Duration,
) -> Option<(Outage, String)> {
    outages.iter().find_map(|&o| match predict(design, o, model, rto) {
        Prediction::Fails(why) => Some((o, why)),
        _ => None,
    })
}

/// A setting the band model predicts would meet the RTO on every outage.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tuning {
    /// The `habench run` flags that apply it.
    pub flags: Vec<String>,
    /// In words, with the band it predicts.
    pub what: String,
}

/// The least aggressive setting that the band model predicts meets the RTO for every outage:
/// the built-in orchestrator's probe interval and threshold (the longest interval first, then the
/// most missed probes, never fewer than 3), Patroni's ttl and loop_wait (as Patroni clamps them,
/// ttl never below 20 s). None when no setting does (a single server's lost host; Patroni below
/// its minimum ttl).
pub(crate) fn tune(design: TopologyKind, outages: &[Outage], model: &RtoModel, rto: Duration) -> Option<Tuning> {
    let meets = |m: &RtoModel| {
        outages.iter().all(|&o| !matches!(predict(design, o, m, rto), Prediction::Fails(_) | Prediction::Straddles))
    };
    match model {
        // The monitor's settings are not tuned by habench yet.
        RtoModel::AutoFailover(_) => None,
        RtoModel::Builtin { manual_delay, .. } => {
            let intervals = [1000, 500, 250, 100].map(Duration::from_millis);
            let mut candidates = intervals.into_iter().flat_map(|i| (3..=10).rev().map(move |t| (i, t)));
            let (i, t) = candidates.find(|&(i, t)| {
                meets(&RtoModel::Builtin { interval: i, threshold: t, manual_delay: *manual_delay, kernel: false })
            })?;
            let i_text = format_duration(i);
            Some(Tuning {
                flags: vec!["--probe-interval".into(), i_text.clone(), "--probe-threshold".into(), t.to_string()],
                what: format!(
                    "the built-in orchestrator probing every {i_text}, {t} missed probes declaring a failure"
                ),
            })
        }
        RtoModel::Patroni { timing, sync_mode, kernel } => {
            let candidates = [30, 25, 20].into_iter().flat_map(|ttl| [10, 5, 2, 1].map(|lw| (ttl, lw)));
            let t = candidates
                .map(|(ttl, lw)| {
                    Timing::clamped(ttl, lw, timing.retry_timeout, timing.primary_start_timeout, timing.failsafe_mode)
                })
                .find(|t| meets(&RtoModel::Patroni { timing: t.clone(), sync_mode: *sync_mode, kernel: *kernel }))?;
            let set = |k: &str, v: i64| ["--engine-set".to_string(), format!("{k}={v}")];
            let mut flags: Vec<String> = set("ttl", t.ttl).into();
            flags.extend(set("loop_wait", t.loop_wait));
            flags.extend(set("retry_timeout", t.retry_timeout));
            Some(Tuning {
                flags,
                what: format!(
                    "Patroni with ttl {}, loop_wait {}, retry_timeout {}",
                    t.ttl, t.loop_wait, t.retry_timeout
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patroni::SyncMode;

    fn builtin() -> RtoModel {
        RtoModel::Builtin {
            interval: Duration::from_secs(1),
            threshold: 10,
            manual_delay: Duration::ZERO,
            kernel: false,
        }
    }

    fn patroni() -> RtoModel {
        RtoModel::Patroni { timing: Timing::clamped(30, 10, 10, 300, false), sync_mode: SyncMode::Off, kernel: false }
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_single_server_is_ruled_out_on_a_lost_host_and_nothing_tunes_it() {
        let (o, why) = ruled_out(TopologyKind::Single, &[Outage::NodeCrash], &builtin(), S(300)).unwrap();
        assert_eq!(o, Outage::NodeCrash);
        assert!(why.contains("no other node"), "{why}");
        assert_eq!(tune(TopologyKind::Single, &[Outage::NodeCrash], &builtin(), S(300)), None);
        let kill = predict(TopologyKind::Single, Outage::PostmasterKill, &builtin(), S(30));
        assert_eq!(kill, Prediction::Meets, "a restart in place is a recovery");
    }

    #[test]
    fn the_default_probes_meet_30_s_straddle_12_s_and_are_ruled_out_at_5_s() {
        let p = |rto| predict(TopologyKind::Sync, Outage::NodeCrash, &builtin(), S(rto));
        assert_eq!(p(30), Prediction::Meets, "9-14 s");
        assert_eq!(p(12), Prediction::Straddles);
        let Prediction::Fails(why) = p(5) else { panic!("9 s > 5 s") };
        assert!(why.contains("9.0-14.0 s") && why.contains("above 5s"), "{why}");
        assert_eq!(predict(TopologyKind::Sync, Outage::StandbyLoss, &builtin(), S(5)), Prediction::Unknown);
    }

    #[test]
    fn tight_probes_are_named_for_a_5_s_rto_and_patroni_has_no_setting_for_it() {
        let t = tune(TopologyKind::Sync, &[Outage::NodeCrash, Outage::PostmasterKill], &builtin(), S(5)).unwrap();
        assert_eq!(t.flags, ["--probe-interval", "500ms", "--probe-threshold", "3"]);
        assert!(ruled_out(TopologyKind::Patroni, &[Outage::NodeCrash], &patroni(), S(5))
            .unwrap()
            .1
            .contains("ttl 30 s"));
        assert_eq!(tune(TopologyKind::Patroni, &[Outage::NodeCrash], &patroni(), S(5)), None, "ttl >= 20 s");
        // 30 s: the defaults straddle (20-43 s), a shorter loop_wait and ttl predict within it.
        assert_eq!(predict(TopologyKind::Patroni, Outage::NodeCrash, &patroni(), S(30)), Prediction::Straddles);
        let p = tune(TopologyKind::Patroni, &[Outage::NodeCrash], &patroni(), S(30)).unwrap();
        assert!(p.what.contains("ttl 25, loop_wait 2"), "{}", p.what);
    }
}
