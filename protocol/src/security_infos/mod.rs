//! SecurityInfos (ICAO 9303-11 §9.2, BSI TR-03110-3 A.1): the DER structures of
//! EF.CardAccess, EF.CardSecurity and DG14 that tell a terminal which protocols a chip
//! supports.
//!
//! ```text
//! SecurityInfos ::= SET OF SecurityInfo
//! SecurityInfo  ::= SEQUENCE {
//!     protocol     OBJECT IDENTIFIER,
//!     requiredData ANY DEFINED BY protocol,
//!     optionalData ANY DEFINED BY protocol OPTIONAL }
//! ```
//!
//! EF.CardAccess holds the bare SET, DG14 wraps it in application tag `6E` (ICAO 9303-10
//! §4.7.14), and EF.CardSecurity carries it as the eContent of a CMS SignedData (parsed
//! elsewhere; hand the eContent bytes to [`SecurityInfos::from_der`]).
//!
//! Parsing is tolerant, as TR-03110-3 A.1 asks of terminals: a SecurityInfo whose protocol
//! is unknown is kept as [`SecurityInfo::Unknown`], one whose protocol is known but whose
//! fields do not parse is kept as [`SecurityInfo::Malformed`] with the reason, and the
//! other infos of the SET still parse. Only input that is not a DER SET of SEQUENCEs is an
//! error.

mod algorithm;
mod curve;
pub mod oid;
mod parse;

#[cfg(test)]
mod tests;

use der::asn1::ObjectIdentifier;

pub use algorithm::{AlgorithmIdentifier, ChipPublicKey, DomainParameters, ExplicitEcParameters};
pub use curve::{
    BRAINPOOL_P256R1, BRAINPOOL_P384R1, Curve, CurveConstants, NIST_P256, NIST_P384,
    StandardizedDomainParameters,
};

/// Why SecurityInfos, or one SecurityInfo, could not be parsed. Byte positions count from
/// the start of the bytes handed to the parser.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecurityInfoError {
    /// The bytes are not valid DER (X.690 §10) where a TLV was expected.
    #[error("the DER encoding is invalid at byte {position}: {kind}")]
    Der {
        /// Where the decoder stopped.
        position: usize,
        /// What the decoder found wrong.
        kind: der::ErrorKind,
    },
    /// EF.CardSecurity is not a CMS SignedData holding SecurityInfos.
    #[error("EF.CardSecurity is malformed: {0}")]
    NotCardSecurity(String),
    /// The outer structure is not a `SET OF SecurityInfo` (ICAO 9303-11 §9.2).
    #[error("expected a SET OF SecurityInfo at byte {position} but found {found}")]
    NotASet {
        /// Where the tag is.
        position: usize,
        /// The tag found instead of SET.
        found: der::Tag,
    },
    /// The bytes are not DG14: application tag `6E` (ICAO 9303-10 §4.7.14) is missing.
    #[error("expected DG14 (application tag 6E) at byte {position} but found {found}")]
    NotDg14 {
        /// Where the tag is.
        position: usize,
        /// The tag found instead of `6E`.
        found: der::Tag,
    },
    /// An element of the SET is not a SEQUENCE, so not a SecurityInfo (ICAO 9303-11 §9.2).
    #[error("the element at byte {position} of the SecurityInfos is {found}, not a SEQUENCE")]
    NotASequence {
        /// Where the element starts.
        position: usize,
        /// The tag found instead of SEQUENCE.
        found: der::Tag,
    },
    /// Bytes follow the last field of a structure.
    #[error(
        "unexpected data ({remaining} bytes) follows the end of the {structure} at byte {position}"
    )]
    TrailingData {
        /// The structure (ASN.1 type name) being parsed.
        structure: &'static str,
        /// Where the unexpected bytes start.
        position: usize,
        /// How many bytes are left over.
        remaining: usize,
    },
    /// A field of a SecurityInfo does not decode as its ASN.1 type says.
    #[error("the {field} field of the {structure} is invalid at byte {position}: {kind}")]
    InvalidField {
        /// The structure (ASN.1 type name) being parsed.
        structure: &'static str,
        /// The field (ASN.1 component name).
        field: &'static str,
        /// Where the decoder stopped.
        position: usize,
        /// What the decoder found wrong.
        kind: der::ErrorKind,
    },
    /// Explicit elliptic-curve parameters (TR-03111 §4.1.1) that this parser does not
    /// handle, such as a binary field.
    #[error("the elliptic-curve parameters at byte {position} are not supported: {reason}")]
    UnsupportedEcParameters {
        /// Where the parameters start.
        position: usize,
        /// What is not supported.
        reason: &'static str,
    },
    /// A Chip Authentication public key (TR-03110-3 A.1.1.2) that cannot be used.
    #[error("the public key at byte {position} is invalid: {reason}")]
    InvalidPublicKey {
        /// Where the SubjectPublicKeyInfo starts.
        position: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An elliptic-curve public key whose point is not on its curve (SEC 1 §3.2.2.1).
    #[error("the public key at byte {position} is not a valid point on {curve}")]
    PointNotOnCurve {
        /// Where the SubjectPublicKeyInfo starts.
        position: usize,
        /// The curve its parameters name.
        curve: Curve,
    },
}

