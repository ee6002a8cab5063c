//! Command-line flags (clap only; values become typed config in `commands::options` and
//! `config`).
//!
//! The doc comments here are the terminal's `--help` text, written as a person reads it there
//! (`KIND@TIME[:DURATION]`, `results/<scenario>-<utc timestamp>`), not as rustdoc Markdown.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "habench",
    version,
    about = "Measures what a high-availability PostgreSQL design costs and what it buys, on real servers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Drive MessageBox traffic (or the calibration insert) against a topology and record it.
    Run(Box<RunArgs>),
    /// Start, inspect and tear down PostgreSQL topologies.
    #[command(subcommand)]
    Topology(TopologyCommand),
    /// One row per run folder (topology, load, throughput, p99, RTO, lost) as Markdown.
    Summary(SummaryArgs),
    /// Write report.md, report.html and charts/ (PNG and SVG) for a results folder.
    Report(ReportArgs),
    /// Compare two results folders metric by metric, with bootstrap confidence intervals.
    Compare(CompareArgs),
    /// Capacity planning: each topology's maximum sustainable throughput (MST) under an SLO.
    Capacity(Box<CapacityArgs>),
    /// Requirements in, a ranked design decision out, judged on measured results folders.
    Advise(AdviseArgs),
}

#[derive(Debug, Args)]
pub struct AdviseArgs {
    /// The scenario whose load every experiment runs: a shipped name or a TOML file.
    #[arg(value_name = "SCENARIO", default_value = "quick")]
    pub scenario: String,
    /// The peak load to plan for, publishes per second, e.g. 800/s.
    #[arg(long, value_name = "N/s", value_parser = crate::config::requirements::parse_load)]
    pub load: f64,
    /// Acknowledged work that may be lost: 0, a count of messages (100msgs) or a time (2s).
    #[arg(long, value_name = "RPO", default_value = "0", value_parser = crate::config::requirements::parse_rpo)]
    pub rpo: crate::config::requirements::Rpo,
    /// How long writes may be down after a failure, e.g. 30s.
    #[arg(long, value_name = "TIME", value_parser = crate::config::requirements::parse_rto)]
    pub rto: Duration,
    /// How far the maximum sustainable throughput must exceed the load.
    #[arg(long, value_name = "PCT", default_value = "30%", value_parser = crate::config::requirements::parse_headroom)]
    pub headroom: f64,
    /// The load must also be carried after losing a node (each capacity search runs --n-minus-1).
    #[arg(long)]
    pub n_minus_1: bool,
    /// The service levels a capacity step must hold (as `habench capacity --slo`).
    #[arg(long, value_name = "OP.STAT=LIMIT,...", default_value = "publish.p99=50ms")]
    pub slo: String,
    /// Designs to run experiments for (default single,shared-disk,sync,async,patroni; with
    /// --reuse and no --designs, none: only the folders given are judged).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND,...")]
    pub designs: Vec<KindArg>,
    /// Outage classes to run (default node-crash,postmaster-kill; --quick: node-crash).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "CLASS,...")]
    pub outages: Vec<OutageArg>,
    /// Failover trials per design and outage (default 3; --quick: 1).
    #[arg(long, value_name = "N")]
    pub trials: Option<u32>,
    /// One trial per outage, node-crash only, quick capacity steps.
    #[arg(long)]
    pub quick: bool,
    /// A design the configuration rules out on the RTO (its predicted band lies above it) runs
    /// with the setting predicted to meet it instead of being left out: the built-in
    /// orchestrator's probe interval and threshold, Patroni's ttl and loop_wait.
    #[arg(long)]
    pub tune: bool,
    /// Fit the plan to this much time: first one trial per outage, then node crash only, then
    /// fewer designs (each drop is said); refused when not even one design fits.
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub budget: Option<Duration>,
    /// Judge your own cluster as it is (a cluster file, as `habench run --cluster`): it is then
    /// the only design; its faults come from the file's commands (an outage whose command it
    /// lacks is n/a), and nothing is pruned or tuned.
    #[arg(long, value_name = "FILE", conflicts_with = "designs")]
    pub cluster: Option<PathBuf>,
    /// Results folders also taken as evidence (repeatable): runs with faults (a repeated run:
    /// every trial in it) and capacity searches.
    #[arg(long = "reuse", value_name = "DIR")]
    pub reuse: Vec<PathBuf>,
    /// The advise folder: every experiment's results folder, advise.md, advise.html and
    /// advise.json (default: results/advise-<utc timestamp>). Running the same command on the
    /// same folder continues where it stopped.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// An outage class of `habench advise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutageArg {
    /// The primary's host crashes (crash-primary).
    NodeCrash,
    /// The primary's postmaster is killed (kill-primary).
    PostmasterKill,
    /// The primary hangs for 30 s (pause-primary).
    Hang,
    /// A synchronous standby dies (kill-sync-standby).
    StandbyLoss,
    /// The DCS is gone for 20 s (dcs-outage; Patroni).
    DcsOutage,
    /// The primary is cut off for 30 s (partition-primary).
    Partition,
}

