//! Connections from the harness to its own nodes (over loopback TCP; nodes have no unix socket).

use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls};

/// Every node listens here only.
pub(crate) const HOST: &str = "127.0.0.1";
/// The superuser created by initdb (independent of the OS user).
pub(crate) const SUPERUSER: &str = "postgres";

/// Key-value connection string of one node.
pub fn dsn(port: u16) -> String {
    format!("host={HOST} port={port} user={SUPERUSER} dbname=postgres")
}

/// Connects with a deadline over the whole connect (libpq's connect_timeout covers only TCP).
pub async fn connect(port: u16, timeout: Duration) -> Result<Client, ConnectError> {
    let mut cfg = Config::new();
    cfg.host(HOST).port(port).user(SUPERUSER).dbname("postgres").application_name("habench").connect_timeout(timeout);
    connect_config(&cfg, timeout).await
}

pub async fn connect_config(cfg: &Config, timeout: Duration) -> Result<Client, ConnectError> {
    let (client, conn) = connect_raw(cfg, timeout).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// The client and its connection (for the caller to drive), within `timeout`.
pub(crate) async fn connect_raw(
    cfg: &Config,
    timeout: Duration,
) -> Result<(Client, tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>), ConnectError>
{
    match tokio::time::timeout(timeout, cfg.connect(NoTls)).await {
        Err(_) => Err(ConnectError::Timeout(timeout)),
        Ok(r) => Ok(r?),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connect timed out after {0:?}")]
    Timeout(Duration),
    /// The server's own message when it sent one (tokio-postgres alone prints "db error").
    #[error("{}", habench_workloads::error_text(.0))]
    Db(#[from] tokio_postgres::Error),
}
