//! The MessageBox operations over habench's wire client: the same statements as the
//! tokio-postgres sessions (`habench_workloads::messagebox::ops`), prepared once per connection
//! with explicit parameter types, each operation one Bind/Execute/Sync written from a buffer the
//! session reuses and read back on the task that sent it.

use std::fmt::Write as _;
use std::time::Duration;

use habench_workloads::messagebox::ops::fragments_into;
use habench_workloads::messagebox::{schema, Delivery, MessageBoxConfig, OpError};
use habench_workloads::{classify_sqlstate, Outcome, Phase};

use crate::pg::wire::{CallBuf, Param, WireCancel, WireConn, WireError, BYTEA_ARRAY_OID, INT4_OID, INT8_OID, TEXT_OID};

const PUBLISH: &str = "habench_publish";
const DEQUEUE: &str = "habench_dequeue";
const COMPLETE: &str = "habench_complete";
const SUSPEND: &str = "habench_suspend";

/// An operation's error as the ledger records it: the statement is the commit.
pub(crate) fn op_error(e: WireError) -> OpError {
    OpError { outcome: classify_sqlstate(e.code.as_deref(), Phase::Commit), closed: e.closed, message: e.message }
}

/// What every wire worker connection knows besides its statements: the server it reached, how
/// to cancel, and the count of commits that stopped waiting for their standbys.
#[derive(Debug)]
pub(crate) struct WireWorker {
    conn: WireConn,
    call: CallBuf,
    cancel: Option<WireCancel>,
    /// The last reply's integers (its vector is reused by the next).
    ints: Vec<i64>,
    /// The server's own port (`inet_server_port()`), 0 when it could not be asked.
    pub server_port: u16,
}

impl WireWorker {
    async fn new(mut conn: WireConn) -> Result<WireWorker, WireError> {
        let server_port =
            conn.query_value("SELECT inet_server_port()").await?.and_then(|p| p.parse().ok()).unwrap_or(0);
        let cancel = conn.cancel_token();
        Ok(WireWorker { conn, call: CallBuf::default(), cancel, ints: Vec::new(), server_port })
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }

    /// Whether the server closed the session while it was idle.
    pub(crate) fn check_closed(&mut self) -> bool {
        self.conn.check_idle()
    }

    pub(crate) fn cancelled_waits(&self) -> u64 {
        self.conn.cancelled_waits()
    }

    /// `acked_unreplicated` when the server warned, since the count `before`, that a commit
    /// stopped waiting for synchronous replication.
    pub(crate) fn acknowledged_since(&self, before: u64) -> Outcome {
        if self.conn.cancelled_waits() > before {
            Outcome::AckedUnreplicated
        } else {
            Outcome::Ok
        }
    }

    /// Runs the call just set; cancelled when it has not answered after `sync_wait`.
    async fn run(&mut self, sync_wait: Option<Duration>) -> Result<&[i64], OpError> {
        let (conn, call) = (&mut self.conn, &self.call);
        let query = conn.query_ints_into(call, std::mem::take(&mut self.ints));
        self.ints = WireCancel::cancel_after(self.cancel.as_ref(), sync_wait, query).await.map_err(op_error)?.ints;
        Ok(&self.ints)
    }
}

/// A publisher's connection.
#[derive(Debug)]
pub(crate) struct WirePublish {
    pub worker: WireWorker,
    fragment_bytes: usize,
    /// The last body's fragments (the vector is reused).
    parts: Vec<&'static [u8]>,
    /// The context of the last publish, and the body size and type it was written for.
    context: String,
    context_of: (usize, String),
}

impl WirePublish {
    pub(crate) async fn prepare(mut conn: WireConn, cfg: &MessageBoxConfig) -> Result<WirePublish, WireError> {
        let types = [INT8_OID, TEXT_OID, TEXT_OID, BYTEA_ARRAY_OID, INT8_OID];
        conn.prepare(PUBLISH, &schema::publish_sql(cfg), &types).await?;
        let worker = WireWorker::new(conn).await?;
        Ok(WirePublish {
            worker,
            fragment_bytes: cfg.fragment_bytes as usize,
            parts: Vec::new(),
            context: String::new(),
            context_of: (usize::MAX, String::new()),
        })
    }

    /// Publishes one message; returns how many host queues it was routed to.
    pub(crate) async fn publish(
        &mut self,
        (msg_id, msg_type, body_len, intended_us): (i64, &str, usize, i64),
        sync_wait: Option<Duration>,
    ) -> Result<i64, OpError> {
        fragments_into(msg_id, body_len, self.fragment_bytes, &mut self.parts);
        // Written again only when it changes (with one type and a fixed size, never).
        if self.context_of.0 != body_len || self.context_of.1 != msg_type {
            self.context.clear();
            let _ = write!(self.context, "{{\"type\":\"{msg_type}\",\"bytes\":{body_len}}}");
            self.context_of.0 = body_len;
            self.context_of.1.clear();
            self.context_of.1.push_str(msg_type);
        }
        let params = [
            Param::Int8(msg_id),
            Param::Text(msg_type),
            Param::Text(&self.context),
            Param::ByteaArray(&self.parts),
            Param::Int8(intended_us),
        ];
        self.worker.call.set(PUBLISH, &params).map_err(op_error)?;
        let ints = self.worker.run(sync_wait).await?;
        ints.first().copied().ok_or_else(|| op_error(no_row("publish")))
    }
}

/// A host instance's connection.
#[derive(Debug)]
pub(crate) struct WireHost {
    pub worker: WireWorker,
    instance: String,
}

impl WireHost {
    pub(crate) async fn prepare(mut conn: WireConn, host: &str, instance: &str) -> Result<WireHost, WireError> {
        conn.prepare(DEQUEUE, &schema::dequeue_sql(host), &[INT8_OID, TEXT_OID]).await?;
        let finish = [INT8_OID, TEXT_OID, INT8_OID, INT4_OID];
        conn.prepare(COMPLETE, &schema::complete_sql(host), &finish).await?;
        conn.prepare(SUSPEND, &schema::suspend_sql(host), &finish).await?;
        Ok(WireHost { worker: WireWorker::new(conn).await?, instance: instance.to_string() })
    }

    /// Claims up to `batch` messages for this instance.
    pub(crate) async fn dequeue(&mut self, batch: i64, sync_wait: Option<Duration>) -> Result<Vec<Delivery>, OpError> {
        self.worker.call.set(DEQUEUE, &[Param::Int8(batch), Param::Text(&self.instance)]).map_err(op_error)?;
        let ints = self.worker.run(sync_wait).await?;
        Ok(ints
            .chunks_exact(3)
            .map(|r| Delivery { msg_id: r[0], intended_us: r[1], attempts: i32::try_from(r[2]).unwrap_or(i32::MAX) })
            .collect())
    }

    /// Completes (or suspends) a held message. False: this instance no longer held it.
    pub(crate) async fn finish(
        &mut self,
        d: &Delivery,
        e2e_us: i64,
        suspend: bool,
        sync_wait: Option<Duration>,
    ) -> Result<bool, OpError> {
        let statement = if suspend { SUSPEND } else { COMPLETE };
        let params = [Param::Int8(d.msg_id), Param::Text(&self.instance), Param::Int8(e2e_us), Param::Int4(d.attempts)];
        self.worker.call.set(statement, &params).map_err(op_error)?;
        let ints = self.worker.run(sync_wait).await?;
        Ok(ints.first().copied().ok_or_else(|| op_error(no_row(statement)))? == 1)
    }
}

fn no_row(what: &str) -> WireError {
    WireError { code: None, message: format!("{what}: the statement returned no row"), closed: false }
}
