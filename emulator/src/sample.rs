//! A sample card to try Sésame with: a CNIe-like identity card (PACE ECDH GM and IM with
//! AES-256 on brainpoolP256r1, Chip Authentication, a SOD signed by a test document
//! signer), CAN `123456`. Its files are the Passive Authentication test data of
//! `sesame-protocol` (`protocol/tests/data/pa`, made with OpenSSL); the full
//! personalisation from a profile comes with `sesame-card personalize`.

use std::collections::BTreeMap;

use sesame_protocol::ec::Curve;
use zeroize::Zeroizing;

use crate::CardContents;

/// The sample card's CAN.
pub const SAMPLE_CAN: &str = "123456";

/// The test CSCA that signed the sample card's document signer (DER).
pub const SAMPLE_CSCA: &[u8] = include_bytes!("../../protocol/tests/data/pa/csca-ec.der");

const CARD_ACCESS: &[u8] = include_bytes!("../../protocol/tests/data/pa/cardaccess.bin");
const CARD_SECURITY: &[u8] = include_bytes!("../../protocol/tests/data/pa/cardsecurity.bin");
/// EF.DIR: one application template with the eMRTD AID (ISO/IEC 7816-4 §8.2.1.1).
const DIR: &[u8] = &[
    0x61, 0x09, 0x4F, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01,
];
const DG1: &[u8] = include_bytes!("../../protocol/tests/data/pa/dg1.bin");
const DG11: &[u8] = include_bytes!("../../protocol/tests/data/pa/dg11.bin");
const DG14: &[u8] = include_bytes!("../../protocol/tests/data/pa/dg14.bin");
const SOD: &[u8] = include_bytes!("../../protocol/tests/data/pa/sod-ec.bin");
const CA_PRIVATE_KEY_HEX: &str = include_str!("../../protocol/tests/data/pa/ca-private.hex");

/// The sample card's contents.
#[must_use]
pub fn sample_card() -> CardContents {
    let key: Vec<u8> = CA_PRIVATE_KEY_HEX
        .trim()
        .as_bytes()
        .chunks(2)
        .filter_map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect();
    CardContents {
        card_access: Some(CARD_ACCESS.to_vec()),
        card_security: Some(CARD_SECURITY.to_vec()),
        dir: Some(DIR.to_vec()),
        files: BTreeMap::from([
            (0x01, DG1.to_vec()),
            (0x0B, DG11.to_vec()),
            (0x0E, DG14.to_vec()),
            (0x1D, SOD.to_vec()),
        ]),
        can: Zeroizing::new(SAMPLE_CAN.to_owned()),
        mrz_information: None,
        chip_authentication_key: Some((Curve::BrainpoolP256r1, Zeroizing::new(key))),
        active_authentication_key: None,
    }
}
