//! The calibration insert's connection over habench's wire client: the statement prepared
//! once, one prebuilt call per insert (the payload size does not change during a run).

use habench_workloads::messagebox::{schema, OpError};

use crate::pg::wire::{CallBuf, Param, WireConn, WireError, INT4_OID};
use crate::runner::wire_messagebox::op_error;

const STATEMENT: &str = "habench_insert";

#[derive(Debug)]
pub(crate) struct WireInsert {
    conn: WireConn,
    call: CallBuf,
}

impl WireInsert {
    pub(crate) async fn prepare(mut conn: WireConn, payload_bytes: i32) -> Result<WireInsert, WireError> {
        conn.prepare(STATEMENT, schema::INSERT_SQL, &[INT4_OID]).await?;
        let mut call = CallBuf::default();
        call.set(STATEMENT, &[Param::Int4(payload_bytes)])?;
        Ok(WireInsert { conn, call })
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }

    /// Whether the server closed the session while it was idle.
    pub(crate) fn check_closed(&mut self) -> bool {
        self.conn.check_idle()
    }

    /// One INSERT in its own transaction (the statement is the commit).
    pub(crate) async fn insert(&mut self) -> Result<(), OpError> {
        self.conn.execute(&self.call).await.map(|_| ()).map_err(op_error)
    }
}
