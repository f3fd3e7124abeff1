//! Each sample profile, personalised with a fresh test PKI, is read by
//! `read_document`: the identity equals the profile, Chip Authentication succeeds,
//! Passive Authentication succeeds against the test CSCA, the face has the image's size;
//! Active Authentication succeeds on the passport.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use sesame_emulator::personalize::{Profile, personalize};
use sesame_emulator::pki::TestPki;
use sesame_emulator::{EmrtdCard, InProcessCard};
use sesame_protocol::ec::Curve;
use sesame_protocol::kdf::Password;
use sesame_protocol::lds::{DataGroup, ImageFormat, Sex};
use sesame_protocol::pa::TrustStore;
use sesame_protocol::random::SystemRandom;
use sesame_protocol::reader::{AccessControl, ReadRequest, read_document};

fn profile(name: &str) -> Profile {
    Profile::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("profiles")
            .join(name),
    )
    .unwrap()
}

#[test]
fn cnie_profile() {
    let pki = TestPki::generate(Curve::BrainpoolP256r1, &mut SystemRandom).unwrap();
    let profile = profile("cnie.toml");
    let card = personalize(&profile, &pki, &mut SystemRandom).unwrap();
    let mut trust = TrustStore::new();
    trust.add_der(&pki.csca.certificate).unwrap();
    let mut card = InProcessCard::new(EmrtdCard::new(card.contents));
    let request = ReadRequest {
        password: Password::can(&profile.can),
        data_groups: vec![DataGroup::Dg11, DataGroup::Dg2],
        active_authentication: None,
        trust: Some(&trust),
        now: sesame_protocol::unix_now(),
    };
    let document = read_document(&mut card, &request, &mut SystemRandom, &mut |_| {}).unwrap();
    assert!(matches!(document.access, AccessControl::Pace(_)));
    assert_eq!(document.mrz.document_code(), "ID");
    assert_eq!(document.mrz.document_number(), "X4RTBPFW4");
    assert_eq!(document.mrz.primary_identifier(), "LEFEVRE");
    assert_eq!(document.mrz.secondary_identifier(), "ELODIE FRANCOISE");
    assert_eq!(document.mrz.nationality(), "FRA");
    assert_eq!(document.mrz.sex(), Sex::Female);
    let dg11 = document.dg11.as_ref().unwrap();
    let name = dg11.full_name.as_ref().unwrap();
    assert_eq!(name.primary_identifier, "LEFÈVRE");
    assert_eq!(dg11.place_of_birth, ["Besançon"]);
    assert!(document.chip_authentication.is_some());
    assert!(
        document.passive_authentication.as_ref().unwrap().is_ok(),
        "{:?}",
        document.passive_authentication
    );
    let face = &document.faces[0];
    assert_eq!(
        (face.format, face.width, face.height),
        (ImageFormat::Jpeg, 240, 320)
    );
}

#[test]
fn passport_profile_with_bac_and_active_authentication() {
    let pki = TestPki::generate(Curve::NistP256, &mut SystemRandom).unwrap();
    let profile = profile("passport.toml");
    let card = personalize(&profile, &pki, &mut SystemRandom).unwrap();
    let mrz_information = card.contents.mrz_information.clone().unwrap();
    let mut trust = TrustStore::new();
    trust.add_der(&pki.csca.certificate).unwrap();
    let mut card = InProcessCard::new(EmrtdCard::new(card.contents));
    let request = ReadRequest {
        password: Password::mrz(&mrz_information),
        data_groups: vec![DataGroup::Dg2],
        active_authentication: Some([1, 2, 3, 4, 5, 6, 7, 8]),
        trust: Some(&trust),
        now: sesame_protocol::unix_now(),
    };
    let document = read_document(&mut card, &request, &mut SystemRandom, &mut |_| {}).unwrap();
    assert_eq!(document.access, AccessControl::Bac);
    assert_eq!(document.mrz.document_code(), "P");
    assert_eq!(document.mrz.primary_identifier(), "ERIKSSON");
    assert!(document.active_authentication.is_some());
    assert!(document.chip_authentication.is_some());
    assert!(
        document.passive_authentication.as_ref().unwrap().is_ok(),
        "{:?}",
        document.passive_authentication
    );
    assert_eq!(document.faces[0].format, ImageFormat::Jpeg2000);
}

