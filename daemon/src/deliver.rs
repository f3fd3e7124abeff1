//! Delivering a certification record to the IdP: one HTTP/1.1 POST, over TLS (rustls,
//! the system's trusted authorities from `/etc/ssl/certs/ca-certificates.crt`) for an
//! `https` endpoint, or plain for an `http://localhost` one (developer mode), bounded by
//! [`TIMEOUT`]. Small on purpose: one request, `Connection: close`, the status line and
//! the body read back; no redirects followed.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::Origin;

/// The bound on the whole delivery.
pub const TIMEOUT: Duration = Duration::from_secs(10);
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";
const MAX_ANSWER: u64 = 64 * 1024;

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The endpoint is not an http(s) URL.
    #[error("the certification endpoint {0:?} is not an http(s) URL")]
    BadUrl(String),
    /// Connecting, TLS or the exchange failed.
    #[error("the IdP could not be reached: {0}")]
    Network(String),
    /// No answer in time.
    #[error("the IdP did not answer within {} s", TIMEOUT.as_secs())]
    Timeout,
    /// The answer is not HTTP.
    #[error("the IdP's answer is not HTTP")]
    BadAnswer,
}

/// POSTs `body` (`content_type`) to `url`; answers the status code and the body.
///
/// # Errors
/// [`DeliverError`].
pub async fn post(
    url: &str,
    content_type: &str,
    body: &str,
) -> Result<(u16, String), DeliverError> {
    tokio::time::timeout(TIMEOUT, exchange(url, content_type, body))
        .await
        .map_err(|_| DeliverError::Timeout)?
}

async fn exchange(
    url: &str,
    content_type: &str,
    body: &str,
) -> Result<(u16, String), DeliverError> {
    let bad = || DeliverError::BadUrl(url.to_owned());
    let origin = Origin::parse(url).ok_or_else(bad)?;
    let rest = url.split_once("://").map(|(_, r)| r).ok_or_else(bad)?;
    let path = rest.find('/').map_or("/", |i| rest.get(i..).unwrap_or("/"));
    let port = origin
        .port
        .unwrap_or(if origin.is_https() { 443 } else { 80 });
    let host = origin
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| DeliverError::Network(e.to_string()))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\nUser-Agent: sesamed/{}\r\n\r\n{body}",
        body.len(),
        env!("CARGO_PKG_VERSION"),
        authority = origin.to_string().split_once("://").map_or("", |(_, a)| a),
    );
    if origin.is_https() {
        let mut roots = rustls::RootCertStore::empty();
        if let Ok(certs) = CertificateDer::pem_file_iter(SYSTEM_ROOTS) {
            for cert in certs.flatten() {
                let _ = roots.add(cert);
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| DeliverError::Network(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = ServerName::try_from(host).map_err(|_| bad())?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| DeliverError::Network(e.to_string()))?;
        send(tls, &request).await
    } else {
        send(tcp, &request).await
    }
}

async fn send(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    request: &str,
) -> Result<(u16, String), DeliverError> {
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| DeliverError::Network(e.to_string()))?;
    let mut answer = Vec::new();
    let _ = (&mut stream)
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .await;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").ok_or(DeliverError::BadAnswer)?;
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or(DeliverError::BadAnswer)?;
    Ok((status, body.to_owned()))
}
