//! The search for the maximum sustainable throughput (MST): ramp up geometrically until a rate
//! is not sustainable, then bisect (in ratio) between the highest sustainable and the lowest
//! unsustainable rate until they are within the precision. One bad step must not end the
//! search wrongly: the unsustainable bound is tried a second time before the search ends on
//! it, and a failure below a rate that held is taken for noise.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Params {
    /// The first rate tried (publishes/s).
    pub start: f64,
    pub min: f64,
    pub max: f64,
    /// The search ends when the unsustainable bound is within this share above the sustainable.
    pub precision: f64,
    /// Ramp factor while no rate has failed.
    pub factor: f64,
    /// Safety limit on steps (repeats included).
    pub max_steps: usize,
}

impl Params {
    /// Checks the bounds; errors name the flag.
    pub(crate) fn check(&self) -> Result<(), String> {
        if !(self.min > 0.0 && self.min.is_finite()) {
            return Err("--min-rate: give a positive rate".into());
        }
        if !(self.max.is_finite()) || self.max < self.min {
            return Err(format!(
                "--max-rate {} is below --min-rate {}; give a maximum above the minimum",
                self.max, self.min
            ));
        }
        if self.max_steps < 2 {
            return Err("--max-steps: a search needs at least 2 steps".into());
        }
        if !(self.precision > 0.0 && self.precision < 1.0) {
            return Err("--precision: give a share between 0 and 100 %, e.g. 5%".into());
        }
        Ok(())
    }
}

/// One step tried.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tried {
    pub rate: f64,
    pub sustainable: bool,
}

/// How a search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum End {
    /// Bounds within the precision, the unsustainable one failed twice.
    Converged,
    /// Even the maximum rate held: the MST is at least that.
    MaxHeld,
    /// Even the minimum rate failed (twice): the MST is below it.
    MinFailed,
    /// The step limit came first.
    StepLimit,
}

#[derive(Debug, Clone)]
pub(crate) struct Search {
    params: Params,
    tried: Vec<Tried>,
}

impl Search {
    pub(crate) fn new(params: Params) -> Search {
        Search { params, tried: Vec::new() }
    }

    #[cfg(test)]
    pub(crate) fn tried(&self) -> &[Tried] {
        &self.tried
    }

    pub(crate) fn record(&mut self, rate: f64, sustainable: bool) {
        self.tried.push(Tried { rate, sustainable });
    }

    /// The latest verdict per rate.
    fn latest(&self, rate: f64) -> Option<bool> {
        self.tried.iter().rev().find(|t| t.rate == rate).map(|t| t.sustainable)
    }

    /// The highest rate whose latest verdict held.
    pub(crate) fn sustainable(&self) -> Option<f64> {
        self.tried.iter().filter(|t| self.latest(t.rate) == Some(true)).map(|t| t.rate).reduce(f64::max)
    }

    /// The lowest rate above the sustainable bound whose latest verdict failed, and how often
    /// it failed (failures below a rate that held are noise).
    pub(crate) fn unsustainable(&self) -> Option<(f64, usize)> {
        let lo = self.sustainable().unwrap_or(0.0);
        let hi = self
            .tried
            .iter()
            .filter(|t| t.rate > lo && self.latest(t.rate) == Some(false))
            .map(|t| t.rate)
            .reduce(f64::min)?;
        let fails = self.tried.iter().filter(|t| t.rate == hi && !t.sustainable).count();
        Some((hi, fails))
    }

    /// The next rate to try, or how the search ended. A search whose last step settled it ends
    /// the way it did, even at the step limit; only a search that wants another step stops there.
    pub(crate) fn next(&self) -> Result<f64, End> {
        let p = &self.params;
        if self.tried.is_empty() {
            return Ok(round(p.start.clamp(p.min, p.max)));
        }
        match self.wanted() {
            Ok(_) if self.tried.len() >= p.max_steps => Err(End::StepLimit),
            other => other,
        }
    }

    /// The next rate the bounds ask for, whatever the step limit.
    fn wanted(&self) -> Result<f64, End> {
        let p = &self.params;
        match (self.sustainable(), self.unsustainable()) {
            (Some(lo), None) if lo >= p.max => Err(End::MaxHeld),
            (Some(lo), None) => Ok(round((lo * p.factor).min(p.max))),
            (None, Some((hi, fails))) if hi <= p.min => {
                if fails >= 2 {
                    Err(End::MinFailed)
                } else {
                    Ok(hi)
                }
            }
            (None, Some((hi, _))) => Ok(round((hi / p.factor).max(p.min))),
            (Some(lo), Some((hi, fails))) => {
                let mid = round((lo * hi).sqrt());
                if hi / lo - 1.0 <= p.precision || mid <= lo || mid >= hi {
                    if fails >= 2 {
                        Err(End::Converged)
                    } else {
                        Ok(hi)
                    }
                } else {
                    Ok(mid)
                }
            }
            (None, None) => unreachable!("a step was tried"),
        }
    }

    /// Steps probably still to come (for the progress line): a ramp is guessed two steps from
    /// its end.
    pub(crate) fn steps_left(&self) -> usize {
        let p = &self.params;
        if self.next().is_err() {
            return 0;
        }
        let bisect = |ratio: f64| -> usize {
            let halvings = (ratio.ln() / (1.0 + p.precision).ln()).log2().ceil();
            halvings.max(0.0) as usize + 1
        };
        match (self.sustainable(), self.unsustainable()) {
            (Some(lo), Some((hi, _))) => bisect(hi / lo),
            _ => 2 + bisect(p.factor),
        }
    }
}

