//! What a run is against: a topology habench starts, an existing server, or a cluster file;
//! and what a topology's faults and groups need of it.

use crate::config::{scenario, topology, Origin, Overrides, ReportsOn, RunConfig, SsoMode, WorkloadKind};
use crate::error::{Error, Result};
use crate::pg::dsn;
use crate::topology::{TopologyKind, TopologySpec};
use serde::Serialize;

/// What the load is run against.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A topology habench starts.
    Topology(TopologySpec),
    /// An existing server (`--target-dsn`), parsed once; serialized without its password.
    Dsn { dsn: dsn::UserDsn },
    /// A cluster that runs elsewhere (`--cluster FILE`); faults through its commands or REST API.
    Cluster { cluster: crate::cluster::ClusterFile },
}

impl Target {
    /// The kind of topology habench starts (None: a server or cluster it does not start).
    pub(crate) fn topology_kind(&self) -> Option<TopologyKind> {
        match self {
            Target::Topology(s) => Some(s.kind),
            Target::Dsn { .. } | Target::Cluster { .. } => None,
        }
    }
}

/// Over 80 lines: where the target comes from (DSN, cluster file, topology), then what the
/// faults ask of the topology (links, a partitionable engine, namespaces), each with its error.
pub(crate) fn target(
    args: &Overrides,
    at: &Origin<'_>,
    section: Option<&scenario::TopologySection>,
    faults: &[crate::fault::FaultSpec],
) -> Result<Target> {
    if let Some(path) = &args.cluster {
        let flags = &args.topology_flags;
        if flags.standbys.is_some() || flags.sync_commit.is_some() || !flags.pg_set.is_empty() || flags.nodes.is_some()
        {
            return Err(Error::config(
                "--cluster",
                "runs against a cluster that already runs: habench starts nothing, so drop the topology flags",
            ));
        }
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::config("--cluster", format!("{shown}: {e}")))?;
        let cluster = crate::cluster::ClusterFile::parse(&shown, &text).map_err(|e| Error::config("--cluster", e))?;
        return Ok(Target::Cluster { cluster });
    }
    if let Some(raw) = &args.target_dsn {
        let parsed = dsn::UserDsn::parse(raw).map_err(|e| Error::config("--target-dsn", e))?;
        let flags = &args.topology_flags;
        if flags.standbys.is_some() || flags.sync_commit.is_some() || !flags.pg_set.is_empty() {
            return Err(Error::config(
                "--target-dsn",
                "runs against an existing server: habench starts no topology, so drop --standbys, --sync-commit and --pg-set",
            ));
        }
        return Ok(Target::Dsn { dsn: parsed });
    }
    let kind = match (args.topology, section) {
        (Some(k), _) => k,
        (None, Some(t)) => t.kind,
        (None, None) => TopologyKind::Single,
    };
    let mut spec = if kind == TopologyKind::Parallel {
        topology::parallel(section, &args.topology_flags, at)?
    } else {
        topology::refuse_parallel_keys(kind, section, &args.topology_flags, at)?;
        let spec = topology::from_section(TopologySpec::new(kind), section, at)?;
        topology::apply(spec, &args.topology_flags)?
    };
    for f in faults {
        f.kind
            .applies_to(spec.kind)
            .map_err(|e| Error::config(at.key(!args.faults.is_empty(), "--fault", "faults"), e))?;
    }
    // A partitioned Patroni node needs links around every node (postgres, REST, DCS), unless
    // every node is a host of its own (the partition is then kernel rules).
    let on_loopback = spec.net.is_loopback();
    if let (Some(engine), true) = (
        spec.engine.as_mut(),
        on_loopback && faults.iter().any(|f| f.kind == crate::fault::FaultKind::PartitionPrimary),
    ) {
        if engine.engine_set.get("failsafe_mode").and_then(|v| v.as_bool()) == Some(true) {
            return Err(Error::config(
                at.key(!args.faults.is_empty(), "--fault", "faults"),
                "partition-primary with failsafe_mode on: the partitioned leader would still reach the other \
                 members' REST API (links are emulated per node, not per pair), so the partition would be \
                 incomplete; drop failsafe_mode=true for this fault",
            ));
        }
        engine.links = true;
    }
    // On namespaces the partitions are nftables rules; a slow link needs the link emulator.
    let namespaces = spec.net == crate::topology::NetMode::Namespaces;
    // A partitioned pg_auto_failover node needs links around every node (postgres, monitor),
    // unless the nodes are hosts of a network.
    if spec.kind == TopologyKind::PgAutoFailover
        && !namespaces
        && faults.iter().any(|f| f.kind == crate::fault::FaultKind::PartitionPrimary)
    {
        spec.auto_failover.links = true;
    }
    // Network faults are rules between hosts: every node a host of its own, and the shape
    // resolvable on this topology's nodes (the primary first).
    for f in faults {
        let Some(net) = &f.net else { continue };
        let field = at.key(!args.faults.is_empty(), "--fault", "faults");
        if !namespaces {
            return Err(Error::config(
                field,
                format!(
                    "{}={net} acts on a network of hosts: add --net namespaces (net = \"namespaces\" under [topology])",
                    f.kind
                ),
            ));
        }
        let dcs = match &spec.engine {
            Some(e) if spec.kind == TopologyKind::Patroni => crate::patroni::etcd::member_names(e.dcs_members),
            _ if spec.kind == TopologyKind::PgAutoFailover => vec![crate::autofailover::MONITOR.to_string()],
            _ => Vec::new(),
        };
        let hosts = crate::fault::net_shape::Hosts { nodes: spec.node_names(), dcs };
        crate::fault::net_shape::resolve(net, &hosts)
            .map_err(|e| Error::config(field, format!("{}={net}: {e}", f.kind)))?;
    }
    // Faults on links need links: zero-delay ones where none were given (on namespaces only a
    // slow link: the partitions there are the kernel's).
    if matches!(spec.kind, TopologyKind::Sync | TopologyKind::Async) {
        let needs = |k: crate::fault::FaultKind| {
            if namespaces {
                k == crate::fault::FaultKind::SlowLink
            } else {
                k.needs_links()
            }
        };
        if faults.iter().any(|f| needs(f.kind)) {
            for name in spec.node_names().into_iter().skip(1) {
                spec.links.entry(name).or_default();
            }
        }
        if !namespaces && faults.iter().any(|f| f.kind.needs_client_links()) {
            spec.client_link.get_or_insert_with(Default::default);
        }
    }
    Ok(Target::Topology(spec))
}

