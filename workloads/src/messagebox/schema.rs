//! The MessageBox schema: spool, parts, subscriptions, one queue (and suspended queue) per host,
//! tracking. Everything lives in the `mbox` schema so that a run against an existing server
//! (`--target-dsn`) touches nothing else.

use std::fmt::Write;

use crate::messagebox::config::MessageBoxConfig;

pub const SCHEMA: &str = "mbox";

/// Drops and recreates the whole schema, then fills `subscriptions` from the config.
pub fn install_sql(cfg: &MessageBoxConfig) -> String {
    let mut sql = format!(
        "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.spool (
    id bigint PRIMARY KEY,
    msg_type text NOT NULL,
    context text NOT NULL,
    part_count int NOT NULL,
    ref_count int NOT NULL,
    intended_us bigint NOT NULL,
    created timestamptz NOT NULL DEFAULT now());
CREATE INDEX spool_unreferenced ON {SCHEMA}.spool (id) WHERE ref_count <= 0;
CREATE TABLE {SCHEMA}.parts (
    msg_id bigint NOT NULL,
    part_no int NOT NULL,
    fragment_no int NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (msg_id, part_no, fragment_no));
-- Bodies are stored as they come: no compression (what a message costs, not what it compresses to).
ALTER TABLE {SCHEMA}.parts ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE TABLE {SCHEMA}.subscriptions (
    msg_type text NOT NULL,
    host text NOT NULL,
    PRIMARY KEY (msg_type, host));
CREATE TABLE {SCHEMA}.tracking (
    msg_id bigint NOT NULL,
    msg_type text NOT NULL,
    host text NOT NULL,
    instance text NOT NULL,
    status text NOT NULL,
    attempts int NOT NULL,
    e2e_us bigint NOT NULL,
    completed_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX tracking_msg ON {SCHEMA}.tracking (msg_id);
CREATE INDEX tracking_time ON {SCHEMA}.tracking (completed_at);
CREATE TABLE {SCHEMA}.calib (id bigserial PRIMARY KEY, payload text NOT NULL);
-- Message event tracking of a receive location: the file each received message came from.
CREATE TABLE {SCHEMA}.receipts (
    msg_id bigint PRIMARY KEY,
    file text NOT NULL,
    instance text NOT NULL,
    bytes int NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now());
"
    );
    for h in &cfg.hosts {
        let n = &h.name;
        let _ = write!(
            sql,
            "CREATE TABLE {SCHEMA}.q_{n} (
    msg_id bigint PRIMARY KEY,
    intended_us bigint NOT NULL,
    enqueued timestamptz NOT NULL DEFAULT now(),
    owner text,
    owner_pid int,
    owner_start timestamptz,
    attempts int NOT NULL DEFAULT 0);
CREATE TABLE {SCHEMA}.q_{n}_suspended (
    msg_id bigint PRIMARY KEY,
    intended_us bigint NOT NULL,
    suspended timestamptz NOT NULL DEFAULT now(),
    instance text NOT NULL,
    reason text NOT NULL);
"
        );
    }
    for t in &cfg.message_types {
        for s in &t.subscribers {
            let _ =
                writeln!(sql, "INSERT INTO {SCHEMA}.subscriptions VALUES ('{}', '{s}');", t.name.replace('\'', "''"));
        }
    }
    sql
}

/// One statement: spool row, parts (fragments), and one queue entry per subscribed host, routed
/// by the `subscriptions` table. $1 id, $2 type, $3 context, $4 fragments, $5 intended start (µs).
pub fn publish_sql(cfg: &MessageBoxConfig) -> String {
    let mut sql = format!(
        "WITH s AS (
  INSERT INTO {SCHEMA}.spool (id, msg_type, context, part_count, ref_count, intended_us)
  SELECT $1, $2, $3, 1, (SELECT count(*) FROM {SCHEMA}.subscriptions WHERE msg_type = $2), $5
  RETURNING ref_count),
p AS (
  INSERT INTO {SCHEMA}.parts (msg_id, part_no, fragment_no, body)
  SELECT $1, 0, f.n - 1, f.b FROM unnest($4::bytea[]) WITH ORDINALITY AS f(b, n))"
    );
    for h in &cfg.hosts {
        let n = &h.name;
        let _ = write!(
            sql,
            ",
q_{n} AS (
  INSERT INTO {SCHEMA}.q_{n} (msg_id, intended_us)
  SELECT $1, $5 WHERE EXISTS (SELECT 1 FROM {SCHEMA}.subscriptions WHERE msg_type = $2 AND host = '{n}'))"
        );
    }
    sql.push_str("\nSELECT ref_count FROM s");
    sql
}

/// A publish from a receive location: the publish, and a receipt naming the file ($6), the
/// receive instance ($7) and the bytes it read ($8), in the same statement.
pub fn receive_publish_sql(cfg: &MessageBoxConfig) -> String {
    let publish = publish_sql(cfg);
    let (ctes, select) = publish.rsplit_once("\nSELECT ").expect("publish ends with its SELECT");
    format!(
        "{ctes},
rc AS (
  INSERT INTO {SCHEMA}.receipts (msg_id, file, instance, bytes) VALUES ($1, $6, $7, $8))
SELECT {select}"
    )
}

