//! One run, phase by phase: servers up (or reused), what they are, results begun, load measured,
//! what survived checked, results and report written.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{bail, Context};
use tokio::sync::watch;

use crate::analysis::lost_writes::TimelineSwitch;
use crate::analysis::run_summary as summary;
use crate::analysis::trials;
use crate::cli::RunArgs;
use crate::cluster::External;
use crate::commands::options;
use crate::config::{Load, ReportsOn, RunConfig, Target, WorkloadKind};
use crate::export::manifest::{Manifest, GIT_COMMIT, VERSION};
use crate::export::timeline_csv;
use crate::failover::{FailoverPlan, SharedTopology};
use crate::measure::Op;
use crate::pg::{Endpoint, PgEnv};
use crate::run_result::RunResult;
use crate::runner::{self, reporter::ReportPlan};
use crate::store::{LedgerSummary, ResultsDir};
use crate::summary::{CheckSection, Environment, OutputProblem, OutputsSection, Setup, Summary};
use crate::topology::{describe, AnyTopology};
use habench_workloads::checker;

pub(super) fn target_name(cfg: &RunConfig) -> String {
    match &cfg.target {
        Target::Topology(s) => s.kind.as_str().to_string(),
        Target::Dsn { .. } => "target-dsn".to_string(),
        Target::Cluster { .. } => "cluster".to_string(),
    }
}

/// The servers a run hands back (dropping them stops them): its topology, which the next run may
/// reuse, or its parallel groups; and its separate SSO secret server. `--keep` keeps them all.
pub(super) struct Servers {
    pub topology: Option<SharedTopology>,
    pub groups: Option<super::run_groups::Groups>,
    pub sso: Option<super::run_sso::SharedSso>,
}

/// One run: servers up (or the `existing` ones), schema, load (with its faults), check, results
/// written. Returns the final summary, and the servers.
pub(super) async fn run_once(
    cfg: Arc<RunConfig>,
    args: &RunArgs,
    mut dir: ResultsDir,
    abort_rx: watch::Receiver<bool>,
    existing: Option<SharedTopology>,
) -> anyhow::Result<(Summary, Servers)> {
    let run_id = dir.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let cfg = with_receive_dir(cfg, dir.path())?;
    let mut manifest = new_manifest(&cfg, &run_id);
    dir.write_json("manifest.json", &serde_json::to_value(&manifest)?)?;

    // The servers, shared with the orchestrator; dropped at the end: every server stopped.
    // Parallel groups start afresh in every run (nothing of them is handed back for reuse).
    let groups = super::run_groups::start(&cfg, args, abort_rx.clone()).await?;
    let (topology, cluster, endpoint) = match &groups {
        Some(g) => (None, None, g.balancer.groups()[0].endpoint.clone()),
        None => servers(&cfg, args, existing, abort_rx.clone()).await?,
    };
    // A separate SSO secret server beside them (dropped with them).
    let sso = super::run_sso::start(&cfg, args).await?;
    if let Some(s) = &sso {
        manifest.sso_server = Some(crate::topology::node_info(s.lock().await.node_mut(), None).await);
    }
    manifest.cluster = cluster.as_ref().map(|c| c.info().clone());
    if let Some(c) = &cluster {
        c.log_commands_to(dir.path().join("commands.log"));
    }
    let (report_plan, primary_node) = match &groups {
        Some(g) => {
            super::run_groups::inspect(&cfg, g, &mut manifest).await?;
            (ReportPlan::default(), None)
        }
        None => inspect(&cfg, topology.as_ref(), &endpoint, &mut manifest).await?,
    };
    dir.write_json("manifest.json", &serde_json::to_value(&manifest)?)?;

    let sso_endpoint = super::run_sso::install(&cfg, sso.as_ref(), &endpoint).await?;
    let header = begin_results(&cfg, run_id, &endpoint, &mut dir).await?;
    let (ledger_tx, ledger_rx) = runner::ledger::channel();
    let ledger_task = dir.spawn_ledger_writer(ledger_rx, cfg.workload.messagebox.hosts.len())?;
    if !cfg.quiet {
        eprintln!("habench: {} on {} -> {}", describe_load(&cfg), header.topology, dir.path().display());
    }
    let plan = FailoverPlan {
        faults: cfg.faults.clone(),
        orchestrator: cfg.orchestrator.clone(),
        topology: topology.clone(),
        cluster: cluster.clone(),
        write_endpoint: endpoint.clone(),
        sso: sso.clone(),
        groups: groups.as_ref().map(|g| g.handles()).unwrap_or_default(),
        messagebox: cfg.workload.messagebox.clone(),
    };
    let balancer = groups.as_ref().map(|g| g.balancer.clone());
    let endpoints = runner::Endpoints { write: endpoint.clone(), sso: sso_endpoint, balancer };
    let result = runner::run(cfg.clone(), endpoints, ledger_tx, &mut dir, abort_rx, Some(plan), report_plan).await;
    // A user's command still running (its fault's wait ended with the run) goes with its group.
    if let Some(n) = cluster.as_ref().map(|c| c.kill_running_commands()).filter(|n| *n > 0) {
        tracing::warn!("{n} cluster-file command(s) still running at the run's end were killed");
    }
    let ledger = ledger_task.await.context("ledger writer")?.context("writing ledger.csv")?;
    let mut final_summary = summary::final_summary(&header, &result, &crate::timefmt::rfc3339(SystemTime::now()));
    let survivors = match &groups {
        Some(g) => Survivors::Groups(g),
        None => Survivors::Endpoint(&endpoint),
    };
    analyse(&cfg, &manifest, &result, &ledger, survivors, primary_node.as_deref(), &mut final_summary).await;
    let outputs = last_files(&mut dir, &ledger, &result);
    let final_summary = write_outputs(&dir, final_summary, outputs, cfg.quiet);
    Ok((final_summary, Servers { topology, groups, sso }))
}

