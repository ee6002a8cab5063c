//! Once per interval: queue depths and spool size (from the write endpoint) and replication lag
//! per standby (`pg_stat_replication` on the primary). A sample that cannot be taken in time is
//! left empty rather than delaying the interval.

use std::time::Duration;

use habench_workloads::messagebox::{queue_depths, MessageBoxConfig};
use tokio_postgres::Client;

use crate::measure::StandbyLag;
use crate::pg::Endpoint;

const SAMPLE_TIMEOUT: Duration = Duration::from_millis(700);

#[derive(Debug)]
pub(crate) struct DbSampler {
    endpoint: Endpoint,
    client: Option<Client>,
}

#[derive(Debug, Default)]
pub(crate) struct DbSample {
    pub queue_depths: Option<Vec<i64>>,
    /// Entries in every suspended queue.
    pub suspended: Option<i64>,
    pub spool_rows: Option<i64>,
    pub lag: Vec<StandbyLag>,
}

const LAG_SQL: &str = "SELECT application_name,
    (extract(epoch FROM write_lag) * 1000)::float8,
    (extract(epoch FROM flush_lag) * 1000)::float8,
    (extract(epoch FROM replay_lag) * 1000)::float8,
    pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::int8
  FROM pg_stat_replication ORDER BY application_name";

impl DbSampler {
    pub(crate) fn new(endpoint: Endpoint) -> DbSampler {
        DbSampler { endpoint, client: None }
    }

    pub(crate) async fn sample(&mut self, mb: Option<&MessageBoxConfig>) -> DbSample {
        match tokio::time::timeout(SAMPLE_TIMEOUT, self.sample_inner(mb)).await {
            Ok(Some(s)) => s,
            _ => {
                self.client = None;
                DbSample::default()
            }
        }
    }

    async fn sample_inner(&mut self, mb: Option<&MessageBoxConfig>) -> Option<DbSample> {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            self.client = self.endpoint.connect_once().await.ok();
        }
        let client = self.client.as_ref()?;
        let mut out = DbSample::default();
        if let Some(mb) = mb {
            let d = queue_depths(client, mb).await.ok()?;
            out.suspended = Some(d.suspended);
            out.spool_rows = Some(d.spool);
            out.queue_depths = Some(d.queues);
        }
        if let Ok(rows) = client.query(LAG_SQL, &[]).await {
            out.lag = rows
                .iter()
                .map(|r| StandbyLag {
                    name: r.get(0),
                    write_ms: r.get(1),
                    flush_ms: r.get(2),
                    replay_ms: r.get(3),
                    replay_bytes: r.get(4),
                })
                .collect();
        }
        Some(out)
    }

    /// Names of the standbys connected now (fixes the timeline's lag columns).
    /// (The write endpoint's; parallel groups have no lag columns.)
    pub(crate) async fn standby_names(&mut self) -> Vec<String> {
        self.sample(None).await.lag.into_iter().map(|l| l.name).collect()
    }
}

/// What the run samples: the write endpoint, or every parallel group (queues summed).
#[derive(Debug)]
pub(crate) enum Sampler {
    One(Box<DbSampler>),
    Groups(std::sync::Arc<crate::balancer::Balancer>, Vec<DbSampler>),
}

impl Sampler {
    pub(crate) fn groups(b: std::sync::Arc<crate::balancer::Balancer>) -> Sampler {
        let samplers = b.groups().iter().map(|g| DbSampler::new(g.endpoint.clone())).collect();
        Sampler::Groups(b, samplers)
    }

    /// One sample. Parallel groups: the queues of every group summed; a group that does not
    /// answer leaves the sum unknown (its messages still wait), unless it is gone for good.
    pub(crate) async fn sample(&mut self, mb: Option<&MessageBoxConfig>) -> DbSample {
        let (b, samplers) = match self {
            Sampler::One(s) => return s.sample(mb).await,
            Sampler::Groups(b, s) => (b, s),
        };
        let mut out = DbSample { queue_depths: None, suspended: Some(0), spool_rows: Some(0), lag: Vec::new() };
        let mut depths: Option<Vec<i64>> = Some(Vec::new());
        for (g, s) in b.groups().iter().zip(samplers.iter_mut()) {
            if g.is_gone() {
                continue;
            }
            let one = s.sample(mb).await;
            depths = match (depths, one.queue_depths) {
                (Some(sum), Some(d)) => {
                    Some(if sum.is_empty() { d } else { sum.iter().zip(&d).map(|(a, b)| a + b).collect() })
                }
                _ => None,
            };
            out.suspended = out.suspended.zip(one.suspended).map(|(a, b)| a + b);
            out.spool_rows = out.spool_rows.zip(one.spool_rows).map(|(a, b)| a + b);
        }
        out.queue_depths = depths.filter(|d| !d.is_empty());
        out
    }
}
