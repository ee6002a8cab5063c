//! Publishers: open loop (a shared schedule of intended starts) or closed loop (back to back).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use habench_workloads::messagebox::{OpError, PublishSession};
use habench_workloads::Outcome;

use crate::pg::worker_conn::ConnInfo;
use tokio::sync::watch;

use crate::config::{Driver, WorkloadKind};
use crate::measure::clock::micros_between;
use crate::measure::{Op, WorkerRecorder};
use crate::pg::wire::{WireConn, WireError};
use crate::runner::alarm;
use crate::runner::calibration::WireInsert;
use crate::runner::ledger::{Event, LedgerEntry};
use crate::runner::pacing::Schedule;
use crate::runner::shared::{Counters, Shared, Tally};
use crate::runner::watchdog::{TimedOut, Watchdog};
use crate::runner::wire_messagebox::WirePublish;

/// Where a publisher's next message and its intended start come from.
#[derive(Debug, Clone)]
pub(crate) enum Pace {
    Open(Arc<Mutex<Schedule>>),
    Closed,
}

/// A publisher's connection: habench's wire client (MessageBox publishes, the calibration
/// insert) or tokio-postgres (the calibration insert with `--driver tokio-postgres`).
#[derive(Debug)]
enum Session {
    Driver(Box<PublishSession>, ConnInfo),
    WireInsert(WireInsert),
    WirePublish(Box<WirePublish>),
}

impl Session {
    fn is_closed(&self) -> bool {
        match self {
            Session::Driver(s, _) => s.is_closed(),
            Session::WireInsert(s) => s.is_closed(),
            Session::WirePublish(s) => s.worker.is_closed(),
        }
    }

    /// Whether the server closed the connection while it was idle (read without waiting).
    fn check_closed(&mut self) -> bool {
        match self {
            Session::Driver(s, _) => s.is_closed(),
            Session::WireInsert(s) => s.check_closed(),
            Session::WirePublish(s) => s.worker.check_closed(),
        }
    }

    /// Cancelled-wait warnings so far (None: the calibration's wire insert does not count them).
    fn cancelled_waits(&self) -> Option<u64> {
        match self {
            Session::Driver(_, info) => Some(info.cancelled_waits()),
            Session::WireInsert(_) => None,
            Session::WirePublish(s) => Some(s.worker.cancelled_waits()),
        }
    }

    fn acknowledged_since(&self, before: Option<u64>) -> Outcome {
        match (self, before) {
            (Session::Driver(_, info), Some(b)) => info.acknowledged_since(b),
            (Session::WirePublish(s), Some(b)) => s.worker.acknowledged_since(b),
            _ => Outcome::Ok,
        }
    }

    fn server_port(&self) -> u16 {
        match self {
            Session::Driver(_, info) => info.server_port,
            Session::WireInsert(_) => 0,
            Session::WirePublish(s) => s.worker.server_port,
        }
    }
}

