use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetStringRef, UintRef};
use der::{Encode, Tag, TagNumber};
use elliptic_curve::point::AffineCoordinates;
use elliptic_curve::sec1::ToSec1Point;
use elliptic_curve::{CurveArithmetic, Group, PrimeField, hazmat::FieldArithmetic};
use hex_literal::hex;
use proptest::prelude::*;

use super::*;

/// ICAO 9303-11 Appendix G.1 (PACE with ECDH and Generic Mapping), the EF.CardAccess of
/// the worked example: one PACEInfo, id-PACE-ECDH-GM-AES-CBC-CMAC-128, version 2,
/// parameterId 13 (brainpoolP256r1).
const ICAO_G1_CARD_ACCESS: [u8; 22] = hex!("31143012060A04007F0007020204020202010202010D");

/// The same structure with id-PACE-ECDH-IM-AES-CBC-CMAC-128 (0.4.0.127.0.7.2.2.4.4.2), the
/// protocol of ICAO 9303-11 Appendix H.1 (PACE with ECDH and Integrated Mapping); derived
/// from the G.1 vector by changing the mapping arc.
const ICAO_H1_STYLE_CARD_ACCESS: [u8; 22] = hex!("31143012060A04007F0007020204040202010202010D");

// ---------------------------------------------------------------------------------------
// DER building blocks, all encoded with the `der` crate.

fn tlv(tag: Tag, parts: &[&[u8]]) -> Vec<u8> {
    AnyRef::new(tag, &parts.concat()).unwrap().to_der().unwrap()
}

fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(Tag::Sequence, parts)
}

fn set(parts: &[&[u8]]) -> Vec<u8> {
    tlv(Tag::Set, parts)
}

fn dg14(set: &[u8]) -> Vec<u8> {
    let tag = Tag::Application {
        constructed: true,
        number: TagNumber(14),
    };
    tlv(tag, &[set])
}

fn oid_der(oid: ObjectIdentifier) -> Vec<u8> {
    oid.to_der().unwrap()
}

fn int(value: u32) -> Vec<u8> {
    value.to_der().unwrap()
}

fn uint(bytes: &[u8]) -> Vec<u8> {
    UintRef::new(bytes).unwrap().to_der().unwrap()
}

fn octets(bytes: &[u8]) -> Vec<u8> {
    OctetStringRef::new(bytes).unwrap().to_der().unwrap()
}

fn bits(bytes: &[u8]) -> Vec<u8> {
    BitStringRef::from_bytes(bytes).unwrap().to_der().unwrap()
}

fn pace_info_der(protocol: ObjectIdentifier, version: u32, parameter_id: Option<u32>) -> Vec<u8> {
    let parameter_id = parameter_id.map(int).unwrap_or_default();
    sequence(&[&oid_der(protocol), &int(version), &parameter_id])
}

fn parse(bytes: &[u8]) -> SecurityInfos {
    SecurityInfos::from_der(bytes).unwrap()
}

fn pace(key_agreement: KeyAgreement, mapping: Mapping, cipher: Cipher) -> PaceProtocol {
    PaceProtocol::new(key_agreement, mapping, cipher).unwrap()
}

/// Domain parameters computed from a curve crate alone: p and n from its field moduli, G
/// from its generator, and a and b solved from the curve equation through G and 7·G with
/// its field arithmetic. Independent of the constants in `curve.rs`.
struct CrateCurve {
    p: Vec<u8>,
    a: Vec<u8>,
    b: Vec<u8>,
    generator: Vec<u8>,
    n: Vec<u8>,
    seven_g: Vec<u8>,
}

fn from_hex(text: &str) -> Vec<u8> {
    let text = text.trim_start_matches("0x");
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
        .collect()
}

