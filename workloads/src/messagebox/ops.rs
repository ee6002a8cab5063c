//! MessageBox operations on one connection; statements are prepared once per connection.

use std::sync::OnceLock;

use tokio_postgres::{Client, Statement};

use crate::messagebox::config::MessageBoxConfig;
use crate::messagebox::schema;
use crate::outcome::{classify, Outcome, Phase};
use crate::rng::Rng;

/// An operation that did not succeed: its outcome (fail or unknown) and the error text.
#[derive(Debug, Clone)]
pub struct OpError {
    pub outcome: Outcome,
    pub message: String,
    /// The connection is unusable: reconnect before the next operation.
    pub closed: bool,
}

impl OpError {
    /// An error of a single-statement (autocommit) operation: the statement is the commit.
    pub fn from_commit(e: &tokio_postgres::Error) -> OpError {
        OpError {
            outcome: classify(Some(e), Phase::Commit, false),
            message: crate::outcome::error_text(e),
            closed: e.is_closed(),
        }
    }

    /// The client gave up waiting: it may have committed.
    pub fn timed_out(after: std::time::Duration) -> OpError {
        OpError {
            outcome: classify(None, Phase::Commit, true),
            message: format!("no answer within {after:?}"),
            closed: true,
        }
    }
}

/// A message taken from a host queue by one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub msg_id: i64,
    /// When the publish was meant to start (µs since the Unix epoch).
    pub intended_us: i64,
    /// How many times it was dequeued (more than 1: redelivered).
    pub attempts: i32,
}

const FILLER_BYTES: usize = 1 << 20;

/// Bodies start at one of this many offsets near the filler's beginning (message by message):
/// neighbouring messages' bodies differ, and a typical body is read from the cache, not from
/// memory (with starts spread over 512 KiB, copying a 2 KiB body into the call took about
/// 0.4 µs, 2 % of habench's CPU per publish).
const BODY_STARTS: usize = 16 << 10;

/// 1 MiB of incompressible bytes that message bodies are cut from.
fn filler() -> &'static [u8] {
    static FILLER: OnceLock<Vec<u8>> = OnceLock::new();
    FILLER.get_or_init(|| {
        let mut rng = Rng::new(0x5EED_B0D1);
        (0..FILLER_BYTES / 8).flat_map(|_| rng.next_u64().to_le_bytes()).collect()
    })
}

/// A body of `len` bytes split into fragments of at most `fragment` bytes.
pub fn fragments(msg_id: i64, len: usize, fragment: usize) -> Vec<&'static [u8]> {
    let mut out = Vec::new();
    fragments_into(msg_id, len, fragment, &mut out);
    out
}

/// `fragments` into `out` (cleared first): a publisher that keeps its vector allocates none.
pub fn fragments_into(msg_id: i64, len: usize, fragment: usize, out: &mut Vec<&'static [u8]>) {
    let f = filler();
    let fragment = fragment.clamp(1, FILLER_BYTES / 2);
    out.clear();
    out.reserve(len.div_ceil(fragment).max(1));
    let mut left = len;
    let mut off = (msg_id.unsigned_abs() as usize * 7919) % BODY_STARTS;
    while left > 0 || out.is_empty() {
        let n = left.min(fragment);
        out.push(&f[off..off + n]);
        left -= n;
        off = (off + n) % (FILLER_BYTES / 2);
    }
}

/// A publisher's connection (or a calibration client's).
#[derive(Debug)]
pub struct PublishSession {
    client: Client,
    publish: Statement,
    insert: Statement,
    fragment_bytes: usize,
}

