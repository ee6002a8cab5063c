//! The nemesis: each scheduled fault at its time. What habench runs itself (host and receive
//! instances, the secret server, parallel groups) it breaks directly; everything else goes
//! through the target's cluster manager, which knows who is primary and how to break it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{group_fault, FailoverPlan};
use crate::events::{EventKind, EventLog, SSO_NODE};
use crate::fault::{FaultKind, FaultSpec, WorkerKills};
use crate::manager::{wait_endpoint, Manager};
use crate::pg::Endpoint;

/// How long the write endpoint may take after a switchover habench carried out itself.
const ENDPOINT_TIMEOUT: Duration = Duration::from_secs(120);

/// Injects the plan's faults in time order, then waits for the run's end (the manager may still
/// be acting).
pub(super) async fn run(
    plan: &FailoverPlan,
    manager: Option<&dyn Manager>,
    measure_start: Instant,
    (log, kills): (&EventLog, &WorkerKills),
    mut stop: watch::Receiver<bool>,
) {
    let mut faults = plan.faults.clone();
    faults.sort_by_key(|f| f.at);
    for f in faults {
        tokio::select! {
            _ = tokio::time::sleep_until((measure_start + f.at).into()) => {}
            _ = stop.changed() => return,
        }
        match f.kind {
            FaultKind::KillHostInstance => {
                kills.kill_host_instance();
                let detail = "dies holding its next batch".into();
                log.push(EventKind::Injected { fault: f.clone(), target: "host instance".into(), detail });
            }
            FaultKind::KillReceiveInstance => {
                kills.kill_receive_instance(f.duration);
                let detail = match f.duration {
                    Some(d) => format!(
                        "dies at its next step, restarts after {}",
                        habench_workloads::duration::format_duration(d)
                    ),
                    None => "dies at its next step, for the rest of the run".into(),
                };
                log.push(EventKind::Injected { fault: f.clone(), target: "receive instance".into(), detail });
            }
            FaultKind::SsoOutage => sso_outage(plan.sso.clone(), &f, log, stop.clone()).await,
            k if k.on_group() => match plan.groups.first() {
                Some(g) => group_fault::run(g.clone(), &f, &plan.messagebox, log, stop.clone()).await,
                None => log.push(EventKind::Failed { what: f.kind.to_string(), error: "no parallel groups".into() }),
            },
            _ => match manager {
                Some(m) => through_manager(m, &f, &plan.write_endpoint, log, &mut stop).await,
                None => log.push(EventKind::Failed {
                    what: f.kind.to_string(),
                    error: "no topology to break (--target-dsn)".into(),
                }),
            },
        }
    }
    let _ = stop.changed().await;
}

/// One fault through the manager: injected, held for its duration when it lasts, undone.
async fn through_manager(
    m: &dyn Manager,
    f: &FaultSpec,
    endpoint: &Endpoint,
    log: &EventLog,
    stop: &mut watch::Receiver<bool>,
) {
    let t_inject = Instant::now();
    let injected = match &f.net {
        Some(net) => m.inject_net(net).await.map(|(i, r)| (i, Some(r))),
        None => m.inject(f.kind).await.map(|i| (i, None)),
    };
    let (injected, reach) = match injected {
        Ok(i) => i,
        Err(e) => return log.push(EventKind::Failed { what: f.kind.to_string(), error: e.to_string() }),
    };
    let node = injected.target.clone();
    log.push_at(t_inject, EventKind::Injected { fault: f.clone(), target: injected.target, detail: injected.detail });
    let hosts = reach.as_ref().map(|r| r.hosts.clone());
    if let Some(r) = reach {
        log.push_at(t_inject, EventKind::Reach { hosts: r.hosts, dropped: r.dropped, impaired: r.impaired });
    }
    // Carried out whole by habench: the endpoint is ready when the new primary answers.
    if m.completes(f.kind) && wait_endpoint(endpoint, ENDPOINT_TIMEOUT).await {
        log.push(EventKind::EndpointReady);
    }
    let (true, Some(d)) = (f.kind.needs_duration(), f.duration) else { return };
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.changed() => {}
    }
    match m.resume(f.kind, &node).await {
        Ok(true) => {
            log.push(EventKind::Resumed { node });
            if let Some(hosts) = hosts {
                log.push(EventKind::Reach { hosts, dropped: Vec::new(), impaired: Vec::new() });
            }
        }
        Ok(false) => {}
        Err(e) => log.push(EventKind::Failed { what: format!("{} resume on {node}", f.kind), error: e.to_string() }),
    }
}