macro_rules! crate_curve {
    ($curve:ty) => {{
        type Fe = <$curve as FieldArithmetic>::FieldElement;
        type Scalar = <$curve as CurveArithmetic>::Scalar;
        let g = <$curve as CurveArithmetic>::ProjectivePoint::generator();
        let g7 = g * Scalar::from(7u64);
        let (g, g7) = (g.to_affine(), g7.to_affine());
        let x1 = Fe::from_repr(g.x()).unwrap();
        let y1 = Fe::from_repr(g.y()).unwrap();
        let x2 = Fe::from_repr(g7.x()).unwrap();
        let y2 = Fe::from_repr(g7.y()).unwrap();
        // y² - x³ = a·x + b at both points.
        let r1 = y1.square() - x1.square() * x1;
        let r2 = y2.square() - x2.square() * x2;
        let a = (r1 - r2) * (x1 - x2).invert().unwrap();
        let b = r1 - a * x1;
        CrateCurve {
            p: from_hex(Fe::MODULUS),
            a: a.to_repr().to_vec(),
            b: b.to_repr().to_vec(),
            generator: g.to_sec1_point(false).as_bytes().to_vec(),
            n: from_hex(Scalar::MODULUS),
            seven_g: g7.to_sec1_point(false).as_bytes().to_vec(),
        }
    }};
}

fn crate_curve(curve: Curve) -> CrateCurve {
    match curve {
        Curve::BrainpoolP256r1 => crate_curve!(bp256::BrainpoolP256r1),
        Curve::BrainpoolP384r1 => crate_curve!(bp384::BrainpoolP384r1),
        Curve::NistP256 => crate_curve!(p256::NistP256),
        Curve::NistP384 => crate_curve!(p384::NistP384),
    }
}

/// Explicit `ECParameters` (TR-03111 §4.1.1) for a curve computed by its crate.
fn explicit_parameters_der(curve: &CrateCurve, uncompressed_generator: bool) -> Vec<u8> {
    let generator = if uncompressed_generator {
        curve.generator.clone()
    } else {
        let (x, y) = curve.generator[1..].split_at(curve.p.len());
        [&[0x02 | (y[y.len() - 1] & 1)], x].concat()
    };
    sequence(&[
        &int(1),
        &sequence(&[&oid_der(oid::PRIME_FIELD), &uint(&curve.p)]),
        &sequence(&[&octets(&curve.a), &octets(&curve.b)]),
        &octets(&generator),
        &uint(&curve.n),
        &int(1),
    ])
}

fn spki_der(parameters: &[u8], point: &[u8]) -> Vec<u8> {
    sequence(&[
        &sequence(&[&oid_der(oid::ID_EC_PUBLIC_KEY), parameters]),
        &bits(point),
    ])
}

// ---------------------------------------------------------------------------------------
// ICAO vectors.

#[test]
fn icao_g1_card_access_is_one_pace_info() {
    let infos = parse(&ICAO_G1_CARD_ACCESS);
    assert_eq!(infos.infos.len(), 1);
    let expected = PaceInfo {
        protocol: pace(KeyAgreement::Ecdh, Mapping::Generic, Cipher::Aes128),
        version: 2,
        parameter_id: Some(13),
    };
    assert_eq!(infos.infos[0], SecurityInfo::Pace(expected.clone()));
    assert_eq!(infos.pace_infos().collect::<Vec<_>>(), [&expected]);
    assert_eq!(
        expected.protocol.oid(),
        oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_128
    );
    assert_eq!(expected.protocol.cipher().key_len(), 16);
    assert_eq!(
        StandardizedDomainParameters::from_id(13),
        Some(StandardizedDomainParameters::BrainpoolP256r1)
    );
    assert_eq!(infos.pace_curve(&expected), Some(Curve::BrainpoolP256r1));
    assert_eq!(infos.preferred_pace(), Some(&expected));
    assert_eq!(infos.pace_domain_parameters().count(), 0);
    assert!(infos.active_authentication().is_none());
    assert!(infos.terminal_authentication().is_none());
}

#[test]
fn icao_h1_style_card_access_is_integrated_mapping() {
    let infos = parse(&ICAO_H1_STYLE_CARD_ACCESS);
    let [SecurityInfo::Pace(info)] = infos.infos.as_slice() else {
        panic!("expected one PACEInfo: {infos:?}");
    };
    assert_eq!(info.protocol.key_agreement(), KeyAgreement::Ecdh);
    assert_eq!(info.protocol.mapping(), Mapping::Integrated);
    assert_eq!(info.protocol.cipher(), Cipher::Aes128);
    assert_eq!((info.version, info.parameter_id), (2, Some(13)));
    assert_eq!(info.protocol.oid(), oid::ID_PACE_ECDH_IM_AES_CBC_CMAC_128);
    assert_eq!(infos.preferred_pace(), Some(info));
}

