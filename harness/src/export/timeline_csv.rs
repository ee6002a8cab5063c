//! `timeline.csv`: one row per interval. Columns are fixed when the run starts.

use std::fmt::Write;

use crate::measure::{IntervalRow, Op};

/// The columns of one run's timeline.
#[derive(Debug, Clone)]
pub struct Columns {
    pub ops: Vec<Op>,
    pub hosts: Vec<String>,
    pub standbys: Vec<String>,
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn opt_f(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_default()
}

pub fn header(c: &Columns) -> String {
    let mut h = String::from("t_s,interval_s,phase");
    for op in &c.ops {
        let o = op.as_str();
        let _ = write!(h, ",{o}_ok,{o}_fail,{o}_unknown,{o}_ops_per_sec,{o}_p50_us,{o}_p99_us,{o}_max_us");
    }
    let _ = write!(h, ",dequeue_empty");
    for host in &c.hosts {
        let _ = write!(h, ",queue_{host}");
    }
    h.push_str(",spool_rows");
    for s in &c.standbys {
        let _ = write!(h, ",lag_{s}_write_ms,lag_{s}_flush_ms,lag_{s}_replay_ms,lag_{s}_replay_bytes");
    }
    h.push_str(",loadavg_1m,habench_rss_bytes\n");
    h
}

pub fn row(c: &Columns, r: &IntervalRow) -> String {
    let mut line = format!("{:.3},{:.3},{}", r.t_s, r.interval_s, r.phase.as_str());
    for op in &c.ops {
        match r.stats.op(*op) {
            Some(s) => {
                let l = s.latency();
                let rate = if r.interval_s > 0.0 { s.ok as f64 / r.interval_s } else { 0.0 };
                let (p50, p99, max) = if l.count > 0 {
                    (l.p50.to_string(), l.p99.to_string(), l.max.to_string())
                } else {
                    Default::default()
                };
                let _ = write!(line, ",{},{},{},{rate:.1},{p50},{p99},{max}", s.ok, s.fail, s.unknown);
            }
            None => line.push_str(",0,0,0,0.0,,,"),
        }
    }
    let _ = write!(line, ",{}", r.stats.empty_dequeues);
    for i in 0..c.hosts.len() {
        let _ = write!(line, ",{}", opt(r.queue_depths.as_ref().and_then(|d| d.get(i))));
    }
    let _ = write!(line, ",{}", opt(r.spool_rows));
    for s in &c.standbys {
        match r.lag.iter().find(|l| &l.name == s) {
            Some(l) => {
                let _ = write!(
                    line,
                    ",{},{},{},{}",
                    opt_f(l.write_ms),
                    opt_f(l.flush_ms),
                    opt_f(l.replay_ms),
                    opt(l.replay_bytes)
                );
            }
            None => line.push_str(",,,,"),
        }
    }
    let _ = writeln!(line, ",{},{}", opt_f(r.loadavg_1m), opt(r.rss_bytes));
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::{Phase, StandbyLag, Stats};
    use habench_workloads::Outcome;

    #[test]
    fn rows_have_as_many_fields_as_the_header() {
        let c = Columns {
            ops: vec![Op::Publish, Op::Complete],
            hosts: vec!["send".into()],
            standbys: vec!["s1".into(), "s2".into()],
        };
        let mut stats = Stats::default();
        stats.record(Op::Publish, Outcome::Ok, 1200);
        stats.record(Op::Publish, Outcome::Unknown, 0);
        let r = IntervalRow {
            t_s: 2.0,
            interval_s: 1.0,
            phase: Phase::Measure,
            stats,
            queue_depths: Some(vec![7]),
            spool_rows: None,
            lag: vec![StandbyLag { name: "s1".into(), write_ms: Some(0.5), ..Default::default() }],
            loadavg_1m: Some(1.25),
            rss_bytes: Some(10 << 20),
        };
        let h = header(&c);
        let line = row(&c, &r);
        assert_eq!(h.split(',').count(), line.split(',').count(), "{h}{line}");
        assert!(line.starts_with("2.000,1.000,measure,1,0,1,1.0,"), "{line}");
        assert!(h.contains("lag_s2_replay_bytes") && h.contains("queue_send"));
    }
}
