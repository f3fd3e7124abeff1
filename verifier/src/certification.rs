//! The certification record (`docs/counter.md`, "The certification record"): what a
//! town-hall counter signs after an agent compared the chip's photo with the person in
//! front of them, and what the identity provider checks before it trusts it.
//!
//! The record is a compact JWS, ES256, like the assertion (`docs/protocol.md` §3), with
//! its own `typ` (`sesame-certification+jwt`) so that neither can pass for the other. Its
//! header carries the counter's public key; unlike the assertion's daemon key, the
//! counter key is *registered* with the identity provider ([`TrustedCounter`]): a record
//! signed by any other key is refused. It states the agent's decision (`certified` or
//! `refused`, with the agent's reason), the agent, the station, the document's facts and
//! the checks the agent and the station made, and a SHA-256 of DG2 — never the photo
//! itself, the MRZ or the CAN.
//!
//! - The counter's side: [`issue_certification`] (with [`new_jti`], [`dg2_sha256`],
//!   [`CertifiedDocument::from_document`] and [`counter_issuer`] to fill the payload).
//! - The identity provider's side: [`CertificationVerifier::verify_certification`].

use crate::jws::{Compact, JwsError};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;

use base64ct::{Base64UrlUnpadded, Encoding};
use p256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};
use sesame_protocol::random::{RandomError, RandomSource};
use sha2::{Digest, Sha256};

use crate::model::Header;

/// The JWS `typ` of a certification record.
pub const CERTIFICATION_TYPE: &str = "sesame-certification+jwt";
/// The largest certification record accepted, in bytes.
pub const MAX_CERTIFICATION_LEN: usize = 64 * 1024;
/// The longest refusal reason, in characters (Unicode scalar values).
pub const MAX_REASON_CHARS: usize = 500;
/// How old a record may be when it reaches the identity provider, by default, seconds.
pub const DEFAULT_MAX_AGE_SECS: i64 = 600;
/// The clock skew allowed by default, seconds.
pub const DEFAULT_CLOCK_SKEW_SECS: i64 = 60;
/// How many `jti`s the verifier remembers at most within the validity window; beyond
/// it, records are refused (`replay_store_full`) rather than a `jti` forgotten.
pub const DEFAULT_MAX_SEEN: usize = 100_000;

/// The agent's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The person matches the photo and the document is valid.
    Certified,
    /// The agent refused; the record says why.
    Refused,
}

impl Decision {
    /// `certified` or `refused`, as in the record.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Certified => "certified",
            Self::Refused => "refused",
        }
    }
}

/// The Passive Authentication verdict the station reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PassiveAuthenticationVerdict {
    /// EF.SOD's signature, the document signer's chain to a trusted CSCA and every data
    /// group's hash checked out.
    Verified,
    /// One of them did not.
    Failed,
    /// The station could not check (no CSCA list configured, for instance).
    NotChecked,
}

impl PassiveAuthenticationVerdict {
    /// `verified`, `failed` or `not_checked`, as in the record.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Failed => "failed",
            Self::NotChecked => "not_checked",
        }
    }
}

/// The agent who decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// The agent's identifier at the town hall (not empty).
    pub id: String,
    /// The agent's name, as shown in the audit (not empty).
    pub name: String,
}

/// The document's facts, as the chip states them (`docs/protocol.md` §3.3 formats).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertifiedDocument {
    /// The MRZ document code (`ID`, `P`…), not empty.
    pub document_type: String,
    /// Three-letter code of the issuing state, not empty.
    pub issuing_state: String,
    /// The document number, not empty.
    pub document_number: String,
    /// Family name (DG11's when present, else the MRZ's).
    pub family_name: String,
    /// Given names (may be empty: some people have none).
    pub given_name: String,
    /// `YYYY-MM-DD`; an unknown month or day is `00`, an unknown year `0000`.
    pub birthdate: String,
    /// `YYYY-MM-DD`, a real calendar date.
    pub expiry_date: String,
    /// ICAO 9303-3 code without fillers.
    pub nationality: String,
}

