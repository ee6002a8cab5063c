//! A receive instance: polls the location, takes each file as its lock mode says, publishes
//! what it read (with a receipt), and deletes the file once the publish is acknowledged.
//! Killed (`kill-receive-instance`), it dies at its next step: before taking a file, or after
//! publishing one and before deleting it.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use habench_workloads::messagebox::{OpError, ReceiveSession, Received};
use habench_workloads::rng::Rng;
use tokio::sync::watch;

use crate::config::{ReceiveConfig, ReceiveLock};
use crate::events::EventKind;
use crate::measure::clock::micros_between;
use crate::measure::{Op, WorkerRecorder};
use crate::pg::worker_conn::ConnInfo;
use crate::receive::file::FileName;
use crate::receive::{instance_name, Receipt, ReceiveLog, Role};
use crate::runner::ledger::{Event, LedgerEntry};
use crate::runner::shared::{Shared, Tally};

/// How one life of an instance ended.
enum End {
    Stopped,
    /// Killed (holding a file it had published and not deleted, if any); started again after
    /// the delay, if any.
    Killed {
        holding: Option<String>,
        restart: Option<Duration>,
    },
}

/// A file taken for reading: what was read, and how to give it back or finish it.
struct Taken {
    name: FileName,
    bytes: Vec<u8>,
    /// Where the file is now (renamed when claimed), and the handle that holds its lock.
    path: PathBuf,
    claimed: Option<crate::pg::flock::Locked>,
    /// When the file was last written (its upload finished, if the read was whole).
    modified_us: i64,
    read_us: i64,
}

struct Instance {
    sh: Arc<Shared>,
    log: Arc<ReceiveLog>,
    rc: ReceiveConfig,
    n: u16,
    name: String,
    rec: WorkerRecorder,
    session: Option<(ReceiveSession, ConnInfo)>,
}

pub(crate) async fn receive_instance(sh: Arc<Shared>, log: Arc<ReceiveLog>, n: u16, mut stop: watch::Receiver<bool>) {
    let rc = sh.cfg.receive.clone().expect("a receive location");
    let rec = sh.recorders.register();
    let mut me = Instance { sh, log, rc, n, name: instance_name(n), rec, session: None };
    loop {
        let end = {
            let beat = me.heartbeat();
            tokio::select! {
                end = me.live(&mut stop) => end,
                _ = beat => End::Stopped,
            }
        };
        let (holding, restart) = match end {
            End::Stopped => return,
            End::Killed { holding, restart } => (holding, restart),
        };
        me.session = None;
        me.sh.events.push(EventKind::ReceiveInstanceKilled { instance: me.name.clone(), holding });
        let Some(after) = restart else { return };
        tokio::select! {
            _ = tokio::time::sleep(after) => {}
            _ = stop.changed() => return,
        }
        me.sh.events.push(EventKind::ReceiveInstanceRestarted { instance: me.name.clone() });
    }
}

