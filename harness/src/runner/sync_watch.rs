//! Every 50 ms, the write endpoint's `synchronous_standby_names` (after a failover, the new
//! primary's): the samples durability exposure is computed from. A sample that does not come
//! back within the interval, or that a standby answered, is unknown. Only changes are kept, so
//! memory stays flat however long the run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::measure::exposure::SyncSample;
use crate::measure::RunClock;
use crate::pg::Endpoint;

pub(crate) const INTERVAL: Duration = Duration::from_millis(50);
/// Longest wait for a connection or an answer (a client link may add delay); a tick missed
/// meanwhile is skipped, not made up.
const TIMEOUT: Duration = Duration::from_secs(1);

const SQL: &str = "SELECT current_setting('synchronous_standby_names'), pg_is_in_recovery()";

pub(crate) async fn sync_watch(
    endpoint: Endpoint,
    clock: RunClock,
    out: Arc<Mutex<Vec<SyncSample>>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut client: Option<tokio_postgres::Client> = None;
    let mut last: Option<Option<String>> = None;
    // When the last sample was asked for: the setting it showed was read after that, and the
    // answer can come back milliseconds later on a busy machine, so a change is bounded below
    // by the ask, not by the answer.
    let mut last_asked_us = clock.epoch_us(std::time::Instant::now());
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if client.as_ref().is_none_or(|c| c.is_closed()) {
            client = tokio::time::timeout(TIMEOUT, endpoint.connect_once()).await.ok().and_then(Result::ok);
        }
        let asked_us = clock.epoch_us(std::time::Instant::now());
        let names = match &client {
            Some(c) => match tokio::time::timeout(TIMEOUT, c.query_one(SQL, &[])).await {
                Ok(Ok(row)) if !row.get::<_, bool>(1) => Some(row.get::<_, String>(0)),
                Ok(Ok(_)) => None,
                _ => {
                    client = None;
                    None
                }
            },
            None => None,
        };
        let at_us = clock.epoch_us(std::time::Instant::now());
        let since_us = std::mem::replace(&mut last_asked_us, asked_us);
        if last.as_ref() == Some(&names) {
            continue;
        }
        last = Some(names.clone());
        out.lock().expect("sync samples lock").push(SyncSample { at_us, since_us, names });
    }
}