#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// Service levels a sustainable step holds, e.g. publish.p99=50ms,end_to_end.p99=5s
    /// (operations: publish, insert, dequeue, complete, end_to_end, report; statistics: p50,
    /// p90, p99, p99.9, max).
    #[arg(long, value_name = "OP.STAT=LIMIT,...")]
    pub slo: String,
    /// Topologies to search, e.g. single,shared-disk,sync,async (default: the scenario's
    /// variants, else --topology, else single).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND,...")]
    pub topologies: Vec<KindArg>,
    /// The load you plan for (publishes/s): the search starts there and the planning table
    /// states each design's headroom over it.
    #[arg(long, value_name = "N")]
    pub target_load: Option<f64>,
    /// Lowest rate the search tries (default 20).
    #[arg(long, value_name = "N")]
    pub min_rate: Option<f64>,
    /// Highest rate the search tries (default 20000).
    #[arg(long, value_name = "N")]
    pub max_rate: Option<f64>,
    /// The search ends when the lowest unsustainable rate is within this of the highest
    /// sustainable one, e.g. 5% (default; 15% with --quick).
    #[arg(long, value_name = "PCT")]
    pub precision: Option<String>,
    /// Most steps per topology (default 12): on a noisy machine the bounds may not meet within
    /// the precision; the search then ends saying between which rates the MST lies.
    #[arg(long, value_name = "N")]
    pub max_steps: Option<usize>,
    /// Measured time of each step (default 20s; 6s with --quick).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub step: Option<Duration>,
    /// After the search, one longer run at the MST found; the result says whether it held.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub confirm: Option<Duration>,
    /// BizTalk's overdrive test after the search: FACTOR x the MST for DURATION (e.g. 1.4:2m),
    /// then half the MST for twice DURATION: backlog peak, throttled time, time to drain.
    #[arg(long, value_name = "FACTOR:DURATION")]
    pub overdrive: Option<String>,
    /// After the search, take one node away with a real fault under load (sync, Patroni: the
    /// synchronous standby crashes; shared-disk, async: the primary's node crashes and the other
    /// takes over) and search again on what is left: the MST after losing a node.
    #[arg(long)]
    pub n_minus_1: bool,
    /// Short steps and a coarse precision: for CI and a first look.
    #[arg(long)]
    pub quick: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A results folder of `habench run` (or the top folder of a repeated run).
    #[arg(value_name = "RUN_DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline results folder.
    #[arg(value_name = "BEFORE")]
    pub before: PathBuf,
    /// The results folder after the change.
    #[arg(value_name = "AFTER")]
    pub after: PathBuf,
    /// Where compare.md, compare.json and the overlay charts go (default: AFTER/compare).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Exit with status 1 when a metric got worse by more than PCT percent and its 95%
    /// interval excludes no change.
    #[arg(long, value_name = "PCT")]
    pub fail_if_worse: Option<f64>,
    /// Only these metrics gate --fail-if-worse (repeatable), e.g. publish.p99_us.
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,
    /// Seed of the bootstrap resampling.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// Results folders of `habench run` (repeated runs: every trial below).
    #[arg(required = true, value_name = "RUN_DIR")]
    pub dirs: Vec<PathBuf>,
    /// Also write the table as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TopologyCommand {
    /// Bring a topology up, print one JSON line describing it, keep it until SIGINT/SIGTERM.
    Up(Box<UpArgs>),
    /// Stop servers and remove directories left by habench processes that died.
    Clean(EnvArgs),
}

