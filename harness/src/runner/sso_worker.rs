//! The SSO master secret on the workers' side: a host instance fetches the secret before it
//! can start and re-syncs it every refresh interval (keeping its cache when that fails);
//! configuration changes encrypt with the secret and write through the secret server.

use std::time::{Duration, Instant};

use habench_workloads::messagebox::OpError;
use habench_workloads::sso;
use habench_workloads::Outcome;
use tokio::sync::watch;

use crate::runner::shared::Shared;
use crate::sso::{InstanceStart, SsoState};

/// How long a fetch or an encryption may take before it counts as failed (unknown).
const SSO_TIMEOUT: Duration = Duration::from_secs(5);
/// A starting instance asks again this often while the server does not answer.
const RETRY: Duration = Duration::from_secs(1);

/// The secret, fetched once over a fresh connection.
async fn fetch(st: &SsoState) -> Result<Vec<u8>, String> {
    let work = async {
        let c = st.endpoint.connect_once().await.map_err(|e| e.to_string())?;
        sso::fetch_secret(&c).await.map_err(|e| e.message)
    };
    tokio::time::timeout(SSO_TIMEOUT, work).await.unwrap_or_else(|_| Err("no answer".into()))
}

/// A (re)starting host instance: asks for the secret until it has it. None when the run stops
/// (or gives up) first: the instance never started.
pub(crate) async fn obtain(
    sh: &Shared,
    st: &SsoState,
    instance: &str,
    stop: &mut watch::Receiver<bool>,
) -> Option<Vec<u8>> {
    let asked = Instant::now();
    let mut start = InstanceStart {
        instance: instance.to_string(),
        asked_us: sh.clock.epoch_us(asked),
        got_us: None,
        failed_attempts: 0,
    };
    loop {
        match fetch(st).await {
            Ok(secret) => {
                start.got_us = Some(sh.clock.epoch_us(Instant::now()));
                st.started(start);
                return Some(secret);
            }
            Err(e) => {
                start.failed_attempts += 1;
                sh.note_error("sso start", &e);
            }
        }
        if Instant::now() + RETRY >= sh.hard_end {
            st.started(start);
            return None;
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY) => {}
            _ = stop.changed() => {
                st.started(start);
                return None;
            }
        }
    }
}

/// The periodic re-sync: a new secret when the server answers, the cached one kept otherwise.
pub(crate) async fn refresh(sh: &Shared, st: &SsoState, cached: &mut Vec<u8>) {
    match fetch(st).await {
        Ok(s) => {
            *cached = s;
            SsoState::count(&st.refresh_ok);
        }
        Err(e) => {
            sh.note_error("sso refresh", &e);
            SsoState::count(&st.refresh_failed);
        }
    }
}

/// A delivery that decrypts a credential with the cached secret (no server involved).
pub(crate) fn decrypt(st: &SsoState, cached: &[u8], seq: i64) {
    let blob = seq.to_le_bytes();
    match sso::decrypt(cached, &blob) {
        Some(_) => SsoState::count(&st.decrypt_ok),
        None => SsoState::count(&st.decrypt_failed),
    }
}

/// Configuration changes at the configured rate until the run stops: each encrypts with the
/// secret (fetched first, then kept) and writes through the secret server.
pub(crate) async fn configuration_changes(sh: std::sync::Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let (Some(st), Some(cfg)) = (sh.sso.clone(), sh.cfg.sso.clone()) else { return };
    let every = Duration::from_secs_f64(1.0 / cfg.encrypt_rate);
    let mut next = sh.measure_start;
    let mut secret: Option<Vec<u8>> = None;
    let mut client: Option<tokio_postgres::Client> = None;
    let mut n = 0u64;
    while next < sh.publish_end {
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = stop.changed() => return,
        }
        next += every;
        n += 1;
        if secret.is_none() {
            secret = fetch(&st).await.ok();
        }
        let at = Instant::now();
        let outcome = match &secret {
            None => Outcome::Fail,
            Some(s) => {
                let work = async {
                    if client.as_ref().is_none_or(|c| c.is_closed()) {
                        client = Some(st.endpoint.connect_once().await.map_err(|e| OpError {
                            outcome: Outcome::Fail,
                            message: e.to_string(),
                            closed: true,
                        })?);
                    }
                    let c = client.as_ref().expect("connected");
                    sso::encrypt(c, s, "adapter-config", format!("change {n}").as_bytes()).await
                };
                match tokio::time::timeout(SSO_TIMEOUT, work).await {
                    Ok(Ok(())) => Outcome::Ok,
                    Ok(Err(e)) => {
                        sh.note_error("sso encrypt", &e.message);
                        e.outcome
                    }
                    Err(_) => Outcome::Unknown,
                }
            }
        };
        match outcome {
            Outcome::Ok | Outcome::AckedUnreplicated => SsoState::count(&st.encrypt_ok),
            Outcome::Fail => SsoState::count(&st.encrypt_failed),
            Outcome::Unknown => SsoState::count(&st.encrypt_unknown),
        }
        if !outcome.acknowledged() {
            client = None;
            st.encrypt_not_done(sh.clock.epoch_us(at));
        }
    }
}
