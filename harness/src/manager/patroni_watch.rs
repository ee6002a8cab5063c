//! Watches a cluster manager (Patroni) decide, without ever acting: polls its view of the
//! cluster (`GET /cluster`) every 50 ms and logs each change of leader key, leader state and
//! timeline, plus the phases the trials time: detected (the old leader's key gone or its server
//! down), promoted (a new leader running on a new timeline) or restarted (the same leader
//! running again), endpoint ready (`GET /primary` answers 200 on the leader).

use std::time::Duration;

use tokio::sync::watch;

use crate::events::{EventKind, EventLog};
use crate::patroni::{http, ClusterView};
use crate::topology::{AnyTopology, SharedTopology};

/// How often the cluster's view is read.
pub(crate) const POLL: Duration = Duration::from_millis(50);
const CALL_TIMEOUT: Duration = Duration::from_millis(300);

/// The leader as one poll saw it.
#[derive(Debug, Clone, PartialEq)]
struct Leader {
    /// Who holds the leader key (None: nobody; the key expired or was released).
    key: Option<String>,
    state: Option<String>,
    timeline: Option<u64>,
}

impl Leader {
    fn of(view: &ClusterView) -> Leader {
        let m = view.members.iter().find(|m| m.role == "leader");
        Leader {
            key: m.map(|m| m.name.clone()),
            state: m.map(|m| m.state.clone()),
            timeline: m.and_then(|m| m.timeline),
        }
    }

    fn running(&self) -> bool {
        self.state.as_deref() == Some("running")
    }
}

/// Where an outage stands, from the watcher's view.
#[derive(Debug, Default)]
struct Phase {
    /// The leader before the outage began, and its timeline.
    before: Option<(String, Option<u64>)>,
    detected: bool,
    /// The leader that took over (or came back), awaiting `/primary`.
    awaiting_endpoint: Option<String>,
}

/// Watches the engine behind `urls` (node name, REST URL); a topology habench started is told
/// who leads after each change.
pub(crate) async fn run(
    (urls, client): (Vec<(String, String)>, http::RestClient),
    topo: Option<SharedTopology>,
    log: EventLog,
    mut stop: watch::Receiver<bool>,
) {
    let mut last: Option<Leader> = None;
    let mut phase = Phase::default();
    let mut first_url = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => return,
        }
        // The leader's own answer (no DCS needed) and the cluster's view (read from the DCS),
        // at once: a frozen node's REST must not slow the cadence.
        let leader_url = last
            .as_ref()
            .filter(|l| l.running() && !phase.detected)
            .and_then(|l| l.key.clone())
            .and_then(|k| urls.iter().find(|(n, _)| *n == k).cloned());
        let (cluster, demoted) = tokio::join!(read_cluster(&client, &urls, first_url), async {
            let (name, url) = leader_url?;
            let r = client.request(&url, "GET", "/primary", None, CALL_TIMEOUT).await.ok()?;
            (r.status == 503).then_some(name)
        });
        if let (Some(name), Some(l)) = (demoted, last.as_ref()) {
            // An explicit "not the primary" from the leader: Patroni demoted it (no DCS, a
            // switchover, postgres down).
            phase.before.get_or_insert((name.clone(), l.timeline));
            phase.detected = true;
            log.push(EventKind::Engine {
                what: "answers GET /primary with 503: no longer a writable leader".into(),
                node: name.clone(),
            });
            log.push(EventKind::Detected { node: name, missed_probes: 0 });
        }
        if let Some((view, answered)) = cluster {
            first_url = answered;
            let now = Leader::of(&view);
            if last.as_ref() != Some(&now) {
                log.push(EventKind::Engine { what: describe(&now), node: now.key.clone().unwrap_or_default() });
                step(&mut phase, last.as_ref(), &now, &log);
                if let (true, Some(t)) = (now.running(), &topo) {
                    if let AnyTopology::Patroni(p) = &mut *t.lock().await {
                        p.follow(&view);
                    }
                }
                last = Some(now.clone());
            }
        }
        if let Some(node) = phase.awaiting_endpoint.clone() {
            if let Some((_, url)) = urls.iter().find(|(n, _)| *n == node) {
                let answer = client.request(url, "GET", "/primary", None, CALL_TIMEOUT).await;
                if answer.is_ok_and(|r| r.status == 200) {
                    log.push(EventKind::EndpointReady);
                    phase = Phase::default();
                }
            }
        }
    }
}

