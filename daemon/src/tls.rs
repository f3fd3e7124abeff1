//! The daemon's HTTPS identity: a local certificate authority made on first start, and a
//! server certificate it signs for `127.0.0.1`, `::1` and `localhost`.
//!
//! The authority is **name-constrained** (RFC 5280 §4.2.1.10) to those three names: if its
//! key ever leaked, a certificate it signed for any other site would be refused by the
//! browser, so trusting it (`sesamed trust install`) does not hand out the web. Its key
//! never leaves the state directory (0600). The server certificate lives a year and is
//! renewed at start when less than 30 days are left; the authority lives ten years.

use std::sync::Arc;

use base64ct::{Base64, Encoding};
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints, PublicKeyData,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::state::{StateDir, StateError};

/// The authority's certificate, PEM.
pub const CA_CERT: &str = "tls/ca.pem";
const CA_KEY: &str = "tls/ca.key";
const SERVER_CERT: &str = "tls/server.pem";
const SERVER_KEY: &str = "tls/server.key";
/// The authority's name in certificate stores (`certutil -n`).
pub const CA_NICKNAME: &str = "Sésame local CA";

/// The loaded identity.
#[derive(Debug)]
pub struct TlsIdentity {
    /// The server certificate chain (server, then authority), DER.
    pub chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
    /// base64(SHA-256(server SubjectPublicKeyInfo)): what Chromium's
    /// `--ignore-certificate-errors-spki-list` takes, and a pin for clients.
    pub spki_sha256: String,
}

fn tls_error(e: impl std::fmt::Display) -> StateError {
    StateError::Tls(e.to_string())
}

fn authority_params() -> Result<CertificateParams, StateError> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
    params
        .distinguished_name
        .push(DnType::CommonName, CA_NICKNAME);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Sésame (this computer only)");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("localhost".into()),
            GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([127, 0, 0, 1], 32)),
            GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(
                std::net::Ipv6Addr::LOCALHOST.octets(),
                128,
            )),
        ],
        excluded_subtrees: Vec::new(),
    });
    Ok(params)
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(days);
}

/// Loads the identity, making the authority and the server certificate when missing and
/// renewing the server certificate when it is near its end.
///
/// # Errors
/// Unreadable or invalid files, or files that cannot be written.
pub fn load_or_create(state: &StateDir) -> Result<TlsIdentity, StateError> {
    state.ensure()?;
    let (ca_key, ca_pem) = match (state.read(CA_KEY)?, state.read(CA_CERT)?) {
        (Some(key), Some(cert)) => {
            let key = KeyPair::from_pem(&String::from_utf8_lossy(&key)).map_err(tls_error)?;
            (key, String::from_utf8_lossy(&cert).into_owned())
        }
        _ => {
            let key = KeyPair::generate().map_err(tls_error)?;
            let mut params = authority_params()?;
            validity(&mut params, 3650);
            let cert = params.self_signed(&key).map_err(tls_error)?;
            state.write(CA_KEY, key.serialize_pem().as_bytes(), 0o600)?;
            state.write(CA_CERT, cert.pem().as_bytes(), 0o644)?;
            // A new authority invalidates the old server certificate.
            let _ = std::fs::remove_file(state.file(SERVER_CERT));
            (key, cert.pem())
        }
    };
    let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(tls_error)?;
    let current = match (state.read(SERVER_KEY)?, state.read(SERVER_CERT)?) {
        (Some(key), Some(cert)) if !expiring(&cert) => Some((key, cert)),
        _ => None,
    };
    let (server_key, server_pem) = if let Some((key, cert)) = current {
        (
            KeyPair::from_pem(&String::from_utf8_lossy(&key)).map_err(tls_error)?,
            String::from_utf8_lossy(&cert).into_owned(),
        )
    } else {
        let key = KeyPair::generate().map_err(tls_error)?;
        let mut params = CertificateParams::new(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ])
        .map_err(tls_error)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        validity(&mut params, 365);
        let issuer = Issuer::from_ca_cert_der(&ca_der, &ca_key).map_err(tls_error)?;
        let cert = params.signed_by(&key, &issuer).map_err(tls_error)?;
        state.write(SERVER_KEY, key.serialize_pem().as_bytes(), 0o600)?;
        state.write(SERVER_CERT, cert.pem().as_bytes(), 0o644)?;
        (key, cert.pem())
    };
    let server_der = CertificateDer::from_pem_slice(server_pem.as_bytes()).map_err(tls_error)?;
    let spki_sha256 = Base64::encode_string(&Sha256::digest(server_key.subject_public_key_info()));
    Ok(TlsIdentity {
        chain: vec![server_der, ca_der],
        key: server_key.serialize_der(),
        spki_sha256,
    })
}

/// Whether a PEM certificate ends within 30 days (or cannot be read).
fn expiring(pem: &[u8]) -> bool {
    let Ok(der) = CertificateDer::from_pem_slice(pem) else {
        return true;
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(&der) else {
        return true;
    };
    let not_after = cert.validity().not_after.timestamp();
    not_after < (OffsetDateTime::now_utc() + Duration::days(30)).unix_timestamp()
}

impl TlsIdentity {
    /// A rustls server configuration (TLS 1.2 and 1.3, HTTP/1.1).
    ///
    /// # Errors
    /// When rustls refuses the key or certificate.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, StateError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::try_from(self.key.clone()).map_err(tls_error)?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)
            .map_err(tls_error)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}
