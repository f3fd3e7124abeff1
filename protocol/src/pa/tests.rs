//! Passive Authentication against SODs made by OpenSSL (`protocol/tests/data/pa/make.sh`):
//! the good paths for ECDSA (brainpoolP256r1, explicit parameters) and RSASSA-PSS, BER
//! input, and each failure on its own.

use super::*;
use std::path::PathBuf;

fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pa")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn trust(names: &[&str]) -> TrustStore {
    let mut store = TrustStore::new();
    for name in names {
        store.add_der(&data(name)).unwrap();
    }
    store
}

/// A time when every test certificate is valid: the DS's own validity start + one day.
fn now_for(sod: &Sod) -> i64 {
    Certificate::from_der(sod.document_signer.as_deref().unwrap())
        .unwrap()
        .not_before
        + 86_400
}

fn dgs() -> (Vec<u8>, Vec<u8>) {
    (data("dg1.bin"), data("dg11.bin"))
}

#[test]
fn ecdsa_sod_with_explicit_curve_parameters_verifies() {
    let sod = Sod::parse(&data("sod-ec.bin")).unwrap();
    assert_eq!(sod.hash_algorithm, HashAlgorithm::Sha256);
    assert_eq!(sod.hashes.keys().copied().collect::<Vec<_>>(), [1, 11, 14]);
    let (dg1, dg11) = dgs();
    let result = verify(
        &sod,
        &[(1, &dg1), (11, &dg11)],
        &trust(&["csca-ec.der", "csca-rsa.der"]),
        now_for(&sod),
    )
    .unwrap();
    assert!(
        result.document_signer.subject.contains("Sesame TEST DS EC"),
        "{}",
        result.document_signer.subject
    );
    assert!(result.csca.subject.contains("Sesame TEST CSCA EC"));
    assert_eq!(result.data_groups, [1, 11]);
    assert_eq!(
        ec_curve_of(result.document_signer.public_key()).unwrap(),
        crate::ec::Curve::BrainpoolP256r1
    );
}

#[test]
fn rsa_pss_sod_verifies() {
    let sod = Sod::parse(&data("sod-rsa-pss.bin")).unwrap();
    let (dg1, _) = dgs();
    verify(&sod, &[(1, &dg1)], &trust(&["csca-rsa.der"]), now_for(&sod)).unwrap();
}

#[test]
fn ber_encoded_sod_verifies() {
    let ber = data("sod-ec-ber.bin");
    assert_eq!(
        &ber[..2],
        &[0x77, 0x80],
        "the test file should use indefinite lengths"
    );
    let sod = Sod::parse(&ber).unwrap();
    let (dg1, dg11) = dgs();
    verify(
        &sod,
        &[(1, &dg1), (11, &dg11)],
        &trust(&["csca-ec.der"]),
        now_for(&sod),
    )
    .unwrap();
}

#[test]
fn a_changed_data_group_is_caught() {
    let sod = Sod::parse(&data("sod-ec.bin")).unwrap();
    let (mut dg1, _) = dgs();
    let last = dg1.len() - 1;
    dg1[last] ^= 1;
    let err = verify(&sod, &[(1, &dg1)], &trust(&["csca-ec.der"]), now_for(&sod)).unwrap_err();
    assert_eq!(err, PassiveAuthError::DataGroupHashMismatch(1));
    let err = verify(&sod, &[(2, &dg1)], &trust(&["csca-ec.der"]), now_for(&sod)).unwrap_err();
    assert_eq!(err, PassiveAuthError::DataGroupNotSigned(2));
}

#[test]
fn a_wrong_document_signer_signature_is_caught() {
    let mut sod = Sod::parse(&data("sod-ec.bin")).unwrap();
    let n = sod.signature.len();
    sod.signature[n - 3] ^= 0x01;
    let (dg1, _) = dgs();
    let err = verify(&sod, &[(1, &dg1)], &trust(&["csca-ec.der"]), now_for(&sod)).unwrap_err();
    assert!(
        matches!(err, PassiveAuthError::InvalidSodSignature(_)),
        "{err:?}"
    );
}

#[test]
fn changed_content_breaks_the_message_digest() {
    let mut sod = Sod::parse(&data("sod-ec.bin")).unwrap();
    let n = sod.econtent.len();
    sod.econtent[n - 1] ^= 1;
    let err = verify(&sod, &[], &trust(&["csca-ec.der"]), now_for(&sod)).unwrap_err();
    assert_eq!(err, PassiveAuthError::MessageDigestMismatch);
}