impl CertifiedDocument {
    /// The facts of a document read by the station, computed exactly as the assertion's
    /// claims are (`docs/protocol.md` §3.3), two-digit years expanded relative to `now`.
    #[must_use]
    pub fn from_document(document: &sesame_protocol::reader::Document, now: i64) -> Self {
        let claims = crate::claims_of(document, now);
        Self {
            document_type: claims.document_type.unwrap_or_default(),
            issuing_state: claims.issuing_state.unwrap_or_default(),
            document_number: claims.document_number.unwrap_or_default(),
            family_name: claims.family_name.unwrap_or_default(),
            given_name: claims.given_name.unwrap_or_default(),
            birthdate: claims.birthdate.unwrap_or_else(|| "0000-00-00".into()),
            expiry_date: claims.expiry_date.unwrap_or_default(),
            nationality: claims.nationality.unwrap_or_default(),
        }
    }
}

/// What was checked before the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checks {
    /// The agent confirmed that the person matches the chip's photo.
    pub face_matches: bool,
    /// The agent confirmed that the document is valid.
    pub document_valid: bool,
    /// The station's Passive Authentication verdict.
    pub passive_authentication: PassiveAuthenticationVerdict,
    /// Chip Authentication ran and passed.
    pub chip_authentication: bool,
}

/// The certification record's payload.
///
/// Build it with a struct literal, `iss` left empty ([`issue_certification`] fills it):
///
/// ```
/// # use sesame_verifier::certification::*;
/// # use sesame_protocol::random::SystemRandom;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let payload = CertificationPayload {
///     iss: String::new(),
///     aud: "https://idp.example".into(),
///     iat: 1_900_000_000,
///     jti: new_jti(&mut SystemRandom)?,
///     decision: Decision::Certified,
///     reason: None,
///     agent: Agent { id: "A-042".into(), name: "Camille Durand".into() },
///     station: "Mairie de Brest — guichet 2".into(),
///     document: CertifiedDocument {
///         document_type: "ID".into(), issuing_state: "FRA".into(),
///         document_number: "X4RTBPFW4".into(), family_name: "MARTIN".into(),
///         given_name: "Élodie".into(), birthdate: "1990-07-14".into(),
///         expiry_date: "2031-03-02".into(), nationality: "FRA".into(),
///     },
///     checks: Checks {
///         face_matches: true, document_valid: true,
///         passive_authentication: PassiveAuthenticationVerdict::Verified,
///         chip_authentication: true,
///     },
///     dg2_sha256: dg2_sha256(b"the DG2 bytes as read"),
/// };
/// let key = p256::ecdsa::SigningKey::from_slice(&[7; 32])?;
/// let jws = issue_certification(payload, &key)?;
/// # let _ = jws;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificationPayload {
    /// `sesame:` + the RFC 7638 thumbprint of the counter key ([`counter_issuer`]).
    pub iss: String,
    /// The identity provider's origin.
    pub aud: String,
    /// When the counter signed, Unix seconds.
    pub iat: i64,
    /// A random identifier, 22 base64url characters (128 bits, [`new_jti`]).
    pub jti: String,
    /// The agent's decision.
    pub decision: Decision,
    /// The agent's reason: required when refused, absent when certified; at most
    /// [`MAX_REASON_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The agent who decided.
    pub agent: Agent,
    /// The counter station (town hall and desk), not empty.
    pub station: String,
    /// The document's facts.
    pub document: CertifiedDocument,
    /// What was checked.
    pub checks: Checks,
    /// SHA-256 of DG2 as read from the chip, base64url (43 characters) — [`dg2_sha256`].
    pub dg2_sha256: String,
}

/// A counter key the identity provider has registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedCounter {
    /// The key's RFC 7638 thumbprint, **bare** (43 base64url characters, without the
    /// `sesame:` prefix of `iss`). A value given with the prefix is tolerated.
    pub thumbprint: String,
    /// The counter's name as the identity provider knows it ("Mairie de Brest").
    pub name: String,
}