/// The separate secret server crashes now and starts again after the fault's duration (in a
/// task of its own: later faults, such as a host instance's death, happen during the outage).
async fn sso_outage(
    sso: Option<Arc<tokio::sync::Mutex<crate::topology::SsoServer>>>,
    f: &FaultSpec,
    log: &EventLog,
    mut stop: watch::Receiver<bool>,
) {
    let Some(server) = sso else {
        log.push(EventKind::Failed {
            what: f.kind.to_string(),
            error: "no separate secret server (--sso separate)".into(),
        });
        return;
    };
    let t_inject = Instant::now();
    let killed = server.lock().await.crash().await;
    let node = SSO_NODE.to_string();
    log.push_at(
        t_inject,
        EventKind::Injected { fault: f.clone(), target: node.clone(), detail: format!("{killed} processes killed") },
    );
    let (log, d) = (log.clone(), f.duration.unwrap_or_default());
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = stop.changed() => {}
        }
        match server.lock().await.start().await {
            Ok(_) => log.push(EventKind::Resumed { node }),
            Err(e) => log.push(EventKind::Failed { what: "sso server start".into(), error: e.to_string() }),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, Result};
    use crate::fault::Injected;
    use crate::manager::Pending;
    use std::sync::Mutex;

    /// An engine that records what it was asked and fails what it is told to.
    #[derive(Default)]
    struct Fake {
        calls: Mutex<Vec<String>>,
        refuse: Option<FaultKind>,
    }

    impl Manager for Fake {
        fn engine(&self) -> &'static str {
            "fake"
        }

        fn inject(&self, kind: FaultKind) -> Pending<'_, Result<Injected>> {
            self.calls.lock().unwrap().push(format!("inject {kind}"));
            let refused = self.refuse == Some(kind);
            Box::pin(async move {
                if refused {
                    return Err(Error::node("n1", "refused"));
                }
                Ok(Injected { target: "n1".into(), detail: format!("{kind} done") })
            })
        }

        fn resume<'a>(&'a self, kind: FaultKind, target: &'a str) -> Pending<'a, Result<bool>> {
            self.calls.lock().unwrap().push(format!("resume {kind} {target}"));
            Box::pin(async move { Ok(kind == FaultKind::PausePrimary) })
        }

        fn watch(&self, _: EventLog, _: watch::Receiver<bool>) -> Option<Pending<'static, ()>> {
            None
        }
    }

    fn plan(faults: &[&str]) -> FailoverPlan {
        FailoverPlan {
            faults: faults.iter().map(|f| f.parse().unwrap()).collect(),
            orchestrator: Default::default(),
            topology: None,
            cluster: None,
            write_endpoint: Endpoint::new("host=127.0.0.1 port=1 user=postgres".parse().unwrap()),
            sso: None,
            groups: Vec::new(),
            messagebox: Default::default(),
        }
    }

    fn summary(log: &EventLog) -> Vec<String> {
        log.events()
            .iter()
            .map(|e| match &e.kind {
                EventKind::Injected { fault, target, .. } => format!("injected {} on {target}", fault.kind),
                EventKind::Resumed { node } => format!("resumed {node}"),
                EventKind::Failed { what, error } => format!("failed {what}: {error}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn faults_go_through_the_manager_in_time_order_and_a_lasting_one_is_undone_on_its_target() {
        let fake = Fake { refuse: Some(FaultKind::CrashPrimary), ..Fake::default() };
        let plan = plan(&["crash-primary@5s", "pause-primary@1s:2s", "kill-primary@9s"]);
        let (log, kills) = (EventLog::default(), WorkerKills::default());
        let (tx, rx) = watch::channel(false);
        let nemesis = run(&plan, Some(&fake), Instant::now(), (&log, &kills), rx);
        let stopper = async {
            tokio::time::sleep(Duration::from_secs(20)).await;
            let _ = tx.send(true);
        };
        tokio::join!(nemesis, stopper);
        assert_eq!(
            *fake.calls.lock().unwrap(),
            ["inject pause-primary", "resume pause-primary n1", "inject crash-primary", "inject kill-primary"]
        );
        let events = summary(&log);
        assert_eq!(events.len(), 4, "{events:?}");
        assert_eq!(events[0], "injected pause-primary on n1");
        assert_eq!(events[1], "resumed n1");
        assert!(events[2].starts_with("failed crash-primary:") && events[2].contains("refused"), "{events:?}");
        assert_eq!(events[3], "injected kill-primary on n1");
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_manager_a_node_fault_is_a_failure_and_a_worker_fault_still_happens() {
        let plan = plan(&["kill-primary@1s", "kill-host-instance@2s"]);
        let (log, kills) = (EventLog::default(), WorkerKills::default());
        let (tx, rx) = watch::channel(false);
        let stopper = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let _ = tx.send(true);
        };
        tokio::join!(run(&plan, None, Instant::now(), (&log, &kills), rx), stopper);
        let events = summary(&log);
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(events[0].starts_with("failed kill-primary: no topology"), "{events:?}");
        assert_eq!(events[1], "injected kill-host-instance on host instance");
    }
}
