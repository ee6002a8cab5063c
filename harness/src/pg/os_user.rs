//! The OS user that server processes run as. PostgreSQL refuses to run as root, so when habench
//! runs as root (as CI does) every server program runs as `postgres` (uid and gid set, no
//! supplementary groups) and owns its data directory.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Environment variable naming the OS user for server processes when habench runs as root.
pub(crate) const USER_ENV: &str = "HABENCH_PG_USER";

/// Who the server processes run as.
#[derive(Debug, Clone)]
pub struct OsUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
    /// True when habench switches to this user (it runs as root); false when it is habench itself.
    pub switch: bool,
}

impl OsUser {
    /// As root: the named user (`--pg-user`, `HABENCH_PG_USER`, else `postgres`). Otherwise the
    /// current user, since only root can switch.
    pub(crate) fn resolve(name: Option<&str>) -> Result<OsUser> {
        let euid = nix::unistd::geteuid().as_raw();
        if euid != 0 {
            let mut me = lookup_uid(euid).unwrap_or(OsUser {
                name: format!("uid{euid}"),
                uid: euid,
                gid: nix::unistd::getegid().as_raw(),
                home: std::env::temp_dir(),
                switch: false,
            });
            me.switch = false;
            return Ok(me);
        }
        let env_name = std::env::var(USER_ENV).ok().filter(|v| !v.is_empty());
        let name = name.map(str::to_string).or(env_name).unwrap_or_else(|| "postgres".into());
        let mut user = lookup_name(&name).ok_or_else(|| Error::NoSuchUser(name.clone()))?;
        if user.uid == 0 {
            return Err(Error::NoSuchUser(format!("{name} (uid 0: PostgreSQL refuses to run as root)")));
        }
        user.switch = true;
        Ok(user)
    }

    /// Makes a program run as this user (no-op when habench already is this user).
    pub(crate) fn apply(&self, cmd: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        if self.switch {
            // std drops supplementary groups (setgroups(0)) when it changes uid as root.
            cmd.uid(self.uid).gid(self.gid);
        }
    }

    /// Gives `path` to this user (when switching) and sets its mode.
    pub(crate) fn own(&self, path: &Path, mode: u32) -> Result<()> {
        if self.switch {
            std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)).map_err(|e| Error::io("chown", path, e))?;
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| Error::io("chmod", path, e))
    }

    /// Creates a directory owned by this user with mode 0700 (what postgres demands of PGDATA).
    pub(crate) fn create_private_dir(&self, path: &Path) -> Result<()> {
        std::fs::create_dir_all(path).map_err(|e| Error::io("creating", path, e))?;
        self.own(path, 0o700)
    }
}

fn lookup_name(name: &str) -> Option<OsUser> {
    nix::unistd::User::from_name(name).ok().flatten().map(of)
}

fn lookup_uid(uid: u32) -> Option<OsUser> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).ok().flatten().map(of)
}

fn of(u: nix::unistd::User) -> OsUser {
    OsUser { name: u.name, uid: u.uid.as_raw(), gid: u.gid.as_raw(), home: u.dir, switch: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_user_is_a_clear_error_when_root() {
        if !nix::unistd::geteuid().is_root() {
            return; // only root switches users
        }
        let err = OsUser::resolve(Some("no-such-user-habench")).unwrap_err();
        assert!(err.to_string().contains("--pg-user"), "{err}");
    }

    #[test]
    fn the_current_user_is_found_by_uid() {
        let me = lookup_uid(nix::unistd::geteuid().as_raw()).expect("current user in passwd");
        assert!(!me.name.is_empty());
    }
}