/// The key agreement of PACE or Chip Authentication (TR-03110-3 A.1.1.1, A.1.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAgreement {
    /// Diffie-Hellman over a MODP group (PKCS #3).
    Dh,
    /// Elliptic-curve Diffie-Hellman (TR-03111 §4.3.2).
    Ecdh,
}

/// The mapping of PACE (ICAO 9303-11 §4.4.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mapping {
    /// Generic Mapping (ICAO 9303-11 §4.4.3.3.1).
    Generic,
    /// Integrated Mapping (ICAO 9303-11 §4.4.3.3.2).
    Integrated,
    /// Chip Authentication Mapping (ICAO 9303-11 §4.4.3.3.3), ECDH only.
    ChipAuthentication,
}

/// The secure-messaging cipher a PACE or Chip Authentication OID names (the last arc,
/// ICAO 9303-11 §9.2; TR-03110-3 A.1.1.1). The order is the order of strength:
/// `TripleDes < Aes128 < Aes192 < Aes256`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cipher {
    /// Arc 1, `3DES-CBC-CBC`: two-key 3DES in CBC mode with the retail MAC (ICAO 9303-11
    /// §9.8.6).
    TripleDes,
    /// Arc 2, `AES-CBC-CMAC-128` (ICAO 9303-11 §9.8.7).
    Aes128,
    /// Arc 3, `AES-CBC-CMAC-192`.
    Aes192,
    /// Arc 4, `AES-CBC-CMAC-256`.
    Aes256,
}

impl Cipher {
    /// The cipher the last arc of a PACE or CA OID names.
    #[must_use]
    pub const fn from_arc(arc: u32) -> Option<Cipher> {
        match arc {
            1 => Some(Cipher::TripleDes),
            2 => Some(Cipher::Aes128),
            3 => Some(Cipher::Aes192),
            4 => Some(Cipher::Aes256),
            _ => None,
        }
    }

    /// The last arc of the OIDs that name this cipher.
    #[must_use]
    pub const fn arc(self) -> u32 {
        match self {
            Cipher::TripleDes => 1,
            Cipher::Aes128 => 2,
            Cipher::Aes192 => 3,
            Cipher::Aes256 => 4,
        }
    }

    /// The length in bytes of the session keys (ICAO 9303-11 §9.7.1: 16 for two-key 3DES).
    #[must_use]
    pub const fn key_len(self) -> usize {
        match self {
            Cipher::TripleDes | Cipher::Aes128 => 16,
            Cipher::Aes192 => 24,
            Cipher::Aes256 => 32,
        }
    }
}

/// The last arc of an OID.
impl From<Cipher> for sesame_apdu::sm::CipherSuite {
    fn from(cipher: Cipher) -> Self {
        match cipher {
            Cipher::TripleDes => Self::TripleDes,
            Cipher::Aes128 => Self::Aes128,
            Cipher::Aes192 => Self::Aes192,
            Cipher::Aes256 => Self::Aes256,
        }
    }
}

fn last_arc(oid: &ObjectIdentifier) -> Option<u32> {
    oid.arcs().last()
}

/// Key agreement and mapping of PACE, without the cipher: the protocol of a
/// PACEDomainParameterInfo (`id-PACE-ECDH-GM` and so on, ICAO 9303-11 §9.2).
///
/// The fields are private because not every combination exists: there is no DH variant
/// of Chip Authentication Mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PaceDomainProtocol {
    key_agreement: KeyAgreement,
    mapping: Mapping,
}

impl PaceDomainProtocol {
    /// The combination, if ICAO 9303-11 §9.2 defines it.
    #[must_use]
    pub const fn new(key_agreement: KeyAgreement, mapping: Mapping) -> Option<Self> {
        match (key_agreement, mapping) {
            (KeyAgreement::Dh, Mapping::ChipAuthentication) => None,
            _ => Some(PaceDomainProtocol {
                key_agreement,
                mapping,
            }),
        }
    }

