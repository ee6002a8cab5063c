//! A worker's connection: the client, which server it landed on (the write endpoint is a list;
//! after a takeover without fencing two servers may accept writes), and the server's warnings
//! that a commit stopped waiting for synchronous replication, counted as they arrive.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::{AsyncMessage, CancelToken, Client, Config, NoTls};

use crate::pg::conn::ConnectError;

/// What a worker knows of its connection besides the client.
#[derive(Clone)]
pub(crate) struct ConnInfo {
    /// The server's own port (`inet_server_port()`), 0 when it could not be asked.
    pub server_port: u16,
    cancelled_waits: Arc<AtomicU64>,
    cancel: CancelToken,
}

impl std::fmt::Debug for ConnInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnInfo")
            .field("server_port", &self.server_port)
            .field("cancelled_waits", &self.cancelled_waits())
            .finish_non_exhaustive()
    }
}

impl ConnInfo {
    /// Warnings "canceling wait for synchronous replication" received so far. The warning
    /// arrives before the commit's own answer, so a count read after the answer includes it.
    pub(crate) fn cancelled_waits(&self) -> u64 {
        self.cancelled_waits.load(Ordering::Acquire)
    }

    /// An acknowledged operation's outcome, given the warning count read before it ran:
    /// `acked_unreplicated` when the server warned meanwhile that it stopped waiting for
    /// synchronous replication.
    pub(crate) fn acknowledged_since(&self, waits_before: u64) -> habench_workloads::Outcome {
        if self.cancelled_waits() > waits_before {
            habench_workloads::Outcome::AckedUnreplicated
        } else {
            habench_workloads::Outcome::Ok
        }
    }

    /// Runs `op`; if it has not answered after `after`, asks the server to cancel it (what a
    /// client that gives up does: a commit waiting for a standby then returns success with the
    /// warning) and still waits for its answer.
    pub(crate) async fn cancel_after<T>(&self, after: Option<Duration>, op: impl std::future::Future<Output = T>) -> T {
        let Some(after) = after else { return op.await };
        tokio::pin!(op);
        tokio::select! {
            r = &mut op => r,
            _ = tokio::time::sleep(after) => {
                let _ = self.cancel.cancel_query(NoTls).await;
                op.await
            }
        }
    }
}

/// Connects like `conn::connect_config`, but drives the connection itself to count the
/// cancelled-wait warnings, and asks which server it reached.
pub(crate) async fn connect(cfg: &Config, timeout: Duration) -> Result<(Client, ConnInfo), ConnectError> {
    let (client, mut conn) = crate::pg::conn::connect_raw(cfg, timeout).await?;
    let cancelled_waits = Arc::new(AtomicU64::new(0));
    let counter = cancelled_waits.clone();
    tokio::spawn(async move {
        while let Some(m) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            match m {
                Ok(AsyncMessage::Notice(n))
                    if habench_workloads::is_cancelled_sync_wait(n.code().code(), n.message()) =>
                {
                    counter.fetch_add(1, Ordering::Release);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let server_port = match tokio::time::timeout(timeout, client.query_one("SELECT inet_server_port()", &[])).await {
        Ok(Ok(row)) => row.get::<_, Option<i32>>(0).and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
        Ok(Err(e)) => return Err(ConnectError::Db(e)),
        Err(_) => return Err(ConnectError::Timeout(timeout)),
    };
    let cancel = client.cancel_token();
    Ok((client, ConnInfo { server_port, cancelled_waits, cancel }))
}
