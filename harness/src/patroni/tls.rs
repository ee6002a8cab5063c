//! `--rest-tls`: Patroni's REST API over HTTPS with basic auth, as an operator's cluster would
//! run it. A CA made for the topology signs each node's certificate (valid for 127.0.0.1, ::1
//! and localhost); the password is drawn at random. The files live in the topology's directory,
//! readable by the servers' user; the password is used and never shown.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::patroni::http::{RestAccess, Secret};
use crate::pg::os_user::OsUser;

/// The user Patroni's `restapi.authentication` asks for.
pub(crate) const REST_USER: &str = "habench";

#[derive(Debug, Clone)]
pub(crate) struct RestTls {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub password: Secret,
}

impl RestTls {
    /// Makes the CA, the servers' certificate and key, and the password, in `dir/tls/`.
    pub(crate) fn create(dir: &Path, user: &OsUser) -> Result<RestTls> {
        let tls = dir.join("tls");
        std::fs::create_dir_all(&tls).map_err(|e| Error::io("creating", &tls, e))?;
        let bad = |e: rcgen::Error| Error::config("--rest-tls", format!("making the certificates: {e}"));
        let ca_key = rcgen::KeyPair::generate().map_err(bad)?;
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(bad)?;
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name.push(rcgen::DnType::CommonName, "habench topology CA");
        ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::DigitalSignature];
        let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).map_err(bad)?;
        let key = rcgen::KeyPair::generate().map_err(bad)?;
        let names = vec!["127.0.0.1".to_string(), "::1".to_string(), "localhost".to_string()];
        let mut server = rcgen::CertificateParams::new(names).map_err(bad)?;
        server.distinguished_name.push(rcgen::DnType::CommonName, "habench patroni node");
        server.extended_key_usages =
            vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth, rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = server.signed_by(&key, &ca).map_err(bad)?;
        let out = RestTls {
            ca_file: tls.join("ca.pem"),
            cert_file: tls.join("node.pem"),
            key_file: tls.join("node.key"),
            password: Secret::new(random_password()?),
        };
        for (path, text, mode) in [
            (&out.ca_file, ca.pem(), 0o644),
            (&out.cert_file, cert.pem(), 0o644),
            (&out.key_file, key.serialize_pem(), 0o600),
        ] {
            std::fs::write(path, text).map_err(|e| Error::io("writing", path, e))?;
            user.own(path, mode)?;
        }
        user.own(&tls, 0o700)?;
        Ok(out)
    }

    /// What habench's own client (and a cluster file) needs: the CA and the basic auth.
    pub(crate) fn access(&self) -> RestAccess {
        RestAccess {
            ca_file: Some(self.ca_file.clone()),
            username: Some(REST_USER.to_string()),
            password: Some(self.password.clone()),
            ..Default::default()
        }
    }
}

/// 24 hex digits from the kernel's random source.
fn random_password() -> Result<String> {
    let mut bytes = [0u8; 12];
    let path = Path::new("/dev/urandom");
    std::io::Read::read_exact(&mut std::fs::File::open(path).map_err(|e| Error::io("opening", path, e))?, &mut bytes)
        .map_err(|e| Error::io("reading", path, e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
