//! Interoperability with OpenSSL (an independent CMS and X.509 implementation): the test
//! PKI's certificates and the EF.SOD and EF.CardSecurity the virtual card is personalised
//! with verify under `openssl verify` and `openssl cms -verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use sesame_apdu::tlv;
use sesame_emulator::personalize::{Profile, personalize};
use sesame_emulator::pki::TestPki;
use sesame_protocol::ec::Curve;
use sesame_protocol::random::SystemRandom;

fn openssl(args: &[&str], dir: &Path) -> std::process::Output {
    match Command::new("openssl").args(args).current_dir(dir).output() {
        Ok(out) => out,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "openssl is needed under CI: {e}"
            );
            panic!("openssl not found: {e}");
        }
    }
}

#[test]
fn openssl_verifies_our_certificates_and_signed_files() {
    let dir = std::env::temp_dir().join(format!("sesame-openssl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for curve in [Curve::BrainpoolP256r1, Curve::NistP256] {
        let pki = TestPki::generate(curve, &mut SystemRandom).unwrap();
        std::fs::write(dir.join("csca.der"), &pki.csca.certificate).unwrap();
        std::fs::write(dir.join("ds.der"), &pki.document_signer.certificate).unwrap();
        for name in ["csca", "ds"] {
            let out = openssl(
                &[
                    "x509",
                    "-inform",
                    "DER",
                    "-in",
                    &format!("{name}.der"),
                    "-out",
                    &format!("{name}.pem"),
                ],
                &dir,
            );
            assert!(out.status.success(), "{out:?}");
        }
        let out = openssl(&["verify", "-CAfile", "csca.pem", "ds.pem"], &dir);
        assert!(out.status.success(), "{curve:?}: {out:?}");

        let profile_path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../emulator/profiles/cnie.toml");
        let card = personalize(
            &Profile::load(&profile_path).unwrap(),
            &pki,
            &mut SystemRandom,
        )
        .unwrap();
        let sod = card.contents.files.get(&0x1D).unwrap();
        let cms = tlv::parse_one(sod).unwrap().value().to_vec();
        std::fs::write(dir.join("sod.cms"), cms).unwrap();
        std::fs::write(
            dir.join("cardsecurity.cms"),
            card.contents.card_security.as_ref().unwrap(),
        )
        .unwrap();
        for file in ["sod.cms", "cardsecurity.cms"] {
            let out = openssl(
                &[
                    "cms",
                    "-verify",
                    "-inform",
                    "DER",
                    "-in",
                    file,
                    "-CAfile",
                    "csca.pem",
                    "-purpose",
                    "any",
                    "-out",
                    "/dev/null",
                ],
                &dir,
            );
            assert!(out.status.success(), "{curve:?} {file}: {out:?}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