// ---------------------------------------------------------------------------------------
// PACE selection.

#[test]
fn cnie_like_card_access_prefers_generic_mapping_on_a_tie() {
    let bytes = set(&[
        &pace_info_der(oid::ID_PACE_ECDH_IM_AES_CBC_CMAC_256, 2, Some(13)),
        &pace_info_der(oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_256, 2, Some(13)),
    ]);
    let infos = parse(&bytes);
    assert_eq!(infos.pace_infos().count(), 2);
    let chosen = infos.preferred_pace().unwrap();
    assert_eq!(
        chosen.protocol,
        pace(KeyAgreement::Ecdh, Mapping::Generic, Cipher::Aes256)
    );
    assert_eq!(chosen.protocol.oid(), oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_256);
}

#[test]
fn cipher_strength_beats_mapping() {
    let bytes = set(&[
        &pace_info_der(oid::ID_PACE_ECDH_GM_3DES_CBC_CBC, 2, Some(13)),
        &pace_info_der(oid::ID_PACE_ECDH_IM_AES_CBC_CMAC_128, 2, Some(13)),
    ]);
    let chosen = parse(&bytes).preferred_pace().cloned().unwrap();
    assert_eq!(
        chosen.protocol,
        pace(KeyAgreement::Ecdh, Mapping::Integrated, Cipher::Aes128)
    );
}

#[test]
fn preferred_pace_skips_what_the_terminal_cannot_run() {
    let bytes = set(&[
        // DH: not implemented.
        &pace_info_der(oid::ID_PACE_DH_GM_AES_CBC_CMAC_256, 2, Some(2)),
        // Chip Authentication Mapping: not implemented.
        &pace_info_der(oid::ID_PACE_ECDH_CAM_AES_CBC_CMAC_256, 2, Some(13)),
        // brainpoolP320r1: no curve implementation.
        &pace_info_der(oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_256, 2, Some(14)),
        // Version 1 is not the PACE of ICAO 9303-11.
        &pace_info_der(oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_192, 1, Some(13)),
        // A reserved id.
        &pace_info_der(oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_192, 2, Some(5)),
        // The only candidates: same cipher, the 384-bit curve wins.
        &pace_info_der(oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_128, 2, Some(13)),
        &pace_info_der(oid::ID_PACE_ECDH_IM_AES_CBC_CMAC_128, 2, Some(15)),
    ]);
    let infos = parse(&bytes);
    assert_eq!(infos.pace_infos().count(), 7);
    let chosen = infos.preferred_pace().unwrap();
    assert_eq!(chosen.parameter_id, Some(15));
    assert_eq!(chosen.protocol.mapping(), Mapping::Integrated);
    assert_eq!(infos.pace_curve(chosen), Some(Curve::NistP384));

    let none = set(&[&pace_info_der(oid::ID_PACE_DH_IM_3DES_CBC_CBC, 2, Some(0))]);
    assert_eq!(parse(&none).preferred_pace(), None);
    assert_eq!(parse(&set(&[])).preferred_pace(), None);
}

