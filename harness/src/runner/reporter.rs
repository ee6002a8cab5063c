//! Report (tracking/BAM) workers: report queries on a schedule, routed to the primary or to the
//! standbys in turn (read-only routing). Each connection is checked for the server's role; each
//! standby read records how stale the standby was; lookups of a just-completed message probe
//! read-your-writes; recovery-conflict cancellations are counted and the worker goes on.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use habench_workloads::reporting::{conflict_counts, is_recovery_conflict, ReportKind, ReportSession};
use habench_workloads::rng::Rng;
use habench_workloads::Outcome;
use tokio::sync::watch;

use crate::measure::clock::micros_between;
use crate::measure::reports::{ReportSample, ReportStats};
use crate::measure::Op;
use crate::pg::Endpoint;
use crate::runner::pacing::Schedule;
use crate::runner::shared::Shared;

/// A place report queries go.
#[derive(Debug, Clone)]
pub struct ReportTarget {
    /// "primary", or the standby's node name.
    pub name: String,
    /// The node serving it when the run started (for CPU accounting).
    pub node: String,
    pub endpoint: Endpoint,
    /// Reads here must land on a server in recovery.
    pub standby: bool,
}

/// Where report queries go, and the servers whose CPU is accounted.
#[derive(Debug, Clone, Default)]
pub struct ReportPlan {
    pub targets: Vec<ReportTarget>,
    /// (node name, postmaster pid) of every server (empty for --target-dsn).
    pub nodes: Vec<(String, u32)>,
}

/// What report workers share.
#[derive(Debug)]
pub(crate) struct ReportShared {
    pub stats: Mutex<ReportStats>,
    /// (node, backend pid) of every report connection made.
    pub backends: Mutex<Vec<(String, i32)>>,
    /// The primary's WAL position over time, and standby reads waiting for it.
    pub lsn: Mutex<LsnTrack>,
    pub targets: Vec<ReportTarget>,
    pub measure_start: Instant,
}

impl ReportShared {
    pub(crate) fn new(targets: Vec<ReportTarget>, measure_start: Instant) -> ReportShared {
        ReportShared {
            stats: Mutex::new(ReportStats::default()),
            backends: Mutex::new(Vec::new()),
            lsn: Mutex::new(LsnTrack::default()),
            targets,
            measure_start,
        }
    }
}

/// Staleness in bytes: a standby read at time t that had replayed up to L was
/// `primary_lsn(t) - L` behind, with the primary's position at t interpolated between the polls
/// around t. A read is resolved once a poll after it has arrived.
#[derive(Debug, Default)]
pub(crate) struct LsnTrack {
    /// (when, primary WAL position in bytes), oldest first, the last few seconds.
    polls: std::collections::VecDeque<(Instant, i64)>,
    /// (target, when, replayed position) of measured reads not yet resolved.
    pending: Vec<(String, Instant, i64)>,
}

impl LsnTrack {
    /// The primary's position at `t`, when polls before and after `t` are known.
    fn at(&self, t: Instant) -> Option<i64> {
        let after = self.polls.iter().position(|(pt, _)| *pt >= t)?;
        let (t1, l1) = self.polls[after];
        if after == 0 {
            return (t1 == t).then_some(l1);
        }
        let (t0, l0) = self.polls[after - 1];
        let span = t1.saturating_duration_since(t0).as_secs_f64();
        let frac = if span > 0.0 { t.saturating_duration_since(t0).as_secs_f64() / span } else { 1.0 };
        Some(l0 + ((l1 - l0) as f64 * frac).round() as i64)
    }

    /// Adds a poll; returns the reads it resolves as (target, bytes behind).
    pub(crate) fn poll(&mut self, at: Instant, lsn: i64) -> Vec<(String, u64)> {
        self.polls.push_back((at, lsn));
        while self.polls.len() > 2 && self.polls[1].0 + Duration::from_secs(5) < at {
            self.polls.pop_front();
        }
        let mut done = Vec::new();
        let mut keep = Vec::new();
        for (target, t, replayed) in std::mem::take(&mut self.pending) {
            match self.at(t) {
                Some(p) => done.push((target, p.saturating_sub(replayed).max(0) as u64)),
                None if t > at => keep.push((target, t, replayed)),
                None => {} // older than every poll kept: dropped
            }
        }
        self.pending = keep;
        done
    }
}