    /// The key agreement.
    #[must_use]
    pub const fn key_agreement(self) -> KeyAgreement {
        self.key_agreement
    }

    /// The mapping.
    #[must_use]
    pub const fn mapping(self) -> Mapping {
        self.mapping
    }

    /// Decodes `id-PACE-DH-GM` (`id-PACE 1`) … `id-PACE-ECDH-CAM` (`id-PACE 6`).
    #[must_use]
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        let (key_agreement, mapping) = match *oid {
            oid::ID_PACE_DH_GM => (KeyAgreement::Dh, Mapping::Generic),
            oid::ID_PACE_ECDH_GM => (KeyAgreement::Ecdh, Mapping::Generic),
            oid::ID_PACE_DH_IM => (KeyAgreement::Dh, Mapping::Integrated),
            oid::ID_PACE_ECDH_IM => (KeyAgreement::Ecdh, Mapping::Integrated),
            oid::ID_PACE_ECDH_CAM => (KeyAgreement::Ecdh, Mapping::ChipAuthentication),
            _ => return None,
        };
        Self::new(key_agreement, mapping)
    }

    /// The OID, `id-PACE-ECDH-GM` and so on.
    #[must_use]
    pub const fn oid(self) -> ObjectIdentifier {
        match (self.key_agreement, self.mapping) {
            (KeyAgreement::Dh, Mapping::Generic) => oid::ID_PACE_DH_GM,
            (KeyAgreement::Ecdh, Mapping::Generic) => oid::ID_PACE_ECDH_GM,
            (KeyAgreement::Dh, Mapping::Integrated) => oid::ID_PACE_DH_IM,
            (KeyAgreement::Ecdh, Mapping::Integrated) => oid::ID_PACE_ECDH_IM,
            // `new` rules out DH with Chip Authentication Mapping.
            (_, Mapping::ChipAuthentication) => oid::ID_PACE_ECDH_CAM,
        }
    }
}

/// A PACE protocol: key agreement, mapping and cipher, as the OID of a PACEInfo names them
/// (ICAO 9303-11 §9.2; TR-03110-3 A.1.1.1). The OID goes back to the chip in MSE:Set AT
/// and into the authentication token (ICAO 9303-11 §4.4).
///
/// The fields are private because not every combination exists: no DH variant of Chip
/// Authentication Mapping, and no 3DES with it either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PaceProtocol {
    domain: PaceDomainProtocol,
    cipher: Cipher,
}

impl PaceProtocol {
    /// The combination, if ICAO 9303-11 §9.2 defines it.
    #[must_use]
    pub const fn new(
        key_agreement: KeyAgreement,
        mapping: Mapping,
        cipher: Cipher,
    ) -> Option<Self> {
        let Some(domain) = PaceDomainProtocol::new(key_agreement, mapping) else {
            return None;
        };
        match (mapping, cipher) {
            (Mapping::ChipAuthentication, Cipher::TripleDes) => None,
            _ => Some(PaceProtocol { domain, cipher }),
        }
    }

