//! Loopback ports that no other topology (in this process or another) is using.
//!
//! Listen ports are picked below the ephemeral range (32768-60999), where a client socket of a
//! reconnect storm could otherwise hold a would-be listen port. A lease is a file named after the
//! port in a shared directory, created exclusively and holding the owner's pid; a lease whose owner
//! is gone is taken over.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};
use crate::pg::procs::ProcId;

pub const FIRST_PORT: u16 = 20000;
pub const LAST_PORT: u16 = 32000;

/// A reserved port; released when dropped.
#[derive(Debug)]
pub struct PortLease {
    port: u16,
    file: PathBuf,
}

impl PortLease {
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Leases a free loopback port from `dir`.
pub fn lease(dir: &Path) -> Result<PortLease> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    let span = u32::from(LAST_PORT - FIRST_PORT);
    let me = ProcId::current();
    // Spread processes over the range so that concurrent test binaries rarely contend.
    let seed = me.pid.wrapping_mul(2_654_435_761) ^ (me.start_ticks as u32);
    for attempt in 0..span {
        let offset = (seed.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)).wrapping_add(attempt)) % span;
        let port = FIRST_PORT + offset as u16;
        let file = dir.join(port.to_string());
        if !claim(&file, me)? {
            continue;
        }
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(PortLease { port, file });
        }
        let _ = std::fs::remove_file(&file);
    }
    Err(Error::NoFreePort { first: FIRST_PORT, last: LAST_PORT, dir: dir.to_path_buf() })
}

fn claim(file: &Path, me: ProcId) -> Result<bool> {
    for _ in 0..2 {
        match OpenOptions::new().write(true).create_new(true).open(file) {
            Ok(mut f) => {
                f.write_all(me.to_line().as_bytes()).map_err(|e| Error::io("writing", file, e))?;
                return Ok(true);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let owner = std::fs::read_to_string(file).ok().and_then(|s| ProcId::parse_line(&s));
                match owner {
                    Some(p) if p.is_running() => return Ok(false),
                    // Owner gone (or a half-written file): take the lease over.
                    _ => {
                        let _ = std::fs::remove_file(file);
                    }
                }
            }
            Err(e) => return Err(Error::io("creating", file, e)),
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("habench-ports-test-{tag}-{}", std::process::id()))
    }

    #[test]
    fn leases_are_distinct_and_released_on_drop() {
        let dir = tmpdir("distinct");
        let leases: Vec<_> = (0..20).map(|_| lease(&dir).unwrap()).collect();
        let mut ports: Vec<u16> = leases.iter().map(|l| l.port()).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 20);
        assert!(ports.iter().all(|p| (FIRST_PORT..LAST_PORT).contains(p)));
        drop(leases);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_lease_of_a_dead_owner_is_taken_over() {
        let dir = tmpdir("stale");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("20001");
        std::fs::write(&file, "999999999 1").unwrap();
        assert!(claim(&file, ProcId::current()).unwrap());
        assert!(!claim(&file, ProcId::current()).unwrap(), "a live owner's lease is kept");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
