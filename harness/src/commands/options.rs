//! Flags to typed configuration, validated once; errors name the flag and the fix.

use crate::cli::{EnvArgs, KindArg, QuorumArg, SyncCommitArg, TopologyArgs};
use crate::error::{Error, Result};
use crate::pg::EnvOptions;
use crate::topology::{Quorum, SyncCommit, TopologyKind, TopologySpec};

pub fn env_options(args: &EnvArgs) -> EnvOptions {
    EnvOptions { pg_bin: args.pg_bin.clone(), pg_user: args.pg_user.clone(), work_dir: args.work_dir.clone() }
}

pub fn topology_spec(args: &TopologyArgs) -> Result<TopologySpec> {
    let kind = match args.kind {
        KindArg::Single => TopologyKind::Single,
        KindArg::SharedDisk => TopologyKind::SharedDisk,
        KindArg::Sync => TopologyKind::Sync,
        KindArg::Async => TopologyKind::Async,
        KindArg::LogShipping => TopologyKind::LogShipping,
    };
    let mut spec = TopologySpec::new(kind);
    if let Some(n) = args.standbys {
        spec.standbys = n;
    }
    if kind != TopologyKind::Sync {
        if args.quorum.is_some() {
            return Err(Error::config("--quorum", format!("applies to sync only, not {kind}")));
        }
        if args.sync_count.is_some() {
            return Err(Error::config("--sync-count", format!("applies to sync only, not {kind}")));
        }
    }
    if kind != TopologyKind::LogShipping && args.archive_timeout.is_some() {
        return Err(Error::config("--archive-timeout", format!("applies to log-shipping only, not {kind}")));
    }
    spec.quorum = match args.quorum {
        Some(QuorumArg::Any) => Quorum::Any,
        Some(QuorumArg::First) | None => Quorum::First,
    };
    spec.sync_count = args.sync_count.unwrap_or(1);
    spec.sync_commit = args.sync_commit.map(|l| match l {
        SyncCommitArg::Off => SyncCommit::Off,
        SyncCommitArg::Local => SyncCommit::Local,
        SyncCommitArg::RemoteWrite => SyncCommit::RemoteWrite,
        SyncCommitArg::On => SyncCommit::On,
        SyncCommitArg::RemoteApply => SyncCommit::RemoteApply,
    });
    if let Some(t) = args.archive_timeout {
        spec.archive_timeout = t;
    }
    for (name, value) in &args.pg_set {
        spec.pg_settings.set(name, value.clone());
    }
    spec.validate()?;
    Ok(spec)
}