    /// Decodes `id-PACE-{DH,ECDH}-{GM,IM,CAM}-{3DES-CBC-CBC,AES-CBC-CMAC-128,-192,-256}`.
    #[must_use]
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        let domain = PaceDomainProtocol::from_oid(&oid.parent()?)?;
        let cipher = Cipher::from_arc(last_arc(oid)?)?;
        Self::new(domain.key_agreement, domain.mapping, cipher)
    }

    /// The key agreement.
    #[must_use]
    pub const fn key_agreement(self) -> KeyAgreement {
        self.domain.key_agreement
    }

    /// The mapping.
    #[must_use]
    pub const fn mapping(self) -> Mapping {
        self.domain.mapping
    }

    /// The secure-messaging cipher.
    #[must_use]
    pub const fn cipher(self) -> Cipher {
        self.cipher
    }

    /// Key agreement and mapping without the cipher: the protocol of the matching
    /// PACEDomainParameterInfo.
    #[must_use]
    pub const fn domain(self) -> PaceDomainProtocol {
        self.domain
    }

    /// The OID, for MSE:Set AT and the authentication token (ICAO 9303-11 §4.4).
    #[must_use]
    pub const fn oid(self) -> ObjectIdentifier {
        use Cipher::{Aes128, Aes192, Aes256, TripleDes};
        use KeyAgreement::{Dh, Ecdh};
        use Mapping::{ChipAuthentication, Generic, Integrated};
        match (self.key_agreement(), self.mapping(), self.cipher) {
            (Dh, Generic, TripleDes) => oid::ID_PACE_DH_GM_3DES_CBC_CBC,
            (Dh, Generic, Aes128) => oid::ID_PACE_DH_GM_AES_CBC_CMAC_128,
            (Dh, Generic, Aes192) => oid::ID_PACE_DH_GM_AES_CBC_CMAC_192,
            (Dh, Generic, Aes256) => oid::ID_PACE_DH_GM_AES_CBC_CMAC_256,
            (Ecdh, Generic, TripleDes) => oid::ID_PACE_ECDH_GM_3DES_CBC_CBC,
            (Ecdh, Generic, Aes128) => oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
            (Ecdh, Generic, Aes192) => oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_192,
            (Ecdh, Generic, Aes256) => oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_256,
            (Dh, Integrated, TripleDes) => oid::ID_PACE_DH_IM_3DES_CBC_CBC,
            (Dh, Integrated, Aes128) => oid::ID_PACE_DH_IM_AES_CBC_CMAC_128,
            (Dh, Integrated, Aes192) => oid::ID_PACE_DH_IM_AES_CBC_CMAC_192,
            (Dh, Integrated, Aes256) => oid::ID_PACE_DH_IM_AES_CBC_CMAC_256,
            (Ecdh, Integrated, TripleDes) => oid::ID_PACE_ECDH_IM_3DES_CBC_CBC,
            (Ecdh, Integrated, Aes128) => oid::ID_PACE_ECDH_IM_AES_CBC_CMAC_128,
            (Ecdh, Integrated, Aes192) => oid::ID_PACE_ECDH_IM_AES_CBC_CMAC_192,
            (Ecdh, Integrated, Aes256) => oid::ID_PACE_ECDH_IM_AES_CBC_CMAC_256,
            // `new` rules out DH and 3DES with Chip Authentication Mapping.
            (_, ChipAuthentication, TripleDes | Aes128) => oid::ID_PACE_ECDH_CAM_AES_CBC_CMAC_128,
            (_, ChipAuthentication, Aes192) => oid::ID_PACE_ECDH_CAM_AES_CBC_CMAC_192,
            (_, ChipAuthentication, Aes256) => oid::ID_PACE_ECDH_CAM_AES_CBC_CMAC_256,
        }
    }
}

/// A Chip Authentication protocol: key agreement and cipher (TR-03110-3 A.1.1.2;
/// ICAO 9303-11 §9.2): `id-CA-DH` = `id-CA 1`, `id-CA-ECDH` = `id-CA 2`, then the cipher
/// arc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CaProtocol {
    /// The key agreement.
    pub key_agreement: KeyAgreement,
    /// The secure-messaging cipher.
    pub cipher: Cipher,
}

impl CaProtocol {
    /// Decodes `id-CA-{DH,ECDH}-{3DES-CBC-CBC,AES-CBC-CMAC-128,-192,-256}`.
    #[must_use]
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        let key_agreement = match oid.parent()? {
            oid::ID_CA_DH => KeyAgreement::Dh,
            oid::ID_CA_ECDH => KeyAgreement::Ecdh,
            _ => return None,
        };
        let cipher = Cipher::from_arc(last_arc(oid)?)?;
        Some(CaProtocol {
            key_agreement,
            cipher,
        })
    }

    /// The OID, for MSE:Set AT (TR-03110-3 Appendix B; ICAO 9303-11 §6.2).
    #[must_use]
    pub const fn oid(self) -> ObjectIdentifier {
        use Cipher::{Aes128, Aes192, Aes256, TripleDes};
        match (self.key_agreement, self.cipher) {
            (KeyAgreement::Dh, TripleDes) => oid::ID_CA_DH_3DES_CBC_CBC,
            (KeyAgreement::Dh, Aes128) => oid::ID_CA_DH_AES_CBC_CMAC_128,
            (KeyAgreement::Dh, Aes192) => oid::ID_CA_DH_AES_CBC_CMAC_192,
            (KeyAgreement::Dh, Aes256) => oid::ID_CA_DH_AES_CBC_CMAC_256,
            (KeyAgreement::Ecdh, TripleDes) => oid::ID_CA_ECDH_3DES_CBC_CBC,
            (KeyAgreement::Ecdh, Aes128) => oid::ID_CA_ECDH_AES_CBC_CMAC_128,
            (KeyAgreement::Ecdh, Aes192) => oid::ID_CA_ECDH_AES_CBC_CMAC_192,
            (KeyAgreement::Ecdh, Aes256) => oid::ID_CA_ECDH_AES_CBC_CMAC_256,
        }
    }
}

