//! One function per fuzz target (`fuzz/fuzz_targets/`), so the fuzzers exercise exactly
//! the code the tests do. Not part of the stable API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sesame_apdu::sm::CipherSuite;
use sesame_apdu::{Capabilities, Transport, TransportError};

use crate::ec::Curve;
use crate::kdf::Password;
use crate::pace::{Mapping, PaceParameters, establish_pace};
use crate::random::FixedRandom;

/// SecurityInfos (EF.CardAccess, DG14).
pub fn security_infos(data: &[u8]) {
    crate::security_infos::internal::fuzz_security_infos(data);
}

/// The LDS parsers (DG1/MRZ, EF.COM, DG2, DG11, DG12, DG14, DG15).
pub fn lds(data: &[u8]) {
    crate::lds::internal::fuzz_lds(data);
}

/// EF.SOD: BER normalisation, CMS, the LDS security object, and Passive Authentication
/// against an empty trust store.
pub fn sod(data: &[u8]) {
    if let Ok(sod) = crate::pa::Sod::parse(data) {
        let _ = crate::pa::verify(&sod, &[(1, data)], &crate::pa::TrustStore::new(), 0);
    }
}

/// A chip that answers each PACE step with the next fuzzer-chosen response: the input is
/// a sequence of `length (1 byte) || response` records.
struct FuzzChip<'a> {
    rest: &'a [u8],
}

impl Transport for FuzzChip<'_> {
    fn transmit(&mut self, _command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let Some((len, rest)) = self.rest.split_first() else {
            return Err(TransportError::CardRemoved);
        };
        let len = usize::from(*len).min(rest.len());
        let (answer, rest) = rest.split_at(len);
        self.rest = rest;
        Ok(answer.to_vec())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::SHORT
    }
}

/// PACE against a chip whose answers come from the fuzzer, with a deterministic terminal
/// (fixed keys and nonces), for both mappings: an error or a session, never a panic.
pub fn pace_responses(data: &[u8]) {
    let (selector, data) = data.split_first().unwrap_or((&0, &[]));
    let (mapping, suite) = match selector % 4 {
        0 => (Mapping::Generic, CipherSuite::Aes128),
        1 => (Mapping::Generic, CipherSuite::TripleDes),
        2 => (Mapping::Integrated, CipherSuite::Aes128),
        _ => (Mapping::Integrated, CipherSuite::Aes256),
    };
    let params = PaceParameters {
        oid: vec![0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02],
        mapping,
        suite,
        curve: Curve::BrainpoolP256r1,
        parameter_reference: None,
    };
    let mut rng = FixedRandom::new(&[&[0x5A; 32], &[0x3C; 32], &[0x11; 32], &[0x22; 32]]);
    let mut chip = FuzzChip { rest: data };
    let _ = establish_pace(
        &mut chip,
        &params,
        &Password::can("123456"),
        &mut rng,
        &mut |_| {},
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_points_take_any_input() {
        for data in [
            &[][..],
            &[0x00],
            &[0x30, 0x80, 0x00, 0x00],
            &[0x77, 0x03, 0x30, 0x01, 0x00],
            &[0x02, 0x02, 0x90, 0x00, 0x02, 0x6A, 0x80],
        ] {
            security_infos(data);
            lds(data);
            sod(data);
            pace_responses(data);
        }
    }
}
