//! Host instances: poll the host's queue, dequeue a batch, complete (or suspend) each message.
//! BizTalk polls again at once while it finds work and waits the polling interval when idle.

use std::sync::Arc;
use std::time::Instant;

use habench_workloads::messagebox::{Delivery, OpError};
use habench_workloads::rng::Rng;
use habench_workloads::Outcome;
use tokio::sync::watch;

use crate::measure::clock::micros_between;
use crate::measure::{Op, WorkerRecorder};
use crate::runner::ledger::{Event, LedgerEntry};
use crate::runner::shared::{Completion, Counters, Shared};
use crate::runner::sso_worker;
use crate::runner::watchdog::{TimedOut, Watchdog};
use crate::runner::wire_messagebox::WireHost;

/// Instance `instance_no` of host `host_idx`, in parallel group `group` (its index; 0 without
/// groups).
///
/// Over 80 lines: one worker's loop in the order a host instance works (secret, refresh,
/// session, dequeue, the nemesis's kill, completions), kept whole so the order reads top to
/// bottom; each step that stands alone is a function of its own.
pub(crate) async fn host_instance(
    sh: Arc<Shared>,
    group: usize,
    host_idx: usize,
    instance_no: u16,
    mut stop: watch::Receiver<bool>,
) {
    let host = sh.cfg.workload.messagebox.hosts[host_idx].clone();
    let (endpoint, group_no) = (sh.group_endpoint(group).clone(), sh.group_no(group));
    let instance = match group_no {
        0 => format!("{}-{instance_no}", host.name),
        g => format!("{}-{instance_no}@g{g}", host.name),
    };
    let rec = sh.recorders.register();
    let mut watchdog = sh.op_watch.watchdog(sh.cfg.op_timeout);
    let mut rng = Rng::new(sh.cfg.seed).fork(0xB0_0000 + (host_idx as u64) * 1000 + u64::from(instance_no));
    let suspend_share = sh.cfg.workload.messagebox.suspend_share;
    let mut session: Option<WireHost> = None;
    // With a master secret server, nothing is processed before the secret is fetched.
    let mut secret = Vec::new();
    if let Some(st) = &sh.sso {
        match sso_worker::obtain(&sh, st, &instance, &mut stop).await {
            Some(s) => secret = s,
            None => return,
        }
    }
    let refresh_every = sh.cfg.sso.as_ref().map(|c| c.refresh);
    let decrypt_share = sh.cfg.sso.as_ref().map_or(0.0, |c| c.decrypt_share);
    let mut next_refresh = refresh_every.map(|r| Instant::now() + r);
    while !*stop.borrow() {
        if let (Some(st), Some(at)) = (&sh.sso, next_refresh) {
            if Instant::now() >= at {
                sso_worker::refresh(&sh, st, &mut secret).await;
                next_refresh = refresh_every.map(|r| Instant::now() + r);
            }
        }
        if session.is_none() {
            session = sh.wire_session(&endpoint, &mut stop, |c| WireHost::prepare(c, &host.name, &instance)).await;
            if session.is_none() {
                if Instant::now() >= sh.hard_end {
                    break;
                }
                continue;
            }
        }
        let s = session.as_mut().expect("connected");
        let t0 = Instant::now();
        let waits_before = s.worker.cancelled_waits();
        let dequeue = s.dequeue(i64::from(host.batch_size), sh.cfg.sync_wait_timeout);
        let batch = match watchdog.run(t0, dequeue).await {
            Ok(r) => r,
            Err(TimedOut) => Err(OpError::timed_out(sh.cfg.op_timeout)),
        };
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                sh.note_error("dequeue", &e.message);
                // Nothing is completed by a failed dequeue; any claim it made expires with the
                // connection.
                rec.record(Op::Dequeue, e.outcome, micros_between(t0, Instant::now()));
                if e.closed || s.worker.is_closed() {
                    session = None;
                }
                continue;
            }
        };
        if batch.is_empty() {
            rec.with(|st| st.empty_dequeues += 1);
            tokio::select! {
                _ = tokio::time::sleep(host.polling_interval) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        rec.record(Op::Dequeue, s.worker.acknowledged_since(waits_before), micros_between(t0, Instant::now()));
        if host_idx == 0 && sh.kills.take_host_kill() {
            // The nemesis: this instance dies holding the batch. Its connection closes; the
            // other instances claim the messages once the connection is gone.
            sh.events.push(crate::events::EventKind::HostInstanceKilled {
                host: format!("{instance} (holding {} messages)", batch.len()),
            });
            let (Some(st), Some(c)) = (&sh.sso, &sh.cfg.sso) else { return };
            // With a secret server it is started again (a service restart) and must fetch the
            // secret before it does anything.
            session = None;
            tokio::select! {
                _ = tokio::time::sleep(c.restart_after) => {}
                _ = stop.changed() => return,
            }
            match sso_worker::obtain(&sh, st, &instance, &mut stop).await {
                Some(s) => secret = s,
                None => return,
            }
            next_refresh = Some(Instant::now() + c.refresh);
            continue;
        }
        for d in &batch {
            if let Some(st) = sh.sso.as_ref().filter(|_| rng.chance(decrypt_share)) {
                sso_worker::decrypt(st, &secret, d.msg_id);
            }
            let suspend = suspend_share > 0.0 && rng.chance(suspend_share);
            if finish(&sh, s, (&rec, &mut watchdog), (host_idx, &host.name, group_no), &instance, d, suspend).await {
                session = None;
                break;
            }
        }
    }
}