impl Instance {
    /// clustered: the active instance's beat, as long as it lives (never returns).
    fn heartbeat(&self) -> impl std::future::Future<Output = ()> + 'static {
        let log = self.log.clone();
        let (n, every, clustered) = (self.n, self.rc.detect_interval, self.rc.lock == ReceiveLock::Clustered);
        async move {
            loop {
                if clustered {
                    log.beat(n);
                }
                tokio::time::sleep(every).await;
            }
        }
    }

    async fn live(&mut self, stop: &mut watch::Receiver<bool>) -> End {
        // The first poll at an offset of its own within the interval.
        let mut rng = Rng::new(self.sh.cfg.seed).fork(0xEC_0000 + u64::from(self.n));
        let mut next_poll = Instant::now() + self.rc.poll_interval.mul_f64(rng.next_f64());
        let dead_after = self.rc.detect_interval * self.rc.detect_threshold;
        loop {
            if *stop.borrow() {
                return End::Stopped;
            }
            if self.rc.lock == ReceiveLock::Clustered {
                let role = self.log.ask_lease(self.n, dead_after);
                match role {
                    Role::Active => {}
                    Role::TookOver { from } => {
                        self.sh
                            .events
                            .push(EventKind::ReceiveTakeover { from: instance_name(from), to: self.name.clone() });
                        next_poll = Instant::now();
                    }
                    Role::Waiting => {
                        if !sleep_or_stop(&self.sh, Instant::now() + self.rc.detect_interval, stop).await {
                            return End::Stopped;
                        }
                        continue;
                    }
                }
            }
            if let Some(k) = self.killed(None) {
                return k;
            }
            if Instant::now() < next_poll {
                // Until the poll, or a death asked meanwhile; then the checks above again.
                if !sleep_or_stop(&self.sh, next_poll, stop).await {
                    return End::Stopped;
                }
                continue;
            }
            for name in self.log.pending() {
                if *stop.borrow() {
                    return End::Stopped;
                }
                if let Some(k) = self.killed(None) {
                    return k;
                }
                if self.rc.lock == ReceiveLock::Clustered && !self.log.beat(self.n) {
                    break;
                }
                let Some(parsed) = FileName::parse(&name) else { continue };
                let Some(taken) = self.take(&name, parsed) else { continue };
                if let Some(k) = self.receive(taken, stop).await {
                    return k;
                }
            }
            // The next poll an interval after this one ended (as adapters wait between polls):
            // the instances' phases drift against each other with the work they find.
            next_poll = Instant::now() + self.rc.poll_interval;
        }
    }

    /// A kill asked of this instance (a clustered host's waiting instances never ask), holding
    /// the file it has published and not yet deleted, if any.
    fn killed(&self, holding: Option<&FileName>) -> Option<End> {
        let restart = self.sh.kills.take_receive_kill()?;
        Some(End::Killed { holding: holding.map(FileName::render), restart })
    }

    /// Reads a file as the lock mode says; None when it is gone, or being written (exclusive),
    /// or claimed by another instance. Blocking file calls on purpose: reading the location's
    /// small local files is the adapter's own work, measured as such.
    fn take(&self, name: &str, parsed: FileName) -> Option<Taken> {
        let path = self.log.dir().join(name);
        let read_us = self.sh.clock.epoch_us(Instant::now());
        let mut f = File::open(&path).ok()?;
        let claimed = match self.rc.lock {
            ReceiveLock::None | ReceiveLock::Clustered => None,
            ReceiveLock::Exclusive => {
                // Its writer still holds it: not ready.
                let f2 = crate::pg::flock::lock(f.try_clone().ok()?).ok()??;
                Some(f2)
            }
        };
        let path = match &claimed {
            Some(_) => {
                let to = self.log.dir().join(format!(".{name}.{}", self.name));
                // Another instance renamed it first: it is theirs.
                std::fs::rename(&path, &to).ok()?;
                to
            }
            None => path,
        };
        let mut bytes = Vec::with_capacity(parsed.len);
        f.rewind().ok()?;
        f.read_to_end(&mut bytes).ok()?;
        let modified_us = f
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(read_us, |d| d.as_micros() as i64);
        Some(Taken { name: parsed, bytes, path, claimed, modified_us, read_us })
    }

    /// Publishes what was read; deletes the file once the publish is acknowledged, gives it
    /// back otherwise (it is read again at a later poll). Some(end) when killed in between.
    async fn receive(&mut self, t: Taken, stop: &mut watch::Receiver<bool>) -> Option<End> {
        let sh = self.sh.clone();
        if self.session.is_none() {
            self.session = self.connect(stop).await;
        }
        let Some((session, info)) = self.session.as_ref() else {
            give_back(&t, self.log.dir());
            return None;
        };
        let msg_id = sh.next_seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as i64 + 1;
        let mb = &sh.cfg.workload.messagebox;
        let mtype = mb.draw_message(sh.cfg.seed, t.name.seq).0.name.clone();
        let file = t.name.render();
        let got = Received { file: &file, instance: &self.name, body: &t.bytes };
        let waits_before = info.cancelled_waits();
        let t0 = Instant::now();
        let publish = info.cancel_after(sh.cfg.sync_wait_timeout, session.publish(msg_id, &mtype, got, t.modified_us));
        let result = match tokio::time::timeout(sh.cfg.op_timeout, publish).await {
            Ok(r) => r,
            Err(_) => Err(OpError::timed_out(sh.cfg.op_timeout)),
        };
        let done = Instant::now();
        let acked = info.acknowledged_since(waits_before);
        let outcome = sh.count_publish(&mut Tally::new(&sh.counters), "receive publish", &result, acked);
        let closed = result.as_ref().is_err_and(|e| e.closed || session.is_closed());
        let latency_us = micros_between(t0, done);
        self.rec.record(Op::Publish, outcome, latency_us);
        let entry = LedgerEntry::publish(Event::Publish, sh.clock.epoch_us(done), msg_id, mtype, outcome, latency_us);
        let (instance, server_port) = (self.name.clone(), info.server_port);
        let _ = sh.ledger.send(LedgerEntry { instance, server_port, ..entry });
        self.log.receipt(Receipt {
            seq: t.name.seq,
            file,
            instance: self.name.clone(),
            msg_id,
            bytes: t.bytes.len(),
            whole: t.name.is_whole(&t.bytes),
            read_us: t.read_us,
            outcome,
        });
        if closed {
            self.session = None;
        }
        if !outcome.acknowledged() {
            give_back(&t, self.log.dir());
            return None;
        }
        // Published, not yet deleted: a death here leaves the file to be read again.
        if let Some(k) = self.killed(Some(&t.name)) {
            return Some(k);
        }
        let _ = std::fs::remove_file(&t.path);
        drop(t.claimed);
        None
    }

    async fn connect(&self, stop: &mut watch::Receiver<bool>) -> Option<(ReceiveSession, ConnInfo)> {
        let mb = &self.sh.cfg.workload.messagebox;
        self.sh.worker_session(&self.sh.endpoint, stop, |c| ReceiveSession::prepare(c, mb)).await
    }
}

/// A claimed file goes back under its own name (a file read without a claim never left it).
fn give_back(t: &Taken, dir: &std::path::Path) {
    if t.claimed.is_some() {
        let _ = std::fs::rename(&t.path, dir.join(t.name.render()));
    }
}

/// Sleeps until `until`, or until a receive instance is asked to die; false when the run stops
/// first.
async fn sleep_or_stop(sh: &Shared, until: Instant, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep_until(until.into()) => true,
        _ = sh.kills.receive_kill_raised() => true,
        _ = stop.changed() => false,
    }
}
