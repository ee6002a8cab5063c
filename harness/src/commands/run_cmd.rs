//! `habench run`: scenario + flags -> topology (or target) -> schema -> load -> results folder.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{bail, Context};
use serde_json::json;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::cli::RunArgs;
use crate::commands::options;
use crate::config::{Load, ReportsOn, RunConfig, Target, WorkloadKind};
use crate::export::manifest::{Manifest, GIT_COMMIT, VERSION};
use crate::export::{summary, timeline_csv};
use crate::failover::{trials, FailoverPlan, SharedTopology};
use crate::measure::Op;
use crate::pg::Endpoint;
use crate::pg::PgEnv;
use crate::runner;
use crate::store::{LedgerSummary, ResultsDir};
use crate::topology::{describe, AnyTopology};
use habench_workloads::checker;

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let variants = RunConfig::variants(&options::overrides(&args))?;
    let (abort_tx, abort_rx) = watch::channel(false);
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = sigint.recv() => {}
            _ = sigterm.recv() => {}
        }
        let _ = abort_tx.send(true);
    });
    let stamp = crate::timefmt::compact(SystemTime::now());
    let first = &variants[0];
    let quiet = first.quiet;
    let repeated = variants.len() > 1 || first.trials > 1;
    if !repeated {
        let cfg = Arc::new(variants.into_iter().next().expect("one variant"));
        let dir = ResultsDir::create(cfg.out.as_deref(), &cfg.scenario, &stamp, cfg.quiet)
            .context("creating the results folder")?;
        let (summary, topology) = run_once(cfg.clone(), &args, dir, abort_rx.clone(), None).await?;
        let kept = topology.filter(|_| cfg.keep);
        let results = cfg
            .out
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from("results").join(summary["run_id"].as_str().unwrap_or("")));
        if human_output(&args) {
            print_headline(&results, false);
        } else {
            println!(
                "{}",
                serde_json::to_string(&json!({
                    "results": results,
                    "complete": summary["complete"],
                    "throughput": summary["throughput"],
                    "latency_us": summary["latency_us"],
                    "check": summary.get("check"),
                    "failover": summary.get("failover").map(|f| json!({ "rto_ms": f["rto_ms"] })),
                }))?
            );
        }
        return finish(vec![summary], kept, abort_rx).await;
    }
    let top = ResultsDir::create(first.out.as_deref(), &first.scenario, &stamp, first.quiet)
        .context("creating the results folder")?;
    let mut summaries = Vec::new();
    let mut kept = None;
    // Variants without faults on the same topology share one set of servers, back to back.
    let mut reusable: Option<(serde_json::Value, SharedTopology)> = None;
    let n_variants = variants.len();
    for (vi, cfg) in variants.into_iter().enumerate() {
        let label = cfg.variant.clone().unwrap_or_else(|| target_name(&cfg));
        for trial in 1..=cfg.trials {
            if *abort_rx.borrow() {
                break;
            }
            let last = vi + 1 == n_variants && trial == cfg.trials;
            let path = top.path().join(&label).join(format!("trial-{trial}"));
            let dir = ResultsDir::create(Some(&path), &cfg.scenario, &stamp, cfg.quiet)?;
            if !cfg.quiet {
                eprintln!("habench: {label}, trial {trial} of {}", cfg.trials);
            }
            let mut trial_cfg = cfg.clone();
            trial_cfg.seed = cfg.seed.wrapping_add(u64::from(trial) - 1);
            let shareable = cfg.faults.is_empty() && cfg.trials == 1;
            let spec = serde_json::to_value(&cfg.target)?;
            let existing = match reusable.take() {
                Some((s, t)) if shareable && s == spec => Some(t),
                _ => None,
            };
            let (summary, topo) = run_once(Arc::new(trial_cfg), &args, dir, abort_rx.clone(), existing).await?;
            summaries.push((label.clone(), trial, summary));
            if cfg.keep && last {
                kept = topo;
            } else if shareable {
                reusable = topo.map(|t| (spec, t));
            }
        }
    }
    drop(reusable);
    let mut report = crate::export::compare::trials_report(&summaries);
    if let Some(offload) = crate::export::offload::offload_report(&summaries) {
        report.summary["offload"] = offload.summary;
        std::fs::write(top.path().join("offload.md"), &offload.markdown)?;
        std::fs::write(top.path().join("offload.csv"), &offload.csv)?;
        report.markdown = offload.markdown;
    }
    if let Some(distance) = crate::export::distance::distance_report(&summaries) {
        report.summary["distance"] = distance.summary;
        std::fs::write(top.path().join("distance.md"), &distance.markdown)?;
        std::fs::write(top.path().join("distance.csv"), &distance.csv)?;
        report.markdown = distance.markdown;
    }
    top.write_json("summary.json", &report.summary)?;
    std::fs::write(top.path().join("comparison.md"), &report.markdown)?;
    std::fs::write(top.path().join("comparison.csv"), &report.csv)?;
    write_report(top.path(), quiet);
    if human_output(&args) {
        println!("{}", report.markdown);
        print_headline(top.path(), true);
    } else {
        println!(
            "{}",
            serde_json::to_string(&json!({ "results": top.path(), "complete": report.summary["complete"] }))?
        );
    }
    finish(summaries.into_iter().map(|(_, _, s)| s).collect(), kept, abort_rx).await
}