/// The manifest as it is known before any server starts.
fn new_manifest<'a>(cfg: &'a RunConfig, run_id: &str) -> Manifest<'a> {
    Manifest {
        habench_version: VERSION,
        git_commit: GIT_COMMIT,
        created_at: crate::timefmt::rfc3339(SystemTime::now()),
        run_id: run_id.to_string(),
        seed: cfg.seed,
        config: cfg,
        machine: crate::sysinfo::machine(),
        load_at_start: crate::sysinfo::load(),
        postgres_version: None,
        topology: None,
        cluster: None,
        sso_server: None,
        groups: Vec::new(),
        server_settings: BTreeMap::new(),
        physical_floor: None,
    }
}

/// The files written after the load (receive.csv), the ledger and the interval files closed;
/// what is missing or cut.
fn last_files(dir: &mut ResultsDir, ledger: &LedgerSummary, result: &RunResult) -> OutputsSection {
    let mut outputs = OutputsSection::default();
    let problem = |file: &str, why: String| OutputProblem { file: file.to_string(), why };
    if let Some(why) = &ledger.cut {
        outputs.cut.push(problem("ledger.csv", why.clone()));
    }
    if let Some(r) = &result.receive {
        let csv = crate::export::receive_csv::render(r);
        if let Err(e) = crate::store::write_atomic(&dir.path().join("receive.csv"), csv.as_bytes()) {
            outputs.missing.push(problem("receive.csv", e.to_string()));
        }
    }
    outputs.cut.extend(dir.finish().into_iter().map(|(file, why)| problem(&file, why)));
    outputs
}

/// The final summary, then the report (which reads it): each written whole or not at all. What
/// is missing or cut is named in the summary (rewritten after the report when the report lacks
/// something) and, when the summary itself cannot be written, on the terminal.
fn write_outputs(dir: &ResultsDir, measured: Summary, mut outputs: OutputsSection, quiet: bool) -> Summary {
    let write = |outputs: &OutputsSection| {
        let mut s = measured.clone();
        s.note_outputs(outputs);
        let written = dir.write_summary(&s);
        (s, written)
    };
    let (mut summary, mut written) = write(&outputs);
    if let Err(e) = &written {
        outputs.missing.push(OutputProblem { file: "summary.json".into(), why: e.to_string() });
        for file in ["report.md", "report.html"] {
            let why = "not written: the report is made from summary.json".to_string();
            outputs.missing.push(OutputProblem { file: file.into(), why });
        }
        summary.note_outputs(&outputs);
    }
    if written.is_ok() {
        let before = outputs.missing.len();
        match crate::report::write(dir.path()) {
            Ok(out) => {
                if !quiet {
                    out.warnings.iter().for_each(|w| eprintln!("habench: warning: {w}"));
                }
                for (file, why) in out.missing {
                    outputs.missing.push(OutputProblem { file, why });
                }
            }
            Err(e) => {
                for file in ["report.md", "report.html"] {
                    outputs.missing.push(OutputProblem { file: file.into(), why: e.clone() });
                }
            }
        }
        if outputs.missing.len() > before {
            (summary, written) = write(&outputs);
            if let Err(e) = &written {
                outputs.missing.push(OutputProblem { file: "summary.json (final)".into(), why: e.to_string() });
                summary.note_outputs(&outputs);
            }
        }
    }
    if !outputs.is_empty() {
        let kept = if written.is_ok() { "named in summary.json" } else { "summary.json holds the last partial one" };
        eprintln!("habench: {}: results folder incomplete ({kept}): {}", dir.path().display(), outputs.line());
    }
    summary
}