#[test]
fn proprietary_domain_parameters_name_the_curve() {
    let named_p384 = sequence(&[&oid_der(oid::ID_EC_PUBLIC_KEY), &oid_der(oid::SECP384R1)]);
    let explicit_bp256 = sequence(&[
        &oid_der(oid::ID_EC_PUBLIC_KEY),
        &explicit_parameters_der(&crate_curve(Curve::BrainpoolP256r1), false),
    ]);
    let bytes = set(&[
        &pace_info_der(oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_128, 2, Some(13)),
        &pace_info_der(oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_128, 2, Some(32)),
        &pace_info_der(oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_128, 2, Some(33)),
        &sequence(&[&oid_der(oid::ID_PACE_ECDH_GM), &named_p384, &int(32)]),
        &sequence(&[&oid_der(oid::ID_PACE_ECDH_GM), &explicit_bp256, &int(33)]),
    ]);
    let infos = parse(&bytes);
    let domains: Vec<_> = infos.pace_domain_parameters().collect();
    assert_eq!(domains.len(), 2);
    assert_eq!(
        domains[0].protocol,
        PaceDomainProtocol::new(KeyAgreement::Ecdh, Mapping::Generic).unwrap()
    );
    assert_eq!(domains[0].domain_parameter.algorithm, oid::ID_EC_PUBLIC_KEY);
    assert_eq!(
        domains[0].domain_parameter.domain,
        DomainParameters::NamedCurve(oid::SECP384R1)
    );
    assert_eq!(domains[0].domain_parameter.der, named_p384);
    assert!(matches!(
        domains[1].domain_parameter.domain,
        DomainParameters::ExplicitCurve(_)
    ));
    assert_eq!(
        domains[1].domain_parameter.curve(),
        Some(Curve::BrainpoolP256r1)
    );

    let paces: Vec<_> = infos.pace_infos().collect();
    assert_eq!(infos.pace_curve(paces[0]), Some(Curve::BrainpoolP256r1));
    assert_eq!(infos.pace_curve(paces[1]), Some(Curve::NistP384));
    assert_eq!(infos.pace_curve(paces[2]), Some(Curve::BrainpoolP256r1));
    assert_eq!(infos.pace_domain_parameters_for(paces[1]), Some(domains[0]));
    assert_eq!(infos.preferred_pace(), Some(paces[1]));
}

#[test]
fn a_pace_info_without_parameter_id_uses_the_only_domain_parameters() {
    let standardized = sequence(&[&oid_der(oid::STANDARDIZED_DOMAIN_PARAMETERS), &int(16)]);
    let bytes = set(&[
        &pace_info_der(oid::ID_PACE_ECDH_IM_AES_CBC_CMAC_192, 2, None),
        &sequence(&[&oid_der(oid::ID_PACE_ECDH_IM), &standardized]),
    ]);
    let infos = parse(&bytes);
    let domain = infos.pace_domain_parameters().next().unwrap();
    assert_eq!(
        domain.domain_parameter.domain,
        DomainParameters::Standardized(16)
    );
    assert_eq!(domain.parameter_id, None);
    let chosen = infos.preferred_pace().unwrap();
    assert_eq!(infos.pace_curve(chosen), Some(Curve::BrainpoolP384r1));
}

// ---------------------------------------------------------------------------------------
// DG14.

#[test]
fn dg14_with_explicit_brainpool_key() {
    let curve = crate_curve(Curve::BrainpoolP256r1);
    let spki = spki_der(&explicit_parameters_der(&curve, true), &curve.seven_g);
    let set_bytes = set(&[
        &sequence(&[&oid_der(oid::ID_CA_ECDH_AES_CBC_CMAC_256), &int(1), &int(1)]),
        &sequence(&[&oid_der(oid::ID_PK_ECDH), &spki, &int(1)]),
        &sequence(&[&oid_der(oid::ID_TA), &int(1)]),
        &sequence(&[
            &oid_der(oid::ID_AA),
            &int(1),
            &oid_der(oid::ECDSA_PLAIN_SHA256),
        ]),
    ]);
    let infos = SecurityInfos::from_dg14(&dg14(&set_bytes)).unwrap();
    assert_eq!(infos.infos.len(), 4, "{infos:?}");

    let ca = infos.chip_authentication_infos().next().unwrap();
    assert_eq!(
        ca.protocol,
        CaProtocol {
            key_agreement: KeyAgreement::Ecdh,
            cipher: Cipher::Aes256
        }
    );
    assert_eq!((ca.version, ca.key_id), (1, Some(1)));
    assert_eq!(ca.protocol.oid(), oid::ID_CA_ECDH_AES_CBC_CMAC_256);

    let key = infos.chip_authentication_public_keys().next().unwrap();
    assert_eq!(key.key_agreement, KeyAgreement::Ecdh);
    assert_eq!(key.key_id, Some(1));
    assert_eq!(key.public_key.curve, Some(Curve::BrainpoolP256r1));
    assert_eq!(key.public_key.point, curve.seven_g);
    assert_eq!(key.public_key.spki_der, spki);
    assert!(key.public_key.is_elliptic_curve());
    let DomainParameters::ExplicitCurve(parameters) = &key.public_key.algorithm.domain else {
        panic!("expected explicit parameters: {key:?}");
    };
    assert_eq!(parameters.prime, curve.p);
    assert_eq!(parameters.generator, curve.generator);
    assert_eq!(parameters.cofactor.as_deref(), Some(&[1u8][..]));
    assert_eq!(infos.chip_authentication_public_key_for(ca), Some(key));

    assert_eq!(
        infos.terminal_authentication(),
        Some(&TerminalAuthenticationInfo {
            version: 1,
            ef_cvca: None
        })
    );
    assert_eq!(
        infos.active_authentication(),
        Some(&ActiveAuthenticationInfo {
            version: 1,
            signature_algorithm: oid::ECDSA_PLAIN_SHA256
        })
    );

    // The same SET parses bare, and DG14 parsing insists on the 6E tag.
    assert_eq!(parse(&set_bytes), infos);
    assert!(matches!(
        SecurityInfos::from_dg14(&set_bytes),
        Err(SecurityInfoError::NotDg14 { position: 0, .. })
    ));
}