/// `PACEInfo ::= SEQUENCE { protocol, version INTEGER, parameterId INTEGER OPTIONAL }`
/// (ICAO 9303-11 §9.2; TR-03110-3 A.1.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaceInfo {
    /// Key agreement, mapping and cipher.
    pub protocol: PaceProtocol,
    /// The PACE version; ICAO 9303-11 requires 2.
    pub version: u32,
    /// The domain parameters: an id of TR-03110-3 A.2.1.1 Table 4, or the id of a
    /// PACEDomainParameterInfo with proprietary parameters. Absent when the chip has a
    /// single set of domain parameters, given by a PACEDomainParameterInfo.
    pub parameter_id: Option<u32>,
}

/// `PACEDomainParameterInfo ::= SEQUENCE { protocol, domainParameter AlgorithmIdentifier,
/// parameterId INTEGER OPTIONAL }` (ICAO 9303-11 §9.2; TR-03110-3 A.1.1.1): proprietary
/// (explicit) domain parameters for PACE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaceDomainParameterInfo {
    /// `id-PACE-DH-GM`, `id-PACE-ECDH-GM`, … without the cipher arc.
    pub protocol: PaceDomainProtocol,
    /// The domain parameters.
    pub domain_parameter: AlgorithmIdentifier,
    /// The id PACEInfos refer to these parameters by; needed when there are several.
    pub parameter_id: Option<u32>,
}

/// `ChipAuthenticationInfo ::= SEQUENCE { protocol, version INTEGER, keyId INTEGER
/// OPTIONAL }` (TR-03110-3 A.1.1.2; ICAO 9303-11 §9.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChipAuthenticationInfo {
    /// Key agreement and cipher.
    pub protocol: CaProtocol,
    /// The Chip Authentication version (1 for ICAO eMRTDs, 2 or 3 under TR-03110).
    pub version: u32,
    /// The key to use, matching a ChipAuthenticationPublicKeyInfo's `keyId`; needed when
    /// there are several keys.
    pub key_id: Option<u32>,
}

/// `ChipAuthenticationPublicKeyInfo ::= SEQUENCE { protocol, chipAuthenticationPublicKey
/// SubjectPublicKeyInfo, keyId INTEGER OPTIONAL }` (TR-03110-3 A.1.1.2; ICAO 9303-11
/// §9.2), with `protocol` `id-PK-DH` or `id-PK-ECDH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChipAuthenticationPublicKeyInfo {
    /// `id-PK-DH` or `id-PK-ECDH`.
    pub key_agreement: KeyAgreement,
    /// The chip's static public key.
    pub public_key: ChipPublicKey,
    /// The id ChipAuthenticationInfos refer to this key by.
    pub key_id: Option<u32>,
}

/// `ActiveAuthenticationInfo ::= SEQUENCE { protocol id-AA, version INTEGER,
/// signatureAlgorithm OBJECT IDENTIFIER }` (ICAO 9303-11 §9.2): present in DG14 when
/// Active Authentication uses ECDSA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveAuthenticationInfo {
    /// The version; ICAO 9303-11 requires 1.
    pub version: u32,
    /// The signature algorithm, e.g. [`oid::ECDSA_PLAIN_SHA256`].
    pub signature_algorithm: ObjectIdentifier,
}

/// `TerminalAuthenticationInfo ::= SEQUENCE { protocol id-TA, version INTEGER, efCVCA
/// FileID OPTIONAL }` (TR-03110-3 A.1.1.3; ICAO 9303-11 §9.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalAuthenticationInfo {
    /// The version: 1 for ICAO eMRTDs (EAC 1), 2 under TR-03110.
    pub version: u32,
    /// The DER of the optional `efCVCA FileID` (version 1 only), kept raw.
    pub ef_cvca: Option<Vec<u8>>,
}

