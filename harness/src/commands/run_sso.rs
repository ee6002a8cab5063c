//! The SSO master secret of a run: a separate secret server started beside the topology, and
//! the `sso` schema installed where the secret lives.

use std::sync::Arc;

use anyhow::Context;

use crate::cli::RunArgs;
use crate::commands::options;
use crate::config::{RunConfig, SsoMode};
use crate::pg::{Endpoint, PgEnv};
use crate::topology::SsoServer;

pub(super) type SharedSso = Arc<tokio::sync::Mutex<SsoServer>>;

/// `--sso separate`: the secret server, started.
pub(super) async fn start(cfg: &RunConfig, args: &RunArgs) -> anyhow::Result<Option<SharedSso>> {
    if cfg.sso.as_ref().is_none_or(|s| s.mode != SsoMode::Separate) {
        return Ok(None);
    }
    let env = PgEnv::discover(&options::env_options(&args.env))?;
    let server = SsoServer::up(env).await.context("starting the SSO master secret server")?;
    Ok(Some(Arc::new(tokio::sync::Mutex::new(server))))
}

/// The `sso` schema with a fresh master secret: on the separate server (whose endpoint is
/// returned), or beside the MessageBox.
pub(super) async fn install(
    cfg: &RunConfig,
    server: Option<&SharedSso>,
    write: &Endpoint,
) -> anyhow::Result<Option<Endpoint>> {
    if cfg.sso.is_none() {
        return Ok(None);
    }
    let endpoint = match server {
        Some(s) => Some(Endpoint::new(s.lock().await.dsn().parse::<tokio_postgres::Config>()?)),
        None => None,
    };
    let client = endpoint.as_ref().unwrap_or(write).connect_once().await.context("connecting to the SSO server")?;
    habench_workloads::sso::install(&client, cfg.seed).await.context("installing the SSO schema")?;
    Ok(endpoint)
}

/// The credentials the secret server holds now (None: it does not answer).
pub(super) async fn server_credentials(st: &crate::sso::SsoState) -> Option<u64> {
    let c = st.endpoint.connect_once().await.ok()?;
    habench_workloads::sso::credentials(&c).await.ok().map(|n| n as u64)
}
