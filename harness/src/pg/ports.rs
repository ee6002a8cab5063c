//! Loopback ports that no other topology (in this process or another) is using.
//!
//! Listen ports are picked below the ephemeral range (32768-60999), where a client socket of a
//! reconnect storm could otherwise hold a would-be listen port. A lease is an exclusive `flock`
//! on a file named after the port in a shared directory, held for the lease's lifetime: the kernel
//! releases it when the owner dies however it dies, so nothing has to guess whether a lease is
//! stale. The file holds the owner's pid for people, not for the decision.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};
use crate::pg::procs::ProcId;

pub(crate) const FIRST_PORT: u16 = 20000;
pub(crate) const LAST_PORT: u16 = 32000;

/// A reserved port; released when dropped.
#[derive(Debug)]
pub(crate) struct PortLease {
    port: u16,
    file: PathBuf,
    /// The locked file: the lease lasts as long as it is open.
    _lock: crate::pg::flock::Locked,
}

impl PortLease {
    pub(crate) fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        // Unlinked while still locked: whoever opens the name next gets a new file (and checks
        // that the name still leads to the file it locked).
        let _ = std::fs::remove_file(&self.file);
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Leases a free loopback port from `dir`.
pub(crate) fn lease(dir: &Path) -> Result<PortLease> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    let span = u32::from(LAST_PORT - FIRST_PORT);
    let me = ProcId::current();
    // Spread processes over the range so that concurrent test binaries rarely contend.
    let seed = me.pid.wrapping_mul(2_654_435_761) ^ (me.start_ticks as u32);
    for attempt in 0..span {
        let offset = (seed.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)).wrapping_add(attempt)) % span;
        let port = FIRST_PORT + offset as u16;
        let file = dir.join(port.to_string());
        let Some(lock) = claim(&file, me)? else { continue };
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(PortLease { port, file, _lock: lock });
        }
        let _ = std::fs::remove_file(&file);
    }
    Err(Error::NoFreePort { first: FIRST_PORT, last: LAST_PORT, dir: dir.to_path_buf() })
}

/// Takes the lease file's lock without waiting: Some(file) when this process now owns it.
fn claim(path: &Path, me: ProcId) -> Result<Option<crate::pg::flock::Locked>> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io("opening", path, e))?;
    lock_current(f, path, me)
}

/// Locks `f`, opened from `path`, when nobody holds it and the name still leads to it.
fn lock_current(f: File, path: &Path, me: ProcId) -> Result<Option<crate::pg::flock::Locked>> {
    let Some(mut f) = crate::pg::flock::lock(f).map_err(|e| Error::io("locking", path, e))? else {
        return Ok(None);
    };
    // The owner before may have unlinked the name between our open and our lock: the lock is
    // worth something only if the name still leads to this file.
    let same = match (f.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    };
    if !same {
        return Ok(None);
    }
    f.set_len(0).map_err(|e| Error::io("writing", path, e))?;
    f.write_all(me.to_line().as_bytes()).map_err(|e| Error::io("writing", path, e))?;
    Ok(Some(f))
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
    fn a_held_lease_is_refused_even_before_its_file_is_written_and_a_file_nobody_holds_is_free() {
        let dir = tmpdir("held");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("20001");
        // An empty file, as a lease looks between creation and its first write: held by its lock.
        let held = claim(&file, ProcId::current()).unwrap().expect("first claim");
        std::fs::write(&file, "").unwrap();
        assert!(claim(&file, ProcId::current()).unwrap().is_none(), "a held lease is kept, written or not");
        drop(held);
        // A file left by a dead owner (no lock on it) is free whatever it says.
        std::fs::write(&file, "1 1").unwrap();
        assert!(claim(&file, ProcId::current()).unwrap().is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_lock_on_a_file_the_name_no_longer_leads_to_is_not_a_lease() {
        let dir = tmpdir("unlinked");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("20002");
        // Opened, then its owner unlinked the name and a new owner made and locked a new file.
        let stale = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&file).unwrap();
        std::fs::remove_file(&file).unwrap();
        let owner = claim(&file, ProcId::current()).unwrap().expect("the new file");
        assert!(lock_current(stale, &file, ProcId::current()).unwrap().is_none(), "the old file's lock is no lease");
        drop(owner);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