impl PublishSession {
    pub async fn prepare(client: Client, cfg: &MessageBoxConfig) -> Result<PublishSession, tokio_postgres::Error> {
        let publish = client.prepare(&schema::publish_sql(cfg)).await?;
        let insert = client.prepare(schema::INSERT_SQL).await?;
        Ok(PublishSession { client, publish, insert, fragment_bytes: cfg.fragment_bytes as usize })
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Publishes one message; returns how many host queues it was routed to.
    pub async fn publish(
        &self,
        msg_id: i64,
        msg_type: &str,
        body_len: usize,
        intended_us: i64,
    ) -> Result<i64, OpError> {
        let parts = fragments(msg_id, body_len, self.fragment_bytes);
        let context = format!("{{\"type\":\"{msg_type}\",\"bytes\":{body_len}}}");
        let row = self
            .client
            .query_one(&self.publish, &[&msg_id, &msg_type, &context, &parts, &intended_us])
            .await
            .map_err(|e| OpError::from_commit(&e))?;
        Ok(row.get::<_, i32>(0) as i64)
    }

    /// The calibration operation: one single-row INSERT of `payload_bytes` bytes.
    pub async fn insert(&self, payload_bytes: i32) -> Result<(), OpError> {
        self.client.execute(&self.insert, &[&payload_bytes]).await.map(|_| ()).map_err(|e| OpError::from_commit(&e))
    }
}

/// A host instance's connection.
#[derive(Debug)]
pub struct HostSession {
    client: Client,
    instance: String,
    dequeue: Statement,
    complete: Statement,
    suspend: Statement,
}

impl HostSession {
    pub async fn prepare(client: Client, host: &str, instance: &str) -> Result<HostSession, tokio_postgres::Error> {
        let dequeue = client.prepare(&schema::dequeue_sql(host)).await?;
        let complete = client.prepare(&schema::complete_sql(host)).await?;
        let suspend = client.prepare(&schema::suspend_sql(host)).await?;
        Ok(HostSession { client, instance: instance.to_string(), dequeue, complete, suspend })
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Claims up to `batch` messages for this instance.
    pub async fn dequeue(&self, batch: i64) -> Result<Vec<Delivery>, OpError> {
        let rows =
            self.client.query(&self.dequeue, &[&batch, &self.instance]).await.map_err(|e| OpError::from_commit(&e))?;
        Ok(rows.iter().map(|r| Delivery { msg_id: r.get(0), intended_us: r.get(1), attempts: r.get(2) }).collect())
    }

    /// Completes a held message. False: this instance no longer held it (taken over).
    pub async fn complete(&self, d: &Delivery, e2e_us: i64) -> Result<bool, OpError> {
        self.finish(&self.complete, d, e2e_us).await
    }

    /// Moves a held message to the suspended queue.
    pub async fn suspend(&self, d: &Delivery, e2e_us: i64) -> Result<bool, OpError> {
        self.finish(&self.suspend, d, e2e_us).await
    }

    async fn finish(&self, stmt: &Statement, d: &Delivery, e2e_us: i64) -> Result<bool, OpError> {
        let row = self
            .client
            .query_one(stmt, &[&d.msg_id, &self.instance, &e2e_us, &d.attempts])
            .await
            .map_err(|e| OpError::from_commit(&e))?;
        Ok(row.get::<_, i64>(0) == 1)
    }
}

/// Drops and recreates the MessageBox schema.
pub async fn install(client: &Client, cfg: &MessageBoxConfig) -> Result<(), tokio_postgres::Error> {
    client.batch_execute(&schema::install_sql(cfg)).await
}

/// Runs the purge job once; returns how many spool rows it deleted.
pub async fn cleanup(client: &Client) -> Result<i64, OpError> {
    let row = client.query_one(&schema::cleanup_sql(), &[]).await.map_err(|e| OpError::from_commit(&e))?;
    Ok(row.get(0))
}

/// What the MessageBox holds at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Depths {
    /// Entries waiting per host queue, in config order.
    pub queues: Vec<i64>,
    /// Entries in every host's suspended queue.
    pub suspended: i64,
    /// Spool rows (messages not purged yet).
    pub spool: i64,
}

/// Queue depth per host, suspended entries and the spool's row count, in one statement.
pub async fn queue_depths(client: &Client, cfg: &MessageBoxConfig) -> Result<Depths, tokio_postgres::Error> {
    let mut parts: Vec<String> =
        cfg.hosts.iter().map(|h| format!("(SELECT count(*) FROM {}.q_{})", schema::SCHEMA, h.name)).collect();
    let suspended: Vec<String> =
        cfg.hosts.iter().map(|h| format!("(SELECT count(*) FROM {}.q_{}_suspended)", schema::SCHEMA, h.name)).collect();
    parts.push(if suspended.is_empty() { "0::int8".to_string() } else { format!("({})::int8", suspended.join(" + ")) });
    parts.push(format!("(SELECT count(*) FROM {}.spool)", schema::SCHEMA));
    let row = client.query_one(&format!("SELECT {}", parts.join(", ")), &[]).await?;
    let n = cfg.hosts.len();
    Ok(Depths { queues: (0..n).map(|i| row.get::<_, i64>(i)).collect(), suspended: row.get(n), spool: row.get(n + 1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_split_into_fragments_of_the_configured_size() {
        let f = fragments(1, 250_000, 100_000);
        assert_eq!(f.iter().map(|p| p.len()).collect::<Vec<_>>(), [100_000, 100_000, 50_000]);
        let one = fragments(2, 2048, 100_000);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].len(), 2048);
        assert_eq!(fragments(3, 0, 100).len(), 1, "an empty body is one empty fragment");
        // Neighbouring messages' bodies differ.
        let bodies: std::collections::HashSet<Vec<u8>> = (1..=1000).map(|id| fragments(id, 64, 64).concat()).collect();
        assert_eq!(bodies.len(), 1000);
    }
}