/// A receive location lives in the run's folder: `receive/`, made before anything starts.
fn with_receive_dir(cfg: Arc<RunConfig>, dir: &std::path::Path) -> anyhow::Result<Arc<RunConfig>> {
    let Some(rc) = &cfg.receive else { return Ok(cfg) };
    let location = dir.join("receive");
    std::fs::create_dir_all(&location)
        .with_context(|| format!("making the receive location {}", location.display()))?;
    let mut c = (*cfg).clone();
    c.receive = Some(crate::config::ReceiveConfig { dir: Some(location), ..rc.clone() });
    Ok(Arc::new(c))
}

/// The servers of the run (started, the `existing` ones, or a cluster that runs elsewhere) and
/// its write endpoint.
async fn servers(
    cfg: &RunConfig,
    args: &RunArgs,
    existing: Option<SharedTopology>,
    abort_rx: watch::Receiver<bool>,
) -> anyhow::Result<(Option<SharedTopology>, Option<Arc<External>>, Endpoint)> {
    if let Target::Cluster { cluster } = &cfg.target {
        let c = External::discover(cluster.clone()).await.context("discovering the cluster")?;
        let endpoint = Endpoint::new(c.write_config());
        return Ok((None, Some(Arc::new(c)), endpoint));
    }
    let (t, e) = match (&cfg.target, existing) {
        (Target::Topology(_), Some(t)) => {
            let dsn = t.lock().await.as_topology().write_dsn();
            (Some(t), Endpoint::new(dsn.parse::<tokio_postgres::Config>()?))
        }
        (Target::Topology(spec), None) => {
            let env = PgEnv::discover(&options::env_options(&args.env))?;
            let mut abort = abort_rx;
            let topo = tokio::select! {
                t = AnyTopology::up(env, spec.clone()) => t.context("bringing the topology up")?,
                _ = abort.changed() => bail!("interrupted while bringing the topology up"),
            };
            let dsn = topo.as_topology().write_dsn();
            (Some(Arc::new(tokio::sync::Mutex::new(topo))), Endpoint::new(dsn.parse::<tokio_postgres::Config>()?))
        }
        (Target::Dsn { dsn }, _) => (None, Endpoint::new(dsn.config().clone())),
        (Target::Cluster { .. }, _) => unreachable!("handled above"),
    };
    Ok((t, None, e))
}

