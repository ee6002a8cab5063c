//! What a MessageBox looks like: hosts, message types and their subscribers, body sizes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::duration::serde_str;
use crate::rng::Rng;

/// A host (BizTalk: a logical host whose instances share one queue table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Lower-case letters, digits and `_`; the queue table is `q_<name>`.
    pub name: String,
    /// Host instances: tasks with their own connection that poll the queue. 0 is a stopped host
    /// (BizTalk: its host instances stopped): what is routed to it waits in its queue.
    #[serde(default = "default_instances")]
    pub instances: u16,
    /// Messages taken per dequeue.
    #[serde(default = "default_batch")]
    pub batch_size: u16,
    /// How long an instance waits after finding its queue empty (BizTalk default: 500 ms).
    #[serde(default = "default_polling", with = "serde_str")]
    pub polling_interval: Duration,
}

/// A message type and the hosts subscribed to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageTypeConfig {
    pub name: String,
    /// Relative share of publishes.
    #[serde(default = "default_weight")]
    pub weight: f64,
    pub subscribers: Vec<String>,
}

/// Body sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "distribution", rename_all = "kebab-case", deny_unknown_fields)]
pub enum BodySize {
    Fixed {
        bytes: u32,
    },
    Uniform {
        min_bytes: u32,
        max_bytes: u32,
    },
    /// Log-normal around a median, plus a share of large bodies.
    LogNormal {
        median_bytes: u32,
        sigma: f64,
        #[serde(default)]
        large_share: f64,
        #[serde(default = "default_large")]
        large_bytes: u32,
    },
}

impl Default for BodySize {
    /// About 2 KiB, with 1% of 256 KiB bodies.
    fn default() -> Self {
        BodySize::LogNormal { median_bytes: 2048, sigma: 0.5, large_share: 0.01, large_bytes: 256 * 1024 }
    }
}

impl BodySize {
    pub fn draw(&self, rng: &mut Rng) -> usize {
        match *self {
            BodySize::Fixed { bytes } => bytes as usize,
            BodySize::Uniform { min_bytes, max_bytes } => rng.range(min_bytes as u64, max_bytes as u64) as usize,
            BodySize::LogNormal { median_bytes, sigma, large_share, large_bytes } => {
                if large_share > 0.0 && rng.chance(large_share) {
                    return large_bytes as usize;
                }
                let v = median_bytes as f64 * (sigma * rng.normal()).exp();
                v.clamp(1.0, 64.0 * 1024.0 * 1024.0) as usize
            }
        }
    }
}

/// The MessageBox workload's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageBoxConfig {
    pub hosts: Vec<HostConfig>,
    pub message_types: Vec<MessageTypeConfig>,
    #[serde(default)]
    pub body: BodySize,
    /// Bodies larger than this are split into fragments (BizTalk: large message fragment size).
    #[serde(default = "default_fragment")]
    pub fragment_bytes: u32,
    /// Share of deliveries that fail and move to the host's suspended queue.
    #[serde(default)]
    pub suspend_share: f64,
    /// How often the purge job deletes spool rows and parts nobody references.
    #[serde(default = "default_cleanup", with = "serde_str")]
    pub cleanup_interval: Duration,
}

fn default_instances() -> u16 {
    2
}
fn default_batch() -> u16 {
    10
}
fn default_polling() -> Duration {
    Duration::from_millis(500)
}
fn default_weight() -> f64 {
    1.0
}
fn default_large() -> u32 {
    256 * 1024
}
fn default_fragment() -> u32 {
    100 * 1024
}
fn default_cleanup() -> Duration {
    Duration::from_secs(5)
}

impl Default for MessageBoxConfig {
    /// Two message types; a `send` and an `archive` host with 2 instances each.
    fn default() -> Self {
        let host = |name: &str| HostConfig {
            name: name.into(),
            instances: default_instances(),
            batch_size: default_batch(),
            polling_interval: default_polling(),
        };
        MessageBoxConfig {
            hosts: vec![host("send"), host("archive")],
            message_types: vec![
                MessageTypeConfig {
                    name: "order".into(),
                    weight: 3.0,
                    subscribers: vec!["send".into(), "archive".into()],
                },
                MessageTypeConfig { name: "invoice".into(), weight: 1.0, subscribers: vec!["send".into()] },
            ],
            body: BodySize::default(),
            fragment_bytes: default_fragment(),
            suspend_share: 0.0,
            cleanup_interval: default_cleanup(),
        }
    }
}

