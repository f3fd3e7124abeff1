//! # sesame-verifier
//!
//! The identity provider's side of Sésame: [`Verifier::verify`] checks an assertion
//! (protocol v1, DESIGN.md) completely — the compact JWS and its ES256 signature by the
//! key in its header (nothing else: no `alg: none`, no other algorithm, no external key),
//! `typ`, `aud`, the single-use nonce, the time window, Passive Authentication of the chip
//! evidence against the IdP's own CSCAs, the claims against DG1/DG11 field by field, and
//! Active Authentication over the challenge bound to the request — and returns the
//! identity with the assurance it could prove. [`issue`] is the producer's side (the
//! daemon), kept here so that both read the same model.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod certification;
mod jws;
pub mod model;
mod nonce;

pub use certification::{
    CertificationError, CertificationPayload, CertificationVerifier, TrustedCounter,
    VerifiedCertification, issue_certification,
};
pub use model::{Claims, Evidence, Header, Jwk, Payload};
pub use nonce::{InMemoryNonceStore, NonceCheck, NonceStore};

use std::collections::BTreeMap;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use p256::ecdsa::{SigningKey, VerifyingKey};
use sesame_protocol::lds::{Dg1, Dg11, Mrz, MrzDate, Sex};
use sesame_protocol::pa::{PassiveAuthError, Sod, TrustStore};
use sha2::{Digest, Sha256};

/// The assertion format version this verifier understands (`docs/protocol.md`).
pub const PROTOCOL_VERSION: &str = "v1";
/// The largest assertion accepted, in bytes (a DG2 is never part of it).
pub const MAX_ASSERTION_LEN: usize = 256 * 1024;

/// What the verifier was able to prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assurance {
    /// The data is signed by the issuing state and the chip proved it is genuine (Chip or
    /// Active Authentication).
    ChipAuthenticated,
    /// The data is signed by the issuing state; nothing proves the chip is not a copy.
    ChipSigned,
}

/// A verified identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// The claims, each equal to what the document says.
    pub claims: Claims,
    /// The document signer and CSCA that vouch for it.
    pub issuer: String,
    /// What was proven.
    pub assurance: Assurance,
    /// The daemon key's thumbprint (`iss` without its prefix).
    pub key_thumbprint: String,
}

/// Why an assertion is refused. Each check has its own variant and a stable code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Too long, not three base64url parts, or not JSON as specified.
    #[error("the assertion is malformed: {0}")]
    Malformed(String),
    /// The header names another algorithm than ES256.
    #[error("the assertion uses the algorithm {0:?}, only ES256 is accepted")]
    UnsupportedAlgorithm(String),
    /// The header's `typ` is not `sesame-assertion+jwt`.
    #[error("the assertion's type is {0:?}")]
    WrongType(String),
    /// The signature does not verify with the header's key.
    #[error("the assertion's signature does not verify")]
    BadSignature,
    /// `iss` is not the header key's thumbprint.
    #[error("the issuer does not match the signing key")]
    WrongIssuer,
    /// The assertion is for another identity provider.
    #[error("the assertion is for {0:?}, not for this identity provider")]
    WrongAudience(String),
    /// The nonce is not the one of this login.
    #[error("the assertion answers another login request")]
    NonceMismatch,
    /// The nonce was never issued (or forgotten).
    #[error("the assertion's nonce was never issued")]
    UnknownNonce,
    /// The nonce was already used.
    #[error("the assertion was already used")]
    ReplayedNonce,
    /// `exp` is past (beyond the allowed skew), or the nonce expired.
    #[error("the assertion has expired")]
    Expired,
    /// `iat` is in the future (beyond the allowed skew).
    #[error("the assertion is not valid yet")]
    NotYetValid,
    /// The chip evidence is missing something or does not decode.
    #[error("the chip evidence is malformed: {0}")]
    MalformedEvidence(String),
    /// Passive Authentication failed: the data is not what the issuing state signed.
    #[error("the document's signature does not check out: {0}")]
    PassiveAuthentication(#[from] PassiveAuthError),
    /// A claim differs from the document.
    #[error("the claim {0} does not match the document")]
    ClaimMismatch(&'static str),
    /// Active Authentication's challenge is not the one bound to this request, or its
    /// signature does not verify.
    #[error("the chip's active authentication does not check out: {0}")]
    ActiveAuthentication(String),
}

impl VerifyError {
    /// A stable machine-readable code for logs and error pages.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::WrongType(_) => "wrong_type",
            Self::BadSignature => "bad_signature",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience(_) => "wrong_audience",
            Self::NonceMismatch => "nonce_mismatch",
            Self::UnknownNonce => "unknown_nonce",
            Self::ReplayedNonce => "replayed_nonce",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::MalformedEvidence(_) => "malformed_evidence",
            Self::PassiveAuthentication(_) => "passive_authentication",
            Self::ClaimMismatch(_) => "claim_mismatch",
            Self::ActiveAuthentication(_) => "active_authentication",
        }
    }
}

