//! Compact JWS (RFC 7515) as Sésame uses it, for assertions and certification records
//! alike: ES256 only, the signing key in the header (`jwk`), nothing fetched. Parsing and
//! the signature check are separate steps, so each format checks its `typ` where its
//! specification says; each maps [`JwsError`] to its own error codes.

use base64ct::{Base64UrlUnpadded, Encoding};
use p256::ecdsa::signature::{Signer, Verifier as _};
use p256::ecdsa::{Signature, SigningKey};
use serde::Serialize;

use crate::model::Header;

/// What is wrong with a compact JWS.
#[derive(Debug)]
pub(crate) enum JwsError {
    /// Longer than the format allows.
    TooLong,
    /// Not three dot-separated parts.
    Shape,
    /// A part is not base64url (`header`, `payload`, `signature`).
    NotBase64(&'static str),
    /// The header is not JSON.
    HeaderNotJson,
    /// `alg` is not ES256 (the value, empty when absent or not a string).
    Algorithm(String),
    /// The header does not match the model (unknown field, missing `jwk`…).
    Header(serde_json::Error),
    /// The header key is not a usable P-256 key (why).
    Key(String),
    /// The signature does not verify (or is not 64 bytes).
    Signature,
}

/// A parsed compact JWS whose signature is not checked yet.
pub(crate) struct Compact<'a> {
    /// The header, checked against the model, `alg` ES256.
    pub(crate) header: Header,
    signing_input: &'a str,
    payload: &'a str,
    signature: &'a str,
}

fn decode(part: &str, what: &'static str) -> Result<Vec<u8>, JwsError> {
    Base64UrlUnpadded::decode_vec(part).map_err(|_| JwsError::NotBase64(what))
}

impl<'a> Compact<'a> {
    /// Checks the size, the shape, and the header (ES256 and nothing else).
    pub(crate) fn parse(jws: &'a str, max_len: usize) -> Result<Self, JwsError> {
        if jws.len() > max_len {
            return Err(JwsError::TooLong);
        }
        let mut parts = jws.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Shape);
        };
        let raw: serde_json::Value =
            serde_json::from_slice(&decode(h, "header")?).map_err(|_| JwsError::HeaderNotJson)?;
        match raw.get("alg").and_then(serde_json::Value::as_str) {
            Some("ES256") => {}
            other => return Err(JwsError::Algorithm(other.unwrap_or_default().to_owned())),
        }
        let header: Header = serde_json::from_value(raw).map_err(JwsError::Header)?;
        Ok(Self {
            header,
            signing_input: jws.get(..h.len() + 1 + p.len()).unwrap_or_default(),
            payload: p,
            signature: s,
        })
    }

    /// Checks the ES256 signature with the header's key, and only that key.
    pub(crate) fn verify_signature(&self) -> Result<(), JwsError> {
        let key = crate::verifying_key(&self.header.jwk).map_err(JwsError::Key)?;
        let signature = Signature::from_slice(&decode(self.signature, "signature")?)
            .map_err(|_| JwsError::Signature)?;
        key.verify(self.signing_input.as_bytes(), &signature)
            .map_err(|_| JwsError::Signature)
    }

    /// The payload's bytes (JSON, not yet parsed).
    pub(crate) fn payload(&self) -> Result<Vec<u8>, JwsError> {
        decode(self.payload, "payload")
    }
}

/// Signs `payload` as a compact JWS of type `typ` with `key`, its public key in the header.
pub(crate) fn sign<P: Serialize>(
    typ: &str,
    payload: &P,
    key: &SigningKey,
) -> Result<String, serde_json::Error> {
    let header = Header {
        alg: "ES256".into(),
        typ: typ.into(),
        jwk: crate::jwk_of(key),
    };
    let signing_input = format!(
        "{}.{}",
        Base64UrlUnpadded::encode_string(&serde_json::to_vec(&header)?),
        Base64UrlUnpadded::encode_string(&serde_json::to_vec(payload)?)
    );
    let signature: Signature = key.sign(signing_input.as_bytes());
    Ok(format!(
        "{signing_input}.{}",
        Base64UrlUnpadded::encode_string(&signature.to_bytes())
    ))
}
