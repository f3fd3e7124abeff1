//! The Country Signing CA certificates an inspection system trusts (ICAO 9303-12 §7):
//! loaded from a directory of DER or PEM certificates and ICAO Master Lists.

use std::path::Path;

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::Decode;
use der::asn1::OctetString;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::ber;
use super::certificate::Certificate;

/// id-icao-cscaMasterList (ICAO 9303-12 §9).
const ID_CSCA_MASTER_LIST: &str = "2.23.136.1.1.2";

/// Why a trust store could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustStoreError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A file is neither a certificate nor a master list.
    #[error("{path} is not a certificate or an ICAO master list: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Trusted CSCA certificates.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    cscas: Vec<Certificate>,
}

impl TrustStore {
    /// An empty store.
    #[must_use]
    pub const fn new() -> Self {
        Self { cscas: Vec::new() }
    }

    /// Adds a CSCA certificate (DER).
    ///
    /// # Errors
    /// When the bytes are not an X.509 certificate.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), String> {
        self.cscas.push(Certificate::from_der(der)?);
        Ok(())
    }

    /// Adds every certificate of an ICAO CSCA Master List (a CMS SignedData whose content
    /// is `CscaMasterList ::= SEQUENCE { version, certList SET OF Certificate }`). The
    /// master list's own signature is not checked here: whoever configures the store
    /// vouches for the file. Returns how many certificates were added.
    ///
    /// # Errors
    /// When the file is not a master list.
    pub fn add_master_list(&mut self, bytes: &[u8]) -> Result<usize, String> {
        let der = ber::to_der(bytes).map_err(|e| e.to_string())?;
        let info = ContentInfo::from_der(&der).map_err(|e| format!("not CMS ({e})"))?;
        let signed: SignedData = info
            .content
            .decode_as()
            .map_err(|e| format!("not SignedData ({e})"))?;
        if signed.encap_content_info.econtent_type.to_string() != ID_CSCA_MASTER_LIST {
            return Err("the CMS content is not a CSCA master list".into());
        }
        let content = signed
            .encap_content_info
            .econtent
            .ok_or("the master list is empty")?
            .decode_as::<OctetString>()
            .map_err(|e| e.to_string())?
            .into_bytes()
            .into_vec();
        // CscaMasterList ::= SEQUENCE { version INTEGER, certList SET OF Certificate }.
        // Read with the BER-TLV parser rather than a DER SET OF: published master lists
        // do not always sort their certificates.
        let malformed =
            |e: sesame_apdu::tlv::TlvError| format!("the master list does not decode ({e})");
        let list = sesame_apdu::tlv::parse_one(&content).map_err(malformed)?;
        let mut fields = list.children().map_err(malformed)?;
        let _version = fields
            .next()
            .ok_or("the master list is empty")?
            .map_err(malformed)?;
        let certificates = fields
            .next()
            .ok_or("the master list has no certificates")?
            .map_err(malformed)?;
        let mut added = 0;
        for cert in certificates.children().map_err(malformed)? {
            self.cscas
                .push(Certificate::from_der(cert.map_err(malformed)?.raw())?);
            added += 1;
        }
        Ok(added)
    }

    /// Loads every `.der`, `.cer`, `.crt`, `.pem` certificate and `.ml` master list in
    /// `dir` (not recursively).
    ///
    /// # Errors
    /// When the directory or a file cannot be read or parsed.
    pub fn from_dir(dir: &Path) -> Result<Self, TrustStoreError> {
        let io = |path: &Path, source| TrustStoreError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut store = Self::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            if !matches!(ext.as_str(), "der" | "cer" | "crt" | "pem" | "ml") {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
            let unreadable = |reason: String| TrustStoreError::Unreadable {
                path: path.display().to_string(),
                reason,
            };
            if ext == "ml" {
                store.add_master_list(&bytes).map_err(unreadable)?;
            } else if bytes.starts_with(b"-----BEGIN") {
                for pem in x509_parser::pem::Pem::iter_from_buffer(&bytes) {
                    let pem = pem.map_err(|e| unreadable(e.to_string()))?;
                    if pem.label == "CERTIFICATE" {
                        store.add_der(&pem.contents).map_err(unreadable)?;
                    }
                }
            } else {
                store.add_der(&bytes).map_err(unreadable)?;
            }
        }
        Ok(store)
    }

    /// The trusted certificates.
    #[must_use]
    pub fn cscas(&self) -> &[Certificate] {
        &self.cscas
    }

    /// The number of trusted certificates.
    #[must_use]
    pub fn len(&self) -> usize {
        self.cscas.len()
    }

    /// Whether the store is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.cscas.is_empty()
    }
}

/// Checks that `der` is an X.509 certificate x509-parser accepts.
pub(super) fn parse_x509(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate ({e})"))?;
    if !rest.is_empty() {
        return Err("bytes after the certificate".into());
    }
    Ok(cert)
}