/// One element of SecurityInfos (ICAO 9303-11 §9.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecurityInfo {
    /// A PACEInfo.
    Pace(PaceInfo),
    /// A PACEDomainParameterInfo.
    PaceDomainParameters(PaceDomainParameterInfo),
    /// A ChipAuthenticationInfo.
    ChipAuthentication(ChipAuthenticationInfo),
    /// A ChipAuthenticationPublicKeyInfo.
    ChipAuthenticationPublicKey(ChipAuthenticationPublicKeyInfo),
    /// An ActiveAuthenticationInfo.
    ActiveAuthentication(ActiveAuthenticationInfo),
    /// A TerminalAuthenticationInfo.
    TerminalAuthentication(TerminalAuthenticationInfo),
    /// A SecurityInfo whose protocol this parser does not know (CardInfoLocator,
    /// RestrictedIdentificationInfo, ChipAuthenticationDomainParameterInfo, …), kept whole.
    Unknown {
        /// The protocol OID.
        oid: ObjectIdentifier,
        /// The DER of the whole SecurityInfo SEQUENCE.
        der: Vec<u8>,
    },
    /// A SecurityInfo whose protocol is known (or missing) but whose fields do not parse.
    Malformed {
        /// The protocol OID, `None` when the SEQUENCE does not begin with one.
        oid: Option<ObjectIdentifier>,
        /// The DER of the whole SecurityInfo SEQUENCE.
        der: Vec<u8>,
        /// Why it did not parse.
        reason: SecurityInfoError,
    },
}

impl SecurityInfo {
    /// The protocol OID of the info, `None` only for a [`SecurityInfo::Malformed`] without
    /// one.
    #[must_use]
    pub fn protocol(&self) -> Option<ObjectIdentifier> {
        Some(match self {
            SecurityInfo::Pace(info) => info.protocol.oid(),
            SecurityInfo::PaceDomainParameters(info) => info.protocol.oid(),
            SecurityInfo::ChipAuthentication(info) => info.protocol.oid(),
            SecurityInfo::ChipAuthenticationPublicKey(info) => match info.key_agreement {
                KeyAgreement::Dh => oid::ID_PK_DH,
                KeyAgreement::Ecdh => oid::ID_PK_ECDH,
            },
            SecurityInfo::ActiveAuthentication(_) => oid::ID_AA,
            SecurityInfo::TerminalAuthentication(_) => oid::ID_TA,
            SecurityInfo::Unknown { oid, .. } => *oid,
            SecurityInfo::Malformed { oid, .. } => return *oid,
        })
    }
}

/// `SecurityInfos ::= SET OF SecurityInfo` (ICAO 9303-11 §9.2; TR-03110-3 A.1), in the
/// order of the encoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecurityInfos {
    /// The infos, including the unknown and malformed ones.
    pub infos: Vec<SecurityInfo>,
}

/// Parses a DER SubjectPublicKeyInfo (a document signer's or CSCA's key, DG15's Active
/// Authentication key): for EC keys the curve is identified, from a named curve or from
/// explicit parameters, and the point is checked to lie on it.
///
/// # Errors
/// When the bytes are not a SubjectPublicKeyInfo, or an EC point is off its curve.
pub fn parse_public_key(spki_der: &[u8]) -> Result<ChipPublicKey, SecurityInfoError> {
    parse::public_key(spki_der)
}

impl SecurityInfos {
    /// Parses a DER `SET OF SecurityInfo`: the content of EF.CardAccess, or the eContent of
    /// EF.CardSecurity (ICAO 9303-11 §9.2).
    ///
    /// # Errors
    /// When the bytes are not one DER SET of SEQUENCEs. An element with an unknown or
    /// malformed protocol is not an error: it is kept as [`SecurityInfo::Unknown`] or
    /// [`SecurityInfo::Malformed`].
    pub fn from_der(bytes: &[u8]) -> Result<Self, SecurityInfoError> {
        parse::security_infos(bytes, 0).map(|infos| SecurityInfos { infos })
    }

    /// Parses DG14 (ICAO 9303-10 §4.7.14): application tag `6E` around the SET.
    ///
    /// # Errors
    /// When the bytes are not a `6E` TLV around one DER SET of SEQUENCEs.
    pub fn from_dg14(bytes: &[u8]) -> Result<Self, SecurityInfoError> {
        parse::dg14(bytes).map(|infos| SecurityInfos { infos })
    }

    /// Parses EF.CardSecurity (TR-03110-3 A.1.2.2): a CMS SignedData whose content
    /// (type id-SecurityObject, 0.4.0.127.0.7.3.2.1) is the SecurityInfos. BER is
    /// accepted. The signature is not checked here (it is a Document Signer's, like
    /// EF.SOD's).
    ///
    /// # Errors
    /// When the bytes are not such a SignedData, or its content is not SecurityInfos.
    pub fn from_card_security(bytes: &[u8]) -> Result<Self, SecurityInfoError> {
        let content = crate::pa::signed_content(bytes, "0.4.0.127.0.7.3.2.1")
            .map_err(|e| SecurityInfoError::NotCardSecurity(e.0))?;
        Self::from_der(&content)
    }