/// What the identity provider configures.
#[derive(Debug)]
pub struct VerifierConfig {
    /// Its own `client_id` (its origin, e.g. `https://idp.example`).
    pub client_id: String,
    /// The CSCAs it trusts.
    pub trust: TrustStore,
    /// Clock skew allowed on `iat` and `exp`, seconds.
    pub clock_skew: i64,
}

/// Verifies assertions for one identity provider.
pub struct Verifier {
    config: VerifierConfig,
    nonces: Box<dyn NonceStore>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("client_id", &self.config.client_id)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier with its configuration and nonce store.
    #[must_use]
    pub fn new(config: VerifierConfig, nonces: Box<dyn NonceStore>) -> Self {
        Self { config, nonces }
    }

    /// The nonce store (to issue nonces for new logins).
    #[must_use]
    pub fn nonces(&self) -> &dyn NonceStore {
        self.nonces.as_ref()
    }

    /// Verifies `assertion` for the login whose nonce is `expected_nonce`, at `now` (Unix
    /// seconds). The nonce is consumed whatever the outcome of the later checks.
    ///
    /// # Errors
    /// The first check that fails, as a [`VerifyError`].
    pub fn verify(
        &self,
        assertion: &str,
        expected_nonce: &str,
        now: i64,
    ) -> Result<VerifiedIdentity, VerifyError> {
        let (header, payload, thumbprint) = decode_and_check_signature(assertion)?;
        if header.typ != model::ASSERTION_TYPE {
            return Err(VerifyError::WrongType(header.typ));
        }
        if payload.iss != format!("sesame:{thumbprint}") {
            return Err(VerifyError::WrongIssuer);
        }
        if payload.aud != self.config.client_id {
            return Err(VerifyError::WrongAudience(payload.aud));
        }
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            payload.nonce.as_bytes(),
            expected_nonce.as_bytes(),
        )) {
            return Err(VerifyError::NonceMismatch);
        }
        match self.nonces.consume(&payload.nonce, now) {
            NonceCheck::Fresh => {}
            NonceCheck::Unknown => return Err(VerifyError::UnknownNonce),
            NonceCheck::Replayed => return Err(VerifyError::ReplayedNonce),
            NonceCheck::Expired => return Err(VerifyError::Expired),
        }
        let skew = self.config.clock_skew;
        if payload.iat > now + skew {
            return Err(VerifyError::NotYetValid);
        }
        if payload.exp + skew < now || payload.exp < payload.iat {
            return Err(VerifyError::Expired);
        }

        let evidence = &payload.evidence;
        if evidence.kind != "icao9303" {
            return Err(VerifyError::MalformedEvidence(format!(
                "evidence type {:?}",
                evidence.kind
            )));
        }
        let sod_bytes = b64(&evidence.sod, "sod")?;
        let mut groups = BTreeMap::new();
        for (number, bytes) in &evidence.data_groups {
            let number: u8 = number
                .parse()
                .map_err(|_| VerifyError::MalformedEvidence(format!("data group {number:?}")))?;
            groups.insert(number, b64(bytes, "data group")?);
        }
        let sod = Sod::parse(&sod_bytes).map_err(PassiveAuthError::from)?;
        let listed: Vec<(u8, &[u8])> = groups.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let pa = sesame_protocol::pa::verify(&sod, &listed, &self.config.trust, now)?;

        let dg1 = groups
            .get(&1)
            .ok_or_else(|| VerifyError::MalformedEvidence("DG1 is missing".into()))?;
        let mrz = Dg1::parse(dg1)
            .map_err(|e| VerifyError::MalformedEvidence(e.to_string()))?
            .mrz;
        let dg11 = groups
            .get(&11)
            .map(|b| Dg11::parse(b))
            .transpose()
            .map_err(|e| VerifyError::MalformedEvidence(e.to_string()))?;
        let current_year = year_of(now);
        check_claims(
            &payload.claims,
            &document_claims(&mrz, dg11.as_ref(), current_year),
        )?;

        let mut chip_proven = false;
        if evidence
            .chip_authentication
            .as_ref()
            .is_some_and(|ca| ca.result == "ok")
            && groups.contains_key(&14)
        {
            // The daemon ran CA with the key in DG14, which Passive Authentication covers.
            chip_proven = true;
        }
        if let Some(aa) = &evidence.active_authentication {
            let challenge = b64(&aa.challenge, "challenge")?;
            let expected = active_authentication_challenge(&payload.aud, &payload.nonce);
            if challenge != expected {
                return Err(VerifyError::ActiveAuthentication(
                    "the challenge is not bound to this request".into(),
                ));
            }
            let dg15 = groups
                .get(&15)
                .ok_or_else(|| VerifyError::ActiveAuthentication("DG15 is missing".into()))?;
            let spki = sesame_protocol::lds::Dg15::parse(dg15)
                .map_err(|e| VerifyError::ActiveAuthentication(e.to_string()))?
                .subject_public_key_info;
            let algorithm = groups
                .get(&14)
                .and_then(|dg14| {
                    sesame_protocol::security_infos::SecurityInfos::from_dg14(dg14).ok()
                })
                .and_then(|infos| infos.active_authentication().map(|a| a.signature_algorithm));
            sesame_protocol::aa::verify(
                &spki,
                algorithm.as_ref(),
                &challenge,
                &b64(&aa.signature, "signature")?,
            )
            .map_err(|e| VerifyError::ActiveAuthentication(e.to_string()))?;
            chip_proven = true;
        }
        Ok(VerifiedIdentity {
            claims: payload.claims,
            issuer: pa.document_signer.subject,
            assurance: if chip_proven {
                Assurance::ChipAuthenticated
            } else {
                Assurance::ChipSigned
            },
            key_thumbprint: thumbprint,
        })
    }
}

