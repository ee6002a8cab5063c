//! habench's REST client against a TLS server that verifies its clients: the cluster file's
//! `ca_file`, `cert_file` and `key_file` (Patroni's `restapi.verify_client: required`).

use std::sync::Arc;
use std::time::Duration;

use habench::patroni::http::{RestAccess, RestClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Pki {
    dir: std::path::PathBuf,
    server: rustls::ServerConfig,
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in a fresh
/// folder; a server configuration that requires a client certificate from that CA.
fn pki(tag: &str) -> Pki {
    let dir = std::env::temp_dir().join(format!("habench-rest-tls-test-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap().signed_by(&server_key, &ca).unwrap();
    let client_key = rcgen::KeyPair::generate().unwrap();
    let client =
        rcgen::CertificateParams::new(vec!["habench".to_string()]).unwrap().signed_by(&client_key, &ca).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("client.pem"), client.pem()).unwrap();
    std::fs::write(dir.join("client.key"), client_key.serialize_pem()).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let key = rustls_pki_types::PrivateKeyDer::try_from(server_key.serialize_der()).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![server.der().clone()], key)
        .unwrap();
    Pki { dir, server }
}

/// Serves one connection: answers 200 when the handshake (client certificate included) passes.
async fn serve_once(config: rustls::ServerConfig) -> (u16, tokio::task::JoinHandle<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let Ok(mut tls) = acceptor.accept(tcp).await else { return false };
        let mut buf = vec![0u8; 4096];
        let _ = tls.read(&mut buf).await;
        let body = "{\"state\":\"running\"}";
        let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        tls.write_all(answer.as_bytes()).await.is_ok()
    });
    (port, task)
}

#[tokio::test]
async fn a_client_certificate_from_the_cluster_file_is_presented_and_without_it_the_server_refuses() {
    let pki = pki("client-cert");
    let with_cert = RestAccess {
        ca_file: Some(pki.dir.join("ca.pem")),
        cert_file: Some(pki.dir.join("client.pem")),
        key_file: Some(pki.dir.join("client.key")),
        ..Default::default()
    };
    let (port, server) = serve_once(pki.server.clone()).await;
    let url = format!("https://127.0.0.1:{port}");
    let r = RestClient::new(&with_cert).unwrap().request(&url, "GET", "/patroni", None, Duration::from_secs(5)).await;
    assert_eq!(r.map(|r| r.status).unwrap(), 200);
    assert!(server.await.unwrap());

    // The CA alone: the server wants a client certificate and ends the handshake.
    let ca_only = RestAccess { ca_file: Some(pki.dir.join("ca.pem")), ..Default::default() };
    let (port, server) = serve_once(pki.server.clone()).await;
    let url = format!("https://127.0.0.1:{port}");
    let r = RestClient::new(&ca_only).unwrap().request(&url, "GET", "/patroni", None, Duration::from_secs(5)).await;
    assert!(r.is_err(), "{r:?}");
    assert!(!server.await.unwrap());

    // No CA: the server's certificate is not trusted (no system store is consulted).
    let (port, _server) = serve_once(pki.server.clone()).await;
    let url = format!("https://127.0.0.1:{port}");
    let e = RestClient::plain().request(&url, "GET", "/patroni", None, Duration::from_secs(5)).await.unwrap_err();
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    std::fs::remove_dir_all(&pki.dir).unwrap();
}
