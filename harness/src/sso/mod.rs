//! The SSO master secret during a run (its separate server is `topology::SsoServer`): what the
//! host instances and the configuration changes did with it (`export::sso` gives the summary's
//! account of it).

mod state;

pub(crate) use state::{InstanceStart, SsoState};