impl TrustedCounter {
    /// A counter from its key id — the bare thumbprint or the `iss` form
    /// `sesame:<thumbprint>` — and its name.
    #[must_use]
    pub fn new(key: &str, name: &str) -> Self {
        let key = key.trim();
        Self {
            thumbprint: key.strip_prefix("sesame:").unwrap_or(key).to_owned(),
            name: name.trim().to_owned(),
        }
    }

    fn bare_thumbprint(&self) -> &str {
        self.thumbprint
            .strip_prefix("sesame:")
            .unwrap_or(&self.thumbprint)
    }
}

/// `TrustedCounter::from_str("sesame:<thumbprint>=Mairie de Brest")` (the prefix is
/// optional): the form of `sesame-idp --counter`.
impl FromStr for TrustedCounter {
    type Err = InvalidTrustedCounter;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (key, name) = text.split_once('=').ok_or(InvalidTrustedCounter)?;
        let counter = Self::new(key, name);
        if counter.name.is_empty() || !is_base64url(&counter.thumbprint, 43) {
            return Err(InvalidTrustedCounter);
        }
        Ok(counter)
    }
}

/// A counter description that is not `sesame:<thumbprint>=<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a counter is given as sesame:<43-character key thumbprint>=<name>, e.g. \"sesame:NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs=Town hall of Brest\""
)]
pub struct InvalidTrustedCounter;

/// A verified certification record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCertification {
    /// The payload, every check passed.
    pub payload: CertificationPayload,
    /// The registered name of the counter that signed it.
    pub counter_name: String,
    /// The counter key's thumbprint (bare).
    pub counter_thumbprint: String,
}

/// Why a certification record is refused. Each check has its own variant and a stable
/// [`code`](Self::code); the `Display` text is an English sentence that never contains
/// personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificationError {
    /// Too long, not a compact JWS, not the JSON of this format.
    #[error("the certification record is malformed: {0}")]
    Malformed(String),
    /// The header names another algorithm than ES256.
    #[error("the certification record uses the algorithm {0:?}, only ES256 is accepted")]
    UnsupportedAlgorithm(String),
    /// The header's `typ` is not `sesame-certification+jwt`.
    #[error("the record's type is {0:?}, not sesame-certification+jwt")]
    WrongType(String),
    /// The signature does not verify with the header's key.
    #[error("the certification record's signature does not verify")]
    BadSignature,
    /// `iss` is not the header key's thumbprint.
    #[error("the issuer does not match the signing key")]
    WrongIssuer,
    /// The signing key is not a registered counter's.
    #[error("the record is signed by a counter key this identity provider has not registered")]
    UnknownCounter,
    /// The record is for another identity provider.
    #[error("the record is for {0:?}, not for this identity provider")]
    WrongAudience(String),
    /// `iat` is in the future beyond the allowed skew.
    #[error("the record is dated in the future")]
    NotYetValid,
    /// `iat` is older than the maximum age.
    #[error("the record is too old")]
    Expired,
    /// `jti` is not 22 base64url characters.
    #[error("the record's identifier (jti) is not 22 base64url characters")]
    InvalidJti,
    /// A required text field is empty.
    #[error("the record's field {0} is empty")]
    MissingField(&'static str),
    /// A date is not `YYYY-MM-DD` (or not a calendar date).
    #[error("the record's date {0} is not a valid YYYY-MM-DD date")]
    InvalidDate(&'static str),
    /// `dg2_sha256` is not a base64url SHA-256 (43 characters).
    #[error("dg2_sha256 is not a base64url SHA-256 digest (43 characters)")]
    InvalidDg2Hash,
    /// A refusal without a reason.
    #[error("a refusal must give the agent's reason")]
    MissingReason,
    /// A certification that carries a reason.
    #[error("a certification must not carry a refusal reason")]
    UnexpectedReason,
    /// A reason longer than [`MAX_REASON_CHARS`].
    #[error("the reason is longer than 500 characters")]
    ReasonTooLong,
    /// `certified` although a check says otherwise (the text names the check).
    #[error("the record says certified although {0}")]
    InconsistentDecision(&'static str),
    /// The same record (`jti`) was already accepted.
    #[error("this certification record was already received")]
    ReplayedJti,
    /// Too many records within the validity window to remember them all; try later.
    #[error("too many certification records at once; try again later")]
    ReplayStoreFull,
}

impl CertificationError {
    /// A stable machine-readable code (`docs/counter.md`, the error codes table).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::WrongType(_) => "wrong_type",
            Self::BadSignature => "bad_signature",
            Self::WrongIssuer => "wrong_issuer",
            Self::UnknownCounter => "unknown_counter",
            Self::WrongAudience(_) => "wrong_audience",
            Self::NotYetValid => "not_yet_valid",
            Self::Expired => "expired",
            Self::InvalidJti => "invalid_jti",
            Self::MissingField(_) => "missing_field",
            Self::InvalidDate(_) => "invalid_date",
            Self::InvalidDg2Hash => "invalid_dg2_hash",
            Self::MissingReason => "missing_reason",
            Self::UnexpectedReason => "unexpected_reason",
            Self::ReasonTooLong => "reason_too_long",
            Self::InconsistentDecision(_) => "inconsistent_decision",
            Self::ReplayedJti => "replayed_jti",
            Self::ReplayStoreFull => "replay_store_full",
        }
    }
}