/// Completes or suspends one delivery. Returns true when the connection must be replaced.
async fn finish(
    sh: &Shared,
    s: &mut WireHost,
    (rec, watchdog): (&WorkerRecorder, &mut Watchdog),
    (host_idx, host, group): (usize, &str, u8),
    instance: &str,
    d: &Delivery,
    suspend: bool,
) -> bool {
    let t0 = Instant::now();
    let e2e_us = sh.clock.epoch_us(t0).saturating_sub(d.intended_us).max(0);
    let (op, event) = if suspend { (Op::Suspend, Event::Suspend) } else { (Op::Complete, Event::Complete) };
    let waits_before = s.worker.cancelled_waits();
    let work = s.finish(d, e2e_us, suspend, sh.cfg.sync_wait_timeout);
    let result = match watchdog.run(t0, work).await {
        Ok(r) => r,
        Err(TimedOut) => Err(OpError::timed_out(sh.cfg.op_timeout)),
    };
    let done = Instant::now();
    let latency_us = micros_between(t0, done);
    let (outcome, held, closed) = match &result {
        Ok(held) => (s.worker.acknowledged_since(waits_before), *held, false),
        Err(e) => {
            sh.note_error(op.as_str(), &e.message);
            if e.outcome == Outcome::Unknown {
                Counters::add(&sh.counters.unknown, 1);
            }
            (e.outcome, true, e.closed || s.worker.is_closed())
        }
    };
    rec.with(|st| {
        if d.attempts > 1 {
            st.redelivered += 1;
        }
        if outcome.acknowledged() && !held {
            st.not_held += 1;
            return;
        }
        st.record(op, outcome, latency_us);
        if outcome.acknowledged() {
            // End to end: intended publish start to this completion, as the business sees it.
            let e2e_done = micros_between(sh.clock.instant_of(d.intended_us), done);
            st.record(Op::EndToEnd, Outcome::Ok, e2e_done);
        }
    });
    if outcome.acknowledged() && held {
        let c = if suspend { &sh.counters.suspended_ok } else { &sh.counters.completed_ok };
        Counters::add(c, 1);
        // Only report lookups read it: no lock on the measured path otherwise.
        if !suspend && sh.cfg.reports.on != crate::config::ReportsOn::None {
            *sh.last_completion.lock().expect("completion lock") =
                Some(Completion { msg_id: d.msg_id, host: host_idx as u16 });
        }
    }
    let _ = sh.ledger.send(LedgerEntry {
        at_us: sh.clock.epoch_us(done),
        event,
        msg_id: d.msg_id,
        subject: host.to_string(),
        host: host_idx as u16,
        instance: instance.to_string(),
        outcome,
        held,
        latency_us,
        attempts: d.attempts,
        server_port: s.worker.server_port,
        group,
    });
    closed
}
