//! `sesame_protocol::reader::read_document` against the virtual eMRTD card, in process:
//! PACE (Generic and Integrated Mapping, AES-256, brainpoolP256r1) with the CAN, Chip
//! Authentication, the files, and Passive Authentication of a SOD made by OpenSSL
//! (`protocol/tests/data/pa/make.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use sesame_emulator::{CardContents, EmrtdCard, InProcessCard};
use sesame_protocol::ca::CaError;
use sesame_protocol::ec::Curve;
use sesame_protocol::kdf::Password;
use sesame_protocol::lds::DataGroup;
use sesame_protocol::pa::{Certificate, HashAlgorithm, Sod, TrustStore};
use sesame_protocol::pace::PaceError;
use sesame_protocol::random::SystemRandom;
use sesame_protocol::reader::{AccessControl, DocumentError, ReadRequest, ReadStep, read_document};
use sesame_protocol::security_infos::Mapping;
use zeroize::Zeroizing;

fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../protocol/tests/data/pa")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn contents(card_access: Vec<u8>) -> CardContents {
    let files = BTreeMap::from([
        (0x01, data("dg1.bin")),
        (0x0B, data("dg11.bin")),
        (0x0E, data("dg14.bin")),
        (0x1D, data("sod-ec.bin")),
    ]);
    let ca_key = hex(String::from_utf8(data("ca-private.hex")).unwrap().trim());
    CardContents {
        card_access: Some(card_access),
        card_security: Some(data("cardsecurity.bin")),
        dir: None,
        files,
        can: Zeroizing::new("123456".into()),
        mrz_information: None,
        chip_authentication_key: Some((Curve::BrainpoolP256r1, Zeroizing::new(ca_key))),
        active_authentication_key: None,
    }
}

fn trust() -> TrustStore {
    let mut store = TrustStore::new();
    store.add_der(&data("csca-ec.der")).unwrap();
    store
}

fn now() -> i64 {
    let sod = Sod::parse(&data("sod-ec.bin")).unwrap();
    Certificate::from_der(sod.document_signer.as_deref().unwrap())
        .unwrap()
        .not_before
        + 86_400
}

fn request<'a>(can: &str, trust: &'a TrustStore) -> ReadRequest<'a> {
    ReadRequest {
        password: Password::can(can),
        data_groups: vec![DataGroup::Dg11],
        active_authentication: None,
        trust: Some(trust),
        now: now(),
    }
}

#[test]
fn cnie_like_read_with_pace_gm_ca_and_pa() {
    let mut card = InProcessCard::new(EmrtdCard::new(contents(data("cardaccess.bin"))));
    let trust = trust();
    let mut steps = Vec::new();
    let document = read_document(
        &mut card,
        &request("123456", &trust),
        &mut SystemRandom,
        &mut |s| steps.push(s),
    )
    .unwrap();

    let AccessControl::Pace(protocol) = document.access else {
        panic!("{:?}", document.access)
    };
    assert_eq!(protocol.mapping(), Mapping::Generic);
    assert_eq!(document.mrz.document_number(), "D23145890");
    assert_eq!(document.mrz.primary_identifier(), "ERIKSSON");
    assert!(document.dg11.is_some());
    let ca = document
        .chip_authentication
        .as_ref()
        .expect("chip authentication");
    assert_eq!(ca.protocol, "0.4.0.127.0.7.2.2.3.2.4");
    let pa = document
        .passive_authentication
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap();
    assert_eq!(pa.data_groups, [1, 11, 14]);
    assert!(steps.contains(&ReadStep::ChipAuthentication));
    let shown = format!("{document:?}");
    assert!(
        !shown.contains("ERIKSSON") && !shown.contains("D2314"),
        "{shown}"
    );
    assert!(steps.contains(&ReadStep::PassiveAuthentication));
    // CardAccess, MSE + 4 GA, SELECT, DG14, MSE + GA (CA), DG1, DG11, SOD.
    assert_eq!(document.exchange.apdus, 13, "{:?}", document.exchange);
}

#[test]
fn integrated_mapping_read() {
    // EF.CardAccess with only the IM PACEInfo (the second SEQUENCE of the file).
    let full = data("cardaccess.bin");
    let im = full[22..].to_vec();
    let mut card_access = vec![0x31, u8::try_from(im.len()).unwrap()];
    card_access.extend_from_slice(&im);
    let mut card = InProcessCard::new(EmrtdCard::new(contents(card_access)));
    let trust = trust();
    let document = read_document(
        &mut card,
        &request("123456", &trust),
        &mut SystemRandom,
        &mut |_| {},
    )
    .unwrap();
    let AccessControl::Pace(protocol) = document.access else {
        panic!()
    };
    assert_eq!(protocol.mapping(), Mapping::Integrated);
    assert!(document.passive_authentication.unwrap().is_ok());
}

