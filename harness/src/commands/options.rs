//! Flags to typed configuration, validated once; errors name the flag and the fix.

use crate::cli::{
    ArrivalArg, DriverArg, EnvArgs, KindArg, QuorumArg, ReceiveLockArg, RunArgs, SsoArg, SyncCommitArg, TopologyFlags,
    WorkloadArg,
};
use crate::config::{Arrival, Driver, Overrides, RunConfig, TopologyOverrides, WorkloadKind};
use crate::error::Result;
use crate::pg::EnvOptions;
use crate::topology::{Quorum, SyncCommit, TopologyKind, TopologySpec};

pub(crate) fn env_options(args: &EnvArgs) -> EnvOptions {
    EnvOptions {
        pg_bin: args.pg_bin.clone(),
        pg_user: args.pg_user.clone(),
        work_dir: args.work_dir.clone(),
        ha_bin: args.ha_bin.clone(),
    }
}

pub(crate) fn kind(arg: KindArg) -> TopologyKind {
    match arg {
        KindArg::Single => TopologyKind::Single,
        KindArg::SharedDisk => TopologyKind::SharedDisk,
        KindArg::Sync => TopologyKind::Sync,
        KindArg::Async => TopologyKind::Async,
        KindArg::LogShipping => TopologyKind::LogShipping,
        KindArg::Patroni => TopologyKind::Patroni,
        KindArg::PgAutoFailover => TopologyKind::PgAutoFailover,
        KindArg::Parallel => TopologyKind::Parallel,
    }
}

pub(crate) fn quorum(arg: QuorumArg) -> Quorum {
    match arg {
        QuorumArg::Any => Quorum::Any,
        QuorumArg::First => Quorum::First,
    }
}

pub(crate) fn sync_commit(arg: SyncCommitArg) -> SyncCommit {
    match arg {
        SyncCommitArg::Off => SyncCommit::Off,
        SyncCommitArg::Local => SyncCommit::Local,
        SyncCommitArg::RemoteWrite => SyncCommit::RemoteWrite,
        SyncCommitArg::On => SyncCommit::On,
        SyncCommitArg::RemoteApply => SyncCommit::RemoteApply,
    }
}

/// The topology flags as the configuration takes them.
pub(crate) fn topology_overrides(flags: &TopologyFlags) -> TopologyOverrides {
    TopologyOverrides {
        standbys: flags.standbys,
        quorum: flags.quorum.map(quorum),
        sync_count: flags.sync_count,
        sync_commit: flags.sync_commit.map(sync_commit),
        archive_timeout: flags.archive_timeout,
        pg_set: flags.pg_set.clone(),
        pin: flags.pin.clone(),
        links: flags.links.clone(),
        client_link: flags.client_link,
        nodes: flags.nodes,
        dcs_members: flags.dcs_members,
        rest_tls: flags.rest_tls,
        sync_mode: flags.sync_mode,
        engine_set: flags.engine_set.clone(),
        groups: flags.groups,
        group_topology: flags.group_topology.map(kind),
        balancer_probe: flags.balancer_probe,
        balancer_threshold: flags.balancer_threshold,
        net: flags.net,
    }
}

/// `run`'s flags as the configuration takes them.
pub(crate) fn overrides(a: &RunArgs) -> Overrides {
    Overrides {
        scenario: a.scenario.clone(),
        topology: a.topology.map(kind),
        topology_flags: topology_overrides(&a.topology_flags),
        rate: a.rate,
        clients: a.clients,
        arrival: a.arrival.map(|x| match x {
            ArrivalArg::Uniform => Arrival::Uniform,
            ArrivalArg::Poisson => Arrival::Poisson,
        }),
        publishers: a.publishers,
        threads: a.threads,
        throttle: a.throttle,
        duration: a.duration,
        warmup: a.warmup,
        seed: a.seed,
        out: a.out.clone(),
        target_dsn: a.target_dsn.clone(),
        cluster: a.cluster.clone(),
        workload: a.workload.map(|w| match w {
            WorkloadArg::Messagebox => WorkloadKind::Messagebox,
            WorkloadArg::Insert => WorkloadKind::Insert,
        }),
        payload_bytes: a.payload_bytes,
        driver: a.driver.map(|d| match d {
            DriverArg::Wire => Driver::Wire,
            DriverArg::TokioPostgres => Driver::TokioPostgres,
        }),
        op_timeout: a.op_timeout,
        sync_wait_timeout: a.sync_wait_timeout,
        faults: a.faults.clone(),
        probe_interval: a.probe_interval,
        probe_threshold: a.probe_threshold,
        manual_delay: a.manual_delay,
        no_heal: a.no_heal,
        no_fence: a.no_fence,
        trials: a.trials,
        keep: a.keep,
        max_harness_stall: a.max_harness_stall,
        exactly_once: a.exactly_once,
        reports_on: a.reports_on,
        report_rate: a.report_rate,
        report_clients: a.report_clients,
        report_mix: a.report_mix,
        report_standbys: a.report_standbys.clone(),
        receive: crate::config::receive::ReceiveOverrides {
            instances: a.receive_instances,
            lock: a.receive_lock.map(|l| match l {
                ReceiveLockArg::None => crate::config::ReceiveLock::None,
                ReceiveLockArg::Exclusive => crate::config::ReceiveLock::Exclusive,
                ReceiveLockArg::Clustered => crate::config::ReceiveLock::Clustered,
            }),
        },
        sso: crate::config::sso::SsoOverrides {
            mode: a.sso.map(|m| match m {
                SsoArg::None => crate::config::SsoMode::None,
                SsoArg::Separate => crate::config::SsoMode::Separate,
                SsoArg::CoLocated => crate::config::SsoMode::CoLocated,
            }),
            refresh: a.sso_refresh,
        },
        quiet: a.quiet,
    }
}

/// The run's configuration (the first variant) from its flags.
pub fn run_config(args: &RunArgs) -> Result<RunConfig> {
    RunConfig::from_overrides(&overrides(args))
}

/// `topology up KIND [flags]`.
pub(crate) fn topology_spec(kind_arg: KindArg, flags: &TopologyFlags) -> Result<TopologySpec> {
    crate::config::topology::apply(TopologySpec::new(kind(kind_arg)), &topology_overrides(flags))
}
