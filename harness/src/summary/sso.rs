//! The summary's SSO section: what worked and what did not while the master secret server was
//! down.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct SsoSection {
    /// `separate` or `co-located`.
    pub mode: String,
    pub refresh_s: f64,
    /// Deliveries that decrypted a credential with the cached secret, and those that could not.
    pub decryptions_ok: u64,
    pub decryptions_failed: u64,
    /// Configuration changes: new encryptions written through the secret server.
    pub encryptions_ok: u64,
    pub encryptions_failed: u64,
    pub encryptions_unknown: u64,
    /// The encrypted credentials the secret server holds after the run (read from it: at least
    /// `encryptions_ok`, at most that plus `encryptions_unknown`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_credentials: Option<u64>,
    /// The first and last encryption that did not succeed (s from the start of the run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypt_failing_from_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypt_failing_to_s: Option<f64>,
    /// Re-syncs of the cached secret that worked and that failed (the cache was kept).
    pub refreshes_ok: u64,
    pub refreshes_failed: u64,
    /// The secret server's outages (`sso-outage`), s from the start of the run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outages: Vec<SsoOutageWindow>,
    /// Host instance starts that had to wait for the secret (or never got it).
    pub starts_blocked: u64,
    /// Every start after the run's first ones, and any first one that had to wait.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub starts: Vec<SsoStart>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct SsoOutageWindow {
    pub from_s: f64,
    /// None: not back before the run ended.
    pub to_s: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct SsoStart {
    pub instance: String,
    /// When it asked for the secret (s from the start of the run).
    pub at_s: f64,
    /// How long until it had it (None: never, it could not start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_ms: Option<f64>,
    pub failed_attempts: u32,
}
