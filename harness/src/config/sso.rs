//! The SSO master secret (`--sso`, `[sso]`): where the secret server runs, how often processing
//! servers re-sync with it, and what of the load needs it.

use std::time::Duration;

use habench_workloads::duration::serde_str;
use serde::Serialize;

pub(crate) use crate::config::scenario::SsoMode;
use crate::config::scenario::SsoSection;
use crate::config::{Origin, Target, WorkloadKind};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize)]
pub struct SsoConfig {
    pub mode: SsoMode,
    /// Every host instance re-syncs the secret this often (BizTalk: 60 s).
    #[serde(with = "serde_str")]
    pub refresh: Duration,
    /// The share of deliveries that decrypt a credential with the cached secret.
    pub decrypt_share: f64,
    /// Configuration changes per second, each a new encryption written through the server.
    pub encrypt_rate: f64,
    /// A killed host instance (`kill-host-instance`) is started again after this; it must fetch
    /// the secret before it can process anything.
    #[serde(with = "serde_str")]
    pub restart_after: Duration,
}

/// The `--sso*` flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct SsoOverrides {
    pub mode: Option<SsoMode>,
    pub refresh: Option<Duration>,
}

pub(crate) fn sso(
    flags: SsoOverrides,
    section: Option<&SsoSection>,
    at: &Origin<'_>,
    kind: WorkloadKind,
    target: &Target,
) -> Result<Option<SsoConfig>> {
    let s = section.cloned().unwrap_or_default();
    let mode_key = at.key(flags.mode.is_some(), "--sso", "sso.mode");
    let mode = flags.mode.or(s.mode).unwrap_or(SsoMode::None);
    if mode == SsoMode::None {
        if flags.refresh.is_some() {
            return Err(Error::config(
                "--sso-refresh",
                "there is no secret server to refresh from: add --sso separate or co-located",
            ));
        }
        return Ok(None);
    }
    if kind != WorkloadKind::Messagebox {
        return Err(Error::config(
            mode_key,
            "the secret is fetched by host instances, which only the messagebox workload has: drop --workload insert",
        ));
    }
    if mode == SsoMode::Separate && !matches!(target, Target::Topology(_)) {
        return Err(Error::config(
            mode_key,
            "a separate secret server is started by habench beside the topology it starts; against a server it \
             did not start (--target-dsn, --cluster) use --sso co-located",
        ));
    }
    let refresh = flags.refresh.or(s.refresh.map(|d| d.0)).unwrap_or(Duration::from_secs(60));
    if refresh < Duration::from_millis(100) || refresh > Duration::from_secs(3600) {
        return Err(Error::config(at.key(flags.refresh.is_some(), "--sso-refresh", "sso.refresh"), "give 100ms to 1h"));
    }
    let decrypt_share = s.decrypt_share.unwrap_or(0.5);
    if !(0.0..=1.0).contains(&decrypt_share) {
        return Err(Error::config(at.key(false, "sso.decrypt_share", "sso.decrypt_share"), "give a share from 0 to 1"));
    }
    let encrypt_rate = s.encrypt_rate.unwrap_or(2.0);
    if !(encrypt_rate > 0.0 && encrypt_rate <= 1000.0) {
        return Err(Error::config(
            at.key(false, "sso.encrypt_rate", "sso.encrypt_rate"),
            "give more than 0 and at most 1000 per second",
        ));
    }
    let restart_after = s.restart_after.map_or(Duration::from_secs(2), |d| d.0);
    if restart_after > Duration::from_secs(600) {
        return Err(Error::config(at.key(false, "sso.restart_after", "sso.restart_after"), "give 0s to 10m"));
    }
    Ok(Some(SsoConfig { mode, refresh, decrypt_share, encrypt_rate, restart_after }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, RunConfig};

    fn refused(args: Overrides) -> String {
        RunConfig::from_overrides(&args).unwrap_err().to_string()
    }

    fn quick(sso: SsoOverrides) -> Overrides {
        Overrides { scenario: Some("quick".into()), sso, ..Overrides::default() }
    }

    #[test]
    fn an_sso_that_the_target_or_the_workload_cannot_host_is_refused_with_the_reason() {
        let separate = SsoOverrides { mode: Some(SsoMode::Separate), refresh: None };
        let e = refused(Overrides { target_dsn: Some("host=127.0.0.1 port=5432".into()), ..quick(separate) });
        assert!(e.contains("--sso") && e.contains("co-located"), "{e}");
        let e = refused(Overrides { workload: Some(WorkloadKind::Insert), ..quick(separate) });
        assert!(e.contains("--sso") && e.contains("host instances"), "{e}");
        let e = refused(quick(SsoOverrides { mode: None, refresh: Some(Duration::from_secs(1)) }));
        assert!(e.contains("--sso-refresh"), "{e}");
        let outage = vec!["sso-outage@1s:2s".parse().unwrap()];
        let co = SsoOverrides { mode: Some(SsoMode::CoLocated), refresh: None };
        let e = refused(Overrides { faults: outage.clone(), ..quick(co) });
        assert!(e.contains("sso-outage") && e.contains("--sso separate"), "{e}");
        let e = refused(Overrides { faults: outage, ..quick(SsoOverrides::default()) });
        assert!(e.contains("--sso separate"), "{e}");
        assert!("sso-outage@1s".parse::<crate::fault::FaultSpec>().unwrap_err().contains("needs a duration"));
    }

    #[test]
    fn the_secret_is_refreshed_every_60_s_unless_told_otherwise() {
        let co = SsoOverrides { mode: Some(SsoMode::CoLocated), refresh: None };
        let c = RunConfig::from_overrides(&quick(co)).unwrap().sso.unwrap();
        assert_eq!((c.mode, c.refresh), (SsoMode::CoLocated, Duration::from_secs(60)));
        assert!(RunConfig::from_overrides(&quick(SsoOverrides::default())).unwrap().sso.is_none());
    }
}
