//! The assertion, protocol v1 (DESIGN.md): a compact JWS, ES256, whose header carries the
//! daemon's public key and whose payload carries the claims and the chip evidence.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The JWS `typ` of a Sésame assertion.
pub const ASSERTION_TYPE: &str = "sesame-assertion+jwt";

/// The JWS protected header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always `ES256`.
    pub alg: String,
    /// Always [`ASSERTION_TYPE`].
    pub typ: String,
    /// The daemon's public key (RFC 7517, EC P-256).
    pub jwk: Jwk,
}

/// An EC P-256 public JWK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `EC`.
    pub kty: String,
    /// `P-256`.
    pub crv: String,
    /// The x coordinate, base64url (32 bytes).
    pub x: String,
    /// The y coordinate, base64url (32 bytes).
    pub y: String,
}

/// The JWS payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// `sesame:<JWK thumbprint>` (RFC 7638, SHA-256, base64url).
    pub iss: String,
    /// The identity provider's `client_id` (its origin).
    pub aud: String,
    /// The nonce of the IdP's request.
    pub nonce: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// `sesame:chip-authenticated` or `sesame:chip-signed`: what the daemon claims.
    pub acr: String,
    /// The identity, as read from the chip.
    pub claims: Claims,
    /// What the chip gave, for the IdP to check.
    pub evidence: Evidence,
}

/// The identity claims. Only those the IdP asked for are present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Family name (DG11's full name when present, else the MRZ's primary identifier).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Given names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// YYYY-MM-DD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    /// `F`, `M` or `X`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<String>,
    /// ICAO three-letter code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nationality: Option<String>,
    /// The document number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
    /// `ID`, `P`…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    /// ICAO three-letter code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuing_state: Option<String>,
    /// YYYY-MM-DD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<String>,
}

/// The chip evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// `icao9303`.
    #[serde(rename = "type")]
    pub kind: String,
    /// EF.SOD, base64 (standard alphabet).
    pub sod: String,
    /// The data groups read, base64, by number ("1", "11", "14", "15").
    pub data_groups: BTreeMap<String, String>,
    /// Chip Authentication, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chip_authentication: Option<ChipAuthenticationEvidence>,
    /// Active Authentication, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_authentication: Option<ActiveAuthenticationEvidence>,
}

/// Chip Authentication as the daemon ran it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipAuthenticationEvidence {
    /// The protocol OID, dotted.
    pub oid: String,
    /// `ok`.
    pub result: String,
}

/// Active Authentication's challenge and the chip's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveAuthenticationEvidence {
    /// The 8-byte challenge, base64: `SHA-256(aud ‖ nonce)[..8]`.
    pub challenge: String,
    /// The chip's signature, base64.
    pub signature: String,
}