pub(crate) async fn publisher(sh: Arc<Shared>, pace: Pace, mut stop: watch::Receiver<bool>) {
    let rec = sh.recorders.register();
    let mut watchdog = sh.op_watch.watchdog(sh.cfg.op_timeout);
    let mut tally = Tally::new(&sh.counters);
    // Open loop: woken at each intended start to the microsecond (tokio's timers tick in ms).
    let mut alarm = match &pace {
        Pace::Open(_) => alarm::for_worker(|e| sh.note_error("alarm", e)),
        Pace::Closed => None,
    };
    // One connection per parallel group (one without groups).
    let mut sessions: Vec<Option<Session>> =
        (0..sh.balancer.as_ref().map_or(1, |b| b.groups().len())).map(|_| None).collect();
    loop {
        let (seq, intended) = match &pace {
            Pace::Open(s) => match s.lock().expect("schedule lock").next_slot() {
                Some(slot) => slot,
                None => break,
            },
            Pace::Closed => {
                let now = Instant::now();
                if now >= sh.publish_end {
                    break;
                }
                (sh.next_seq.fetch_add(1, Ordering::Relaxed), now)
            }
        };
        // The stop is sent once: its version is read (a load), its value only once it changed.
        let mut stopped = !matches!(stop.has_changed(), Ok(false)) && *stop.borrow();
        let open = matches!(pace, Pace::Open(_));
        let measured = open && intended >= sh.measure_start && intended < sh.publish_end;
        // (A closed loop's slot starts now: no clock read to learn that it is not ahead.)
        if !stopped && open && intended > Instant::now() {
            let woke = alarm::wait_unless_stopped(alarm.as_mut(), intended, &mut stop).await;
            stopped = !woke;
            if woke && measured {
                sh.counters.pacing.woke(micros_between(intended, Instant::now()));
            }
        } else if measured && sessions.iter().any(Option::is_some) {
            Counters::add(&sh.counters.pacing.started_late, 1);
        }
        // Throttled (`--throttle`): the publish waits the delay the MessageBox's size asks for;
        // its latency still counts from the intended start.
        let throttled = !stopped && !sh.throttle.delay().is_zero();
        if throttled {
            Counters::add(&sh.counters.throttled_publishes, 1);
            stopped = !throttle_wait(&sh, &mut stop).await;
        }
        // When the operation starts: a closed loop's slot started just now, unless it waited.
        let mut start = if open || throttled { Instant::now() } else { intended };
        // A slot is attempted however late (its latency counts from its intended start), unless
        // the run is stopped or its hard end has passed (a server that takes connections but
        // never acknowledges a commit, such as Patroni's strict mode without a standby, would
        // otherwise be tried one op timeout at a time for every slot left), or no server comes
        // back before the hard end.
        stopped = stopped || start >= sh.hard_end;
        // Parallel groups: the balancer picks the group; a group that takes no connection
        // fails the publish at once (the client's own retry is not modelled).
        let group = sh.balancer.as_ref().map_or(0, |b| b.pick());
        let session = &mut sessions[group];
        // A group's connection its server closed (a group stopped for a drain, or crashed) is
        // replaced before use: the client sees it closed.
        if sh.balancer.is_some() && session.as_mut().is_some_and(Session::check_closed) {
            *session = None;
        }
        if !stopped && session.is_none() && sh.balancer.is_some() {
            *session = connect_group(&sh, group).await;
            if session.is_none() {
                refused(&sh, (&rec, &mut tally), (seq, intended), group);
                continue;
            }
            start = Instant::now();
        }
        while !stopped && session.is_none() {
            *session = connect(&sh, &mut stop).await;
            start = Instant::now();
            stopped = session.is_none() && (*stop.borrow() || start >= sh.hard_end);
        }
        if stopped {
            Counters::add(&sh.counters.not_attempted, 1);
            break;
        }
        let s = session.as_mut().expect("connected");
        let closed = publish_one(&sh, s, (&rec, &mut watchdog, &mut tally), (seq, intended, start), group).await;
        if closed {
            *session = None;
        }
    }
}

/// One attempt at a parallel group's connection (no retry: the next publish may go elsewhere).
async fn connect_group(sh: &Shared, group: usize) -> Option<Session> {
    let endpoint = sh.group_endpoint(group);
    if uses_driver(sh) {
        let (client, info) = match endpoint.connect_worker_once().await {
            Ok(c) => c,
            Err(e) => {
                sh.note_error("connect", &e);
                return None;
            }
        };
        return match PublishSession::prepare(client, &sh.cfg.workload.messagebox).await {
            Ok(s) => Some(Session::Driver(Box::new(s), info)),
            Err(e) => {
                sh.note_error("prepare", &habench_workloads::error_text(&e));
                None
            }
        };
    }
    let conn = match endpoint.connect_wire_once().await {
        Ok(c) => c,
        Err(e) => {
            sh.note_error("connect", &e);
            return None;
        }
    };
    match prepare_wire(sh, conn).await {
        Ok(s) => Some(s),
        Err(e) => {
            sh.note_error("prepare", &e.message);
            None
        }
    }
}