/// Advances the outage's phases on a change of leader.
fn step(phase: &mut Phase, last: Option<&Leader>, now: &Leader, log: &EventLog) {
    let Some(last) = last else { return };
    if last.running() && phase.before.is_none() {
        phase.before = last.key.clone().map(|k| (k, last.timeline));
    }
    let Some((old, old_tl)) = phase.before.clone() else { return };
    if !phase.detected && (now.key.as_deref() != Some(old.as_str()) || !now.running()) {
        phase.detected = true;
        log.push(EventKind::Detected { node: old.clone(), missed_probes: 0 });
    }
    if now.running() && phase.awaiting_endpoint.is_none() {
        let Some(key) = now.key.clone() else { return };
        // Another node holding the key and running: Patroni promotes right after taking the
        // key (the timeline it reports in the DCS lags by a loop). The same node on a new
        // timeline after it was detected down: it demoted and was promoted again.
        let promoted = match (now.timeline, old_tl) {
            _ if key != old => true,
            (Some(a), Some(b)) => phase.detected && a > b,
            _ => false,
        };
        if promoted {
            log.push(EventKind::Promoted {
                node: key.clone(),
                promote_ms: 0.0,
                detail: format!("Patroni: leader key {key}, running"),
            });
        } else if key == old && phase.detected {
            log.push(EventKind::Restarted { node: key.clone(), start_ms: 0.0, recovery_ms: None, redo_bytes: None });
        } else {
            return;
        }
        phase.awaiting_endpoint = Some(key);
    }
}

fn describe(l: &Leader) -> String {
    match (&l.key, &l.state) {
        (None, _) => "no leader key".into(),
        (Some(k), Some(s)) => {
            format!("leader key {k}, {s}, timeline {}", l.timeline.map_or("?".into(), |t| t.to_string()))
        }
        (Some(k), None) => format!("leader key {k}"),
    }
}

/// `GET /cluster` from the first node that answers, starting with the one that answered last.
async fn read_cluster(
    client: &http::RestClient,
    urls: &[(String, String)],
    first: usize,
) -> Option<(ClusterView, usize)> {
    for k in 0..urls.len() {
        let i = (first + k) % urls.len();
        if let Ok(r) = client.request(&urls[i].1, "GET", "/cluster", None, CALL_TIMEOUT).await {
            if let Some(v) = ClusterView::parse(&r.body) {
                return Some((v, i));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leader(key: Option<&str>, state: &str, tl: u64) -> Leader {
        Leader { key: key.map(str::to_string), state: Some(state.to_string()), timeline: Some(tl) }
    }

    fn kinds(log: &EventLog) -> Vec<String> {
        log.events().iter().map(|e| format!("{:?}", e.kind).split([' ', '{']).next().unwrap().to_string()).collect()
    }

    #[test]
    fn a_key_that_expires_then_a_new_leader_is_detected_then_promoted() {
        let log = EventLog::default();
        let mut phase = Phase::default();
        let a = leader(Some("n1"), "running", 1);
        let gone = Leader { key: None, state: None, timeline: None };
        let promoting = leader(Some("n2"), "running", 1);
        let b = leader(Some("n2"), "running", 2);
        step(&mut phase, Some(&a), &gone, &log);
        step(&mut phase, Some(&gone), &promoting, &log);
        assert_eq!(kinds(&log), vec!["Detected", "Promoted"], "another node runs holding the key");
        step(&mut phase, Some(&promoting), &b, &log);
        assert_eq!(kinds(&log), vec!["Detected", "Promoted"], "its timeline showing later is no new promotion");
        assert_eq!(phase.awaiting_endpoint.as_deref(), Some("n2"));
    }

    #[test]
    fn a_new_timeline_on_the_same_leader_counts_only_after_it_was_seen_down() {
        let log = EventLog::default();
        let mut phase = Phase::default();
        let (one, two) = (leader(Some("n1"), "running", 1), leader(Some("n1"), "running", 2));
        step(&mut phase, Some(&one), &two, &log);
        assert!(kinds(&log).is_empty(), "a late timeline update alone: {:?}", kinds(&log));
        let mut phase = Phase { before: Some(("n1".into(), Some(1))), detected: true, awaiting_endpoint: None };
        step(&mut phase, Some(&one), &two, &log);
        assert_eq!(kinds(&log), vec!["Promoted"]);
    }

    #[test]
    fn a_leader_that_comes_back_on_its_timeline_was_restarted() {
        let log = EventLog::default();
        let mut phase = Phase::default();
        let up = leader(Some("n1"), "running", 1);
        let crashed = leader(Some("n1"), "crashed", 1);
        step(&mut phase, Some(&up), &crashed, &log);
        step(&mut phase, Some(&crashed), &up, &log);
        assert_eq!(kinds(&log), vec!["Detected", "Restarted"]);
    }
}