/// The schema installed, a checkpoint, and what the servers are (version, nodes, settings,
/// physical floor) in the manifest; where report queries go.
async fn inspect(
    cfg: &RunConfig,
    topology: Option<&SharedTopology>,
    endpoint: &Endpoint,
    manifest: &mut Manifest<'_>,
) -> anyhow::Result<(ReportPlan, Option<String>)> {
    let client = endpoint.connect_once().await.context("connecting to the write endpoint")?;
    manifest.postgres_version = client.query_one("SELECT version()", &[]).await.ok().map(|r| r.get(0));
    habench_workloads::messagebox::install(&client, &cfg.workload.messagebox)
        .await
        .context("installing the MessageBox schema")?;
    // Every run starts from a checkpoint: the same start whether the servers are new or reused.
    client.batch_execute("CHECKPOINT").await.context("checkpoint before the run")?;
    let mut report_plan = ReportPlan::default();
    let mut primary_node = None;
    let mut fdatasync = (None, 0);
    match topology {
        Some(t) => {
            let mut t = t.lock().await;
            let t = t.as_topology_mut();
            manifest.topology = Some(describe(t).await);
            (report_plan, primary_node) = report_plan_for(cfg, t, endpoint);
            for node in t.nodes() {
                if let Ok(c) = node.connect().await {
                    manifest
                        .server_settings
                        .insert(node.name().to_string(), crate::pg::settings::non_default(&c).await);
                }
            }
            let primary = t.primary();
            fdatasync = crate::measure::floor::fdatasync(primary.env(), primary.data_dir()).await;
        }
        None => {
            manifest.server_settings.insert("target".into(), crate::pg::settings::non_default(&client).await);
            if cfg.reports.on == ReportsOn::Primary {
                report_plan.targets.push(runner::reporter::ReportTarget {
                    name: "primary".into(),
                    node: "target".into(),
                    endpoint: endpoint.clone(),
                    standby: false,
                });
            }
        }
    }
    manifest.physical_floor = Some(crate::measure::floor::Floor {
        fdatasync_us: fdatasync.0,
        fdatasync_measured_at: fdatasync.1,
        round_trip_us: crate::measure::floor::round_trip(&client).await,
    });
    Ok((report_plan, primary_node))
}

/// The per-interval files begun: their columns (operations, host queues, standbys) and the
/// summary's header.
async fn begin_results(
    cfg: &RunConfig,
    run_id: String,
    endpoint: &Endpoint,
    dir: &mut ResultsDir,
) -> anyhow::Result<summary::Header> {
    let (ops, hosts) = match cfg.workload.kind {
        WorkloadKind::Insert => (vec![Op::Insert], vec![]),
        WorkloadKind::Messagebox => {
            let mut ops = vec![Op::Publish, Op::Dequeue, Op::Complete, Op::Suspend, Op::EndToEnd, Op::Cleanup];
            if cfg.reports.on != ReportsOn::None {
                ops.push(Op::Report);
            }
            (ops, cfg.workload.messagebox.hosts.iter().map(|h| h.name.clone()).collect())
        }
    };
    // Parallel groups sample no replication lag (each group's standbys are its own).
    let parallel = matches!(&cfg.target, Target::Topology(s) if s.parallel.is_some());
    let standbys = match parallel {
        true => Vec::new(),
        false => runner::sampler::DbSampler::new(endpoint.clone()).standby_names().await,
    };
    let header = summary::Header {
        run_id,
        scenario: cfg.scenario.clone(),
        topology: target_name(cfg),
        workload: match cfg.workload.kind {
            WorkloadKind::Insert => "insert".into(),
            WorkloadKind::Messagebox => "messagebox".into(),
        },
        load: cfg.load.clone(),
        started_at: crate::timefmt::rfc3339(SystemTime::now()),
        seed: cfg.seed,
    };
    dir.begin(
        timeline_csv::Columns { ops, hosts, standbys, throttle: cfg.throttle.is_some() },
        header.clone(),
        SystemTime::now(),
    )?;
    Ok(header)
}

