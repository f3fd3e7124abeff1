//! One function per fuzz target (`fuzz/fuzz_targets/`), so that the fuzzers exercise
//! exactly the code the tests do. Each asserts a round-trip oracle where one exists.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use crate::sm::{CipherSuite, SessionKeys, SmCodec};
use crate::{Command, Response, StatusWord, atr::Atr, tlv};

/// Command parse → encode → parse is the identity; response parse → encode is too.
pub fn apdu_round_trip(data: &[u8]) {
    if let Ok(cmd) = Command::parse(data) {
        let bytes = cmd.to_bytes().expect("a parsed command encodes");
        assert_eq!(Command::parse(&bytes).expect("re-parse"), cmd);
    }
    if let Ok(resp) = Response::parse(data) {
        assert_eq!(resp.to_bytes(), data);
        assert_eq!(StatusWord::from_u16(resp.sw.to_u16()), resp.sw);
    }
    let _ = Atr::parse(data).map(|a| a.extended_length());
}

/// BER-TLV parsing never panics, stays inside the input, and a parsed object's raw bytes
/// parse to the same object.
pub fn tlv_parse(data: &[u8]) {
    for object in tlv::parse(data) {
        let Ok(object) = object else { break };
        assert!(object.offset() + object.raw().len() <= data.len());
        let again = tlv::parse_one(object.raw()).expect("raw bytes re-parse");
        assert_eq!(again.tag(), object.tag());
        assert_eq!(again.value(), object.value());
        if let Ok(children) = object.children() {
            for child in children {
                if child.is_err() {
                    break;
                }
            }
        }
    }
    let _ = tlv::announced_size(data);
}

/// Unprotecting arbitrary bytes with fixed keys, for each suite and both sides, never
/// panics; whatever the terminal accepts, re-protecting by the card reproduces.
pub fn sm_unwrap(data: &[u8]) {
    let (selector, data) = data.split_first().unwrap_or((&0, &[]));
    let suite = match selector % 4 {
        0 => CipherSuite::TripleDes,
        1 => CipherSuite::Aes128,
        2 => CipherSuite::Aes192,
        _ => CipherSuite::Aes256,
    };
    let keys = SessionKeys::new(
        suite,
        &vec![0x11; suite.key_len()],
        &vec![0x22; suite.key_len()],
    );
    let ssc = vec![0; suite.block_size()];
    let mut terminal = SmCodec::new(&keys, &ssc).expect("fixed keys are valid");
    if let Ok(response) = Response::parse(data) {
        let _ = terminal.unprotect_response(&response);
    }
    let mut card = SmCodec::new(&keys, &ssc).expect("fixed keys are valid");
    if let Ok(command) = Command::parse(data) {
        let _ = card.unprotect_command(&command);
    }
}