/// How long an assertion is valid after it is signed, seconds (`docs/protocol.md` §3.2).
pub const ASSERTION_LIFETIME: i64 = 120;

/// The payload the daemon signs after reading `document` for the request (`aud`, `nonce`)
/// at `iat`: every claim the document states (the caller drops those not asked for), and
/// the evidence — EF.SOD, the data groups read except the face (DG2), and the Chip and
/// Active Authentication that ran. `iss` is filled in by [`issue`].
#[must_use]
pub fn payload_from_document(
    document: &sesame_protocol::reader::Document,
    aud: &str,
    nonce: &str,
    iat: i64,
) -> Payload {
    let chip_proven =
        document.chip_authentication.is_some() || document.active_authentication.is_some();
    Payload {
        iss: String::new(),
        aud: aud.to_owned(),
        nonce: nonce.to_owned(),
        iat,
        exp: iat.saturating_add(ASSERTION_LIFETIME),
        acr: if chip_proven {
            "sesame:chip-authenticated"
        } else {
            "sesame:chip-signed"
        }
        .to_owned(),
        claims: claims_of(document, iat),
        evidence: Evidence {
            kind: "icao9303".into(),
            sod: Base64::encode_string(&document.sod),
            data_groups: document
                .data_groups
                .iter()
                .filter(|(number, _)| **number != 2)
                .map(|(number, bytes)| (number.to_string(), Base64::encode_string(bytes)))
                .collect(),
            chip_authentication: document.chip_authentication.as_ref().map(|ca| {
                model::ChipAuthenticationEvidence {
                    oid: ca.protocol.clone(),
                    result: "ok".into(),
                }
            }),
            active_authentication: document.active_authentication.as_ref().map(|aa| {
                model::ActiveAuthenticationEvidence {
                    challenge: Base64::encode_string(&aa.challenge),
                    signature: Base64::encode_string(&aa.signature),
                }
            }),
        },
    }
}

/// The Active Authentication challenge bound to a request: `SHA-256(aud ‖ nonce)[..8]`.
#[must_use]
pub fn active_authentication_challenge(aud: &str, nonce: &str) -> Vec<u8> {
    Sha256::new()
        .chain_update(aud.as_bytes())
        .chain_update(nonce.as_bytes())
        .finalize()
        .iter()
        .take(8)
        .copied()
        .collect()
}

fn b64(text: &str, what: &str) -> Result<Vec<u8>, VerifyError> {
    Base64::decode_vec(text)
        .map_err(|_| VerifyError::MalformedEvidence(format!("{what} is not base64")))
}