/// Human lines on a terminal (unless --json), one JSON line for pipes and scripts.
fn human_output(args: &RunArgs) -> bool {
    use std::io::IsTerminal;
    !args.json && std::io::stdout().is_terminal()
}

/// The report's headline as a few terminal lines, and where the report is.
fn print_headline(dir: &std::path::Path, repeated: bool) {
    let Ok(data) = crate::report::RunData::load(dir) else { return };
    let facts = if repeated {
        crate::report::sections::headline::repeated_facts(&data)
    } else {
        crate::report::sections::headline::facts(&data)
    };
    println!();
    for line in crate::report::sections::headline::terminal_lines(&facts) {
        println!("{line}");
    }
    println!("\n  report: {}", dir.join("report.html").display());
}

/// report.md, report.html and charts/ of a finished run; a report that fails is a warning.
fn write_report(dir: &std::path::Path, quiet: bool) {
    match crate::report::write(dir) {
        Ok(out) if !quiet => out.warnings.iter().for_each(|w| eprintln!("habench: warning: {w}")),
        Ok(_) => {}
        Err(e) => eprintln!("habench: warning: no report for {}: {e}", dir.display()),
    }
}

/// Keeps the servers of the last run when asked to, then turns incomplete runs into an error.
async fn finish(
    summaries: Vec<serde_json::Value>,
    kept: Option<SharedTopology>,
    mut abort: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    if let Some(topo) = kept {
        let info = {
            let mut t = topo.lock().await;
            describe(t.as_topology_mut()).await
        };
        println!("{}", serde_json::to_string(&info)?);
        eprintln!("habench: servers kept running for inspection; SIGINT or SIGTERM tears them down");
        if !*abort.borrow() {
            let _ = abort.changed().await;
        }
        drop(topo);
    }
    let incomplete: Vec<String> = summaries
        .iter()
        .filter(|s| s["complete"] != true)
        .map(|s| {
            format!("{}: {}", s["run_id"].as_str().unwrap_or("?"), s["stop_reason"].as_str().unwrap_or("incomplete"))
        })
        .collect();
    if !incomplete.is_empty() {
        bail!("the run did not complete ({}); what was measured is kept with complete: false", incomplete.join("; "));
    }
    Ok(())
}

fn target_name(cfg: &RunConfig) -> String {
    match &cfg.target {
        Target::Topology(s) => s.kind.as_str().to_string(),
        Target::Dsn { .. } => "target-dsn".to_string(),
    }
}

