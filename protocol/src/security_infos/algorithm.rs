//! Domain parameters and public keys inside SecurityInfos: `AlgorithmIdentifier`
//! (RFC 5280 §4.1.1.2), explicit `ECParameters` (BSI TR-03111 §4.1.1; RFC 3279 §2.3.5)
//! and `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7).

use der::asn1::ObjectIdentifier;

use super::curve::{Curve, CurveConstants, StandardizedDomainParameters};
use super::oid;

/// An `AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY
/// OPTIONAL }` (RFC 5280 §4.1.1.2) naming domain parameters, as in a
/// PACEDomainParameterInfo (TR-03110-3 A.1.1.1) or a Chip Authentication public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlgorithmIdentifier {
    /// The algorithm: `id-ecPublicKey`, `dhpublicnumber`, `standardizedDomainParameters`…
    pub algorithm: ObjectIdentifier,
    /// The DER (whole TLV) of the parameters, if present.
    pub parameters: Option<Vec<u8>>,
    /// The DER of the whole AlgorithmIdentifier.
    pub der: Vec<u8>,
    /// The parameters as far as this parser understands them.
    pub domain: DomainParameters,
}

impl AlgorithmIdentifier {
    /// The supported curve these parameters stand for, whether named by OID, given
    /// explicitly, or by standardized id (TR-03110-3 A.2.1.1).
    #[must_use]
    pub fn curve(&self) -> Option<Curve> {
        match &self.domain {
            DomainParameters::Standardized(id) => {
                StandardizedDomainParameters::from_id(*id)?.curve()
            }
            DomainParameters::NamedCurve(named) => Curve::from_oid(named),
            DomainParameters::ExplicitCurve(parameters) => parameters.curve(),
            DomainParameters::ImplicitlyCa | DomainParameters::Other => None,
        }
    }
}

/// What an [`AlgorithmIdentifier`]'s parameters say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainParameters {
    /// `standardizedDomainParameters` with an INTEGER id of TR-03110-3 A.2.1.1 Table 4
    /// (the id may be reserved; see [`StandardizedDomainParameters::from_id`]).
    Standardized(u32),
    /// `id-ecPublicKey` with a named-curve OID (RFC 5480 §2.1.1), supported or not.
    NamedCurve(ObjectIdentifier),
    /// `id-ecPublicKey` with explicit prime-field parameters (TR-03111 §4.1.1), as many
    /// eMRTDs encode them.
    ExplicitCurve(ExplicitEcParameters),
    /// `id-ecPublicKey` with NULL: the parameters are inherited (RFC 3279 §2.3.5).
    ImplicitlyCa,
    /// Anything else: DH parameters (`dhpublicnumber`, ANSI X9.42), an unknown algorithm,
    /// or absent parameters. See [`AlgorithmIdentifier::parameters`].
    Other,
}

/// Explicit elliptic-curve domain parameters over a prime field (BSI TR-03111 §4.1.1;
/// SEC 1 §C.2; RFC 3279 §2.3.5):
///
/// ```text
/// ECParameters ::= SEQUENCE {
///     version  INTEGER { ecpVer1(1) },
///     fieldID  SEQUENCE { fieldType prime-field, prime INTEGER },
///     curve    SEQUENCE { a OCTET STRING, b OCTET STRING, seed BIT STRING OPTIONAL },
///     base     OCTET STRING,
///     order    INTEGER,
///     cofactor INTEGER OPTIONAL }
/// ```
///
/// Integers are kept as unsigned big-endian bytes without leading zeros; field elements
/// and the base point as encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExplicitEcParameters {
    /// The field prime p.
    pub prime: Vec<u8>,
    /// The coefficient a (a field element, as encoded).
    pub a: Vec<u8>,
    /// The coefficient b (a field element, as encoded).
    pub b: Vec<u8>,
    /// The base point G, SEC1-encoded (SEC 1 §2.3.3).
    pub generator: Vec<u8>,
    /// The order n of G.
    pub order: Vec<u8>,
    /// The cofactor h, when present.
    pub cofactor: Option<Vec<u8>>,
}

impl ExplicitEcParameters {
    /// The supported curve these parameters are, found by comparing p, a, b, G, n and h
    /// with each [`Curve`]'s constants.
    #[must_use]
    pub fn curve(&self) -> Option<Curve> {
        Curve::ALL
            .into_iter()
            .find(|curve| self.matches(curve.constants()))
    }

    /// Whether these parameters are exactly those of `constants`.
    #[must_use]
    pub fn matches(&self, constants: &CurveConstants) -> bool {
        let cofactor = constants.cofactor.to_be_bytes();
        same_integer(&self.prime, constants.p)
            && same_integer(&self.a, constants.a)
            && same_integer(&self.b, constants.b)
            && same_integer(&self.order, constants.n)
            && self
                .cofactor
                .as_ref()
                .is_none_or(|given| same_integer(given, &cofactor))
            && is_generator(&self.generator, constants)
    }
}

/// Two unsigned big-endian integers are equal, whatever their leading zeros.
fn same_integer(x: &[u8], y: &[u8]) -> bool {
    strip_leading_zeros(x) == strip_leading_zeros(y)
}

/// The bytes without their leading zeros.
pub(super) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|&&byte| byte == 0).count();
    bytes.get(zeros..).unwrap_or_default()
}

/// Whether a SEC1-encoded point (SEC 1 §2.3.3), uncompressed or compressed, is the base
/// point of `constants`.
fn is_generator(encoded: &[u8], constants: &CurveConstants) -> bool {
    match encoded.split_first() {
        Some((0x04, xy)) => xy
            .split_at_checked(constants.gx.len())
            .is_some_and(|(x, y)| x == constants.gx && y == constants.gy),
        Some((&tag @ (0x02 | 0x03), x)) => {
            x == constants.gx && constants.gy.last().is_some_and(|&last| last & 1 == tag & 1)
        }
        _ => false,
    }
}

/// A chip's static public key for Chip Authentication: the `SubjectPublicKeyInfo ::=
/// SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }` of a
/// ChipAuthenticationPublicKeyInfo (TR-03110-3 A.1.1.2; RFC 5280 §4.1.2.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChipPublicKey {
    /// The algorithm and domain parameters.
    pub algorithm: AlgorithmIdentifier,
    /// The curve, when the key is `id-ecPublicKey` on a supported curve; the point has been
    /// checked to lie on it. `None` for DH keys and other curves.
    pub curve: Option<Curve>,
    /// The subjectPublicKey bits: for an EC key the SEC1-encoded point (SEC 1 §2.3.3) as
    /// the chip gave it; for a DH key the DER INTEGER of the public value (RFC 3279
    /// §2.3.3), kept raw.
    pub point: Vec<u8>,
    /// The DER of the whole SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
}

impl ChipPublicKey {
    /// Whether the key is an elliptic-curve key (`id-ecPublicKey`, RFC 5480 §2.1.1).
    #[must_use]
    pub fn is_elliptic_curve(&self) -> bool {
        self.algorithm.algorithm == oid::ID_EC_PUBLIC_KEY
    }
}
