//! Client threads: publishers are spread over one current-thread runtime per core (like
//! pgbench's `-j`), so that each connection's client and protocol tasks share a thread: no
//! cross-thread wake-ups on the measured path, and the client is not held to one core.

use std::future::Future;

use tokio::task::JoinSet;

/// Runs `tasks` on `threads` dedicated threads; `set` gets one task per thread that ends when
/// all of that thread's tasks have.
/// Each thread's runtime beats for the stall detector (`client-N`) when `stalls` is given.
pub(crate) fn spawn_on_threads<F>(
    set: &mut JoinSet<()>,
    threads: usize,
    tasks: Vec<F>,
    stalls: Option<crate::measure::stall::StallHandle>,
) where
    F: Future<Output = ()> + Send + 'static,
{
    let threads = threads.clamp(1, tasks.len().max(1));
    let mut buckets: Vec<Vec<F>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, t) in tasks.into_iter().enumerate() {
        buckets[i % threads].push(t);
    }
    for (k, bucket) in buckets.into_iter().enumerate() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let stalls = stalls.clone();
        let spawned = std::thread::Builder::new().name(format!("habench-client-{k}")).spawn(move || {
            // Timers of this thread fire within 1 µs of their time (the default slack is 50 µs).
            super::alarm::set_timer_slack(std::time::Duration::from_micros(1));
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("client thread {k}: no runtime: {e}");
                    return;
                }
            };
            rt.block_on(async move {
                // Not in `local`: the heartbeat ends with the runtime, not before the tasks.
                if let Some(s) = stalls {
                    tokio::spawn(s.heartbeat(&format!("client-{k}")));
                }
                let mut local = JoinSet::new();
                for t in bucket {
                    local.spawn(t);
                }
                while local.join_next().await.is_some() {}
            });
            let _ = tx.send(());
        });
        if let Err(e) = spawned {
            tracing::error!("client thread {k}: {e}");
            continue;
        }
        set.spawn(async move {
            let _ = rx.await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn every_task_runs_and_the_set_empties_when_they_are_done() {
        let done = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let d = done.clone();
                async move {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    d.fetch_add(1, Ordering::SeqCst);
                }
            })
            .collect();
        let mut set = JoinSet::new();
        spawn_on_threads(&mut set, 2, tasks, None);
        assert_eq!(set.len(), 2);
        while set.join_next().await.is_some() {}
        assert_eq!(done.load(Ordering::SeqCst), 5);
    }
}