/// Where the checker reads what survived: the write endpoint, or every parallel group.
#[derive(Clone, Copy)]
enum Survivors<'a> {
    Endpoint(&'a Endpoint),
    Groups(&'a super::run_groups::Groups),
}

/// After the load: the summary's sections (setup, environment, check, CPU, reports, failover).
async fn analyse(
    cfg: &RunConfig,
    manifest: &Manifest<'_>,
    result: &RunResult,
    ledger: &LedgerSummary,
    survivors: Survivors<'_>,
    primary_node: Option<&str>,
    summary: &mut Summary,
) {
    summary.setup = Some(setup_section(cfg, manifest));
    summary.environment = Some(Environment {
        load_at_end: crate::sysinfo::load(),
        rss_bytes_at_end: crate::sysinfo::rss_bytes(),
        ledger_rows: ledger.rows,
    });
    if cfg.workload.kind == WorkloadKind::Messagebox {
        messagebox_sections(cfg, result, ledger, survivors, summary).await;
    }
    if let Some(t) = summary.two_primaries.as_mut() {
        t.names = server_names(manifest, &t.servers);
    }
    summary.receive = result
        .receive
        .as_ref()
        .zip(cfg.receive.as_ref())
        .map(|(r, rc)| crate::analysis::receive_check::section(rc, r, &result.events, &result.clock));
    if let (Some(st), Some(c)) = (&result.sso, &cfg.sso) {
        let mut section = crate::analysis::sso::section(c, st, &result.events, &result.clock);
        section.server_credentials = super::run_sso::server_credentials(st).await;
        summary.sso = Some(section);
    }
    let ok = |op| result.totals.op(op).map_or(0, |s| s.ok);
    let ops = (ok(Op::Publish) + ok(Op::Insert), ok(Op::EndToEnd));
    summary.cpu = result
        .cpu
        .as_ref()
        .map(|c| crate::analysis::reports::cpu_section(c, primary_node, crate::sysinfo::cores(), ops));
    summary.reports =
        result.reports.as_ref().map(|r| crate::analysis::reports::reports_section(&cfg.reports, r, result.measured_s));
    if !cfg.faults.is_empty() {
        summary.failover = Some(failover_section(cfg, manifest, result, ledger));
    }
}

/// The MessageBox's check against the survivors, and what it places on the run's time axis:
/// parallel groups, exposure windows, split brain, lost writes.
async fn messagebox_sections(
    cfg: &RunConfig,
    result: &RunResult,
    ledger: &LedgerSummary,
    survivors: Survivors<'_>,
    summary: &mut Summary,
) {
    let (check, lost_ids, switch, holds) = check_results(cfg, survivors, ledger).await;
    if let Survivors::Groups(g) = survivors {
        let (events, clock) = (&result.events, &result.clock);
        summary.parallel =
            Some(crate::analysis::parallel::section(cfg, &g.balancer, events, clock, &ledger.groups, holds, &lost_ids));
    }
    summary.check = Some(check);
    let c = &result.clock;
    // A window still open at the end closes when publishing did (the schedule's end, or the
    // last late publish acknowledged), not after the drain that follows.
    let last_ack = ledger.acks.iter().map(|a| a.at_us).max().unwrap_or(0);
    let run_end_us = result.schedule_end_us.max(last_ack);
    summary.exposure = crate::analysis::exposure::section(
        &result.sync_samples,
        c,
        &result.events,
        &ledger.acks,
        &lost_ids,
        run_end_us,
    );
    if summary.exposure.is_none() {
        summary.async_exposure =
            crate::analysis::exposure::asynchronous(&result.digests, c, &result.events, &ledger.acks);
    }
    summary.split_brain = crate::analysis::split_brain::section(&result.events, c, &ledger.acks, &lost_ids);
    // Parallel groups acknowledge on several servers at once by design.
    if !matches!(survivors, Survivors::Groups(_)) {
        summary.two_primaries = crate::analysis::two_primaries::section(&ledger.acks, &lost_ids, c.epoch_us(c.start()));
    }
    summary.lost_writes = crate::analysis::lost_writes::section(
        &result.events,
        c,
        &ledger.acks,
        &lost_ids,
        summary.exposure.as_ref(),
        switch,
    );
}

/// One timeline per fault, with the band the configuration predicts, and the faults that failed.
fn failover_section(
    cfg: &RunConfig,
    manifest: &Manifest<'_>,
    result: &RunResult,
    ledger: &LedgerSummary,
) -> crate::summary::FailoverSection {
    let ack_times: Vec<i64> = ledger.acks.iter().map(|a| a.at_us).collect();
    let mut trials = trials::build(
        &result.events,
        &result.clock,
        &ack_times,
        &result.digests,
        cfg.orchestrator.p99_factor,
        result.schedule_end_us,
    );
    if let Some(model) = rto_model(cfg, manifest) {
        trials::annotate_bands(&mut trials, &model);
    }
    let mut section = trials::failover_section(trials);
    section.failed_faults = trials::failed_faults(&result.events, &result.clock);
    section
}

/// Who decides failovers in this run, for the RTO band of each trial.
fn rto_model(cfg: &RunConfig, manifest: &Manifest<'_>) -> Option<crate::failover::band::RtoModel> {
    use crate::failover::band::RtoModel;
    if let Some(e) = manifest.cluster.as_ref().and_then(|c| c.engine.as_ref()) {
        // A cluster that runs elsewhere: the timings its DCS holds.
        return Some(RtoModel::Patroni { timing: e.timing.clone(), sync_mode: e.sync_mode, kernel: false });
    }
    if let Some(a) = manifest.cluster.as_ref().and_then(|c| c.auto_failover.as_ref()) {
        // The timings its monitor holds.
        let set = a
            .monitor_settings
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("pgautofailover.")?.to_string(), v.parse().ok()?)))
            .collect();
        return Some(RtoModel::AutoFailover(crate::failover::band::AutoFailoverTiming::with(&set)));
    }
    model_of(cfg)
}

