//! The MessageBox workload (BizTalk's message store): publish, dequeue, complete, suspend and
//! the purge job, on real PostgreSQL.

pub mod config;
pub mod ops;
pub mod receive_ops;
pub mod schema;

pub use config::{BodySize, HostConfig, MessageBoxConfig, MessageTypeConfig};
pub use ops::{cleanup, install, queue_depths, Delivery, Depths, HostSession, OpError, PublishSession};
pub use receive_ops::{ReceiveSession, Received};
