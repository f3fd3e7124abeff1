//! Object identifiers of the SecurityInfos and of the algorithms they name.
//!
//! The protocol identifiers live under `bsi-de` (0.4.0.127.0.7), as BSI TR-03110-3 A.1.1
//! and ICAO 9303-11 §9.2 define them; the curve and key identifiers come from RFC 5480
//! (SEC 2) and RFC 5639. Every constant is a compile-time evaluated literal.

use der::asn1::ObjectIdentifier;

/// Parses a dotted OID in a `const` item, so that a typo is a compile error.
const fn oid(dotted: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(dotted)
}

/// `bsi-de` (0.4.0.127.0.7), the root of the TR-03110 identifiers (TR-03110-3 A.1.1).
pub const BSI_DE: ObjectIdentifier = oid("0.4.0.127.0.7");

/// `standardizedDomainParameters` (`bsi-de algorithms(1) 2`): an `AlgorithmIdentifier`
/// whose parameter is an INTEGER index into TR-03110-3 A.2.1.1 Table 4.
pub const STANDARDIZED_DOMAIN_PARAMETERS: ObjectIdentifier = oid("0.4.0.127.0.7.1.2");

/// `ecdsa-plain-SHA1` (BSI TR-03111 §5.2.1), a signature algorithm of Active Authentication.
pub const ECDSA_PLAIN_SHA1: ObjectIdentifier = oid("0.4.0.127.0.7.1.1.4.1.1");
/// `ecdsa-plain-SHA224` (BSI TR-03111 §5.2.1).
pub const ECDSA_PLAIN_SHA224: ObjectIdentifier = oid("0.4.0.127.0.7.1.1.4.1.2");
/// `ecdsa-plain-SHA256` (BSI TR-03111 §5.2.1).
pub const ECDSA_PLAIN_SHA256: ObjectIdentifier = oid("0.4.0.127.0.7.1.1.4.1.3");
/// `ecdsa-plain-SHA384` (BSI TR-03111 §5.2.1).
pub const ECDSA_PLAIN_SHA384: ObjectIdentifier = oid("0.4.0.127.0.7.1.1.4.1.4");
/// `ecdsa-plain-SHA512` (BSI TR-03111 §5.2.1).
pub const ECDSA_PLAIN_SHA512: ObjectIdentifier = oid("0.4.0.127.0.7.1.1.4.1.5");

/// `id-PK` (TR-03110-3 A.1.1.2): Chip Authentication public keys.
pub const ID_PK: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.1");
/// `id-PK-DH` (TR-03110-3 A.1.1.2).
pub const ID_PK_DH: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.1.1");
/// `id-PK-ECDH` (TR-03110-3 A.1.1.2).
pub const ID_PK_ECDH: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.1.2");

/// `id-TA` (TR-03110-3 A.1.1.3, ICAO 9303-11 §9.2): Terminal Authentication.
pub const ID_TA: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.2");

/// `id-CA` (TR-03110-3 A.1.1.2): Chip Authentication.
pub const ID_CA: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.3");
/// `id-CA-DH` (TR-03110-3 A.1.1.2), also the protocol of a DH
/// ChipAuthenticationDomainParameterInfo.
pub const ID_CA_DH: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.3.1");
/// `id-CA-DH-3DES-CBC-CBC` (TR-03110-3 A.1.1.2).
pub const ID_CA_DH_3DES_CBC_CBC: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.3.1.1");
/// `id-CA-DH-AES-CBC-CMAC-128` (TR-03110-3 A.1.1.2).
pub const ID_CA_DH_AES_CBC_CMAC_128: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.3.1.2");
/// `id-CA-DH-AES-CBC-CMAC-192` (TR-03110-3 A.1.1.2).
pub const ID_CA_DH_AES_CBC_CMAC_192: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.3.1.3");
/// `id-CA-DH-AES-CBC-CMAC-256` (TR-03110-3 A.1.1.2).
pub const ID_CA_DH_AES_CBC_CMAC_256: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.3.1.4");
/// `id-CA-ECDH` (TR-03110-3 A.1.1.2), also the protocol of an ECDH
/// ChipAuthenticationDomainParameterInfo.
pub const ID_CA_ECDH: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.3.2");
/// `id-CA-ECDH-3DES-CBC-CBC` (TR-03110-3 A.1.1.2).
pub const ID_CA_ECDH_3DES_CBC_CBC: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.3.2.1");
/// `id-CA-ECDH-AES-CBC-CMAC-128` (TR-03110-3 A.1.1.2).
pub const ID_CA_ECDH_AES_CBC_CMAC_128: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.3.2.2");
/// `id-CA-ECDH-AES-CBC-CMAC-192` (TR-03110-3 A.1.1.2).
pub const ID_CA_ECDH_AES_CBC_CMAC_192: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.3.2.3");
/// `id-CA-ECDH-AES-CBC-CMAC-256` (TR-03110-3 A.1.1.2).
pub const ID_CA_ECDH_AES_CBC_CMAC_256: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.3.2.4");