/// The servers habench reached, by the port in the ledger: the node's name, and on a network
/// its own address (`n1 at 10.213.1.1:5433`). Ports no node of the manifest has stay unnamed.
fn server_names(manifest: &Manifest<'_>, ports: &[u16]) -> Vec<String> {
    let nodes = manifest.topology.as_ref().map(|t| t.nodes.as_slice()).unwrap_or_default();
    ports
        .iter()
        .map(|p| match nodes.iter().find(|n| n.clients_port == *p || n.port == *p) {
            Some(n) => match &n.address {
                Some(a) => format!("{} at {a}", n.name),
                None => n.name.clone(),
            },
            None => String::new(),
        })
        .collect()
}

/// Who decides the failovers of a topology habench starts: Patroni with its timings, else the
/// built-in orchestrator with its probes (None: a cluster that runs elsewhere).
pub(super) fn model_of(cfg: &RunConfig) -> Option<crate::failover::band::RtoModel> {
    use crate::failover::band::RtoModel;
    let Target::Topology(spec) = &cfg.target else { return None };
    if spec.kind == crate::topology::TopologyKind::PgAutoFailover {
        return Some(RtoModel::AutoFailover(crate::failover::band::AutoFailoverTiming::with(
            &spec.auto_failover.monitor,
        )));
    }
    Some(match &spec.engine {
        Some(engine) => RtoModel::Patroni {
            timing: engine.timing(),
            sync_mode: engine.sync_mode,
            kernel: spec.net == crate::topology::NetMode::Namespaces,
        },
        None => RtoModel::Builtin {
            interval: cfg.orchestrator.probe_interval,
            threshold: cfg.orchestrator.probe_threshold,
            manual_delay: cfg.orchestrator.manual_delay,
            kernel: spec.net == crate::topology::NetMode::Namespaces,
        },
    })
}

/// report.md, report.html and charts/ of a finished run; a report that fails is a warning.
pub(super) fn write_report(dir: &std::path::Path, quiet: bool) {
    match crate::report::write(dir) {
        Ok(out) if !quiet => out.warnings.iter().for_each(|w| eprintln!("habench: warning: {w}")),
        Ok(_) => {}
        Err(e) => eprintln!("habench: warning: no report for {}: {e}", dir.display()),
    }
}

/// What the run was set up as, in the terms a comparison groups by: topology, synchronous
/// commit, links (one-way delay), and the physical floor's local flush.
fn setup_section(cfg: &RunConfig, manifest: &Manifest<'_>) -> Setup {
    let floor_flush_us = manifest.physical_floor.as_ref().and_then(|f| f.fdatasync_us);
    let floor_round_trip_us = manifest.physical_floor.as_ref().and_then(|f| f.round_trip_us);
    match &cfg.target {
        Target::Topology(spec) => Setup {
            kind: spec.kind.as_str().to_string(),
            standbys: Some(spec.standbys),
            sync_commit: Some(spec.sync_commit.map(|l| l.as_str()).unwrap_or("on").to_string()),
            quorum: Some(format!("{:?}", spec.quorum).to_lowercase()),
            sync_count: Some(spec.sync_count),
            links: spec.links.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
            one_way_delay_ms: spec.links.values().map(|l| l.delay.as_secs_f64() * 1e3).fold(0.0, f64::max),
            floor_flush_us,
            floor_round_trip_us,
        },
        Target::Dsn { .. } => Setup { kind: "target-dsn".into(), floor_round_trip_us, ..Default::default() },
        Target::Cluster { cluster } => Setup {
            kind: "cluster".into(),
            standbys: u8::try_from(cluster.nodes.len().saturating_sub(1)).ok(),
            floor_round_trip_us,
            ..Default::default()
        },
    }
}

