//! Distance and partitions without `netem`: a userspace TCP proxy per standby replication
//! connection, with delay, jitter, bandwidth and a cut switch.

pub(crate) mod proxy;
pub(crate) mod spec;

pub use proxy::{Dial, LinkProxy, LinkState};
pub use spec::LinkSpec;