#[test]
fn a_document_signer_under_an_untrusted_csca_is_refused() {
    // The rogue CSCA has the same name as the trusted one, but not its key.
    let sod = Sod::parse(&data("sod-rogue.bin")).unwrap();
    let (dg1, _) = dgs();
    let err = verify(
        &sod,
        &[(1, &dg1)],
        &trust(&["csca-ec.der", "csca-rsa.der"]),
        now_for(&sod),
    )
    .unwrap_err();
    assert!(
        matches!(err, PassiveAuthError::UntrustedDocumentSigner { .. }),
        "{err:?}"
    );
    // And with the rogue CSCA trusted, it verifies: the check is the key, not the name.
    verify(
        &sod,
        &[(1, &dg1)],
        &trust(&["csca-rogue.der"]),
        now_for(&sod),
    )
    .unwrap();
}

#[test]
fn an_expired_document_signer_is_refused() {
    let sod = Sod::parse(&data("sod-ec.bin")).unwrap();
    let ds = Certificate::from_der(sod.document_signer.as_deref().unwrap()).unwrap();
    let (dg1, _) = dgs();
    let err = verify(
        &sod,
        &[(1, &dg1)],
        &trust(&["csca-ec.der"]),
        ds.not_after + 1,
    )
    .unwrap_err();
    assert!(
        matches!(err, PassiveAuthError::DocumentSignerNotValidNow { .. }),
        "{err:?}"
    );
    let err = verify(
        &sod,
        &[(1, &dg1)],
        &trust(&["csca-ec.der"]),
        ds.not_before - 1,
    )
    .unwrap_err();
    assert!(
        matches!(err, PassiveAuthError::DocumentSignerNotValidNow { .. }),
        "{err:?}"
    );
}

#[test]
fn trust_store_from_a_directory_of_der_and_pem() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/pa");
    let store = TrustStore::from_dir(&dir).unwrap();
    // Six certificates, each as DER and as PEM.
    assert_eq!(store.len(), 12);
}

/// An ICAO master list (made by OpenSSL, certificates not in DER order) loads both
/// CSCAs, and a SOD verifies against it.
#[test]
fn trust_store_from_a_master_list() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/pa/masterlist");
    let store = TrustStore::from_dir(&dir).unwrap();
    assert_eq!(store.len(), 2);
    let sod = Sod::parse(&data("sod-ec.bin")).unwrap();
    let (dg1, _) = dgs();
    verify(&sod, &[(1, &dg1)], &store, now_for(&sod)).unwrap();
    let mut other = TrustStore::new();
    assert!(other.add_master_list(&data("sod-ec.bin")).is_err());
}

/// EF.CardSecurity made by OpenSSL: its SecurityInfos come out of the CMS.
#[test]
fn card_security_holds_the_security_infos() {
    use crate::security_infos::SecurityInfos;
    let infos = SecurityInfos::from_card_security(&data("cardsecurity.bin")).unwrap();
    assert_eq!(infos.pace_infos().count(), 2);
    assert_eq!(infos.chip_authentication_infos().count(), 1);
    assert_eq!(infos.chip_authentication_public_keys().count(), 1);
    assert!(SecurityInfos::from_card_security(&data("sod-ec.bin")[4..]).is_err());
    assert!(SecurityInfos::from_card_security(&[0x30, 0x00]).is_err());
}

#[test]
fn malformed_sods_are_errors() {
    assert!(Sod::parse(&[]).is_err());
    assert!(Sod::parse(&[0x77, 0x00]).is_err());
    let good = data("sod-ec.bin");
    for cut in [3, 100, good.len() - 1] {
        assert!(Sod::parse(&good[..cut]).is_err(), "cut at {cut}");
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Flipping any byte of a real SOD gives an error or a SOD, never a panic.
        #[test]
        fn mutated_sods_never_panic(position in 0usize..1248, value in any::<u8>()) {
            let mut sod = data("sod-ec.bin");
            let p = position % sod.len();
            sod[p] = value;
            if let Ok(parsed) = Sod::parse(&sod) {
                let _ = verify(&parsed, &[], &TrustStore::new(), 0);
            }
        }
    }
}