/// Rates are whole publishes per second (at least 1).
fn round(rate: f64) -> f64 {
    rate.round().max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server with a fixed service rate: below it, the SLO'd latency grows like an M/M/1
    /// queue's p99 (ln 100 / (mu - lambda)); at or above it the backlog grows. Its MST under a
    /// p99 limit of `slo_s` is mu - ln(100) / slo_s.
    struct Server {
        mu: f64,
        slo_s: f64,
    }

    impl Server {
        fn sustainable(&self, rate: f64) -> bool {
            rate < self.mu && 100f64.ln() / (self.mu - rate) <= self.slo_s
        }

        fn mst(&self) -> f64 {
            self.mu - 100f64.ln() / self.slo_s
        }
    }

    fn params(start: f64) -> Params {
        Params { start, min: 10.0, max: 100_000.0, precision: 0.05, factor: 2.0, max_steps: 30 }
    }

    /// Runs a search against `judge`, in virtual time: returns the search and its end.
    fn drive(params: Params, mut judge: impl FnMut(usize, f64) -> bool) -> (Search, End) {
        let mut s = Search::new(params);
        loop {
            match s.next() {
                Ok(rate) => {
                    let step = s.tried().len();
                    s.record(rate, judge(step, rate));
                }
                Err(end) => return (s, end),
            }
        }
    }

    #[test]
    fn finds_a_known_saturation_point_within_the_precision_in_ten_steps() {
        for (mu, start) in [(1000.0, 100.0), (1300.0, 200.0), (480.0, 100.0), (5000.0, 800.0)] {
            let server = Server { mu, slo_s: 0.05 };
            let (s, end) = drive(params(start), |_, r| server.sustainable(r));
            assert_eq!(end, End::Converged);
            let lo = s.sustainable().unwrap();
            let (hi, _) = s.unsustainable().unwrap();
            assert!(lo <= server.mst() && server.mst() <= hi, "mu {mu}: {lo}..{hi} around {}", server.mst());
            assert!(hi / lo - 1.0 <= 0.05, "mu {mu}: {lo}..{hi}");
            assert!(s.tried().len() <= 10, "mu {mu}: {} steps: {:?}", s.tried().len(), s.tried());
        }
    }

    #[test]
    fn one_bad_step_does_not_end_the_search_wrongly() {
        let server = Server { mu: 1000.0, slo_s: 0.05 };
        // Whichever single step is the bad one (a checkpoint, a noisy neighbour), the answer holds.
        for bad in 0..10 {
            let (s, end) = drive(params(100.0), |step, r| step != bad && server.sustainable(r));
            assert_eq!(end, End::Converged, "bad step {bad}");
            let lo = s.sustainable().unwrap();
            assert!(
                lo <= server.mst() && server.mst() <= lo * 1.05,
                "bad step {bad}: MST {lo}, true {}: {:?}",
                server.mst(),
                s.tried()
            );
        }
    }

    #[test]
    fn the_ends_of_the_range_are_said() {
        let strong = Server { mu: 1e9, slo_s: 1.0 };
        let p = Params { max: 2000.0, ..params(100.0) };
        let (s, end) = drive(p, |_, r| strong.sustainable(r));
        assert_eq!((end, s.sustainable()), (End::MaxHeld, Some(2000.0)));

        let weak = Server { mu: 5.0, slo_s: 0.05 };
        let (s, end) = drive(params(100.0), |_, r| weak.sustainable(r));
        assert_eq!((end, s.sustainable()), (End::MinFailed, None));
        assert_eq!(s.tried().iter().filter(|t| t.rate == 10.0).count(), 2, "the minimum is tried twice");

        let (s, end) = drive(Params { max_steps: 3, ..params(100.0) }, |_, _| true);
        assert_eq!((end, s.tried().len()), (End::StepLimit, 3));
        // A last step that settles the search ends it as settled, not at the limit.
        let server = Server { mu: 1000.0, slo_s: 0.05 };
        let (full, _) = drive(params(100.0), |_, r| server.sustainable(r));
        let n = full.tried().len();
        let (s, end) = drive(Params { max_steps: n, ..params(100.0) }, |_, r| server.sustainable(r));
        assert_eq!((end, s.tried().len()), (End::Converged, n));
    }

    #[test]
    fn a_start_above_the_mst_searches_down() {
        let server = Server { mu: 300.0, slo_s: 0.05 };
        let (s, end) = drive(params(2000.0), |_, r| server.sustainable(r));
        assert_eq!(end, End::Converged);
        let lo = s.sustainable().unwrap();
        assert!(lo <= server.mst() && server.mst() <= lo * 1.05, "{lo} vs {}", server.mst());
    }

    #[test]
    fn bad_bounds_are_refused_naming_the_flag() {
        let p = Params { min: 500.0, max: 100.0, ..params(100.0) };
        assert!(p.check().unwrap_err().starts_with("--max-rate 100 is below --min-rate 500"));
        assert!(Params { precision: 0.0, ..params(1.0) }.check().unwrap_err().starts_with("--precision"));
        assert!(Params { min: 0.0, ..params(1.0) }.check().unwrap_err().starts_with("--min-rate"));
    }

    #[test]
    fn steps_left_shrinks_as_the_bounds_close() {
        let mut s = Search::new(params(100.0));
        s.record(100.0, true);
        s.record(200.0, false);
        let wide = s.steps_left();
        s.record(141.0, true);
        s.record(168.0, true);
        assert!(s.steps_left() < wide, "{} < {wide}", s.steps_left());
    }
}