/// `id-PACE` (TR-03110-3 A.1.1.1, ICAO 9303-11 §9.2).
pub const ID_PACE: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4");
/// `id-PACE-DH-GM`: Diffie-Hellman, Generic Mapping (ICAO 9303-11 §9.2).
pub const ID_PACE_DH_GM: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.1");
/// `id-PACE-DH-GM-3DES-CBC-CBC` (ICAO 9303-11 §9.2).
pub const ID_PACE_DH_GM_3DES_CBC_CBC: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.1.1");
/// `id-PACE-DH-GM-AES-CBC-CMAC-128` (ICAO 9303-11 §9.2).
pub const ID_PACE_DH_GM_AES_CBC_CMAC_128: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.1.2");
/// `id-PACE-DH-GM-AES-CBC-CMAC-192` (ICAO 9303-11 §9.2).
pub const ID_PACE_DH_GM_AES_CBC_CMAC_192: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.1.3");
/// `id-PACE-DH-GM-AES-CBC-CMAC-256` (ICAO 9303-11 §9.2).
pub const ID_PACE_DH_GM_AES_CBC_CMAC_256: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.1.4");
/// `id-PACE-ECDH-GM`: elliptic-curve Diffie-Hellman, Generic Mapping (ICAO 9303-11 §9.2).
pub const ID_PACE_ECDH_GM: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.2");
/// `id-PACE-ECDH-GM-3DES-CBC-CBC` (ICAO 9303-11 §9.2).
pub const ID_PACE_ECDH_GM_3DES_CBC_CBC: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.2.1");
/// `id-PACE-ECDH-GM-AES-CBC-CMAC-128` (ICAO 9303-11 §9.2).
pub const ID_PACE_ECDH_GM_AES_CBC_CMAC_128: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.2.2");
/// `id-PACE-ECDH-GM-AES-CBC-CMAC-192` (ICAO 9303-11 §9.2).
pub const ID_PACE_ECDH_GM_AES_CBC_CMAC_192: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.2.3");
/// `id-PACE-ECDH-GM-AES-CBC-CMAC-256` (ICAO 9303-11 §9.2).
pub const ID_PACE_ECDH_GM_AES_CBC_CMAC_256: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.2.4");
/// `id-PACE-DH-IM`: Diffie-Hellman, Integrated Mapping (ICAO 9303-11 §9.2).
pub const ID_PACE_DH_IM: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.3");
/// `id-PACE-DH-IM-3DES-CBC-CBC` (ICAO 9303-11 §9.2).
pub const ID_PACE_DH_IM_3DES_CBC_CBC: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.3.1");
/// `id-PACE-DH-IM-AES-CBC-CMAC-128` (ICAO 9303-11 §9.2).
pub const ID_PACE_DH_IM_AES_CBC_CMAC_128: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.3.2");
/// `id-PACE-DH-IM-AES-CBC-CMAC-192` (ICAO 9303-11 §9.2).
pub const ID_PACE_DH_IM_AES_CBC_CMAC_192: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.3.3");
/// `id-PACE-DH-IM-AES-CBC-CMAC-256` (ICAO 9303-11 §9.2).
pub const ID_PACE_DH_IM_AES_CBC_CMAC_256: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.3.4");
/// `id-PACE-ECDH-IM`: elliptic-curve Diffie-Hellman, Integrated Mapping (ICAO 9303-11 §9.2).
pub const ID_PACE_ECDH_IM: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.4");
/// `id-PACE-ECDH-IM-3DES-CBC-CBC` (ICAO 9303-11 §9.2).
pub const ID_PACE_ECDH_IM_3DES_CBC_CBC: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.4.1");
/// `id-PACE-ECDH-IM-AES-CBC-CMAC-128` (ICAO 9303-11 §9.2).
pub const ID_PACE_ECDH_IM_AES_CBC_CMAC_128: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.4.2");
/// `id-PACE-ECDH-IM-AES-CBC-CMAC-192` (ICAO 9303-11 §9.2).
pub const ID_PACE_ECDH_IM_AES_CBC_CMAC_192: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.4.3");
/// `id-PACE-ECDH-IM-AES-CBC-CMAC-256` (ICAO 9303-11 §9.2).
pub const ID_PACE_ECDH_IM_AES_CBC_CMAC_256: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.4.4");
/// `id-PACE-ECDH-CAM`: elliptic-curve Diffie-Hellman, Chip Authentication Mapping
/// (ICAO 9303-11 §9.2). It exists with AES only.
pub const ID_PACE_ECDH_CAM: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.6");
/// `id-PACE-ECDH-CAM-AES-CBC-CMAC-128` (ICAO 9303-11 §9.2).
pub const ID_PACE_ECDH_CAM_AES_CBC_CMAC_128: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.6.2");
/// `id-PACE-ECDH-CAM-AES-CBC-CMAC-192` (ICAO 9303-11 §9.2).
pub const ID_PACE_ECDH_CAM_AES_CBC_CMAC_192: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.6.3");
/// `id-PACE-ECDH-CAM-AES-CBC-CMAC-256` (ICAO 9303-11 §9.2).
pub const ID_PACE_ECDH_CAM_AES_CBC_CMAC_256: ObjectIdentifier = oid("0.4.0.127.0.7.2.2.4.6.4");