/// The `jti`s accepted within the validity window.
#[derive(Debug, Default)]
struct Seen {
    /// `jti` → `iat` of the accepted record.
    by_jti: HashMap<String, i64>,
    /// Records with an `iat` before this have been forgotten, so they are refused as
    /// expired even if the caller's clock goes back.
    forgotten_before: i64,
}

/// Verifies certification records for one identity provider.
#[derive(Debug)]
pub struct CertificationVerifier {
    audience: String,
    counters: Vec<TrustedCounter>,
    max_age_secs: i64,
    clock_skew: i64,
    max_seen: usize,
    seen: Mutex<Seen>,
}

impl CertificationVerifier {
    /// A verifier for the identity provider whose origin is `audience`, trusting the
    /// counter keys `counters`; maximum age [`DEFAULT_MAX_AGE_SECS`], clock skew
    /// [`DEFAULT_CLOCK_SKEW_SECS`].
    #[must_use]
    pub fn new(audience: impl Into<String>, counters: Vec<TrustedCounter>) -> Self {
        Self {
            audience: audience.into(),
            counters,
            max_age_secs: DEFAULT_MAX_AGE_SECS,
            clock_skew: DEFAULT_CLOCK_SKEW_SECS,
            max_seen: DEFAULT_MAX_SEEN,
            seen: Mutex::new(Seen {
                by_jti: HashMap::new(),
                forgotten_before: i64::MIN,
            }),
        }
    }

    /// How old a record may be, seconds (negative values count as 0).
    #[must_use]
    pub fn with_max_age(mut self, secs: i64) -> Self {
        self.max_age_secs = secs.max(0);
        self
    }

    /// The clock skew allowed on `iat`, both ways, seconds (negative values count as 0).
    #[must_use]
    pub fn with_clock_skew(mut self, secs: i64) -> Self {
        self.clock_skew = secs.max(0);
        self
    }

    /// How many `jti`s to remember at most (at least 1).
    #[must_use]
    pub fn with_max_seen(mut self, records: usize) -> Self {
        self.max_seen = records.max(1);
        self
    }

    /// The identity provider's origin.
    #[must_use]
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The registered counters.
    #[must_use]
    pub fn counters(&self) -> &[TrustedCounter] {
        &self.counters
    }

