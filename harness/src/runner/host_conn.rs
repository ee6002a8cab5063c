//! A host instance's connection through either client: habench's wire client (the default) or
//! tokio-postgres (`--driver tokio-postgres`). Both run the same statements with the same
//! parameters; the host instance's loop does not know which one it has.

use std::time::Duration;

use habench_workloads::messagebox::{Delivery, HostSession, OpError};
use habench_workloads::Outcome;

use crate::config::Driver;
use crate::pg::worker_conn::ConnInfo;
use crate::pg::Endpoint;
use crate::runner::shared::Shared;
use crate::runner::wire_messagebox::WireHost;

#[derive(Debug)]
pub(crate) enum HostConn {
    Wire(Box<WireHost>),
    Driver(Box<HostSession>, ConnInfo),
}

impl HostConn {
    /// Connects instance `instance` of `host` with the run's client (retrying until the run's
    /// hard end or a stop); None when it gave up.
    pub(crate) async fn connect(
        sh: &Shared,
        endpoint: &Endpoint,
        stop: &mut tokio::sync::watch::Receiver<bool>,
        (host, instance): (&str, &str),
    ) -> Option<HostConn> {
        match sh.cfg.workload.driver {
            Driver::Wire => {
                let w = sh.wire_session(endpoint, stop, |c| WireHost::prepare(c, host, instance)).await?;
                Some(HostConn::Wire(Box::new(w)))
            }
            Driver::TokioPostgres => {
                let (s, info) = sh.worker_session(endpoint, stop, |c| HostSession::prepare(c, host, instance)).await?;
                Some(HostConn::Driver(Box::new(s), info))
            }
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        match self {
            HostConn::Wire(w) => w.worker.is_closed(),
            HostConn::Driver(s, _) => s.is_closed(),
        }
    }

    pub(crate) fn cancelled_waits(&self) -> u64 {
        match self {
            HostConn::Wire(w) => w.worker.cancelled_waits(),
            HostConn::Driver(_, info) => info.cancelled_waits(),
        }
    }

    pub(crate) fn acknowledged_since(&self, before: u64) -> Outcome {
        match self {
            HostConn::Wire(w) => w.worker.acknowledged_since(before),
            HostConn::Driver(_, info) => info.acknowledged_since(before),
        }
    }

    pub(crate) fn server_port(&self) -> u16 {
        match self {
            HostConn::Wire(w) => w.worker.server_port,
            HostConn::Driver(_, info) => info.server_port,
        }
    }

    /// Claims up to `batch` messages; cancelled when it has not answered after `sync_wait`.
    pub(crate) async fn dequeue(&mut self, batch: i64, sync_wait: Option<Duration>) -> Result<Vec<Delivery>, OpError> {
        match self {
            HostConn::Wire(w) => w.dequeue(batch, sync_wait).await,
            HostConn::Driver(s, info) => info.cancel_after(sync_wait, s.dequeue(batch)).await,
        }
    }

    /// Completes or suspends a held message. False: the instance no longer held it.
    pub(crate) async fn finish(
        &mut self,
        d: &Delivery,
        e2e_us: i64,
        suspend: bool,
        sync_wait: Option<Duration>,
    ) -> Result<bool, OpError> {
        match self {
            HostConn::Wire(w) => w.finish(d, e2e_us, suspend, sync_wait).await,
            HostConn::Driver(s, info) if suspend => info.cancel_after(sync_wait, s.suspend(d, e2e_us)).await,
            HostConn::Driver(s, info) => info.cancel_after(sync_wait, s.complete(d, e2e_us)).await,
        }
    }
}
