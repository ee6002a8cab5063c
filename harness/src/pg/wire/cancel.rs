//! A cancel request, as libpq's `PQcancel` sends it: a new connection to the same server that
//! carries the backend's process id and secret key, and nothing else.

use std::time::Duration;

use bytes::BytesMut;
use postgres_protocol::message::frontend;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Where and for which backend.
#[derive(Debug, Clone)]
pub(crate) struct WireCancel {
    pub host: String,
    pub port: u16,
    pub process_id: i32,
    pub secret_key: i32,
}

impl WireCancel {
    /// Sends the request (best effort, within `timeout`): the server cancels the statement the
    /// backend runs then, if any.
    pub(crate) async fn cancel(&self, timeout: Duration) {
        let send = async {
            let mut s = TcpStream::connect((self.host.as_str(), self.port)).await?;
            let mut buf = BytesMut::new();
            frontend::cancel_request(self.process_id, self.secret_key, &mut buf);
            s.write_all(&buf).await?;
            s.shutdown().await
        };
        let _ = tokio::time::timeout(timeout, send).await;
    }

    /// Runs `op`; if it has not answered after `after`, asks the server to cancel it (what a
    /// client that gives up does) and still waits for its answer.
    pub(crate) async fn cancel_after<T>(
        this: Option<&WireCancel>,
        after: Option<Duration>,
        op: impl std::future::Future<Output = T>,
    ) -> T {
        let (Some(c), Some(after)) = (this, after) else { return op.await };
        tokio::pin!(op);
        tokio::select! {
            r = &mut op => r,
            _ = tokio::time::sleep(after) => {
                c.cancel(Duration::from_secs(5)).await;
                op.await
            }
        }
    }
}
