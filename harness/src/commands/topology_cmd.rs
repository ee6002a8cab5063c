//! `habench topology up|clean`.

use std::io::Write;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use tokio::signal::unix::{signal, SignalKind};

use crate::cli::{EnvArgs, UpArgs};
use crate::commands::options;
use crate::pg::PgEnv;
use crate::topology::{describe, AnyTopology, TopologyInfo};

#[derive(Serialize)]
struct UpLine {
    #[serde(flatten)]
    info: TopologyInfo,
    /// Bring-up time: from the command's start of work to every node ready.
    up_ms: f64,
}

/// Brings a topology up, prints it as one JSON line and keeps it until SIGINT or SIGTERM.
pub(crate) async fn up(args: UpArgs) -> anyhow::Result<()> {
    let spec = options::topology_spec(args.kind, &args.topology)?;
    let env = PgEnv::discover(&options::env_options(&args.env))?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let t0 = Instant::now();
    // A signal during bring-up drops the half-built topology, which stops what it started.
    let mut topo = tokio::select! {
        t = AnyTopology::up(env, spec) => t.context("bringing the topology up")?,
        _ = sigint.recv() => return Ok(()),
        _ = sigterm.recv() => return Ok(()),
    };
    let up_ms = t0.elapsed().as_secs_f64() * 1e3;
    if let Some(path) = &args.cluster_file {
        let text = match &topo {
            AnyTopology::Patroni(p) => p.cluster_file(),
            AnyTopology::AutoFailover(a) => a.cluster_file(),
            _ => anyhow::bail!(
                "--cluster-file: only a patroni or pg_auto_failover topology is written as a cluster file"
            ),
        };
        crate::store::write_atomic(path, text.as_bytes())
            .with_context(|| format!("--cluster-file: writing {}", path.display()))?;
        // With --rest-tls it holds the REST API's password: for its owner only.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("--cluster-file: chmod {}", path.display()))?;
    }
    let info = describe(topo.as_topology_mut()).await;
    let line = serde_json::to_string(&UpLine { info, up_ms })?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    tokio::select! {
        _ = sigint.recv() => {}
        _ = sigterm.recv() => {}
    }
    tracing::info!("signal received: tearing down");
    drop(topo);
    tracing::debug!("torn down");
    Ok(())
}

/// Stops servers and removes directories of habench processes that are gone.
pub(crate) async fn clean(args: EnvArgs) -> anyhow::Result<()> {
    let env = PgEnv::discover(&options::env_options(&args))?;
    let mut swept = env.root.sweep_leftovers().await;
    // Networks of namespaces whose owner is gone (`--net namespaces`).
    swept.extend(tokio::task::spawn_blocking(crate::netns::sweep).await.unwrap_or_default());
    if swept.is_empty() {
        println!("nothing to clean in {}", env.root.path().display());
    }
    for line in swept {
        println!("{line}");
    }
    Ok(())
}