#[derive(Debug, Args, Clone, Default)]
pub struct EnvArgs {
    /// Directory of the PostgreSQL server binaries (default: HABENCH_PG_BIN, `pg_config
    /// --bindir`, newest /usr/lib/postgresql/*/bin).
    #[arg(long, value_name = "DIR", env = "HABENCH_PG_BIN")]
    pub pg_bin: Option<PathBuf>,
    /// OS user for the server processes when habench runs as root.
    #[arg(long, value_name = "NAME", env = "HABENCH_PG_USER")]
    pub pg_user: Option<String>,
    /// Where data directories, logs and port leases live (default: $TMPDIR/habench).
    #[arg(long, value_name = "DIR", env = "HABENCH_WORK")]
    pub work_dir: Option<PathBuf>,
    /// Directory of the HA engine's programs, patroni and etcd (default: HABENCH_HA_BIN, PATH,
    /// the venv of scripts/install-ha-engines.sh, /usr/bin).
    #[arg(long, value_name = "DIR", env = "HABENCH_HA_BIN")]
    pub ha_bin: Option<PathBuf>,
}

/// Topology options shared by `topology up` and `run`.
#[derive(Debug, Args, Clone, Default)]
pub struct TopologyFlags {
    /// Standbys (sync, async: 1-8; default 1).
    #[arg(long, value_name = "N")]
    pub standbys: Option<u8>,
    /// sync: `first` (priority: FIRST k; default) or `any` (quorum: ANY k).
    #[arg(long, value_enum)]
    pub quorum: Option<QuorumArg>,
    /// sync: standbys that confirm each commit (1..=standbys; default 1).
    #[arg(long, value_name = "K")]
    pub sync_count: Option<u8>,
    /// synchronous_commit on every node (server default: on).
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub sync_commit: Option<SyncCommitArg>,
    /// log-shipping: archive_timeout in whole seconds, e.g. 1s (default), 5s.
    #[arg(long, value_name = "DURATION", value_parser = parse_seconds)]
    pub archive_timeout: Option<Duration>,
    /// A PostgreSQL setting for every node (repeatable), e.g. --pg-set shared_buffers=256MB.
    #[arg(long = "pg-set", value_name = "NAME=VALUE", value_parser = crate::pg::settings::parse_assignment)]
    pub pg_set: Vec<(String, String)>,
    /// Pin a node's processes to CPUs (repeatable), emulating separate hosts: s2=1, primary=0.
    #[arg(long = "pin", value_name = "NODE=CPUS", value_parser = crate::topology::spec::parse_pin)]
    pub pin: Vec<(String, Vec<usize>)>,
    /// Put a standby's replication connection through an emulated link (repeatable):
    /// s1=delay:20ms,jitter:2ms,bandwidth:100mbit (delay is one way).
    #[arg(long = "link", value_name = "NODE=SPEC", value_parser = crate::link::spec::parse_node_link)]
    pub links: Vec<(String, crate::link::LinkSpec)>,
    /// A link on every node's client path (listener, report connections, the orchestrator's
    /// probes), e.g. delay:1ms; added at zero delay for partition-primary.
    #[arg(long, value_name = "SPEC", value_parser = crate::link::LinkSpec::parse)]
    pub client_link: Option<crate::link::LinkSpec>,
    /// Where the nodes live: loopback (default: every server on this machine's loopback) or
    /// namespaces (each node a network namespace of its own with its own address, joined by a
    /// bridge; habench's clients reach them from one address of their own; needs root and
    /// nftables; single, sync, async and log-shipping).
    #[arg(long, value_enum, value_name = "MODE")]
    pub net: Option<crate::topology::NetMode>,
    /// patroni, pg_auto_failover: nodes, one primary and 1-8 replicas (2-9; default 3).
    #[arg(long, value_name = "N")]
    pub nodes: Option<u8>,
    /// patroni: etcd members, 1 (default) or 3.
    #[arg(long, value_name = "N")]
    pub dcs_members: Option<u8>,
    /// patroni: the REST API over HTTPS (a CA habench makes) with basic auth for its unsafe
    /// endpoints, as an operator's cluster runs it.
    #[arg(long)]
    pub rest_tls: bool,
    /// patroni: synchronous_mode: off (Patroni's default), on, strict or quorum; --sync-count
    /// sets synchronous_node_count.
    #[arg(long, value_name = "MODE", value_parser = parse_sync_mode)]
    pub sync_mode: Option<crate::patroni::SyncMode>,
    /// patroni: a key of its dynamic configuration (repeatable), e.g. --engine-set ttl=20
    /// --engine-set loop_wait=1 --engine-set failsafe_mode=true (default: Patroni's own);
    /// pg_auto_failover: a monitor setting in ms, e.g. primary_demote_timeout=4000.
    #[arg(long = "engine-set", value_name = "KEY=VALUE", value_parser = crate::patroni::parse_key_value)]
    pub engine_set: Vec<(String, serde_json::Value)>,
    /// parallel: independent groups behind the load balancer (2-4; default 2).
    #[arg(long, value_name = "N")]
    pub groups: Option<u8>,
    /// parallel: every group's own topology (default single); the other topology flags apply
    /// to each group.
    #[arg(long, value_enum, value_name = "KIND")]
    pub group_topology: Option<KindArg>,
    /// parallel: the balancer's health probe interval (default 1s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub balancer_probe: Option<Duration>,
    /// parallel: failed probes in a row that take a group out of the rotation (default 2).
    #[arg(long, value_name = "N")]
    pub balancer_threshold: Option<u32>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Which high-availability design to build.
    #[arg(value_enum)]
    pub kind: KindArg,
    #[command(flatten)]
    pub topology: TopologyFlags,
    /// patroni, pg_auto_failover: also write a `--cluster` file describing this cluster (DSNs,
    /// REST URLs or the monitor, and commands that crash, kill, pause and resume its nodes and
    /// pause its DCS or monitor).
    #[arg(long, value_name = "PATH")]
    pub cluster_file: Option<PathBuf>,
    #[command(flatten)]
    pub env: EnvArgs,
}