/// Where report queries go on a topology habench started, and whose CPU is accounted.
pub fn report_plan_for(
    cfg: &RunConfig,
    t: &mut dyn crate::topology::Topology,
    write: &Endpoint,
) -> (runner::reporter::ReportPlan, Option<String>) {
    use runner::reporter::{ReportPlan, ReportTarget};
    let primary = t.primary().name().to_string();
    let mut plan = ReportPlan::default();
    match cfg.reports.on {
        ReportsOn::None => {}
        ReportsOn::Primary => plan.targets.push(ReportTarget {
            name: "primary".into(),
            node: primary.clone(),
            endpoint: write.clone(),
            standby: false,
        }),
        ReportsOn::Standbys => {
            let listed = &cfg.reports.standbys;
            for n in t.read_nodes().into_iter().filter(|n| listed.is_empty() || listed.iter().any(|l| l == n.name())) {
                if let Ok(c) = crate::pg::conn::dsn(t.client_port(n)).parse::<tokio_postgres::Config>() {
                    plan.targets.push(ReportTarget {
                        name: n.name().to_string(),
                        node: n.name().to_string(),
                        endpoint: Endpoint::new(c),
                        standby: true,
                    });
                }
            }
        }
    }
    plan.nodes = t.nodes_mut().iter_mut().filter_map(|n| Some((n.name().to_string(), n.pid()?))).collect();
    (plan, Some(primary))
}

/// The checker: the ledger against what survived (read through the write endpoint, which may
/// point at a new primary now).
/// The checker's report, and every lost publish's id (the report keeps examples).
/// The checker's verdict on the surviving database, the lost publishes' ids, and the survivor's
/// last timeline switch (None on timeline 1, or when its history file cannot be read).
async fn check_results(
    cfg: &RunConfig,
    survivors: Survivors<'_>,
    ledger: &LedgerSummary,
) -> (CheckSection, Vec<i64>, Option<TimelineSwitch>, crate::analysis::parallel::Holds) {
    let endpoint = match survivors {
        Survivors::Endpoint(e) => e,
        Survivors::Groups(g) => {
            return match super::run_groups::read_db_state(cfg, g).await {
                Ok((db, holds)) => (
                    CheckSection::Report(checker::check(&ledger.index, &db, cfg.exactly_once)),
                    checker::lost_publish_ids(&ledger.index, &db),
                    None,
                    holds,
                ),
                Err(e) => (
                    CheckSection::Error { error: format!("could not read a group's database: {e}") },
                    Vec::new(),
                    None,
                    Vec::new(),
                ),
            }
        }
    };
    let (_stop_tx, mut stop) = watch::channel(false);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let unreadable = |e: String| CheckSection::Error { error: format!("could not read the surviving database: {e}") };
    let client = match endpoint.connect(deadline, &mut stop).await {
        Ok(c) => c,
        Err(e) => return (unreadable(e), Vec::new(), None, Vec::new()),
    };
    let switch = timeline_switch(&client).await;
    match crate::check::read_db_state(&client, &cfg.workload.messagebox).await {
        Ok(db) => (
            CheckSection::Report(checker::check(&ledger.index, &db, cfg.exactly_once)),
            checker::lost_publish_ids(&ledger.index, &db),
            switch,
            Vec::new(),
        ),
        Err(e) => (unreadable(e.to_string()), Vec::new(), switch, Vec::new()),
    }
}

/// The primary's current timeline and where it forked, from its history file.
async fn timeline_switch(client: &tokio_postgres::Client) -> Option<TimelineSwitch> {
    let row = client.query_one("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)", &[]).await.ok()?;
    let hex: String = row.get(0);
    let timeline = u32::from_str_radix(&hex, 16).ok().filter(|&t| t > 1)?;
    let row = client.query_one("SELECT pg_read_file('pg_wal/' || $1 || '.history')", &[&hex]).await.ok()?;
    crate::analysis::lost_writes::parse_history(timeline, &row.get::<_, String>(0))
}

fn describe_load(cfg: &RunConfig) -> String {
    let what = match cfg.workload.kind {
        WorkloadKind::Insert => format!("insert of {} bytes", cfg.workload.payload_bytes),
        WorkloadKind::Messagebox => "messagebox".to_string(),
    };
    let how = match &cfg.load {
        Load::Open { rate, arrival, publishers } => {
            format!("open loop {rate}/s {arrival:?} over {publishers} connections")
        }
        Load::Closed { clients } => format!("closed loop, {clients} clients"),
    };
    format!("{what}, {how}, warm-up {:?}, measure {:?}, seed {}", cfg.warmup, cfg.duration, cfg.seed)
}