#[test]
fn chip_authentication_key_lookup_without_key_id() {
    let p256 = crate_curve(Curve::NistP256);
    let spki = spki_der(&oid_der(oid::SECP256R1), &p256.seven_g);
    let bytes = set(&[
        &sequence(&[&oid_der(oid::ID_CA_ECDH_AES_CBC_CMAC_128), &int(1)]),
        &sequence(&[&oid_der(oid::ID_PK_ECDH), &spki]),
    ]);
    let infos = parse(&bytes);
    let ca = infos.chip_authentication_infos().next().unwrap();
    let key = infos.chip_authentication_public_key_for(ca).unwrap();
    assert_eq!(key.public_key.curve, Some(Curve::NistP256));
    assert_eq!(
        key.public_key.algorithm.domain,
        DomainParameters::NamedCurve(oid::SECP256R1)
    );
}

#[test]
fn a_point_off_the_curve_is_malformed() {
    let curve = crate_curve(Curve::BrainpoolP256r1);
    let mut point = curve.seven_g.clone();
    let last = point.len() - 1;
    point[last] ^= 1;
    let spki = spki_der(&oid_der(oid::BRAINPOOL_P256R1), &point);
    let bytes = set(&[&sequence(&[&oid_der(oid::ID_PK_ECDH), &spki])]);
    let infos = parse(&bytes);
    let [SecurityInfo::Malformed { oid, reason, .. }] = infos.infos.as_slice() else {
        panic!("expected a malformed info: {infos:?}");
    };
    assert_eq!(*oid, Some(oid::ID_PK_ECDH));
    assert!(matches!(
        reason,
        SecurityInfoError::PointNotOnCurve {
            curve: Curve::BrainpoolP256r1,
            ..
        }
    ));
}

#[test]
fn a_dh_key_is_kept_raw() {
    let spki = sequence(&[
        &sequence(&[
            &oid_der(oid::DH_PUBLIC_NUMBER),
            &sequence(&[&uint(&[0x17]), &uint(&[0x05])]),
        ]),
        &bits(&uint(&[0x0B])),
    ]);
    let bytes = set(&[&sequence(&[&oid_der(oid::ID_PK_DH), &spki, &int(3)])]);
    let infos = parse(&bytes);
    let key = infos.chip_authentication_public_keys().next().unwrap();
    assert_eq!(key.key_agreement, KeyAgreement::Dh);
    assert_eq!(key.public_key.curve, None);
    assert_eq!(key.public_key.algorithm.domain, DomainParameters::Other);
    assert_eq!(key.public_key.point, uint(&[0x0B]));
    assert_eq!(key.key_id, Some(3));
}

// ---------------------------------------------------------------------------------------
// Tolerance and errors.

