//! A receive instance's connection: publishes what it read from a file, with a receipt.

use tokio_postgres::{Client, Statement};

use crate::messagebox::config::MessageBoxConfig;
use crate::messagebox::ops::OpError;
use crate::messagebox::schema;

/// What a receive instance read: the file, the instance, and the bytes.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub file: &'a str,
    pub instance: &'a str,
    pub body: &'a [u8],
}

#[derive(Debug)]
pub struct ReceiveSession {
    client: Client,
    publish: Statement,
    fragment_bytes: usize,
}

impl ReceiveSession {
    pub async fn prepare(client: Client, cfg: &MessageBoxConfig) -> Result<ReceiveSession, tokio_postgres::Error> {
        let publish = client.prepare(&schema::receive_publish_sql(cfg)).await?;
        Ok(ReceiveSession { client, publish, fragment_bytes: (cfg.fragment_bytes as usize).max(1) })
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Publishes the bytes read as message `msg_id`; returns how many host queues it was routed to.
    pub async fn publish(
        &self,
        msg_id: i64,
        msg_type: &str,
        r: Received<'_>,
        intended_us: i64,
    ) -> Result<i64, OpError> {
        let parts: Vec<&[u8]> =
            if r.body.is_empty() { vec![&[][..]] } else { r.body.chunks(self.fragment_bytes).collect() };
        let context = format!(
            "{{\"type\":\"{msg_type}\",\"bytes\":{},\"file\":\"{}\",\"instance\":\"{}\"}}",
            r.body.len(),
            r.file,
            r.instance
        );
        let bytes = i32::try_from(r.body.len()).unwrap_or(i32::MAX);
        let row = self
            .client
            .query_one(
                &self.publish,
                &[&msg_id, &msg_type, &context, &parts, &intended_us, &r.file, &r.instance, &bytes],
            )
            .await
            .map_err(|e| OpError::from_commit(&e))?;
        Ok(row.get::<_, i32>(0) as i64)
    }
}
