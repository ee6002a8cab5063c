//! Flags to typed configuration, validated once; errors name the flag and the fix.

use crate::cli::{EnvArgs, KindArg, QuorumArg, SyncCommitArg, TopologyFlags};
use crate::error::{Error, Result};
use crate::pg::EnvOptions;
use crate::topology::{Quorum, SyncCommit, TopologyKind, TopologySpec};

pub fn env_options(args: &EnvArgs) -> EnvOptions {
    EnvOptions { pg_bin: args.pg_bin.clone(), pg_user: args.pg_user.clone(), work_dir: args.work_dir.clone() }
}

pub fn kind(arg: KindArg) -> TopologyKind {
    match arg {
        KindArg::Single => TopologyKind::Single,
        KindArg::SharedDisk => TopologyKind::SharedDisk,
        KindArg::Sync => TopologyKind::Sync,
        KindArg::Async => TopologyKind::Async,
        KindArg::LogShipping => TopologyKind::LogShipping,
    }
}

pub fn quorum(arg: QuorumArg) -> Quorum {
    match arg {
        QuorumArg::Any => Quorum::Any,
        QuorumArg::First => Quorum::First,
    }
}

pub fn sync_commit(arg: SyncCommitArg) -> SyncCommit {
    match arg {
        SyncCommitArg::Off => SyncCommit::Off,
        SyncCommitArg::Local => SyncCommit::Local,
        SyncCommitArg::RemoteWrite => SyncCommit::RemoteWrite,
        SyncCommitArg::On => SyncCommit::On,
        SyncCommitArg::RemoteApply => SyncCommit::RemoteApply,
    }
}

/// Applies the flags given on top of `spec` (a default or a scenario's), then validates.
pub fn apply_topology_flags(mut spec: TopologySpec, flags: &TopologyFlags) -> Result<TopologySpec> {
    let kind = spec.kind;
    if let Some(n) = flags.standbys {
        spec.standbys = n;
    }
    if kind != TopologyKind::Sync {
        if flags.quorum.is_some() {
            return Err(Error::config("--quorum", format!("applies to sync only, not {kind}")));
        }
        if flags.sync_count.is_some() {
            return Err(Error::config("--sync-count", format!("applies to sync only, not {kind}")));
        }
    }
    if kind != TopologyKind::LogShipping && flags.archive_timeout.is_some() {
        return Err(Error::config("--archive-timeout", format!("applies to log-shipping only, not {kind}")));
    }
    if let Some(q) = flags.quorum {
        spec.quorum = quorum(q);
    }
    if let Some(k) = flags.sync_count {
        spec.sync_count = k;
    }
    if let Some(l) = flags.sync_commit {
        spec.sync_commit = Some(sync_commit(l));
    }
    if let Some(t) = flags.archive_timeout {
        spec.archive_timeout = t;
    }
    for (name, value) in &flags.pg_set {
        spec.pg_settings.set(name, value.clone());
    }
    for (node, cpus) in &flags.pin {
        spec.pin.insert(node.clone(), cpus.clone());
    }
    for (node, link) in &flags.links {
        spec.links.insert(node.clone(), *link);
    }
    if let Some(l) = flags.client_link {
        spec.client_link = Some(l);
    }
    spec.validate()?;
    Ok(spec)
}

/// `topology up KIND [flags]`.
pub fn topology_spec(kind_arg: KindArg, flags: &TopologyFlags) -> Result<TopologySpec> {
    apply_topology_flags(TopologySpec::new(kind(kind_arg)), flags)
}