/// How long a target that refused a connection is skipped.
const RETRY_AFTER: Duration = Duration::from_millis(500);
/// Primary WAL position poll interval (the resolution of staleness in bytes).
pub(crate) const LSN_POLL: Duration = Duration::from_millis(50);

struct Conn {
    session: Option<ReportSession>,
    not_before: Instant,
}

pub(crate) async fn reporter(
    sh: Arc<Shared>,
    rs: Arc<ReportShared>,
    schedule: Arc<Mutex<Schedule>>,
    worker: usize,
    mut stop: watch::Receiver<bool>,
) {
    let rec = sh.recorders.register();
    let mut rng = Rng::new(sh.cfg.seed).fork(0x5E90_0000 + worker as u64);
    let n = rs.targets.len();
    // Each worker holds a connection per target and takes the targets in turn.
    let mut conns: Vec<Conn> = (0..n).map(|_| Conn { session: None, not_before: Instant::now() }).collect();
    let mut turn = worker;
    let mut alarm = super::alarm::for_worker(|e| sh.note_error("alarm", e));
    loop {
        let Some((_, intended)) = schedule.lock().expect("schedule lock").next_slot() else { break };
        if intended > Instant::now() && !super::alarm::wait_unless_stopped(alarm.as_mut(), intended, &mut stop).await {
            break;
        }
        if *stop.borrow() {
            break;
        }
        let kind = sh.cfg.reports.mix.pick(&mut rng);
        // The next target in turn that is not being skipped.
        let now = Instant::now();
        let pick = (0..n).map(|k| (turn + k) % n).find(|&i| conns[i].not_before <= now).unwrap_or(turn % n);
        turn = pick + 1;
        let target = &rs.targets[pick];
        let counted = intended >= rs.measure_start && intended < sh.publish_end;
        let sample = query_once(&sh, &rs, target, &mut conns[pick], kind, intended, counted).await;
        rec.record(Op::Report, sample.outcome, sample.latency_us);
        if counted {
            rs.stats.lock().expect("report stats lock").record(&target.name, &sample);
        }
    }
}

async fn query_once(
    sh: &Shared,
    rs: &ReportShared,
    target: &ReportTarget,
    conn: &mut Conn,
    kind: ReportKind,
    intended: Instant,
    counted: bool,
) -> ReportSample {
    let mut sample = ReportSample {
        kind,
        outcome: Outcome::Fail,
        latency_us: 0,
        conflict: false,
        staleness_ms: None,
        ryw_visible: None,
    };
    if conn.session.as_ref().is_none_or(|s| s.is_closed()) {
        conn.session = connect(sh, rs, target).await;
        if conn.session.is_none() {
            conn.not_before = Instant::now() + RETRY_AFTER;
            sample.latency_us = micros_between(intended, Instant::now());
            return sample;
        }
    }
    let s = conn.session.as_ref().expect("connected");
    // The message the lookup looks for: the newest completion acknowledged by the primary.
    let probe = (kind == ReportKind::Lookup).then(|| *sh.last_completion.lock().expect("completion lock")).flatten();
    let work = async {
        let position = if target.standby { Some((Instant::now(), s.read_position().await?)) } else { None };
        let host = probe.map(|p| sh.cfg.workload.messagebox.hosts[p.host as usize].name.as_str());
        let rows = s.run(kind, probe.map(|p| p.msg_id).zip(host)).await?;
        Ok::<_, habench_workloads::messagebox::OpError>((position, rows))
    };
    let result = tokio::time::timeout(sh.cfg.op_timeout, work).await;
    sample.latency_us = micros_between(intended, Instant::now());
    match result {
        Ok(Ok((position, rows))) => {
            sample.outcome = Outcome::Ok;
            if let Some((at, p)) = position {
                sample.staleness_ms = p.replay_age_ms;
                if let (Some(lsn), true) = (p.replay_lsn, counted) {
                    rs.lsn.lock().expect("lsn lock").pending.push((target.name.clone(), at, lsn));
                }
            }
            if probe.is_some() {
                sample.ryw_visible = Some(rows > 0);
            }
        }
        Ok(Err(e)) => {
            sample.conflict = is_recovery_conflict(&e.message);
            sh.note_error(&format!("report {} on {}", kind.as_str(), target.name), &e.message);
            if e.closed || s.is_closed() {
                conn.session = None;
            }
        }
        Err(_) => {
            sh.note_error("report", &format!("no answer within {:?}", sh.cfg.op_timeout));
            conn.session = None;
        }
    }
    sample
}