/// `id-AA` (2.23.136.1.1.5, ICAO 9303-11 §9.2): Active Authentication.
pub const ID_AA: ObjectIdentifier = oid("2.23.136.1.1.5");

/// `id-ecPublicKey` (RFC 5480 §2.1.1; ANSI X9.62).
pub const ID_EC_PUBLIC_KEY: ObjectIdentifier = oid("1.2.840.10045.2.1");
/// `prime-field` (ANSI X9.62; RFC 3279 §2.3.5): the field type of explicit EC parameters.
pub const PRIME_FIELD: ObjectIdentifier = oid("1.2.840.10045.1.1");
/// `dhpublicnumber` (ANSI X9.42; RFC 3279 §2.3.3): Diffie-Hellman public keys.
pub const DH_PUBLIC_NUMBER: ObjectIdentifier = oid("1.2.840.10046.2.1");

/// `secp256r1`, NIST P-256 (RFC 5480 §2.1.1.1).
pub const SECP256R1: ObjectIdentifier = oid("1.2.840.10045.3.1.7");
/// `secp384r1`, NIST P-384 (RFC 5480 §2.1.1.1).
pub const SECP384R1: ObjectIdentifier = oid("1.3.132.0.34");
/// `brainpoolP256r1` (RFC 5639 §4.1).
pub const BRAINPOOL_P256R1: ObjectIdentifier = oid("1.3.36.3.3.2.8.1.1.7");
/// `brainpoolP384r1` (RFC 5639 §4.1).
pub const BRAINPOOL_P384R1: ObjectIdentifier = oid("1.3.36.3.3.2.8.1.1.11");