#[test]
fn unknown_and_malformed_infos_are_kept() {
    // CardInfoLocator-like: an OID this parser does not know.
    let unknown = sequence(&[
        &oid_der(ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.6")),
        &int(1),
    ]);
    // A PACEInfo whose version is an OCTET STRING.
    let bad_version = sequence(&[
        &oid_der(oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_128),
        &octets(&[2]),
        &int(13),
    ]);
    // An id-PACE OID with a cipher arc that does not exist (CAM has no 3DES).
    let cam_3des = pace_info_der(
        ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.6.1"),
        2,
        Some(13),
    );
    // A SEQUENCE that does not start with an OID.
    let no_oid = sequence(&[&int(1)]);
    let good = pace_info_der(oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_256, 2, Some(13));
    let bytes = set(&[&unknown, &bad_version, &cam_3des, &no_oid, &good]);
    let infos = parse(&bytes);
    assert_eq!(infos.infos.len(), 5);

    assert_eq!(
        infos.infos[0],
        SecurityInfo::Unknown {
            oid: ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.6"),
            der: unknown.clone()
        }
    );
    let SecurityInfo::Malformed { oid, der, reason } = &infos.infos[1] else {
        panic!("expected a malformed PACEInfo: {:?}", infos.infos[1]);
    };
    assert_eq!(*oid, Some(oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_128));
    assert_eq!(der, &bad_version);
    let SecurityInfoError::InvalidField {
        structure,
        field,
        position,
        ..
    } = reason
    else {
        panic!("unexpected reason {reason:?}");
    };
    assert_eq!((*structure, *field), ("PACEInfo", "version"));
    // SET header (2) + the unknown info + SEQUENCE header (2) + OID (12).
    assert_eq!(*position, 2 + unknown.len() + 2 + 12);
    let message = reason.to_string();
    assert!(
        message.contains("version") && message.contains("PACEInfo"),
        "{message}"
    );
    assert!(message.contains(&format!("byte {position}")), "{message}");

    assert!(matches!(infos.infos[2], SecurityInfo::Unknown { .. }));
    assert!(matches!(
        infos.infos[3],
        SecurityInfo::Malformed { oid: None, .. }
    ));
    assert_eq!(infos.infos[3].protocol(), None);
    assert_eq!(infos.pace_infos().count(), 1);
    assert_eq!(
        infos.preferred_pace().map(|pace| pace.protocol.cipher()),
        Some(Cipher::Aes256)
    );
}

#[test]
fn extra_fields_make_an_info_malformed() {
    let bytes = set(&[&sequence(&[
        &oid_der(oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_128),
        &int(2),
        &int(13),
        &int(14),
    ])]);
    let infos = parse(&bytes);
    assert!(matches!(
        &infos.infos[0],
        SecurityInfo::Malformed {
            reason: SecurityInfoError::TrailingData {
                structure: "PACEInfo",
                ..
            },
            ..
        }
    ));
}

#[test]
fn structural_errors_carry_their_position() {
    assert!(matches!(
        SecurityInfos::from_der(&hex!("3000")),
        Err(SecurityInfoError::NotASet { position: 0, .. })
    ));
    assert!(matches!(
        SecurityInfos::from_der(&hex!("3103020101")),
        Err(SecurityInfoError::NotASequence { position: 2, .. })
    ));
    assert!(matches!(
        SecurityInfos::from_der(&hex!("310000")),
        Err(SecurityInfoError::TrailingData {
            position: 2,
            remaining: 1,
            ..
        })
    ));
    assert!(matches!(
        SecurityInfos::from_der(&hex!("31053003")),
        Err(SecurityInfoError::Der { .. })
    ));
    assert!(matches!(
        SecurityInfos::from_der(&[]),
        Err(SecurityInfoError::Der { position: 0, .. })
    ));
    // An element whose length runs past the SET.
    let error = SecurityInfos::from_der(&hex!("310430050201")).unwrap_err();
    assert!(matches!(error, SecurityInfoError::Der { .. }), "{error:?}");
    assert!(error.to_string().contains("byte"), "{error}");
    // DG14 positions count from the 6E tag.
    assert!(matches!(
        SecurityInfos::from_dg14(&hex!("6E053103020101")),
        Err(SecurityInfoError::NotASequence { position: 4, .. })
    ));
    assert_eq!(
        SecurityInfos::from_dg14(&hex!("6E023100")).unwrap().infos,
        []
    );
}

// ---------------------------------------------------------------------------------------
// OIDs, curves and the standardized table.

#[test]
fn pace_and_ca_oids_round_trip() {
    let ciphers = [
        Cipher::TripleDes,
        Cipher::Aes128,
        Cipher::Aes192,
        Cipher::Aes256,
    ];
    let mut seen = Vec::new();
    for key_agreement in [KeyAgreement::Dh, KeyAgreement::Ecdh] {
        for mapping in [
            Mapping::Generic,
            Mapping::Integrated,
            Mapping::ChipAuthentication,
        ] {
            for cipher in ciphers {
                let Some(protocol) = PaceProtocol::new(key_agreement, mapping, cipher) else {
                    assert_eq!(mapping, Mapping::ChipAuthentication);
                    assert!(key_agreement == KeyAgreement::Dh || cipher == Cipher::TripleDes);
                    continue;
                };
                let oid = protocol.oid();
                assert!(oid.starts_with(oid::ID_PACE));
                assert_eq!(oid.parent(), Some(protocol.domain().oid()));
                assert_eq!(oid.arcs().last(), Some(cipher.arc()));
                assert_eq!(PaceProtocol::from_oid(&oid), Some(protocol));
                assert_eq!(
                    PaceDomainProtocol::from_oid(&protocol.domain().oid()),
                    Some(protocol.domain())
                );
                seen.push(oid);
            }
            let ca = CaProtocol {
                key_agreement,
                cipher: Cipher::Aes192,
            };
            assert_eq!(CaProtocol::from_oid(&ca.oid()), Some(ca));
        }
        for cipher in ciphers {
            let ca = CaProtocol {
                key_agreement,
                cipher,
            };
            assert!(ca.oid().starts_with(oid::ID_CA));
            assert_eq!(CaProtocol::from_oid(&ca.oid()), Some(ca));
            assert_eq!(PaceProtocol::from_oid(&ca.oid()), None);
        }
    }
    // 4 × (DH-GM, ECDH-GM, DH-IM, ECDH-IM) + 3 × ECDH-CAM, all distinct.
    assert_eq!(seen.len(), 19);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 19);
    assert_eq!(
        oid::ID_PACE_ECDH_GM_AES_CBC_CMAC_128.to_string(),
        "0.4.0.127.0.7.2.2.4.2.2"
    );
    assert_eq!(PaceProtocol::from_oid(&oid::ID_PACE_ECDH_GM), None);
    assert_eq!(PaceProtocol::from_oid(&oid::ID_PACE), None);
    assert_eq!(CaProtocol::from_oid(&oid::ID_CA_ECDH), None);
}