/// Connects to a target and checks that it landed on a server of the intended role.
async fn connect(sh: &Shared, rs: &ReportShared, target: &ReportTarget) -> Option<ReportSession> {
    let client = match target.endpoint.connect_once().await {
        Ok(c) => c,
        Err(e) => {
            sh.note_error(&format!("report connect {}", target.name), &e.to_string());
            return None;
        }
    };
    let window_s = sh.cfg.reports.window.as_secs_f64();
    let session = match ReportSession::prepare(client, &sh.cfg.workload.messagebox, window_s).await {
        Ok(s) => s,
        Err(e) => {
            sh.note_error(&format!("report prepare {}", target.name), &habench_workloads::error_text(&e));
            return None;
        }
    };
    let role = session.role();
    let mut stats = rs.stats.lock().expect("report stats lock");
    let t = stats.target(&target.name);
    t.connections += 1;
    if role.in_recovery != target.standby {
        t.misrouted += 1;
        let what = if role.in_recovery { "a standby" } else { "a primary" };
        sh.note_error("report connect", &format!("{} is {what} now; not reading there", target.name));
        return None;
    }
    rs.backends.lock().expect("backends lock").push((target.node.clone(), role.backend_pid));
    Some(session)
}

/// Polls the primary's WAL position, so that a standby read can say how many bytes it was behind.
pub(crate) async fn track_primary_lsn(endpoint: Endpoint, rs: Arc<ReportShared>, mut stop: watch::Receiver<bool>) {
    let mut client = None;
    loop {
        if client.as_ref().is_none_or(|c: &tokio_postgres::Client| c.is_closed()) {
            client = endpoint.connect_once().await.ok();
        }
        if let Some(c) = &client {
            let q = c.query_one("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::int8", &[]);
            let sent = Instant::now();
            match tokio::time::timeout(Duration::from_secs(1), q).await {
                Ok(Ok(row)) => {
                    // The position was read some time during the round trip: take its middle.
                    let at = sent + Instant::now().saturating_duration_since(sent) / 2;
                    let resolved = rs.lsn.lock().expect("lsn lock").poll(at, row.get(0));
                    let mut stats = rs.stats.lock().expect("report stats lock");
                    for (target, bytes) in resolved {
                        stats.target(&target).record_staleness_bytes(bytes);
                    }
                }
                _ => client = None,
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(LSN_POLL) => {}
            _ = stop.changed() => break,
        }
    }
}

/// The recovery-conflict counters of every standby target (`pg_stat_database_conflicts`).
pub(crate) async fn server_conflicts(targets: &[ReportTarget]) -> BTreeMap<String, [i64; 5]> {
    let mut out = BTreeMap::new();
    for t in targets.iter().filter(|t| t.standby) {
        let Ok(c) = t.endpoint.connect_once().await else { continue };
        if let Ok(Ok(counts)) = tokio::time::timeout(Duration::from_secs(2), conflict_counts(&c)).await {
            out.insert(t.name.clone(), counts);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_is_resolved_against_the_primary_position_at_its_time() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut track = LsnTrack::default();
        assert!(track.poll(ms(0), 1000).is_empty());
        track.pending.push(("s1".into(), ms(25), 1200));
        track.pending.push(("s2".into(), ms(80), 1000));
        // Primary at 1000 at 0 ms, 2000 at 50 ms: at 25 ms it was at 1500, the read 300 behind.
        let done = track.poll(ms(50), 2000);
        assert_eq!(done, vec![("s1".to_string(), 300)]);
        assert_eq!(track.pending.len(), 1, "the later read waits for a later poll");
        let done = track.poll(ms(100), 2000);
        assert_eq!(done, vec![("s2".to_string(), 1000)]);
    }

    #[test]
    fn a_standby_ahead_of_the_interpolation_is_zero_behind() {
        let t0 = Instant::now();
        let mut track = LsnTrack::default();
        track.poll(t0, 1000);
        track.pending.push(("s1".into(), t0 + Duration::from_millis(10), 5000));
        let done = track.poll(t0 + Duration::from_millis(20), 3000);
        assert_eq!(done[0].1, 0);
    }
}