/// A publish whose group took no connection: failed, nothing sent.
fn refused(
    sh: &Shared,
    (rec, tally): (&WorkerRecorder, &mut Tally<'_>),
    (seq, intended): (u64, Instant),
    group: usize,
) {
    let done = Instant::now();
    let latency_us = micros_between(intended, done);
    let (mtype, _) = sh.cfg.workload.messagebox.draw_message(sh.cfg.seed, seq);
    let err = OpError { outcome: Outcome::Fail, message: "the group took no connection".into(), closed: true };
    let outcome = sh.count_publish(tally, Op::Publish.as_str(), &Err(err), Outcome::Ok);
    rec.record(Op::Publish, outcome, latency_us);
    let entry = LedgerEntry::publish(
        Event::Publish,
        sh.clock.epoch_us(done),
        seq as i64 + 1,
        mtype.name.clone(),
        outcome,
        latency_us,
    );
    let _ = sh.ledger.send(LedgerEntry { group: sh.group_no(group), ..entry });
}

/// Waits the throttling delay, re-read every 100 ms: a delay that grows is waited in full, one
/// that ends (the MessageBox back under the threshold) ends the wait. Returns false when the run
/// is stopped, or gives up (its hard end) first.
async fn throttle_wait(sh: &Shared, stop: &mut watch::Receiver<bool>) -> bool {
    let began = Instant::now();
    loop {
        let delay = sh.throttle.delay();
        let now = Instant::now();
        if delay.is_zero() || now >= began + delay {
            return true;
        }
        if now >= sh.hard_end {
            return false;
        }
        let until = (began + delay).min(now + std::time::Duration::from_millis(100)).min(sh.hard_end);
        tokio::select! {
            _ = tokio::time::sleep_until(until.into()) => {}
            _ = stop.changed() => return false,
        }
    }
}

async fn connect(sh: &Shared, stop: &mut watch::Receiver<bool>) -> Option<Session> {
    if uses_driver(sh) {
        let mb = &sh.cfg.workload.messagebox;
        let (s, info) = sh.worker_session(&sh.endpoint, stop, |c| PublishSession::prepare(c, mb)).await?;
        return Some(Session::Driver(Box::new(s), info));
    }
    sh.wire_session(&sh.endpoint, stop, |c| prepare_wire(sh, c)).await
}

/// Publishers use habench's wire client, except for the calibration insert with `--driver
/// tokio-postgres` (the comparison of the two clients).
fn uses_driver(sh: &Shared) -> bool {
    sh.cfg.workload.kind == WorkloadKind::Insert && sh.cfg.workload.driver == Driver::TokioPostgres
}

async fn prepare_wire(sh: &Shared, conn: WireConn) -> Result<Session, WireError> {
    let w = &sh.cfg.workload;
    Ok(match w.kind {
        WorkloadKind::Insert => Session::WireInsert(WireInsert::prepare(conn, w.payload_bytes as i32).await?),
        WorkloadKind::Messagebox => Session::WirePublish(Box::new(WirePublish::prepare(conn, &w.messagebox).await?)),
    })
}

/// One publish (or calibration insert). Returns true when the connection must be replaced.
async fn publish_one(
    sh: &Shared,
    s: &mut Session,
    (rec, watchdog, tally): (&WorkerRecorder, &mut Watchdog, &mut Tally<'_>),
    (seq, intended, start): (u64, Instant, Instant),
    group: usize,
) -> bool {
    let msg_id = seq as i64 + 1;
    let cfg = &sh.cfg;
    let mb = &cfg.workload.messagebox;
    let (op, event, subject, body) = match cfg.workload.kind {
        WorkloadKind::Insert => (Op::Insert, Event::Insert, String::new(), cfg.workload.payload_bytes as usize),
        WorkloadKind::Messagebox => {
            let (mtype, body) = mb.draw_message(cfg.seed, seq);
            (Op::Publish, Event::Publish, mtype.name.clone(), body)
        }
    };
    let waits_before = s.cancelled_waits();
    let work = async {
        match s {
            Session::WireInsert(w) => w.insert().await.map(|_| 0),
            Session::WirePublish(w) => {
                w.publish((msg_id, &subject, body, sh.clock.epoch_us(intended)), cfg.sync_wait_timeout).await
            }
            Session::Driver(d, info) if op == Op::Insert => {
                info.cancel_after(cfg.sync_wait_timeout, d.insert(body as i32)).await.map(|_| 0)
            }
            Session::Driver(d, info) => {
                let publish = d.publish(msg_id, &subject, body, sh.clock.epoch_us(intended));
                info.cancel_after(cfg.sync_wait_timeout, publish).await
            }
        }
    };
    let result = match watchdog.run(start, work).await {
        Ok(r) => r,
        Err(TimedOut) => Err(OpError::timed_out(cfg.op_timeout)),
    };
    let done = Instant::now();
    let latency_us = micros_between(intended, done);
    let acked = s.acknowledged_since(waits_before);
    let outcome = sh.count_publish(tally, op.as_str(), &result, acked);
    let closed = result.as_ref().is_err_and(|e| e.closed || s.is_closed());
    rec.record(op, outcome, latency_us);
    if op == Op::Insert && cfg.faults.is_empty() {
        // Calibration rows are no messages: nothing to check, so no ledger entry to pay for,
        // unless a fault's outage is timed from the acknowledgements.
        return closed;
    }
    let entry = LedgerEntry::publish(event, sh.clock.epoch_us(done), msg_id, subject, outcome, latency_us);
    let server_port = s.server_port();
    let _ = sh.ledger.send(LedgerEntry { server_port, group: sh.group_no(group), ..entry });
    closed
}
