//! Interoperability with an independent terminal: the `dmrtd` crate (0.3, an eMRTD
//! reader written without any of our code, on an older RustCrypto generation) reads
//! Sésame's sample card in process: PACE-GM (ECDH brainpoolP256r1, AES-256) with the
//! CAN, secure messaging with short APDUs and offset reads, DG1, EF.SOD, and its own
//! Passive Authentication against the test CSCA.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dmrtd::auth::passive::{DataGroup, TrustAnchor, verify};
use dmrtd::com::{TransceiveError, Transceiver};
use dmrtd::lds::ef::ElementaryFile;
use dmrtd::passport::Passport;
use dmrtd::proto::can_key::CanKey;
use sesame_apdu::Transport;
use sesame_emulator::{EmrtdCard, InProcessCard, sample};

/// dmrtd's transport seam over our in-process card.
struct Bridge {
    card: InProcessCard<EmrtdCard>,
    apdus: usize,
}

impl Transceiver for Bridge {
    fn transceive(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransceiveError> {
        self.apdus += 1;
        self.card
            .transmit(apdu)
            .map_err(|e| TransceiveError::new(e.to_string()))
    }
}

#[test]
fn dmrtd_reads_our_card_with_pace_gm_aes256_and_verifies_it() {
    let bridge = Bridge {
        card: InProcessCard::new(EmrtdCard::new(sample::sample_card())),
        apdus: 0,
    };
    let mut passport = Passport::new(bridge);
    let card_access = passport.read_ef_card_access().expect("EF.CardAccess");
    passport
        .start_session_pace(CanKey::new(sample::SAMPLE_CAN).unwrap(), &card_access)
        .expect("PACE with dmrtd");
    let dg1 = passport.read_ef_dg1().expect("DG1 under secure messaging");
    assert_eq!(dg1.mrz().document_number(), "D23145890");
    let sod = passport.read_ef_sod().expect("EF.SOD");

    let anchor = TrustAnchor::from_certificate(sample::SAMPLE_CSCA).unwrap();
    let result = verify(
        sod.to_bytes(),
        &[DataGroup {
            number: 1,
            bytes: dg1.to_bytes(),
        }],
        &[anchor],
    )
    .unwrap();
    assert!(
        result.is_authentic(),
        "dmrtd's passive authentication: {result:?}"
    );
}

#[test]
fn dmrtd_with_a_wrong_can_is_refused() {
    let bridge = Bridge {
        card: InProcessCard::new(EmrtdCard::new(sample::sample_card())),
        apdus: 0,
    };
    let mut passport = Passport::new(bridge);
    let card_access = passport.read_ef_card_access().unwrap();
    assert!(
        passport
            .start_session_pace(CanKey::new("000000").unwrap(), &card_access)
            .is_err()
    );
}

/// dmrtd also reads a card personalised from the CNIe-like profile with a fresh test PKI
/// (our CMS signing, our certificates), and its Passive Authentication accepts them.
#[test]
fn dmrtd_reads_a_personalised_card() {
    use sesame_emulator::personalize::{Profile, personalize};
    use sesame_emulator::pki::TestPki;
    use sesame_protocol::ec::Curve;
    use sesame_protocol::random::SystemRandom;
    let pki = TestPki::generate(Curve::BrainpoolP256r1, &mut SystemRandom).unwrap();
    let profile_path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../emulator/profiles/cnie.toml");
    let profile = Profile::load(&profile_path).unwrap();
    let card = personalize(&profile, &pki, &mut SystemRandom).unwrap();
    let bridge = Bridge {
        card: InProcessCard::new(EmrtdCard::new(card.contents)),
        apdus: 0,
    };
    let mut passport = Passport::new(bridge);
    let card_access = passport.read_ef_card_access().unwrap();
    passport
        .start_session_pace(CanKey::new(&profile.can).unwrap(), &card_access)
        .unwrap();
    let dg1 = passport.read_ef_dg1().unwrap();
    assert_eq!(dg1.mrz().document_number(), "X4RTBPFW4");
    let dg11 = passport.read_ef_dg11().unwrap();
    let sod = passport.read_ef_sod().unwrap();
    let anchor = TrustAnchor::from_certificate(&pki.csca.certificate).unwrap();
    let groups = [
        DataGroup {
            number: 1,
            bytes: dg1.to_bytes(),
        },
        DataGroup {
            number: 11,
            bytes: dg11.to_bytes(),
        },
    ];
    let result = verify(sod.to_bytes(), &groups, &[anchor]).unwrap();
    assert!(result.is_authentic(), "{result:?}");
}
