//! The feeder: writes one file per slot of the run's schedule, each in `pieces` writes spread
//! over `write_time` (an upload arriving), holding an exclusive lock on it while it writes (as a
//! writer on Windows holds a file open without sharing). The lock is taken before the file
//! has its visible name: it is created under a hidden temporary name, locked, then linked.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::measure::clock::micros_between;
use crate::receive::file::{self, FileName};
use crate::receive::{Feed, ReceiveLog, TMP_SUFFIX};
use crate::runner::pacing::Schedule;
use crate::runner::shared::{Counters, Shared};

/// Writes the schedule's files until it ends or the run stops; returns when every file begun
/// is written.
pub(crate) async fn feeder(
    sh: Arc<Shared>,
    log: Arc<ReceiveLog>,
    schedule: Arc<Mutex<Schedule>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut writers = JoinSet::new();
    loop {
        let Some((seq, intended)) = schedule.lock().expect("schedule lock").next_slot() else { break };
        let measured = intended >= sh.measure_start && intended < sh.publish_end;
        let mut stopped = *stop.borrow() || Instant::now() >= sh.hard_end;
        if !stopped && intended > Instant::now() {
            tokio::select! {
                _ = tokio::time::sleep_until(intended.into()) => {
                    if measured {
                        sh.counters.pacing.woke(micros_between(intended, Instant::now()));
                    }
                }
                _ = stop.changed() => stopped = true,
            }
        }
        if stopped {
            Counters::add(&sh.counters.not_attempted, 1);
            break;
        }
        while writers.try_join_next().is_some() {}
        writers.spawn(write_file(sh.clone(), log.clone(), seq));
    }
    while writers.join_next().await.is_some() {}
}

/// File `seq`: its message type and size drawn as a publisher would draw them.
async fn write_file(sh: Arc<Shared>, log: Arc<ReceiveLog>, seq: u64) {
    let rc = sh.cfg.receive.as_ref().expect("a receive location");
    let (_, len) = sh.cfg.workload.messagebox.draw_message(sh.cfg.seed, seq);
    let body = file::content(seq, len);
    let name = FileName::of(seq, &body).render();
    let created_us = sh.clock.epoch_us(Instant::now());
    let mut f = match create_locked(log.dir(), &name) {
        Ok(f) => f,
        Err(e) => {
            sh.note_error("receive feeder", &format!("{name}: {e}"));
            return;
        }
    };
    let pieces = usize::from(rc.pieces);
    let step = rc.write_time / u32::from(rc.pieces);
    for i in 0..pieces {
        if !step.is_zero() {
            tokio::time::sleep(step).await;
        }
        let piece = &body[body.len() * i / pieces..body.len() * (i + 1) / pieces];
        // A reader without locks may have taken the file away meanwhile: the rest goes to a
        // file nobody will read, as an upload into a deleted file does.
        if let Err(e) = f.write_all(piece) {
            sh.note_error("receive feeder", &format!("{name}: {e}"));
            return;
        }
    }
    drop(f);
    let done_us = sh.clock.epoch_us(Instant::now());
    log.feed(Feed { seq, file: name, bytes: body.len(), created_us, done_us });
}

/// Creates `dir/name` already locked: a hidden file, locked, linked to its name, unlinked.
/// Blocking file calls on purpose: the receive location's file operations are the adapter's own
/// work, measured as such (a local directory; each call is a metadata operation, microseconds).
fn create_locked(dir: &Path, name: &str) -> std::io::Result<crate::pg::flock::Locked> {
    let tmp = dir.join(format!(".{name}{TMP_SUFFIX}"));
    let f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
    let f = crate::pg::flock::lock(f)?.ok_or_else(|| std::io::Error::other("a new file was locked already"))?;
    std::fs::hard_link(&tmp, dir.join(name))?;
    std::fs::remove_file(&tmp)?;
    Ok(f)
}