/// Splits, decodes and checks the ES256 signature with the header's key.
fn decode_and_check_signature(assertion: &str) -> Result<(Header, Payload, String), VerifyError> {
    let malformed = |e: jws::JwsError| match e {
        jws::JwsError::TooLong => VerifyError::Malformed("longer than 256 KiB".into()),
        jws::JwsError::Shape => VerifyError::Malformed("not three dot-separated parts".into()),
        jws::JwsError::NotBase64(what) => {
            VerifyError::Malformed(format!("the {what} is not base64url"))
        }
        jws::JwsError::HeaderNotJson => VerifyError::Malformed("the header is not JSON".into()),
        jws::JwsError::Algorithm(alg) => VerifyError::UnsupportedAlgorithm(alg),
        jws::JwsError::Header(e) => VerifyError::Malformed(format!("the header: {e}")),
        jws::JwsError::Key(why) => VerifyError::Malformed(why),
        jws::JwsError::Signature => VerifyError::BadSignature,
    };
    let compact = jws::Compact::parse(assertion, MAX_ASSERTION_LEN).map_err(malformed)?;
    compact.verify_signature().map_err(malformed)?;
    let payload: Payload = serde_json::from_slice(&compact.payload().map_err(malformed)?)
        .map_err(|e| VerifyError::Malformed(format!("the payload: {e}")))?;
    let thumbprint = thumbprint(&compact.header.jwk);
    Ok((compact.header, payload, thumbprint))
}

/// The P-256 public key of a JWK, or why it is not one.
fn verifying_key(jwk: &Jwk) -> Result<VerifyingKey, String> {
    if jwk.kty != "EC" || jwk.crv != "P-256" {
        return Err("the header key is not an EC P-256 key".into());
    }
    let x = Base64UrlUnpadded::decode_vec(&jwk.x).map_err(|_| "jwk.x".to_owned())?;
    let y = Base64UrlUnpadded::decode_vec(&jwk.y).map_err(|_| "jwk.y".to_owned())?;
    if x.len() != 32 || y.len() != 32 {
        return Err("the header key's coordinates are not 32 bytes".into());
    }
    let mut point = vec![0x04];
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    VerifyingKey::from_sec1_bytes(&point).map_err(|_| "the header key is not on P-256".into())
}

/// The RFC 7638 thumbprint of an EC JWK: SHA-256 of `{"crv","kty","x","y"}`, base64url.
#[must_use]
pub fn thumbprint(jwk: &Jwk) -> String {
    let canonical = format!(
        r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
        jwk.crv, jwk.kty, jwk.x, jwk.y
    );
    Base64UrlUnpadded::encode_string(&Sha256::digest(canonical.as_bytes()))
}

/// Every claim `document` states (`docs/protocol.md` §3.3), two-digit years expanded
/// relative to `now` (Unix seconds): what an assertion carries (before the claims not
/// asked for are dropped) and what a counter shows.
#[must_use]
pub fn claims_of(document: &sesame_protocol::reader::Document, now: i64) -> Claims {
    document_claims(&document.mrz, document.dg11.as_ref(), year_of(now))
}

/// The claims the document itself states.
fn document_claims(mrz: &Mrz, dg11: Option<&Dg11>, current_year: u16) -> Claims {
    let date = |d: MrzDate, year: u16| {
        format!(
            "{year:04}-{:02}-{:02}",
            d.month.unwrap_or(0),
            d.day.unwrap_or(0)
        )
    };
    let name = dg11.and_then(|d| d.full_name.as_ref());
    Claims {
        family_name: Some(name.map_or_else(
            || mrz.primary_identifier().to_owned(),
            |n| n.primary_identifier.clone(),
        )),
        given_name: Some(name.map_or_else(
            || mrz.secondary_identifier().to_owned(),
            |n| n.secondary_identifier.clone(),
        )),
        birthdate: mrz
            .birth_date()
            .map(|d| date(d, d.birth_year(current_year))),
        sex: Some(
            match mrz.sex() {
                Sex::Female => "F",
                Sex::Male => "M",
                Sex::Unspecified => "X",
            }
            .to_owned(),
        ),
        nationality: Some(mrz.nationality().to_owned()),
        document_number: Some(mrz.document_number().to_owned()),
        document_type: Some(mrz.document_code().to_owned()),
        issuing_state: Some(mrz.issuing_state().to_owned()),
        expiry_date: Some(date(
            mrz.expiry_date(),
            mrz.expiry_date().expiry_year(current_year),
        )),
    }
}