    /// Every info, in encoding order.
    pub fn iter(&self) -> core::slice::Iter<'_, SecurityInfo> {
        self.infos.iter()
    }

    /// The PACEInfos (ICAO 9303-11 §9.2; TR-03110-3 A.1.1.1).
    pub fn pace_infos(&self) -> impl Iterator<Item = &PaceInfo> {
        self.iter().filter_map(|info| match info {
            SecurityInfo::Pace(pace) => Some(pace),
            _ => None,
        })
    }

    /// The PACEDomainParameterInfos (ICAO 9303-11 §9.2; TR-03110-3 A.1.1.1).
    pub fn pace_domain_parameters(&self) -> impl Iterator<Item = &PaceDomainParameterInfo> {
        self.iter().filter_map(|info| match info {
            SecurityInfo::PaceDomainParameters(domain) => Some(domain),
            _ => None,
        })
    }

    /// The ChipAuthenticationInfos (TR-03110-3 A.1.1.2).
    pub fn chip_authentication_infos(&self) -> impl Iterator<Item = &ChipAuthenticationInfo> {
        self.iter().filter_map(|info| match info {
            SecurityInfo::ChipAuthentication(ca) => Some(ca),
            _ => None,
        })
    }

    /// The ChipAuthenticationPublicKeyInfos (TR-03110-3 A.1.1.2).
    pub fn chip_authentication_public_keys(
        &self,
    ) -> impl Iterator<Item = &ChipAuthenticationPublicKeyInfo> {
        self.iter().filter_map(|info| match info {
            SecurityInfo::ChipAuthenticationPublicKey(key) => Some(key),
            _ => None,
        })
    }

    /// The ActiveAuthenticationInfo (ICAO 9303-11 §9.2), the first if there are several.
    #[must_use]
    pub fn active_authentication(&self) -> Option<&ActiveAuthenticationInfo> {
        self.iter().find_map(|info| match info {
            SecurityInfo::ActiveAuthentication(aa) => Some(aa),
            _ => None,
        })
    }

    /// The TerminalAuthenticationInfo (TR-03110-3 A.1.1.3), the first if there are several.
    #[must_use]
    pub fn terminal_authentication(&self) -> Option<&TerminalAuthenticationInfo> {
        self.iter().find_map(|info| match info {
            SecurityInfo::TerminalAuthentication(ta) => Some(ta),
            _ => None,
        })
    }

    /// The public key a ChipAuthenticationInfo is to run with (TR-03110-3 A.1.1.2): the
    /// key of the same key agreement with the same `keyId`, or, when the info has no
    /// `keyId`, the only key of that key agreement.
    #[must_use]
    pub fn chip_authentication_public_key_for(
        &self,
        info: &ChipAuthenticationInfo,
    ) -> Option<&ChipAuthenticationPublicKeyInfo> {
        let mut keys = self
            .chip_authentication_public_keys()
            .filter(|key| key.key_agreement == info.protocol.key_agreement);
        match info.key_id {
            Some(id) => keys.find(|key| key.key_id == Some(id)),
            None => only(keys),
        }
    }

    /// The PACEDomainParameterInfo a PACEInfo refers to (ICAO 9303-11 §9.2): the one of
    /// the same key agreement with the same `parameterId`, or, when the PACEInfo has no
    /// `parameterId`, the only one of that key agreement. `None` when the PACEInfo uses
    /// standardized domain parameters.
    #[must_use]
    pub fn pace_domain_parameters_for(&self, pace: &PaceInfo) -> Option<&PaceDomainParameterInfo> {
        let mut domains = self
            .pace_domain_parameters()
            .filter(|domain| domain.protocol.key_agreement() == pace.protocol.key_agreement());
        match pace.parameter_id {
            Some(id) => domains.find(|domain| domain.parameter_id == Some(id)),
            None => only(domains),
        }
    }

    /// The curve an ECDH PACEInfo runs on, when Sésame supports it: that of the
    /// PACEDomainParameterInfo it refers to if there is one, else that of its `parameterId`
    /// in TR-03110-3 A.2.1.1 Table 4. `None` for DH, unknown parameters or other curves.
    #[must_use]
    pub fn pace_curve(&self, pace: &PaceInfo) -> Option<Curve> {
        if pace.protocol.key_agreement() != KeyAgreement::Ecdh {
            return None;
        }
        match self.pace_domain_parameters_for(pace) {
            Some(domain) => domain.domain_parameter.curve(),
            None => StandardizedDomainParameters::from_id(pace.parameter_id?)?.curve(),
        }
    }

    /// The strongest PACE the terminal supports, `None` if there is none.
    ///
    /// Candidates are the PACEInfos of version 2 (ICAO 9303-11 §9.2) with ECDH key
    /// agreement on a supported [`Curve`] (standardized ids 12, 13, 15, 16, or a
    /// PACEDomainParameterInfo naming one of those curves) and Generic or Integrated
    /// Mapping; DH and Chip Authentication Mapping are not implemented. They rank by:
    ///
    /// 1. cipher strength: AES-256 > AES-192 > AES-128 > 3DES;
    /// 2. then curve size: 384 > 256 bits;
    /// 3. then mapping: Generic before Integrated, because every PACE chip supports
    ///    Generic Mapping while Integrated Mapping is optional and less widely tested.
    ///
    /// On a complete tie the first in encoding order wins.
    #[must_use]
    pub fn preferred_pace(&self) -> Option<&PaceInfo> {
        let mut best: Option<(&PaceInfo, (Cipher, u32, bool))> = None;
        for pace in self.pace_infos() {
            let Some(rank) = self.pace_rank(pace) else {
                continue;
            };
            if best.as_ref().is_none_or(|(_, best_rank)| rank > *best_rank) {
                best = Some((pace, rank));
            }
        }
        best.map(|(pace, _)| pace)
    }

    /// The rank of a PACEInfo for [`SecurityInfos::preferred_pace`], `None` if the
    /// terminal cannot run it.
    fn pace_rank(&self, pace: &PaceInfo) -> Option<(Cipher, u32, bool)> {
        if pace.version != 2 {
            return None;
        }
        let generic = match pace.protocol.mapping() {
            Mapping::Generic => true,
            Mapping::Integrated => false,
            Mapping::ChipAuthentication => return None,
        };
        let curve = self.pace_curve(pace)?;
        Some((pace.protocol.cipher(), curve.bits(), generic))
    }
}

