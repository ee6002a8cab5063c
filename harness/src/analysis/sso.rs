//! The summary's SSO section from what the workers counted and the nemesis logged.

use crate::config::SsoConfig;
use crate::events::{Event, EventKind, SSO_NODE};
use crate::fault::FaultKind;
use crate::measure::RunClock;
use crate::sso::SsoState;
use crate::summary::{SsoOutageWindow, SsoSection, SsoStart};

pub(crate) fn section(cfg: &SsoConfig, st: &SsoState, events: &[Event], clock: &RunClock) -> SsoSection {
    let start_us = clock.epoch_us(clock.start());
    let t_s = |us: i64| (us - start_us) as f64 / 1e6;
    let outages = events
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::Injected { fault, .. } if fault.kind == FaultKind::SsoOutage))
        .map(|e| SsoOutageWindow {
            from_s: clock.elapsed_s(e.at),
            to_s: events
                .iter()
                .filter(|r| r.at >= e.at)
                .find(|r| matches!(&r.kind, EventKind::Resumed { node } if node == SSO_NODE))
                .map(|r| clock.elapsed_s(r.at)),
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let starts: Vec<SsoStart> = st
        .starts()
        .into_iter()
        // A first start that got the secret at once says nothing: left out.
        .filter(|s| !seen.insert(s.instance.clone()) || s.failed_attempts > 0 || s.got_us.is_none())
        .map(|s| SsoStart {
            instance: s.instance,
            at_s: t_s(s.asked_us),
            waited_ms: s.got_us.map(|g| (g - s.asked_us) as f64 / 1e3),
            failed_attempts: s.failed_attempts,
        })
        .collect();
    let span = st.encrypt_fail_span_us();
    SsoSection {
        mode: cfg.mode.as_str().to_string(),
        refresh_s: cfg.refresh.as_secs_f64(),
        decryptions_ok: SsoState::get(&st.decrypt_ok),
        decryptions_failed: SsoState::get(&st.decrypt_failed),
        encryptions_ok: SsoState::get(&st.encrypt_ok),
        encryptions_failed: SsoState::get(&st.encrypt_failed),
        encryptions_unknown: SsoState::get(&st.encrypt_unknown),
        server_credentials: None,
        encrypt_failing_from_s: span.map(|(a, _)| t_s(a)),
        encrypt_failing_to_s: span.map(|(_, b)| t_s(b)),
        refreshes_ok: SsoState::get(&st.refresh_ok),
        refreshes_failed: SsoState::get(&st.refresh_failed),
        outages,
        starts_blocked: starts.iter().filter(|s| s.failed_attempts > 0 || s.waited_ms.is_none()).count() as u64,
        starts,
    }
}
