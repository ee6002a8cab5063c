//! The OS user that server processes run as. PostgreSQL refuses to run as root, so when habench
//! runs as root (as CI does) every server program runs as `postgres` (uid and gid set, no
//! supplementary groups) and owns its data directory.

use std::ffi::{CStr, CString};
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
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 {
            let mut me = lookup_uid(euid).unwrap_or(OsUser {
                name: format!("uid{euid}"),
                uid: euid,
                // SAFETY: getegid has no preconditions.
                gid: unsafe { libc::getegid() },
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
    let cname = CString::new(name).ok()?;
    lookup(|pwd, buf, res| {
        // SAFETY: all pointers are valid for the call; buf has buf.len() bytes.
        unsafe { libc::getpwnam_r(cname.as_ptr(), pwd, buf.as_mut_ptr(), buf.len(), res) }
    })
}

fn lookup_uid(uid: u32) -> Option<OsUser> {
    lookup(|pwd, buf, res| {
        // SAFETY: all pointers are valid for the call; buf has buf.len() bytes.
        unsafe { libc::getpwuid_r(uid, pwd, buf.as_mut_ptr(), buf.len(), res) }
    })
}

fn lookup(
    call: impl Fn(*mut libc::passwd, &mut [libc::c_char], *mut *mut libc::passwd) -> libc::c_int,
) -> Option<OsUser> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: passwd is plain old data; zeroed is a valid initial value.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let rc = call(&mut pwd, &mut buf, &mut result);
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success pw_name and pw_dir point to NUL-terminated strings inside buf.
    let (name, home) = unsafe {
        (
            CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned(),
            CStr::from_ptr(pwd.pw_dir).to_string_lossy().into_owned(),
        )
    };
    Some(OsUser { name, uid: pwd.pw_uid, gid: pwd.pw_gid, home: PathBuf::from(home), switch: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_user_is_a_clear_error_when_root() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return; // only root switches users
        }
        let err = OsUser::resolve(Some("no-such-user-habench")).unwrap_err();
        assert!(err.to_string().contains("--pg-user"), "{err}");
    }

    #[test]
    fn the_current_user_is_found_by_uid() {
        // SAFETY: geteuid has no preconditions.
        let me = lookup_uid(unsafe { libc::geteuid() }).expect("current user in passwd");
        assert!(!me.name.is_empty());
    }
}