impl<'a> IntoIterator for &'a SecurityInfos {
    type Item = &'a SecurityInfo;
    type IntoIter = core::slice::Iter<'a, SecurityInfo>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The only item of an iterator, `None` if it has none or several.
fn only<T>(mut items: impl Iterator<Item = T>) -> Option<T> {
    let first = items.next()?;
    match items.next() {
        Some(_) => None,
        None => Some(first),
    }
}

/// Entry points for the fuzz targets (`fuzz/fuzz_targets/`), so that the fuzzers exercise
/// exactly the code the tests do.
#[doc(hidden)]
pub mod internal {
    #![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

    use super::{KeyAgreement, Mapping, SecurityInfo, SecurityInfos};

    /// Both parsers on arbitrary bytes never panic; whatever they return, the accessors
    /// work on, and [`SecurityInfos::preferred_pace`] only ever picks a PACE it may.
    pub fn fuzz_security_infos(data: &[u8]) {
        for parsed in [
            SecurityInfos::from_der(data),
            SecurityInfos::from_dg14(data),
        ] {
            let infos = match parsed {
                Ok(infos) => infos,
                Err(error) => {
                    let _ = error.to_string();
                    continue;
                }
            };
            for info in &infos {
                let _ = info.protocol();
                if let SecurityInfo::Malformed { reason, .. } = info {
                    let _ = reason.to_string();
                }
            }
            for pace in infos.pace_infos() {
                let _ = pace.protocol.oid();
                let _ = infos.pace_curve(pace);
            }
            for ca in infos.chip_authentication_infos() {
                let _ = ca.protocol.oid();
                let _ = infos.chip_authentication_public_key_for(ca);
            }
            for key in infos.chip_authentication_public_keys() {
                if let Some(curve) = key.public_key.curve {
                    assert!(curve.is_valid_point(&key.public_key.point));
                }
            }
            let _ = infos.active_authentication();
            let _ = infos.terminal_authentication();
            if let Some(pace) = infos.preferred_pace() {
                assert_eq!(pace.version, 2);
                assert_eq!(pace.protocol.key_agreement(), KeyAgreement::Ecdh);
                assert_ne!(pace.protocol.mapping(), Mapping::ChipAuthentication);
                assert!(infos.pace_curve(pace).is_some());
            }
        }
    }
}
