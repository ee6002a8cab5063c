//! Reads what survived in the database, for the checker (`habench_workloads::checker`).

use habench_workloads::checker::DbState;
use habench_workloads::messagebox::{schema::SCHEMA, MessageBoxConfig};
use tokio_postgres::Client;

/// Spool ids, queued and suspended entries per host, tracking rows per (message, host).
pub async fn read_db_state(client: &Client, cfg: &MessageBoxConfig) -> Result<DbState, tokio_postgres::Error> {
    let mut db = DbState::new(cfg.hosts.len());
    add_db_state(&mut db, client, cfg).await?;
    Ok(db)
}

/// Adds what `client`'s database holds to `db` (parallel groups: one database after another).
pub(crate) async fn add_db_state(
    db: &mut DbState,
    client: &Client,
    cfg: &MessageBoxConfig,
) -> Result<(), tokio_postgres::Error> {
    for row in client.query(&format!("SELECT id FROM {SCHEMA}.spool"), &[]).await? {
        db.add_spool(row.get(0));
    }
    for (i, h) in cfg.hosts.iter().enumerate() {
        for (table, suspended) in [(format!("q_{}", h.name), false), (format!("q_{}_suspended", h.name), true)] {
            for row in client.query(&format!("SELECT msg_id FROM {SCHEMA}.{table}"), &[]).await? {
                db.add_queued(row.get(0), i, suspended);
            }
        }
    }
    let rows =
        client.query(&format!("SELECT msg_id, host, count(*) FROM {SCHEMA}.tracking GROUP BY 1, 2"), &[]).await?;
    for row in rows {
        let host: String = row.get(1);
        if let Some(i) = cfg.hosts.iter().position(|h| h.name == host) {
            db.add_tracking(row.get(0), i, row.get(2));
        }
    }
    Ok(())
}