#[test]
fn curve_constants_match_the_curve_crates() {
    for curve in Curve::ALL {
        let constants = curve.constants();
        let computed = crate_curve(curve);
        assert_eq!(constants.p, computed.p, "{curve}: p");
        assert_eq!(constants.a, computed.a, "{curve}: a");
        assert_eq!(constants.b, computed.b, "{curve}: b");
        assert_eq!(constants.n, computed.n, "{curve}: n");
        assert_eq!(
            computed.generator,
            [&[4u8][..], constants.gx, constants.gy].concat()
        );
        assert_eq!(constants.p.len(), curve.field_len());
        assert_eq!(
            usize::try_from(curve.bits()).unwrap(),
            8 * curve.field_len()
        );
        assert!(curve.is_valid_point(&computed.seven_g));
        assert!(!curve.is_valid_point(&computed.seven_g[1..]));
        assert_eq!(Curve::from_oid(&curve.oid()), Some(curve));
        let standardized = StandardizedDomainParameters::from_id(curve.standardized_id()).unwrap();
        assert_eq!(standardized.curve(), Some(curve));
    }
}

#[test]
fn explicit_parameters_are_identified() {
    for curve in Curve::ALL {
        let computed = crate_curve(curve);
        for uncompressed in [true, false] {
            let der = sequence(&[
                &oid_der(oid::ID_EC_PUBLIC_KEY),
                &explicit_parameters_der(&computed, uncompressed),
            ]);
            let bytes = set(&[&sequence(&[&oid_der(oid::ID_PACE_ECDH_GM), &der])]);
            let infos = parse(&bytes);
            let domain = infos.pace_domain_parameters().next().unwrap();
            assert_eq!(domain.domain_parameter.curve(), Some(curve));
        }
    }
    // Leading zeros in a field element do not matter; a different b does.
    let mut computed = crate_curve(Curve::BrainpoolP384r1);
    let DomainParameters::ExplicitCurve(mut parameters) = algorithm_domain(&computed) else {
        panic!("explicit parameters expected");
    };
    parameters.a.insert(0, 0);
    assert_eq!(parameters.curve(), Some(Curve::BrainpoolP384r1));
    parameters.generator[0] = 0x05;
    assert_eq!(parameters.curve(), None);
    computed.b[5] ^= 0x40;
    let DomainParameters::ExplicitCurve(parameters) = algorithm_domain(&computed) else {
        panic!("explicit parameters expected");
    };
    assert_eq!(parameters.curve(), None);
}