impl MessageBoxConfig {
    /// Checks names and references; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.hosts.is_empty() {
            return Err("hosts: at least one host is needed".into());
        }
        for (i, h) in self.hosts.iter().enumerate() {
            if !valid_ident(&h.name) {
                return Err(format!(
                    "hosts[{i}].name: `{}` must be lower-case letters, digits and _ (it names q_{})",
                    h.name, h.name
                ));
            }
            if self.hosts[..i].iter().any(|o| o.name == h.name) {
                return Err(format!("hosts[{i}].name: `{}` is listed twice", h.name));
            }
            if h.batch_size == 0 {
                return Err(format!("hosts[{i}].batch_size: at least 1"));
            }
        }
        if self.message_types.is_empty() {
            return Err("message_types: at least one message type is needed".into());
        }
        for (i, t) in self.message_types.iter().enumerate() {
            if t.weight.is_nan() || t.weight < 0.0 {
                return Err(format!("message_types[{i}].weight: must be 0 or more"));
            }
            if t.subscribers.is_empty() {
                return Err(format!("message_types[{i}].subscribers: at least one host (a message nobody subscribes to is purged at once)"));
            }
            for s in &t.subscribers {
                if !self.hosts.iter().any(|h| &h.name == s) {
                    return Err(format!("message_types[{i}].subscribers: `{s}` is not one of the hosts"));
                }
            }
        }
        if self.message_types.iter().map(|t| t.weight).sum::<f64>() <= 0.0 {
            return Err("message_types: the weights add up to 0".into());
        }
        if !(0.0..=1.0).contains(&self.suspend_share) {
            return Err("suspend_share: a share between 0 and 1".into());
        }
        if self.fragment_bytes < 1024 {
            return Err("fragment_bytes: at least 1024".into());
        }
        if let BodySize::Uniform { min_bytes, max_bytes } = self.body {
            if min_bytes > max_bytes {
                return Err("body: min_bytes is larger than max_bytes".into());
            }
        }
        Ok(())
    }

    /// Message `seq`'s type and body size: they depend on the seed and the sequence number only,
    /// not on which worker (publisher, receive feeder) makes it.
    pub fn draw_message(&self, seed: u64, seq: u64) -> (&MessageTypeConfig, usize) {
        let mut rng = Rng::new(seed).fork(seq);
        let t = self.draw_type(&mut rng);
        (t, self.body.draw(&mut rng))
    }

    /// Picks a message type by weight.
    pub fn draw_type(&self, rng: &mut Rng) -> &MessageTypeConfig {
        let total: f64 = self.message_types.iter().map(|t| t.weight).sum();
        let mut x = rng.next_f64() * total;
        for t in &self.message_types {
            if x < t.weight {
                return t;
            }
            x -= t.weight;
        }
        self.message_types.last().expect("validated: at least one type")
    }
}

pub(crate) fn valid_ident(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_valid_and_routes_orders_to_both_hosts() {
        let c = MessageBoxConfig::default();
        c.validate().unwrap();
        assert_eq!(c.message_types[0].subscribers, ["send", "archive"]);
    }

    #[test]
    fn bad_references_and_names_are_refused_with_the_field() {
        let mut c = MessageBoxConfig::default();
        c.message_types[1].subscribers.push("ftp".into());
        assert!(c.validate().unwrap_err().starts_with("message_types[1].subscribers"));
        let mut c = MessageBoxConfig::default();
        c.hosts[0].name = "Send-Host".into();
        assert!(c.validate().unwrap_err().starts_with("hosts[0].name"));
    }

    #[test]
    fn default_bodies_are_about_2_kib_with_one_percent_large() {
        let b = BodySize::default();
        let mut rng = Rng::new(1);
        let sizes: Vec<usize> = (0..100_000).map(|_| b.draw(&mut rng)).collect();
        let large = sizes.iter().filter(|s| **s == 256 * 1024).count();
        assert!((800..1200).contains(&large), "{large}");
        let mut small: Vec<usize> = sizes.into_iter().filter(|s| *s != 256 * 1024).collect();
        small.sort_unstable();
        let median = small[small.len() / 2];
        assert!((1900..2200).contains(&median), "{median}");
    }

    #[test]
    fn types_are_drawn_by_weight() {
        let c = MessageBoxConfig::default();
        let mut rng = Rng::new(3);
        let orders = (0..10_000).filter(|_| c.draw_type(&mut rng).name == "order").count();
        assert!((7200..7800).contains(&orders), "{orders}");
    }
}