#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// A scenario: a shipped name (quick, messaging) or a TOML file. Flags override it.
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<String>,
    /// Topology to start (default: single, or the scenario's).
    #[arg(long, value_enum, value_name = "KIND")]
    pub topology: Option<KindArg>,
    #[command(flatten)]
    pub topology_flags: TopologyFlags,
    /// Open loop: publishes per second on a schedule (latency counts from the intended start).
    #[arg(long, value_name = "N", conflicts_with = "clients")]
    pub rate: Option<f64>,
    /// Closed loop: N clients publishing flat out (maximum throughput).
    #[arg(long, value_name = "N")]
    pub clients: Option<u16>,
    /// Open loop: arrivals `uniform` or `poisson` (default).
    #[arg(long, value_enum)]
    pub arrival: Option<ArrivalArg>,
    /// Open loop: connections that serve the publish schedule (default 8).
    #[arg(long, value_name = "N")]
    pub publishers: Option<u16>,
    /// Client threads the publishers are spread over, like pgbench's -j (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<u16>,
    /// Throttle publishing like BizTalk's "database size" state: above N messages in the
    /// MessageBox (host queues plus suspended; default 50000) every publish waits a delay that
    /// doubles each second the condition lasts (10 ms up to 300 s).
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "50000")]
    pub throttle: Option<u64>,
    /// Measured time, e.g. 60s, 10m.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Warm-up before measuring (not in the statistics).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub warmup: Option<Duration>,
    /// Seed of every random choice (arrivals, types, body sizes); stored with the results.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Results folder (default: results/<scenario>-<utc timestamp>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run against an existing server instead of starting a topology (faults unavailable).
    #[arg(long, value_name = "DSN", conflicts_with = "topology")]
    pub target_dsn: Option<String>,
    /// Run against a cluster that already runs elsewhere, described by a TOML file (nodes'
    /// DSNs, Patroni REST URLs, fault commands); habench starts and stops nothing of it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["topology", "target_dsn"])]
    pub cluster: Option<PathBuf>,
    /// `messagebox` (default) or `insert` (calibration: one single-row INSERT per transaction).
    #[arg(long, value_enum)]
    pub workload: Option<WorkloadArg>,
    /// insert: payload bytes per row (default 100).
    #[arg(long, value_name = "N")]
    pub payload_bytes: Option<u32>,
    /// insert: the client, `wire` (habench's own, one task per connection; default, and what
    /// MessageBox workers always use) or `tokio-postgres`.
    #[arg(long, value_enum)]
    pub driver: Option<DriverArg>,
    /// An operation without an answer for this long counts as unknown (default 30s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub op_timeout: Option<Duration>,
    /// A commit still waiting for its synchronous standbys after this long is cancelled (as a
    /// client that gives up does): PostgreSQL then acknowledges it with a warning, recorded as
    /// `acked_unreplicated`. sync and patroni only. (`statement_timeout` does not do this: it is
    /// not armed while a commit waits for a standby.)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub sync_wait_timeout: Option<Duration>,
    /// A fault (repeatable): KIND@TIME[:DURATION], TIME counted from the start of the measured
    /// phase. Kinds: kill-primary, crash-primary, pause-primary (needs :DURATION), switchover,
    /// kill-sync-standby, kill-host-instance, partition-standby, partition-primary and slow-link
    /// (need :DURATION), kill-receive-instance[:RESTART], sso-outage (needs :DURATION).
    /// Replaces the scenario's faults.
    #[arg(long = "fault", value_name = "KIND@TIME[:DURATION]", value_parser = parse_fault)]
    pub faults: Vec<crate::fault::FaultSpec>,
    /// Orchestrator: time between health probes (default 1s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub probe_interval: Option<Duration>,
    /// Orchestrator: consecutive missed probes that declare a node failed (default 10).
    #[arg(long, value_name = "N")]
    pub probe_threshold: Option<u32>,
    /// Orchestrator, log-shipping: wait before promoting the DR standby (a person decides).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub manual_delay: Option<Duration>,
    /// Orchestrator: leave a lost node lost (no restart of a dropped standby, no rejoin of an old
    /// primary, no restart in place of a single server): the exposure stays open to the end of
    /// the run.
    #[arg(long)]
    pub no_heal: bool,
    /// Orchestrator: take over without killing the old primary first (sync, async,
    /// log-shipping): a hung primary that wakes up still has its clients (split brain) until the
    /// orchestrator has seen it answer as a primary for --probe-threshold probes in a row and
    /// fences it then. Refused for shared-disk, where two servers would run on one data
    /// directory.
    #[arg(long)]
    pub no_fence: bool,
    /// Repeat the faulted run N times, each on a fresh topology, and report the distribution.
    #[arg(long, value_name = "N")]
    pub trials: Option<u32>,
    /// After the run, leave the servers of the last trial running, print their endpoints as one
    /// JSON line and wait for SIGINT/SIGTERM.
    #[arg(long)]
    pub keep: bool,
    /// A stall of habench itself (its runtimes or the whole process) longer than this in the
    /// measured phase marks the run compromised (default 200ms; 50ms to 1h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_harness_stall: Option<Duration>,
    /// The checker treats duplicated deliveries as a failure (exactly-once expectation).
    #[arg(long)]
    pub exactly_once: bool,
    /// Report (tracking/BAM) queries: `none`, on the `primary`, or on the `standbys` in turn.
    #[arg(long, value_enum, value_name = "WHERE")]
    pub reports_on: Option<crate::config::ReportsOn>,
    /// Report queries per second, on a schedule (default 20).
    #[arg(long, value_name = "N")]
    pub report_rate: Option<f64>,
    /// Concurrent report workers (default 2); each holds a connection per target.
    #[arg(long, value_name = "N")]
    pub report_clients: Option<u16>,
    /// Report query weights, e.g. counts=4,lookup=4,slowest=1,depth=1,scan=0 (the default).
    #[arg(long, value_name = "KIND=W,...", value_parser = parse_mix)]
    pub report_mix: Option<habench_workloads::reporting::ReportMix>,
    /// With --reports-on standbys: only these standbys serve reads (read-only routing list),
    /// e.g. s2 or s1,s2 (default: all).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub report_standbys: Vec<String>,
    /// Receive location (scenarios with `[receive]`, e.g. `receive`): receive instances polling
    /// it (1-16; default 2).
    #[arg(long, value_name = "N")]
    pub receive_instances: Option<u16>,
    /// Receive location: `none` (list and read without claiming, as FTP: duplicates and
    /// half-written reads), `exclusive` (skip files being written, claim by an atomic rename) or
    /// `clustered` (one active instance, another takes over after its death).
    #[arg(long, value_enum, value_name = "MODE")]
    pub receive_lock: Option<ReceiveLockArg>,
    /// The SSO master secret server: `none` (default), `separate` (its own PostgreSQL server,
    /// failing on its own) or `co-located` (the `sso` schema on the MessageBox cluster, failing
    /// over with it). Host instances fetch the secret at start and cache it.
    #[arg(long, value_enum, value_name = "WHERE")]
    pub sso: Option<SsoArg>,
    /// How often every host instance re-syncs the master secret (default 60s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub sso_refresh: Option<Duration>,
    /// No progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// End with one JSON line even on a terminal (pipes and scripts always get it).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub env: EnvArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    Single,
    SharedDisk,
    Sync,
    Async,
    LogShipping,
    Patroni,
    /// A monitor and N data nodes with their keepers (`--nodes`).
    #[value(name = "pg_auto_failover", alias = "pg-auto-failover")]
    PgAutoFailover,
    /// Two to four independent groups behind a load balancer (`--groups`, `--group-topology`).
    Parallel,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SsoArg {
    None,
    Separate,
    CoLocated,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReceiveLockArg {
    None,
    Exclusive,
    Clustered,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum QuorumArg {
    First,
    Any,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SyncCommitArg {
    Off,
    Local,
    #[value(name = "remote_write", alias = "remote-write")]
    RemoteWrite,
    On,
    #[value(name = "remote_apply", alias = "remote-apply")]
    RemoteApply,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ArrivalArg {
    Uniform,
    Poisson,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DriverArg {
    Wire,
    TokioPostgres,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum WorkloadArg {
    Messagebox,
    Insert,
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let digits = s.strip_suffix('s').unwrap_or(s);
    digits.parse::<u64>().map(Duration::from_secs).map_err(|_| format!("`{s}` is not whole seconds (e.g. 1s, 30s)"))
}

fn parse_sync_mode(s: &str) -> Result<crate::patroni::SyncMode, String> {
    s.parse()
}

fn parse_mix(s: &str) -> Result<habench_workloads::reporting::ReportMix, String> {
    habench_workloads::reporting::ReportMix::parse(s)
}

fn parse_fault(s: &str) -> Result<crate::fault::FaultSpec, String> {
    s.parse()
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    habench_workloads::duration::parse_duration(s)
}
