//! Passive Authentication (ICAO 9303-11 §5.1, ICAO 9303-12): the data read from the chip
//! is what the issuing state signed.
//!
//! 1. EF.SOD is a CMS SignedData ([`Sod`]); BER is accepted and normalised to DER.
//! 2. The signed attributes' message digest equals the hash of the LDS security object,
//!    and the Document Signer's signature over the signed attributes verifies.
//! 3. The Document Signer certificate was issued by a CSCA of the [`TrustStore`], and both
//!    are valid at the time of the check.
//! 4. Every data group read hashes to the value in the LDS security object.
//!
//! [`verify`] returns what was proven, or the first check that failed, as a typed
//! [`PassiveAuthError`] a verifier can map to a stable code.

mod ber;
mod certificate;
mod signature;
mod sod;
mod trust;

pub use certificate::Certificate;
pub use signature::{HashAlgorithm, SignatureError, ec_curve_of, verify_signature};
pub use sod::{Sod, SodError, signed_content};
pub use trust::{TrustStore, TrustStoreError};

use der::Encode;
use subtle::ConstantTimeEq;

/// Why Passive Authentication failed: each variant is one check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PassiveAuthError {
    /// EF.SOD cannot be parsed.
    #[error(transparent)]
    MalformedSod(#[from] SodError),
    /// The signed attributes do not name the LDS security object as content type.
    #[error("the signed attributes do not name the LDS security object")]
    ContentTypeMismatch,
    /// The message digest in the signed attributes is not the hash of the LDS security
    /// object (the content was changed after signing).
    #[error("the signed content does not match its message digest")]
    MessageDigestMismatch,
    /// EF.SOD carries no Document Signer certificate.
    #[error("EF.SOD has no document signer certificate")]
    NoDocumentSigner,
    /// The Document Signer certificate does not parse.
    #[error("the document signer certificate is malformed: {0}")]
    MalformedDocumentSigner(String),
    /// The signature over EF.SOD does not verify with the Document Signer's key.
    #[error("the document signer's signature does not verify: {0}")]
    InvalidSodSignature(SignatureError),
    /// No trusted CSCA issued the Document Signer certificate.
    #[error("the document signer ({issuer}) is not issued by a trusted country signing CA")]
    UntrustedDocumentSigner {
        /// The issuer named in the Document Signer certificate.
        issuer: String,
    },
    /// The Document Signer certificate is not valid now.
    #[error(
        "the document signer certificate is not valid now (valid {not_before} to {not_after}, Unix time)"
    )]
    DocumentSignerNotValidNow {
        /// Validity start, Unix seconds.
        not_before: i64,
        /// Validity end, Unix seconds.
        not_after: i64,
    },
    /// The CSCA certificate that issued the Document Signer is not valid now.
    #[error("the country signing CA certificate is not valid now")]
    CscaNotValidNow,
    /// A data group read from the chip does not hash to the value the SOD signs.
    #[error("DG{0} does not match the signed hash: the data was altered")]
    DataGroupHashMismatch(u8),
    /// A data group read from the chip is not listed in the SOD.
    #[error("DG{0} is not covered by the document's signature")]
    DataGroupNotSigned(u8),
}

/// What Passive Authentication proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassiveAuthentication {
    /// The Document Signer certificate.
    pub document_signer: Certificate,
    /// The trusted CSCA that issued it.
    pub csca: Certificate,
    /// The data groups whose hashes were checked, in order.
    pub data_groups: Vec<u8>,
}

/// Runs Passive Authentication of `data_groups` (number, file bytes as read) against
/// `sod`, with the CSCAs of `trust`, at `now` (Unix seconds).
///
/// # Errors
/// The first check that fails, as a [`PassiveAuthError`].
pub fn verify(
    sod: &Sod,
    data_groups: &[(u8, &[u8])],
    trust: &TrustStore,
    now: i64,
) -> Result<PassiveAuthentication, PassiveAuthError> {
    // The signed attributes bind the content (RFC 5652 §5.4, §11.1, §11.2).
    let signed_message = match &sod.signed_attributes {
        Some(attributes) => {
            let content_type = sod.content_type_attribute.as_ref().map(ToString::to_string);
            if content_type.as_deref() != Some("2.23.136.1.1.1") {
                return Err(PassiveAuthError::ContentTypeMismatch);
            }
            let digest = sod.digest_algorithm.digest(&sod.econtent);
            let claimed = sod
                .message_digest
                .as_deref()
                .ok_or(PassiveAuthError::MessageDigestMismatch)?;
            if !bool::from(digest.as_slice().ct_eq(claimed)) {
                return Err(PassiveAuthError::MessageDigestMismatch);
            }
            attributes.clone()
        }
        None => sod.econtent.clone(),
    };

    let ds_der = sod
        .document_signer
        .as_deref()
        .ok_or(PassiveAuthError::NoDocumentSigner)?;
    let document_signer =
        Certificate::from_der(ds_der).map_err(PassiveAuthError::MalformedDocumentSigner)?;
    let parameters = sod
        .signature_algorithm
        .parameters
        .as_ref()
        .map(Encode::to_der)
        .transpose()
        .map_err(|_| PassiveAuthError::InvalidSodSignature(SignatureError::Malformed))?;
    verify_signature(
        document_signer.public_key(),
        &sod.signature_algorithm.oid,
        parameters.as_deref(),
        &signed_message,
        &sod.signature,
    )
    .map_err(PassiveAuthError::InvalidSodSignature)?;

    let csca = trust
        .cscas()
        .iter()
        .find(|csca| document_signer.verify_issued_by(csca).is_ok())
        .ok_or_else(|| PassiveAuthError::UntrustedDocumentSigner {
            issuer: document_signer.issuer.clone(),
        })?
        .clone();
    if !document_signer.is_valid_at(now) {
        return Err(PassiveAuthError::DocumentSignerNotValidNow {
            not_before: document_signer.not_before,
            not_after: document_signer.not_after,
        });
    }
    if !csca.is_valid_at(now) {
        return Err(PassiveAuthError::CscaNotValidNow);
    }

    let mut checked = Vec::with_capacity(data_groups.len());
    for (number, bytes) in data_groups {
        let signed = sod
            .hashes
            .get(number)
            .ok_or(PassiveAuthError::DataGroupNotSigned(*number))?;
        let actual = sod.hash_algorithm.digest(bytes);
        if !bool::from(actual.as_slice().ct_eq(signed)) {
            return Err(PassiveAuthError::DataGroupHashMismatch(*number));
        }
        checked.push(*number);
    }
    Ok(PassiveAuthentication {
        document_signer,
        csca,
        data_groups: checked,
    })
}

#[cfg(test)]
mod tests;
