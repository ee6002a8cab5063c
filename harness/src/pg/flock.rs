//! Exclusive advisory locks on files (`flock`), held as long as the returned file is open: the
//! kernel releases them when the holder exits however it exits, so nobody guesses staleness.

use std::fs::{File, OpenOptions};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// A locked file; the lock goes with it.
pub(crate) type Locked = Flock<File>;

/// Opens (creating) `path` and locks it without waiting: Some(file) while this process holds
/// it, None when another holder has it.
pub(crate) fn try_exclusive(path: &Path) -> std::io::Result<Option<Locked>> {
    let f = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
    lock(f)
}

/// Locks an open file without waiting.
pub(crate) fn lock(f: File) -> std::io::Result<Option<Locked>> {
    match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
        Ok(locked) => Ok(Some(locked)),
        Err((_, Errno::EWOULDBLOCK)) => Ok(None),
        Err((_, e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_refused_until_its_file_closes() {
        let path = std::env::temp_dir().join(format!("habench-flock-test-{}", std::process::id()));
        let held = try_exclusive(&path).unwrap().expect("free at first");
        assert!(try_exclusive(&path).unwrap().is_none(), "held: refused");
        drop(held);
        assert!(try_exclusive(&path).unwrap().is_some(), "released with the file");
        std::fs::remove_file(&path).unwrap();
    }
}