/// Every claim present in the assertion equals the document's.
fn check_claims(claimed: &Claims, document: &Claims) -> Result<(), VerifyError> {
    let fields: [(&'static str, &Option<String>, &Option<String>); 9] = [
        ("family_name", &claimed.family_name, &document.family_name),
        ("given_name", &claimed.given_name, &document.given_name),
        ("birthdate", &claimed.birthdate, &document.birthdate),
        ("sex", &claimed.sex, &document.sex),
        ("nationality", &claimed.nationality, &document.nationality),
        (
            "document_number",
            &claimed.document_number,
            &document.document_number,
        ),
        (
            "document_type",
            &claimed.document_type,
            &document.document_type,
        ),
        (
            "issuing_state",
            &claimed.issuing_state,
            &document.issuing_state,
        ),
        ("expiry_date", &claimed.expiry_date, &document.expiry_date),
    ];
    for (name, claim, actual) in fields {
        if claim.is_some() && claim != actual {
            return Err(VerifyError::ClaimMismatch(name));
        }
    }
    Ok(())
}

fn year_of(unix: i64) -> u16 {
    u16::try_from(1970 + unix.max(0) / 31_556_952).unwrap_or(u16::MAX)
}

/// The fuzz target's entry (`fuzz/fuzz_targets/assertion.rs`): any bytes as an
/// assertion, never a panic.
#[doc(hidden)]
pub mod internal {
    /// Verifies arbitrary input against an empty trust store.
    pub fn fuzz_verify(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let verifier = super::Verifier::new(
            super::VerifierConfig {
                client_id: "https://idp.example".into(),
                trust: super::TrustStore::new(),
                clock_skew: 30,
            },
            Box::new(super::InMemoryNonceStore::new()),
        );
        verifier.nonces().issue("nonce", i64::MAX);
        let _ = verifier.verify(text, "nonce", 0);
    }
}

/// The public JWK of the daemon's key `key`.
#[must_use]
pub fn jwk_of(key: &SigningKey) -> Jwk {
    let point = key.verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes();
    Jwk {
        kty: "EC".into(),
        crv: "P-256".into(),
        x: Base64UrlUnpadded::encode_string(bytes.get(1..33).unwrap_or_default()),
        y: Base64UrlUnpadded::encode_string(bytes.get(33..65).unwrap_or_default()),
    }
}

/// The producer's side: signs `payload` as a compact JWS with `key` (the daemon's).
/// `iss` is set to the key's thumbprint.
///
/// # Errors
/// When the payload does not serialise (it always does).
pub fn issue(mut payload: Payload, key: &SigningKey) -> Result<String, serde_json::Error> {
    payload.iss = issuer_of(key);
    jws::sign(model::ASSERTION_TYPE, &payload, key)
}

/// `sesame:` and the RFC 7638 thumbprint of `key`'s public key: the `iss` of what `key`
/// signs (a daemon's assertions, a counter's certification records).
#[must_use]
pub fn issuer_of(key: &SigningKey) -> String {
    format!("sesame:{}", thumbprint(&jwk_of(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/protocol.md` §4.1 lists every error code, and nothing else.
    #[test]
    fn the_protocol_document_lists_every_error_code() {
        let all = [
            VerifyError::Malformed(String::new()),
            VerifyError::UnsupportedAlgorithm(String::new()),
            VerifyError::WrongType(String::new()),
            VerifyError::BadSignature,
            VerifyError::WrongIssuer,
            VerifyError::WrongAudience(String::new()),
            VerifyError::NonceMismatch,
            VerifyError::UnknownNonce,
            VerifyError::ReplayedNonce,
            VerifyError::Expired,
            VerifyError::NotYetValid,
            VerifyError::MalformedEvidence(String::new()),
            VerifyError::PassiveAuthentication(PassiveAuthError::ContentTypeMismatch),
            VerifyError::ClaimMismatch("sex"),
            VerifyError::ActiveAuthentication(String::new()),
        ];
        let document = include_str!("../../docs/protocol.md");
        let section = document
            .split("### 4.1 Error codes")
            .nth(1)
            .and_then(|rest| rest.split("\n### ").next())
            .unwrap_or_default();
        let documented: Vec<&str> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split('`').next())
            .collect();
        let codes: Vec<&str> = all.iter().map(VerifyError::code).collect();
        let mut sorted_documented = documented.clone();
        sorted_documented.sort_unstable();
        let mut sorted_codes = codes.clone();
        sorted_codes.sort_unstable();
        assert_eq!(sorted_documented, sorted_codes);
    }
}