#[test]
fn a_wrong_can_is_reported_and_nothing_is_read() {
    let mut card = InProcessCard::new(EmrtdCard::new(contents(data("cardaccess.bin"))));
    let trust = trust();
    let err = read_document(
        &mut card,
        &request("654321", &trust),
        &mut SystemRandom,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DocumentError::Pace(PaceError::WrongPassword {
                password: "CAN",
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(card.card_mut().failed_password_attempts, 1);
    assert!(!card.card_mut().is_secure());
}

#[test]
fn a_chip_without_its_ca_key_fails_chip_authentication() {
    let mut contents = contents(data("cardaccess.bin"));
    // A clone: same files (same DG14 public key), another private key.
    contents.chip_authentication_key =
        Some((Curve::BrainpoolP256r1, Zeroizing::new(vec![0x11; 32])));
    let mut card = InProcessCard::new(EmrtdCard::new(contents));
    let trust = trust();
    let err = read_document(
        &mut card,
        &request("123456", &trust),
        &mut SystemRandom,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DocumentError::ChipAuthentication(CaError::NotConfirmed)
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("may be a copy"), "{err}");
}

/// A passport without PACE: no EF.CardAccess, so the reader falls back to BAC with the
/// MRZ information (from the same DG1).
#[test]
fn bac_fallback_with_the_mrz() {
    let dg1 = sesame_protocol::lds::Dg1::parse(&data("dg1.bin")).unwrap();
    let mrz_information = dg1.mrz.key_seed_input();
    let mut passport = contents(Vec::new());
    passport.card_access = None;
    passport.mrz_information = Some(Zeroizing::new(mrz_information.to_string()));
    let mut card = InProcessCard::new(EmrtdCard::new(passport));
    let trust = trust();
    let mut request = request("", &trust);
    request.password = Password::mrz(&mrz_information);
    let document = read_document(&mut card, &request, &mut SystemRandom, &mut |_| {}).unwrap();
    assert_eq!(document.access, AccessControl::Bac);
    assert!(document.chip_authentication.is_some());
    assert!(document.passive_authentication.unwrap().is_ok());

    // With a CAN, a BAC-only document says what it needs.
    let mut passport = contents(Vec::new());
    passport.card_access = None;
    let mut card = InProcessCard::new(EmrtdCard::new(passport));
    let err = read_document(
        &mut card,
        &request_can(&trust),
        &mut SystemRandom,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, DocumentError::NeedsMrz(_)), "{err:?}");
}

fn request_can(trust: &TrustStore) -> ReadRequest<'_> {
    request("123456", trust)
}

/// Active Authentication over a caller's challenge, with an ECDSA P-256 key in DG15 and
/// ecdsa-plain-SHA256 announced in DG14.
#[test]
fn active_authentication_over_the_callers_challenge() {
    use ecdsa::signature::hazmat::PrehashVerifier as _;
    use sesame_apdu::tlv::{self, Tag, TlvBuilder};
    use spki::EncodePublicKey as _;

    let secret = [0x42u8; 32];
    let signing = p256::ecdsa::SigningKey::from_slice(&secret).unwrap();
    let spki = signing
        .verifying_key()
        .to_public_key_der()
        .unwrap()
        .into_vec();
    let dg15 = TlvBuilder::new().primitive(Tag::new(0x6F), &spki).finish();
    // DG14 with an ActiveAuthenticationInfo (2.23.136.1.1.5, v1, ecdsa-plain-SHA256).
    let dg14 = data("dg14.bin");
    let set = tlv::parse_one(tlv::parse_one(&dg14).unwrap().value()).unwrap();
    let aa_info = hex("30170606678108010105020101060A04007F00070101040103");
    let mut infos = set.value().to_vec();
    infos.extend_from_slice(&aa_info);
    let dg14 = TlvBuilder::new()
        .constructed(Tag::new(0x6E), |b| b.primitive(Tag::new(0x31), &infos))
        .finish();

    let mut contents = contents(data("cardaccess.bin"));
    contents.files.insert(0x0E, dg14);
    contents.files.insert(0x0F, dg15);
    contents.active_authentication_key = Some(sesame_emulator::ActiveAuthenticationKey::Ecdsa {
        curve: Curve::NistP256,
        secret: Zeroizing::new(secret.to_vec()),
        hash: HashAlgorithm::Sha256,
    });
    let mut card = InProcessCard::new(EmrtdCard::new(contents));
    let challenge = [9, 8, 7, 6, 5, 4, 3, 2];
    let request = ReadRequest {
        password: Password::can("123456"),
        data_groups: vec![],
        active_authentication: Some(challenge),
        trust: None,
        now: now(),
    };
    let document = read_document(&mut card, &request, &mut SystemRandom, &mut |_| {}).unwrap();
    let aa = document
        .active_authentication
        .expect("active authentication ran");
    assert_eq!(aa.challenge, challenge);
    let sig = p256::ecdsa::Signature::from_slice(&aa.signature).unwrap();
    let digest = HashAlgorithm::Sha256.digest(&challenge);
    signing
        .verifying_key()
        .verify_prehash(&digest, &sig)
        .unwrap();
}

/// The CAN's try counter: each wrong CAN says how many tries are left, a right one
/// restores them, and once they are used up the card refuses the CAN and says so.
#[test]
fn can_tries_count_down_then_the_can_is_blocked() {
    let mut card = InProcessCard::new(EmrtdCard::new(contents(data("cardaccess.bin"))));
    let trust = trust();
    let mut attempt = |can: &str| {
        read_document(
            &mut card,
            &request(can, &trust),
            &mut SystemRandom,
            &mut |_| {},
        )
    };
    let tries = |result: Result<_, DocumentError>| match result {
        Err(DocumentError::Pace(PaceError::WrongPassword { retries_left, .. })) => retries_left,
        other => panic!("{other:?}"),
    };
    assert_eq!(tries(attempt("000000")), Some(2));
    // A right CAN in between restores the counter.
    assert!(attempt("123456").is_ok());
    assert_eq!(tries(attempt("000000")), Some(2));
    assert_eq!(tries(attempt("000001")), Some(1));
    assert_eq!(tries(attempt("000002")), Some(0));
    let err = attempt("123456").unwrap_err();
    assert!(
        matches!(
            err,
            DocumentError::Pace(PaceError::PasswordBlocked { password: "CAN" })
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "the CAN is blocked");
}

/// Each fault ends the read with a typed error: no panic, no hang.
#[test]
fn every_fault_ends_the_read_cleanly() {
    use sesame_apdu::StatusWord;
    use sesame_emulator::faults::{Faults, FaultyTransport};
    let trust = trust();
    let read = |faults: Faults| {
        let mut card = FaultyTransport::new(
            InProcessCard::new(EmrtdCard::new(contents(data("cardaccess.bin")))),
            faults,
        );
        read_document(
            &mut card,
            &request("123456", &trust),
            &mut SystemRandom,
            &mut |_| {},
        )
    };
    // The card pulled out at every point of the 13-APDU read.
    for n in 1..=13 {
        let err = read(Faults {
            remove_at: Some(n),
            ..Faults::default()
        })
        .unwrap_err();
        let text = format!("{err:?}");
        assert!(text.contains("CardRemoved"), "APDU {n}: {text}");
    }
    // A corrupted MAC on every protected response (7 = SELECT … 13 = EF.SOD).
    for n in 7..=13 {
        let err = read(Faults {
            corrupt_mac_at: Some(n),
            ..Faults::default()
        })
        .unwrap_err();
        let text = format!("{err:?}");
        assert!(
            text.contains("BadMac") || text.contains("NotConfirmed"),
            "response {n}: {text}"
        );
    }
    // A status word out of place.
    let err = read(Faults {
        status_word_at: Some((2, StatusWord::ConditionsOfUseNotSatisfied)),
        ..Faults::default()
    })
    .unwrap_err();
    assert!(
        matches!(err, DocumentError::Pace(PaceError::Refused { .. })),
        "{err:?}"
    );
    // A slow card still reads.
    let document = read(Faults {
        delay: Some(std::time::Duration::from_millis(2)),
        ..Faults::default()
    })
    .unwrap();
    assert!(document.chip_authentication.is_some());
}

/// The master file: EF.CardAccess and EF.DIR free, EF.CardSecurity only after PACE.
#[test]
fn master_file_access_conditions() {
    use sesame_apdu::{Command, StatusWord, exchange};
    use sesame_protocol::files::{ReadError, read_file_by_sfi};
    let mut card = InProcessCard::new(EmrtdCard::new(sesame_emulator::sample::sample_card()));
    assert!(read_file_by_sfi(&mut card, 0x1C).is_ok());
    let dir = read_file_by_sfi(&mut card, 0x1E).unwrap();
    assert_eq!(&dir[4..], sesame_protocol::EMRTD_AID);
    assert!(matches!(
        read_file_by_sfi(&mut card, 0x1D),
        Err(ReadError::AccessDenied)
    ));
    let select = Command::new(0x00, 0xA4, 0x02, 0x0C).with_data([0x2F, 0x00]);
    assert_eq!(
        exchange(&mut card, &select).unwrap().sw,
        StatusWord::Success
    );
}

/// A card whose CAN is already blocked says so at once.
#[test]
fn a_card_with_a_blocked_can() {
    let mut card =
        InProcessCard::new(EmrtdCard::new(contents(data("cardaccess.bin"))).with_can_tries(0));
    let trust = trust();
    let err = read_document(
        &mut card,
        &request("123456", &trust),
        &mut SystemRandom,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DocumentError::Pace(PaceError::PasswordBlocked { password: "CAN" })
        ),
        "{err:?}"
    );
}