/// Claims up to $1 messages for instance $2: unowned entries, or entries whose owner's
/// connection is gone (a dead host instance, or any owner before a failover).
pub fn dequeue_sql(host: &str) -> String {
    format!(
        "WITH c AS (
  SELECT q.msg_id FROM {SCHEMA}.q_{host} q
  WHERE q.owner_pid IS NULL
     OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = q.owner_pid AND a.backend_start = q.owner_start)
  ORDER BY q.msg_id
  LIMIT $1
  FOR UPDATE SKIP LOCKED)
UPDATE {SCHEMA}.q_{host} q
SET owner = $2, owner_pid = pg_backend_pid(),
    owner_start = (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()),
    attempts = q.attempts + 1
FROM c WHERE q.msg_id = c.msg_id
RETURNING q.msg_id, q.intended_us, q.attempts"
    )
}

/// Completes message $1 held by instance $2: delete the entry, write tracking, release the
/// reference. Returns how many entries it completed (0: the instance no longer held it).
/// $3 end-to-end µs, $4 attempts.
pub fn complete_sql(host: &str) -> String {
    format!(
        "WITH d AS (DELETE FROM {SCHEMA}.q_{host} WHERE msg_id = $1 AND owner = $2 RETURNING msg_id),
t AS (INSERT INTO {SCHEMA}.tracking (msg_id, msg_type, host, instance, status, attempts, e2e_us)
      SELECT d.msg_id, (SELECT msg_type FROM {SCHEMA}.spool WHERE id = d.msg_id), '{host}', $2, 'completed', $4, $3
      FROM d),
r AS (UPDATE {SCHEMA}.spool SET ref_count = ref_count - 1 WHERE id IN (SELECT msg_id FROM d))
SELECT count(*) FROM d"
    )
}

/// Moves message $1 held by instance $2 to the suspended queue (the reference stays held).
/// $3 end-to-end µs, $4 attempts.
pub fn suspend_sql(host: &str) -> String {
    format!(
        "WITH d AS (DELETE FROM {SCHEMA}.q_{host} WHERE msg_id = $1 AND owner = $2 RETURNING msg_id, intended_us),
s AS (INSERT INTO {SCHEMA}.q_{host}_suspended (msg_id, intended_us, instance, reason)
      SELECT msg_id, intended_us, $2, 'processing failed (simulated)' FROM d),
t AS (INSERT INTO {SCHEMA}.tracking (msg_id, msg_type, host, instance, status, attempts, e2e_us)
      SELECT d.msg_id, (SELECT msg_type FROM {SCHEMA}.spool WHERE id = d.msg_id), '{host}', $2, 'suspended', $4, $3
      FROM d)
SELECT count(*) FROM d"
    )
}

/// The purge job: spool rows nobody references, with their parts (bounded per run).
pub fn cleanup_sql() -> String {
    format!(
        "WITH dead AS (
  DELETE FROM {SCHEMA}.spool WHERE id IN (SELECT id FROM {SCHEMA}.spool WHERE ref_count <= 0 LIMIT 20000)
  RETURNING id),
p AS (DELETE FROM {SCHEMA}.parts WHERE msg_id IN (SELECT id FROM dead))
SELECT count(*) FROM dead"
    )
}

/// The calibration statement: one single-row INSERT of $1 bytes per transaction. pgbench runs
/// the identical statement (scripts/vs-pgbench.sh).
pub const INSERT_SQL: &str = "INSERT INTO mbox.calib (payload) VALUES (repeat('x', $1::int))";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_host_gets_a_queue_and_a_suspended_queue() {
        let sql = install_sql(&MessageBoxConfig::default());
        for t in ["mbox.q_send ", "mbox.q_send_suspended", "mbox.q_archive ", "mbox.q_archive_suspended"] {
            assert!(sql.contains(&format!("CREATE TABLE {t}")), "{t}");
        }
        assert!(sql.contains("INSERT INTO mbox.subscriptions VALUES ('order', 'archive');"));
    }

    #[test]
    fn publish_routes_to_every_host_through_subscriptions() {
        let sql = publish_sql(&MessageBoxConfig::default());
        assert!(sql.contains("INSERT INTO mbox.q_send (msg_id, intended_us)"));
        assert!(sql.contains("host = 'archive'"));
    }

    #[test]
    fn a_received_publish_writes_its_receipt_in_the_same_statement() {
        let sql = receive_publish_sql(&MessageBoxConfig::default());
        assert!(sql.contains("INSERT INTO mbox.q_send (msg_id, intended_us)"));
        assert!(sql.contains("INSERT INTO mbox.receipts (msg_id, file, instance, bytes) VALUES ($1, $6, $7, $8))"));
        assert!(sql.ends_with("SELECT ref_count FROM s"), "{sql}");
    }
}