#[test]
fn rsa_passport_profile() {
    let pki = TestPki::generate(Curve::BrainpoolP256r1, &mut SystemRandom).unwrap();
    let profile = profile("passport-rsa.toml");
    let card = personalize(&profile, &pki, &mut SystemRandom).unwrap();
    let mrz_information = card.contents.mrz_information.clone().unwrap();
    let mut trust = TrustStore::new();
    trust.add_der(&pki.csca.certificate).unwrap();
    let mut card = InProcessCard::new(EmrtdCard::new(card.contents));
    let request = ReadRequest {
        password: Password::mrz(&mrz_information),
        data_groups: vec![],
        active_authentication: Some([1, 1, 2, 3, 5, 8, 13, 21]),
        trust: Some(&trust),
        now: sesame_protocol::unix_now(),
    };
    let document = read_document(&mut card, &request, &mut SystemRandom, &mut |_| {}).unwrap();
    assert_eq!(document.mrz.primary_identifier(), "OSTERGARD NUNEZ");
    assert_eq!(document.mrz.sex(), Sex::Male);
    let aa = document
        .active_authentication
        .expect("RSA active authentication");
    assert_eq!(aa.signature.len(), 128);
    assert!(document.passive_authentication.unwrap().is_ok());
}

#[test]
fn bad_profiles_say_what_is_wrong() {
    let pki = TestPki::generate(Curve::BrainpoolP256r1, &mut SystemRandom).unwrap();
    let mut bad = profile("cnie.toml");
    bad.can = "12".into();
    assert!(
        personalize(&bad, &pki, &mut SystemRandom)
            .unwrap_err()
            .to_string()
            .contains("can")
    );
    let mut bad = profile("cnie.toml");
    bad.identity.birth_date = "17/05/1990".into();
    assert!(
        personalize(&bad, &pki, &mut SystemRandom)
            .unwrap_err()
            .to_string()
            .contains("birth_date")
    );
}

/// A personalised card saved to a directory and loaded back reads the same.
#[test]
fn saved_cards_load_back() {
    for name in ["passport.toml", "passport-rsa.toml"] {
        saved_card_loads_back(name);
    }
}

fn saved_card_loads_back(name: &str) {
    let pki = TestPki::generate(Curve::BrainpoolP256r1, &mut SystemRandom).unwrap();
    let profile = profile(name);
    let card = personalize(&profile, &pki, &mut SystemRandom).unwrap();
    let dir = std::env::temp_dir().join(format!("sesame-card-{}", std::process::id()));
    card.contents.save(&dir).unwrap();
    let loaded = sesame_emulator::CardContents::load(&dir).unwrap();
    assert_eq!(loaded.files, card.contents.files);
    assert_eq!(loaded.card_access, card.contents.card_access);
    assert_eq!(loaded.mrz_information, card.contents.mrz_information);
    assert_eq!(loaded.can, card.contents.can);
    assert_eq!(
        loaded.active_authentication_key.is_some(),
        card.contents.active_authentication_key.is_some()
    );
    // The loaded card still answers Active Authentication with the saved key.
    let mrz_information = loaded.mrz_information.clone().unwrap();
    let mut reader = InProcessCard::new(EmrtdCard::new(loaded));
    let request = ReadRequest {
        password: Password::mrz(&mrz_information),
        data_groups: vec![],
        active_authentication: Some([3; 8]),
        trust: None,
        now: sesame_protocol::unix_now(),
    };
    assert!(
        read_document(&mut reader, &request, &mut SystemRandom, &mut |_| {})
            .unwrap()
            .active_authentication
            .is_some()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(dir.join("secrets.toml"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