    /// Verifies the compact JWS `jws` at `now` (Unix seconds), running the checks of
    /// `docs/counter.md` in order. A record that passes every check has its `jti`
    /// remembered: the same record is refused the second time.
    ///
    /// # Errors
    /// The first check that fails, as a [`CertificationError`].
    pub fn verify_certification(
        &self,
        jws: &str,
        now: i64,
    ) -> Result<VerifiedCertification, CertificationError> {
        // 1–4: shape, header, type, signature.
        let (header, payload_json) = decode_and_check_signature(jws)?;
        // 5: the payload's schema.
        let payload: CertificationPayload =
            serde_json::from_slice(&payload_json).map_err(|e| malformed_json("payload", &e))?;
        // 6: iss is the signing key, 7: which is a registered counter.
        let thumbprint = crate::thumbprint(&header.jwk);
        if payload.iss.strip_prefix("sesame:") != Some(thumbprint.as_str()) {
            return Err(CertificationError::WrongIssuer);
        }
        let counter = self
            .counters
            .iter()
            .find(|c| c.bare_thumbprint() == thumbprint)
            .ok_or(CertificationError::UnknownCounter)?;
        // 8: for this identity provider.
        if payload.aud != self.audience {
            return Err(CertificationError::WrongAudience(payload.aud));
        }
        // 9: fresh.
        if payload.iat > now.saturating_add(self.clock_skew) {
            return Err(CertificationError::NotYetValid);
        }
        let oldest = self.oldest_acceptable(now);
        if payload.iat < oldest {
            return Err(CertificationError::Expired);
        }
        // 10: the record's content.
        check_content(&payload)?;
        // 11: single use.
        self.remember(&payload.jti, payload.iat, now)?;
        Ok(VerifiedCertification {
            payload,
            counter_name: counter.name.clone(),
            counter_thumbprint: thumbprint,
        })
    }

    /// The oldest `iat` accepted at `now`.
    fn oldest_acceptable(&self, now: i64) -> i64 {
        now.saturating_sub(self.max_age_secs)
            .saturating_sub(self.clock_skew)
    }

    /// Records `jti` as used, atomically with the check that it was not.
    fn remember(&self, jti: &str, iat: i64, now: i64) -> Result<(), CertificationError> {
        let Ok(mut seen) = self.seen.lock() else {
            // A poisoned lock: refuse rather than risk accepting a replay.
            return Err(CertificationError::ReplayStoreFull);
        };
        // Forget what would be refused as expired anyway.
        let oldest = self.oldest_acceptable(now);
        if oldest > seen.forgotten_before {
            seen.by_jti.retain(|_, seen_iat| *seen_iat >= oldest);
            seen.forgotten_before = oldest;
        }
        if iat < seen.forgotten_before {
            return Err(CertificationError::Expired);
        }
        if seen.by_jti.contains_key(jti) {
            return Err(CertificationError::ReplayedJti);
        }
        if seen.by_jti.len() >= self.max_seen {
            return Err(CertificationError::ReplayStoreFull);
        }
        seen.by_jti.insert(jti.to_owned(), iat);
        Ok(())
    }
}

/// The checks on the payload's content (step 10 of `docs/counter.md`), in order.
fn check_content(payload: &CertificationPayload) -> Result<(), CertificationError> {
    if !is_base64url(&payload.jti, 22) {
        return Err(CertificationError::InvalidJti);
    }
    let required = [
        ("agent.id", &payload.agent.id),
        ("agent.name", &payload.agent.name),
        ("station", &payload.station),
        ("document.document_type", &payload.document.document_type),
        ("document.issuing_state", &payload.document.issuing_state),
        (
            "document.document_number",
            &payload.document.document_number,
        ),
        ("document.nationality", &payload.document.nationality),
    ];
    for (name, value) in required {
        if value.trim().is_empty() {
            return Err(CertificationError::MissingField(name));
        }
    }
    if !is_date(&payload.document.birthdate, true) {
        return Err(CertificationError::InvalidDate("document.birthdate"));
    }
    if !is_date(&payload.document.expiry_date, false) {
        return Err(CertificationError::InvalidDate("document.expiry_date"));
    }
    if !is_base64url(&payload.dg2_sha256, 43)
        || Base64UrlUnpadded::decode_vec(&payload.dg2_sha256).map(|d| d.len()) != Ok(32)
    {
        return Err(CertificationError::InvalidDg2Hash);
    }
    match (payload.decision, payload.reason.as_deref()) {
        (Decision::Certified, Some(_)) => return Err(CertificationError::UnexpectedReason),
        (Decision::Refused, None) => return Err(CertificationError::MissingReason),
        (Decision::Refused, Some(reason)) if reason.trim().is_empty() => {
            return Err(CertificationError::MissingReason);
        }
        (Decision::Refused, Some(reason)) if reason.chars().count() > MAX_REASON_CHARS => {
            return Err(CertificationError::ReasonTooLong);
        }
        _ => {}
    }
    if payload.decision == Decision::Certified {
        let checks = &payload.checks;
        if !checks.face_matches {
            return Err(CertificationError::InconsistentDecision(
                "the agent did not confirm that the face matches",
            ));
        }
        if !checks.document_valid {
            return Err(CertificationError::InconsistentDecision(
                "the agent did not confirm that the document is valid",
            ));
        }
        if checks.passive_authentication != PassiveAuthenticationVerdict::Verified {
            return Err(CertificationError::InconsistentDecision(
                "passive authentication was not verified",
            ));
        }
    }
    Ok(())
}

