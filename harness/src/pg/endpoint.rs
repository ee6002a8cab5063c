//! Where workers connect: the write endpoint (a multi-host listener string for topologies, the
//! user's DSN otherwise). Connecting retries with backoff until it works or the caller stops.

use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_postgres::{Client, Config};

use crate::pg::conn::{connect_config, ConnectError};
use crate::pg::wire::{self, WireConn};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const BACKOFF_START: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub struct Endpoint {
    config: Config,
}

impl Endpoint {
    pub fn new(mut config: Config) -> Endpoint {
        if config.get_application_name().is_none() {
            config.application_name("habench");
        }
        Endpoint { config }
    }

    pub async fn connect_once(&self) -> Result<Client, ConnectError> {
        connect_config(&self.config, CONNECT_TIMEOUT).await
    }

    /// Connects, retrying with exponential backoff, until `deadline` passes or `stop` is set.
    /// Returns the last error's text when it gives up.
    pub(crate) async fn connect(&self, deadline: Instant, stop: &mut watch::Receiver<bool>) -> Result<Client, String> {
        self.retry(deadline, stop, || self.connect_once()).await
    }

    /// The same for a worker: the connection also says which server it reached and counts the
    /// server's cancelled-wait warnings.
    pub(crate) async fn connect_worker(
        &self,
        deadline: Instant,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(Client, crate::pg::worker_conn::ConnInfo), String> {
        self.retry(deadline, stop, || crate::pg::worker_conn::connect(&self.config, CONNECT_TIMEOUT)).await
    }

    /// One attempt at a worker's connection (a parallel group's publisher: no retry).
    pub(crate) async fn connect_worker_once(&self) -> Result<(Client, crate::pg::worker_conn::ConnInfo), String> {
        crate::pg::worker_conn::connect(&self.config, CONNECT_TIMEOUT).await.map_err(|e| e.to_string())
    }

    /// One attempt at a wire connection (a parallel group's publisher: no retry).
    pub(crate) async fn connect_wire_once(&self) -> Result<WireConn, String> {
        wire::connect(&self.config, CONNECT_TIMEOUT).await.map_err(|e| e.to_string())
    }

    /// The same with habench's wire client (the workers' default).
    pub(crate) async fn connect_wire(
        &self,
        deadline: Instant,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<WireConn, String> {
        self.retry(deadline, stop, || wire::connect(&self.config, CONNECT_TIMEOUT)).await
    }

    async fn retry<T, E, F, Fut>(
        &self,
        deadline: Instant,
        stop: &mut watch::Receiver<bool>,
        attempt: F,
    ) -> Result<T, String>
    where
        E: std::fmt::Display,
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let mut backoff = BACKOFF_START;
        loop {
            let err = match attempt().await {
                Ok(c) => return Ok(c),
                Err(e) => e.to_string(),
            };
            if *stop.borrow() || Instant::now() + backoff >= deadline {
                return Err(err);
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return Err(err),
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }
}