fn algorithm_domain(curve: &CrateCurve) -> DomainParameters {
    let der = sequence(&[
        &oid_der(oid::ID_EC_PUBLIC_KEY),
        &explicit_parameters_der(curve, true),
    ]);
    let bytes = set(&[&sequence(&[&oid_der(oid::ID_PACE_ECDH_GM), &der])]);
    parse(&bytes)
        .pace_domain_parameters()
        .next()
        .unwrap()
        .domain_parameter
        .domain
        .clone()
}

#[test]
fn standardized_domain_parameters_table() {
    for (id, entry) in
        (0..32).filter_map(|id| Some((id, StandardizedDomainParameters::from_id(id)?)))
    {
        assert_eq!(entry.id(), id);
        assert_eq!(entry.is_elliptic_curve(), id >= 8);
        assert!(!entry.name().is_empty());
    }
    let ids: Vec<u32> = StandardizedDomainParameters::ALL
        .iter()
        .map(|entry| entry.id())
        .collect();
    assert_eq!(ids, [0, 1, 2, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
    for id in [3, 4, 5, 6, 7, 19, 31, 32, u32::MAX] {
        assert_eq!(StandardizedDomainParameters::from_id(id), None);
    }
    let supported: Vec<_> = StandardizedDomainParameters::ALL
        .iter()
        .filter_map(|entry| Some((entry.id(), entry.curve()?)))
        .collect();
    assert_eq!(
        supported,
        [
            (12, Curve::NistP256),
            (13, Curve::BrainpoolP256r1),
            (15, Curve::NistP384),
            (16, Curve::BrainpoolP384r1)
        ]
    );
    assert_eq!(
        StandardizedDomainParameters::from_id(14)
            .unwrap()
            .to_string(),
        "BrainpoolP320r1 (standardized id 14)"
    );
}

// ---------------------------------------------------------------------------------------
// Robustness.

proptest! {
    #[test]
    fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        internal::fuzz_security_infos(&data);
    }

    #[test]
    fn parsers_never_panic_on_set_like_input(
        body in proptest::collection::vec(any::<u8>(), 0..200),
        dg in any::<bool>(),
    ) {
        let mut data = set(&[&body]);
        if dg {
            data = dg14(&data);
        }
        internal::fuzz_security_infos(&data);
    }

    #[test]
    fn mutations_of_the_g1_vector_never_panic(
        at in 0..ICAO_G1_CARD_ACCESS.len(),
        value in any::<u8>(),
        dg in any::<bool>(),
    ) {
        let mut data = ICAO_G1_CARD_ACCESS.to_vec();
        data[at] = value;
        if dg {
            data = dg14(&data);
        }
        internal::fuzz_security_infos(&data);
        // A flipped byte either still parses or is an error; it never hides the SET.
        if let Ok(infos) = SecurityInfos::from_der(&data) {
            prop_assert!(infos.infos.len() <= 1);
        }
    }

    #[test]
    fn mutations_of_a_dg14_never_panic(at in any::<prop::sample::Index>(), value in any::<u8>()) {
        let curve = crate_curve(Curve::BrainpoolP256r1);
        let spki = spki_der(&explicit_parameters_der(&curve, true), &curve.seven_g);
        let mut data = dg14(&set(&[
            &sequence(&[&oid_der(oid::ID_CA_ECDH_AES_CBC_CMAC_256), &int(1), &int(1)]),
            &sequence(&[&oid_der(oid::ID_PK_ECDH), &spki, &int(1)]),
        ]));
        let at = at.index(data.len());
        data[at] = value;
        internal::fuzz_security_infos(&data);
    }
}