/// Exactly `len` characters of the base64url alphabet (no padding).
fn is_base64url(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `YYYY-MM-DD`, a calendar date; with `unknown_allowed`, the month and day may be `00`
/// (unknown) and the year `0000`.
fn is_date(text: &str, unknown_allowed: bool) -> bool {
    let bytes = text.as_bytes();
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *bytes else {
        return false;
    };
    let digits = [y1, y2, y3, y4, m1, m2, d1, d2];
    if !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let number = |ds: &[u8]| ds.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let (year, month, day) = (
        number(&[y1, y2, y3, y4]),
        number(&[m1, m2]),
        number(&[d1, d2]),
    );
    if unknown_allowed && (month == 0 || day == 0) {
        // An unknown month or day: what is known must still be in range.
        return month <= 12 && day <= 31;
    }
    if year == 0 && !unknown_allowed {
        return false;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

fn malformed_json(what: &str, error: &serde_json::Error) -> CertificationError {
    // serde's own message may quote a value (a name): say only where and what kind.
    let kind = match error.classify() {
        serde_json::error::Category::Data => {
            "a field is unknown, missing, or of the wrong type or value"
        }
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "not JSON",
        serde_json::error::Category::Io => "unreadable",
    };
    CertificationError::Malformed(format!(
        "the {what} at line {} column {}: {kind}",
        error.line(),
        error.column()
    ))
}

/// Steps 1–4: shape, header, type and signature. Returns the header and the payload's
/// JSON bytes.
fn decode_and_check_signature(jws: &str) -> Result<(Header, Vec<u8>), CertificationError> {
    let malformed = |e: JwsError| match e {
        JwsError::TooLong => CertificationError::Malformed("longer than 64 KiB".into()),
        JwsError::Shape => CertificationError::Malformed("not three dot-separated parts".into()),
        JwsError::NotBase64(what) => {
            CertificationError::Malformed(format!("the {what} is not base64url"))
        }
        JwsError::HeaderNotJson => CertificationError::Malformed("the header is not JSON".into()),
        JwsError::Algorithm(alg) => {
            CertificationError::UnsupportedAlgorithm(alg.chars().take(32).collect())
        }
        JwsError::Header(e) => malformed_json("header", &e),
        JwsError::Key(_) => {
            CertificationError::Malformed("the header key is not an EC P-256 key".into())
        }
        JwsError::Signature => CertificationError::BadSignature,
    };
    let compact = Compact::parse(jws, MAX_CERTIFICATION_LEN).map_err(malformed)?;
    if compact.header.typ != CERTIFICATION_TYPE {
        return Err(CertificationError::WrongType(
            compact.header.typ.chars().take(64).collect(),
        ));
    }
    compact.verify_signature().map_err(malformed)?;
    let payload = compact.payload().map_err(malformed)?;
    Ok((compact.header, payload))
}

/// `sesame:` + the RFC 7638 thumbprint of `key`'s public key: the counter's `iss`, and
/// the id the identity provider registers (`sesame-idp --counter`).
#[must_use]
pub fn counter_issuer(key: &SigningKey) -> String {
    crate::issuer_of(key)
}

/// A new `jti`: 128 random bits, base64url (22 characters).
///
/// # Errors
/// When the random source fails.
pub fn new_jti(random: &mut dyn RandomSource) -> Result<String, RandomError> {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes)?;
    Ok(Base64UrlUnpadded::encode_string(&bytes))
}

/// SHA-256 of DG2 as read from the chip, base64url: the record's `dg2_sha256`.
#[must_use]
pub fn dg2_sha256(dg2: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(&Sha256::digest(dg2))
}

/// The counter's side: signs `payload` as a compact JWS with the counter key `key`.
/// `iss` is set to [`counter_issuer`]`(key)`; the rest is signed as given (the verifier,
/// not this function, checks it).
///
/// # Errors
/// When the payload does not serialise (it always does).
pub fn issue_certification(
    mut payload: CertificationPayload,
    key: &SigningKey,
) -> Result<String, serde_json::Error> {
    payload.iss = crate::issuer_of(key);
    crate::jws::sign(CERTIFICATION_TYPE, &payload, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/counter.md` lists every certification error code, and nothing else.
    #[test]
    fn the_counter_document_lists_every_error_code() {
        let all = [
            CertificationError::Malformed(String::new()),
            CertificationError::UnsupportedAlgorithm(String::new()),
            CertificationError::WrongType(String::new()),
            CertificationError::BadSignature,
            CertificationError::WrongIssuer,
            CertificationError::UnknownCounter,
            CertificationError::WrongAudience(String::new()),
            CertificationError::NotYetValid,
            CertificationError::Expired,
            CertificationError::InvalidJti,
            CertificationError::MissingField("station"),
            CertificationError::InvalidDate("document.birthdate"),
            CertificationError::InvalidDg2Hash,
            CertificationError::MissingReason,
            CertificationError::UnexpectedReason,
            CertificationError::ReasonTooLong,
            CertificationError::InconsistentDecision(""),
            CertificationError::ReplayedJti,
            CertificationError::ReplayStoreFull,
        ];
        let document = include_str!("../../docs/counter.md");
        let section = document
            .split("### Certification error codes")
            .nth(1)
            .and_then(|rest| rest.split("\n#").next())
            .unwrap_or_default();
        let mut documented: Vec<&str> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split('`').next())
            .collect();
        let mut codes: Vec<&str> = all.iter().map(CertificationError::code).collect();
        documented.sort_unstable();
        codes.sort_unstable();
        assert_eq!(documented, codes);
        // And every code is snake_case.
        assert!(codes.iter().all(|c| {
            c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }));
    }

    #[test]
    fn dates() {
        assert!(is_date("2031-03-02", false));
        assert!(is_date("2024-02-29", false));
        assert!(!is_date("2023-02-29", false));
        assert!(!is_date("2031-13-02", false));
        assert!(!is_date("2031-04-31", false));
        assert!(!is_date("2031-00-10", false));
        assert!(!is_date("0000-01-01", false));
        assert!(!is_date("31-03-2031", false));
        assert!(!is_date("2031-3-2", false));
        assert!(!is_date("２０３１-03-02", false));
        assert!(is_date("1990-00-00", true));
        assert!(is_date("1990-07-00", true));
        assert!(is_date("0000-00-00", true));
        assert!(!is_date("1990-13-00", true));
        assert!(!is_date("1990-00-32", true));
        assert!(!is_date("1990-02-30", true));
    }

    #[test]
    fn trusted_counters_parse_with_or_without_the_prefix() {
        let thumb = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        let a: TrustedCounter = format!("sesame:{thumb}=Town hall of Brest")
            .parse()
            .unwrap();
        let b: TrustedCounter = format!("{thumb}= Town hall of Brest ").parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.thumbprint, thumb);
        assert_eq!(a.name, "Town hall of Brest");
        assert!("sesame:short=X".parse::<TrustedCounter>().is_err());
        assert!(
            format!("sesame:{thumb}=")
                .parse::<TrustedCounter>()
                .is_err()
        );
        assert!(format!("sesame:{thumb}").parse::<TrustedCounter>().is_err());
    }
}
