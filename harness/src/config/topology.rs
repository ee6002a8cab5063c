//! A topology's configuration: the scenario's `[topology]` table, then the flags on top.

use std::time::Duration;

use crate::config::scenario::TopologySection;
use crate::config::{Origin, TopologyOverrides};
use crate::error::{Error, Result};
use crate::topology::{ParallelSpec, TopologyKind, TopologySpec};

/// The scenario's values for `spec`, when its table describes this kind (synchronous_commit,
/// settings, pins and links apply whatever the kind).
pub(super) fn from_section(
    mut spec: TopologySpec,
    section: Option<&TopologySection>,
    at: &Origin<'_>,
) -> Result<TopologySpec> {
    let Some(t) = section else { return Ok(spec) };
    if t.kind == spec.kind {
        if let Some(n) = t.standbys {
            spec.standbys = n;
        }
        if let Some(q) = t.quorum {
            spec.quorum = q;
        }
        if let Some(k) = t.sync_count {
            spec.sync_count = k;
        }
        if let Some(n) = t.nodes {
            spec.standbys = nodes_to_standbys(n, &at.key(false, "--nodes", "topology.nodes"))?;
        }
        if let Some(engine) = spec.engine.as_mut() {
            if let Some(m) = t.dcs_members {
                engine.dcs_members = m;
            }
            if let Some(m) = t.sync_mode {
                engine.sync_mode = m;
            }
            for (key, value) in &t.engine {
                let text = match value {
                    toml::Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                let (k, v) = crate::patroni::parse_engine_set(&format!("{key}={text}"))
                    .map_err(|e| Error::config(at.key(false, "--engine-set", "topology.engine"), e))?;
                engine.engine_set.insert(k, v);
            }
        }
        if spec.kind == TopologyKind::PgAutoFailover {
            let key = at.key(false, "--engine-set", "topology.engine");
            for (k, v) in &t.engine {
                let v = serde_json::to_value(v).map_err(|e| Error::config(key.clone(), e.to_string()))?;
                spec.auto_failover.set(k, &v).map_err(|e| Error::config(key.clone(), e))?;
            }
        }
        if let Some(a) = t.archive_timeout {
            spec.archive_timeout = whole_seconds(a.0)
                .map_err(|e| Error::config(at.key(false, "--archive-timeout", "topology.archive_timeout"), e))?;
        }
    }
    if let Some(level) = t.sync_commit {
        spec.sync_commit = Some(level);
    }
    for (k, v) in t.settings() {
        spec.pg_settings.set(&k, v);
    }
    for (node, cpus) in &t.pin {
        let cpus = crate::topology::spec::parse_cpu_list(cpus)
            .map_err(|e| Error::config(at.key(false, "--pin", "topology.pin"), format!("{node}: {e}")))?;
        spec.pin.insert(node.clone(), cpus);
    }
    for (node, link) in &t.links {
        let link = crate::link::LinkSpec::parse(link)
            .map_err(|e| Error::config(at.key(false, "--link", "topology.links"), format!("{node}: {e}")))?;
        spec.links.insert(node.clone(), link);
    }
    if let Some(net) = t.net {
        spec.net = net;
    }
    Ok(spec)
}

/// `--topology parallel`: the groups' own topology from the scenario's table (its keys describe
/// a group) and the flags, and the balancer's probe.
pub(super) fn parallel(
    section: Option<&TopologySection>,
    flags: &TopologyOverrides,
    at: &Origin<'_>,
) -> Result<TopologySpec> {
    let group_kind = flags.group_topology.or(section.and_then(|t| t.group_topology)).unwrap_or(TopologyKind::Single);
    let group_section = section.map(|t| TopologySection { kind: group_kind, ..t.clone() });
    let group = from_section(TopologySpec::new(group_kind), group_section.as_ref(), at)?;
    let group = apply(group, flags)?;
    let probe_interval = flags
        .balancer_probe
        .or(section.and_then(|t| t.balancer_probe.map(|d| d.0)))
        .unwrap_or(ParallelSpec::DEFAULT_PROBE_INTERVAL);
    let probe_threshold = flags
        .balancer_threshold
        .or(section.and_then(|t| t.balancer_threshold))
        .unwrap_or(ParallelSpec::DEFAULT_PROBE_THRESHOLD);
    let mut spec = TopologySpec::new(TopologyKind::Parallel);
    spec.parallel = Some(ParallelSpec {
        groups: flags.groups.or(section.and_then(|t| t.groups)).unwrap_or(2),
        group: Box::new(group),
        probe_interval,
        probe_threshold,
    });
    spec.validate()?;
    Ok(spec)
}

/// The parallel keys and flags belong to `--topology parallel` only.
pub(super) fn refuse_parallel_keys(
    kind: TopologyKind,
    section: Option<&TopologySection>,
    flags: &TopologyOverrides,
    at: &Origin<'_>,
) -> Result<()> {
    let given = [
        ("--groups", "topology.groups", flags.groups.is_some(), section.is_some_and(|t| t.groups.is_some())),
        (
            "--group-topology",
            "topology.group_topology",
            flags.group_topology.is_some(),
            section.is_some_and(|t| t.group_topology.is_some()),
        ),
        (
            "--balancer-probe",
            "topology.balancer_probe",
            flags.balancer_probe.is_some(),
            section.is_some_and(|t| t.balancer_probe.is_some()),
        ),
        (
            "--balancer-threshold",
            "topology.balancer_threshold",
            flags.balancer_threshold.is_some(),
            section.is_some_and(|t| t.balancer_threshold.is_some()),
        ),
    ];
    match given.iter().find(|(_, _, flag, key)| *flag || *key) {
        Some((flag, key, by_flag, _)) => {
            Err(Error::config(at.key(*by_flag, flag, key), format!("applies to --topology parallel only, not {kind}")))
        }
        None => Ok(()),
    }
}

/// A Patroni cluster of `n` nodes has `n - 1` replicas (the topology's standbys).
fn nodes_to_standbys(n: u8, field: &str) -> Result<u8> {
    if !(2..=9).contains(&n) {
        return Err(Error::config(
            field,
            format!("{n} nodes asked; patroni and pg_auto_failover take 2 to 9 (one primary, 1-8 replicas)"),
        ));
    }
    Ok(n - 1)
}

/// PostgreSQL's archive_timeout is whole seconds: anything else is refused, not truncated.
pub(crate) fn whole_seconds(d: Duration) -> std::result::Result<Duration, String> {
    if d.subsec_nanos() != 0 || d.is_zero() || d > Duration::from_secs(3600) {
        return Err(format!(
            "archive_timeout is whole seconds from 1s to 3600s (PostgreSQL's unit); {d:?} is not: write e.g. 1s or 2s"
        ));
    }
    Ok(d)
}

/// Applies the flags given on top of `spec` (a default or a scenario's), then validates.
/// Over 80 lines: one flag after another, each checked against the kind with its own error.
pub(crate) fn apply(mut spec: TopologySpec, flags: &TopologyOverrides) -> Result<TopologySpec> {
    let kind = spec.kind;
    if let Some(n) = flags.standbys {
        spec.standbys = n;
    }
    if kind != TopologyKind::Sync && flags.quorum.is_some() {
        let hint = if kind == TopologyKind::Patroni { "; patroni takes --sync-mode quorum" } else { "" };
        return Err(Error::config("--quorum", format!("applies to sync only, not {kind}{hint}")));
    }
    if !matches!(kind, TopologyKind::Sync | TopologyKind::Patroni) && flags.sync_count.is_some() {
        return Err(Error::config("--sync-count", format!("applies to sync and patroni only, not {kind}")));
    }
    if kind == TopologyKind::PgAutoFailover {
        if flags.standbys.is_some() {
            return Err(Error::config("--standbys", "pg_auto_failover counts data nodes: use --nodes N (2-9)"));
        }
        if let Some(n) = flags.nodes {
            spec.standbys = nodes_to_standbys(n, "--nodes")?;
        }
        for (k, v) in &flags.engine_set {
            spec.auto_failover.set(k, v).map_err(|e| Error::config("--engine-set", e))?;
        }
        if let Some(n) = spec.auto_failover.unknown_node(&spec.node_names()) {
            let names = spec.node_names().join(", ");
            return Err(Error::config("--engine-set", format!("no data node is named {n}; the nodes are {names}")));
        }
    }
    if kind == TopologyKind::Patroni {
        if flags.standbys.is_some() {
            return Err(Error::config("--standbys", "patroni counts nodes: use --nodes N (2-9)"));
        }
        if let Some(n) = flags.nodes {
            spec.standbys = nodes_to_standbys(n, "--nodes")?;
        }
        let engine = spec.engine.get_or_insert_with(Default::default);
        if let Some(m) = flags.dcs_members {
            engine.dcs_members = m;
        }
        engine.rest_tls |= flags.rest_tls;
        if let Some(m) = flags.sync_mode {
            engine.sync_mode = m;
        }
        for (k, v) in &flags.engine_set {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            let (k, v) = crate::patroni::parse_engine_set(&format!("{k}={text}"))
                .map_err(|e| Error::config("--engine-set", e))?;
            engine.engine_set.insert(k, v);
        }
    } else {
        let engine_flags = [
            ("--nodes", flags.nodes.is_some() && kind != TopologyKind::PgAutoFailover),
            ("--dcs-members", flags.dcs_members.is_some()),
            ("--sync-mode", flags.sync_mode.is_some()),
            ("--engine-set", !flags.engine_set.is_empty() && kind != TopologyKind::PgAutoFailover),
            ("--rest-tls", flags.rest_tls),
        ];
        if let Some((flag, _)) = engine_flags.iter().find(|(_, given)| *given) {
            return Err(Error::config(*flag, format!("applies to patroni only, not {kind}")));
        }
    }
    if kind != TopologyKind::LogShipping && flags.archive_timeout.is_some() {
        return Err(Error::config("--archive-timeout", format!("applies to log-shipping only, not {kind}")));
    }
    if let Some(q) = flags.quorum {
        spec.quorum = q;
    }
    if let Some(k) = flags.sync_count {
        spec.sync_count = k;
    }
    if let Some(l) = flags.sync_commit {
        spec.sync_commit = Some(l);
    }
    if let Some(t) = flags.archive_timeout {
        spec.archive_timeout = whole_seconds(t).map_err(|e| Error::config("--archive-timeout", e))?;
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
    if let Some(net) = flags.net {
        spec.net = net;
    }
    spec.validate()?;
    Ok(spec)
}

#[cfg(test)]
mod parallel_tests {
    use std::time::Duration;

    use crate::config::{Overrides, RunConfig, Target};
    use crate::fault::FaultSpec;
    use crate::topology::TopologyKind;

    fn parallel() -> Overrides {
        Overrides { scenario: Some("quick".into()), topology: Some(TopologyKind::Parallel), ..Default::default() }
    }

    fn err(a: &Overrides) -> String {
        RunConfig::from_overrides(a).unwrap_err().to_string()
    }

    #[test]
    fn parallel_groups_default_to_two_single_groups_and_take_the_topology_flags_per_group() {
        let c = RunConfig::from_overrides(&parallel()).unwrap();
        let Target::Topology(spec) = &c.target else { panic!("{:?}", c.target) };
        let p = spec.parallel.as_ref().unwrap();
        assert_eq!((p.groups, p.group.kind, p.probe_threshold), (2, TopologyKind::Single, 2));
        let mut a = parallel();
        a.topology_flags.groups = Some(3);
        a.topology_flags.group_topology = Some(TopologyKind::Sync);
        a.topology_flags.standbys = Some(2);
        a.topology_flags.balancer_probe = Some(Duration::from_millis(200));
        a.faults = vec!["crash-group@2s:3s".parse::<FaultSpec>().unwrap()];
        let c = RunConfig::from_overrides(&a).unwrap();
        let Target::Topology(spec) = &c.target else { panic!() };
        let p = spec.parallel.as_ref().unwrap();
        assert_eq!((p.groups, p.group.kind, p.group.standbys), (3, TopologyKind::Sync, 2));
        assert_eq!(p.probe_interval, Duration::from_millis(200));
    }

    #[test]
    fn bad_parallel_setups_are_refused_with_the_flag_and_the_fix() {
        let mut a = parallel();
        a.topology_flags.groups = Some(1);
        let e = err(&a);
        assert!(e.contains("--groups") && e.contains("2 to 4") && e.contains("--topology single"), "{e}");
        a.topology_flags.groups = Some(5);
        assert!(err(&a).contains("--groups"));
        let mut a = parallel();
        a.topology_flags.group_topology = Some(TopologyKind::Patroni);
        assert!(err(&a).contains("--group-topology"), "{}", err(&a));
        let mut a = parallel();
        a.topology_flags.balancer_threshold = Some(0);
        assert!(err(&a).contains("--balancer-threshold"));
        // The parallel flags on another topology, and group faults without groups.
        let mut a = Overrides { scenario: Some("quick".into()), ..Default::default() };
        a.topology_flags.groups = Some(2);
        let e = err(&a);
        assert!(e.contains("--groups") && e.contains("--topology parallel only"), "{e}");
        let mut a = Overrides { scenario: Some("quick".into()), ..Default::default() };
        a.faults = vec!["crash-group@2s".parse::<FaultSpec>().unwrap()];
        assert!(err(&a).contains("use --topology parallel"), "{}", err(&a));
        // Faults of one primary on groups, and what groups cannot carry.
        let mut a = parallel();
        a.faults = vec!["kill-primary@2s".parse::<FaultSpec>().unwrap()];
        assert!(err(&a).contains("crash-group"), "{}", err(&a));
        let mut a = parallel();
        a.reports_on = Some(crate::config::ReportsOn::Primary);
        assert!(err(&a).contains("--reports-on"));
        let mut a = parallel();
        a.workload = Some(crate::config::WorkloadKind::Insert);
        assert!(err(&a).contains("--workload"));
        assert!("drain-group@2s".parse::<FaultSpec>().unwrap_err().contains("needs a duration"));
    }
}