/// What parallel groups run: the MessageBox's own publishers and host instances, per group.
pub(crate) fn check_parallel(cfg: &RunConfig) -> Result<()> {
    let Target::Topology(spec) = &cfg.target else { return Ok(()) };
    if spec.kind != TopologyKind::Parallel {
        return Ok(());
    }
    let refuse = |field: &str, why: &str| Err(Error::config(field, format!("{why} (--topology parallel)")));
    if cfg.workload.kind != WorkloadKind::Messagebox {
        return refuse("--workload", "parallel groups spread MessageBox publishes: use --workload messagebox");
    }
    if cfg.reports.on != ReportsOn::None {
        return refuse("--reports-on", "report queries are not spread over groups: use --reports-on none");
    }
    if cfg.receive.is_some() {
        return refuse("[receive]", "a receive location feeds one MessageBox: run the receive scenario on one group");
    }
    if cfg.sso.as_ref().is_some_and(|s| s.mode == SsoMode::CoLocated) {
        return refuse(
            "--sso",
            "co-located puts the secret on one MessageBox cluster and parallel groups have several: use --sso separate",
        );
    }
    if cfg.throttle.is_some() {
        return refuse("--throttle", "each group's MessageBox would throttle on its own; drop --throttle");
    }
    Ok(())
}