/// One run: servers up (or the `existing` ones), schema, load (with its faults), check, results
/// written. Returns the final summary, and the servers (dropping them stops them).
async fn run_once(
    cfg: Arc<RunConfig>,
    args: &RunArgs,
    mut dir: ResultsDir,
    abort_rx: watch::Receiver<bool>,
    existing: Option<SharedTopology>,
) -> anyhow::Result<(serde_json::Value, Option<SharedTopology>)> {
    let created = SystemTime::now();
    let run_id = dir.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut manifest = Manifest {
        habench_version: VERSION,
        git_commit: GIT_COMMIT,
        created_at: crate::timefmt::rfc3339(created),
        run_id: run_id.clone(),
        seed: cfg.seed,
        config: &cfg,
        machine: crate::sysinfo::machine(),
        load_at_start: crate::sysinfo::load(),
        postgres_version: None,
        topology: None,
        server_settings: BTreeMap::new(),
        physical_floor: None,
    };
    dir.write_json("manifest.json", &serde_json::to_value(&manifest)?)?;

    // The servers, shared with the orchestrator; dropped at the end: every server stopped.
    let mut topology: Option<SharedTopology> = None;
    let endpoint_cfg = match &cfg.target {
        Target::Topology(_) if existing.is_some() => {
            let t = existing.expect("checked");
            let dsn = t.lock().await.as_topology().write_dsn();
            topology = Some(t);
            dsn.parse::<tokio_postgres::Config>()?
        }
        Target::Topology(spec) => {
            let env = PgEnv::discover(&options::env_options(&args.env))?;
            let mut abort = abort_rx.clone();
            let topo = tokio::select! {
                t = AnyTopology::up(env, spec.clone()) => t.context("bringing the topology up")?,
                _ = abort.changed() => bail!("interrupted while bringing the topology up"),
            };
            let dsn = topo.as_topology().write_dsn();
            topology = Some(Arc::new(tokio::sync::Mutex::new(topo)));
            dsn.parse::<tokio_postgres::Config>()?
        }
        Target::Dsn { dsn } => dsn.config().clone(),
    };
    let endpoint = Endpoint::new(endpoint_cfg);
    let client = endpoint.connect_once().await.context("connecting to the write endpoint")?;
    manifest.postgres_version = client.query_one("SELECT version()", &[]).await.ok().map(|r| r.get(0));
    habench_workloads::messagebox::install(&client, &cfg.workload.messagebox)
        .await
        .context("installing the MessageBox schema")?;
    // Every run starts from a checkpoint: the same start whether the servers are new or reused.
    client.batch_execute("CHECKPOINT").await.context("checkpoint before the run")?;
    let mut report_plan = runner::reporter::ReportPlan::default();
    let mut primary_node = None;
    match &topology {
        Some(t) => {
            let mut t = t.lock().await;
            let t = t.as_topology_mut();
            manifest.topology = Some(describe(t).await);
            (report_plan, primary_node) = report_plan_for(&cfg, t, &endpoint);
            for node in t.nodes() {
                if let Ok(c) = node.connect().await {
                    manifest.server_settings.insert(node.name().to_string(), non_default_settings(&c).await);
                }
            }
        }
        None => {
            manifest.server_settings.insert("target".into(), non_default_settings(&client).await);
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
    let (fdatasync_us, measured_at) = match &topology {
        Some(t) => {
            let t = t.lock().await;
            let primary = t.as_topology().primary();
            crate::measure::floor::fdatasync(primary.env(), primary.data_dir()).await
        }
        None => (None, 0),
    };
    manifest.physical_floor = Some(crate::measure::floor::Floor {
        fdatasync_us,
        fdatasync_measured_at: measured_at,
        round_trip_us: crate::measure::floor::round_trip(&client).await,
    });
    drop(client);
    dir.write_json("manifest.json", &serde_json::to_value(&manifest)?)?;

    let ops = match cfg.workload.kind {
        WorkloadKind::Insert => vec![Op::Insert],
        WorkloadKind::Messagebox => {
            let mut ops = vec![Op::Publish, Op::Dequeue, Op::Complete, Op::Suspend, Op::EndToEnd, Op::Cleanup];
            if cfg.reports.on != ReportsOn::None {
                ops.push(Op::Report);
            }
            ops
        }
    };
    let hosts = match cfg.workload.kind {
        WorkloadKind::Insert => vec![],
        WorkloadKind::Messagebox => cfg.workload.messagebox.hosts.iter().map(|h| h.name.clone()).collect(),
    };
    let standbys = runner::sampler::DbSampler::new(endpoint.clone()).standby_names().await;
    let topology_name = target_name(&cfg);
    let header = summary::Header {
        run_id,
        scenario: cfg.scenario.clone(),
        topology: topology_name,
        workload: match cfg.workload.kind {
            WorkloadKind::Insert => "insert".into(),
            WorkloadKind::Messagebox => "messagebox".into(),
        },
        load: serde_json::to_value(&cfg.load)?,
        started_at: crate::timefmt::rfc3339(SystemTime::now()),
        seed: cfg.seed,
    };
    dir.begin(timeline_csv::Columns { ops, hosts, standbys }, header.clone(), SystemTime::now())?;

    let (ledger_tx, ledger_rx) = runner::ledger::channel();
    let ledger_task = dir.spawn_ledger_writer(ledger_rx, cfg.workload.messagebox.hosts.len())?;
    if !cfg.quiet {
        eprintln!("habench: {} on {} -> {}", describe_load(&cfg), header.topology, dir.path().display());
    }
    let plan = FailoverPlan {
        faults: cfg.faults.clone(),
        orchestrator: cfg.orchestrator.clone(),
        topology: topology.clone(),
        write_endpoint: endpoint.clone(),
    };
    let result =
        runner::run(cfg.clone(), endpoint.clone(), ledger_tx, &mut dir, abort_rx, Some(plan), report_plan).await;
    let ledger = ledger_task.await.context("ledger writer")?.context("writing ledger.csv")?;
    let mut sections = vec![
        ("setup", setup_section(&cfg, &manifest)),
        (
            "environment",
            json!({
                "load_at_end": crate::sysinfo::load(),
                "rss_bytes_at_end": crate::sysinfo::rss_bytes(),
                "ledger_rows": ledger.rows,
            }),
        ),
    ];
    if let Some(p) = &result.pacing {
        sections.push(("pacing", json!(p)));
    }
    if cfg.workload.kind == WorkloadKind::Messagebox {
        sections.push(("check", check_results(&cfg, &endpoint, &ledger).await));
    }
    if let Some(c) = &result.cpu {
        sections
            .push(("cpu", crate::export::reports::cpu_section(c, primary_node.as_deref(), crate::sysinfo::cores())));
    }
    if let Some(r) = &result.reports {
        sections.push(("reports", crate::export::reports::reports_section(&cfg.reports, r, result.measured_s)));
    }
    if !cfg.faults.is_empty() {
        let trials = trials::build(
            &result.events,
            &result.clock,
            &ledger.publish_acks_us,
            &result.digests,
            cfg.orchestrator.p99_factor,
            result.schedule_end_us,
        );
        sections.push(("failover", failover_section(&trials)));
    }
    let final_summary = summary::final_summary(&header, &result, &crate::timefmt::rfc3339(SystemTime::now()), sections);
    dir.write_json("summary.json", &final_summary)?;
    dir.finish();
    write_report(dir.path(), cfg.quiet);
    Ok((final_summary, topology))
}

/// What the run was set up as, in the terms a comparison groups by: topology, synchronous
/// commit, links (one-way delay), and the physical floor's local flush.
fn setup_section(cfg: &RunConfig, manifest: &Manifest<'_>) -> serde_json::Value {
    let flush = manifest.physical_floor.as_ref().and_then(|f| f.fdatasync_us);
    let rtt = manifest.physical_floor.as_ref().and_then(|f| f.round_trip_us);
    match &cfg.target {
        Target::Topology(spec) => {
            let delay_ms = spec.links.values().map(|l| l.delay.as_secs_f64() * 1e3).fold(0.0, f64::max);
            json!({
                "kind": spec.kind.as_str(),
                "standbys": spec.standbys,
                "sync_commit": spec.sync_commit.map(|l| l.as_str()).unwrap_or("on"),
                "quorum": format!("{:?}", spec.quorum).to_lowercase(),
                "sync_count": spec.sync_count,
                "links": spec.links.iter().map(|(k, v)| (k.clone(), json!(v.to_string()))).collect::<serde_json::Map<_, _>>(),
                "one_way_delay_ms": delay_ms,
                "floor_flush_us": flush,
                "floor_round_trip_us": rtt,
            })
        }
        Target::Dsn { .. } => json!({ "kind": "target-dsn", "floor_round_trip_us": rtt }),
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
async fn check_results(cfg: &RunConfig, endpoint: &Endpoint, ledger: &LedgerSummary) -> serde_json::Value {
    let (_stop_tx, mut stop) = watch::channel(false);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let client = match endpoint.connect(deadline, &mut stop).await {
        Ok(c) => c,
        Err(e) => return json!({ "error": format!("could not read the surviving database: {e}") }),
    };
    match crate::check::read_db_state(&client, &cfg.workload.messagebox).await {
        Ok(db) => serde_json::to_value(checker::check(&ledger.index, &db, cfg.exactly_once)).unwrap_or_default(),
        Err(e) => json!({ "error": format!("could not read the surviving database: {e}") }),
    }
}

fn failover_section(trials: &[trials::Trial]) -> serde_json::Value {
    let agg = |f: &dyn Fn(&trials::Trial) -> Option<f64>| {
        serde_json::to_value(trials::spread(trials.iter().filter_map(f))).unwrap_or_default()
    };
    json!({
        "trials": trials,
        "rto_ms": agg(&|t| t.rto_ms),
        "detected_ms": agg(&|t| t.detected_ms),
        "promoted_ms": agg(&|t| t.promoted_ms),
        "endpoint_ready_ms": agg(&|t| t.endpoint_ready_ms),
        "p99_recovered_ms": agg(&|t| t.p99_recovered_ms),
        "backlog_recovered_ms": agg(&|t| t.backlog_recovered_ms),
    })
}

async fn non_default_settings(client: &tokio_postgres::Client) -> BTreeMap<String, String> {
    // What the servers were configured with (not what this session's client set), and the
    // durability settings whatever their source: a report must say `on`, not leave it out.
    let sql = "SELECT name, current_setting(name) FROM pg_settings \
               WHERE source NOT IN ('default', 'override', 'client', 'session') \
                  OR name IN ('synchronous_commit', 'synchronous_standby_names', 'fsync', 'full_page_writes', \
                              'wal_sync_method') \
               ORDER BY name";
    match client.query(sql, &[]).await {
        Ok(rows) => rows
            .iter()
            .map(|r| {
                let (name, value): (String, String) = (r.get(0), r.get(1));
                let value = crate::config::dsn::shown_setting(&name, &value);
                (name, value)
            })
            .collect(),
        Err(_) => BTreeMap::new(),
    }
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
