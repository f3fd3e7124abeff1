//! Secure messaging tests: the ICAO 9303-11 Appendix D.4 worked example byte for byte,
//! both sides of every suite, and each way a protected response can be wrong.

use super::*;
use crate::Capabilities;
use hex_literal::hex;
use proptest::prelude::*;
use std::collections::VecDeque;

/// ICAO 9303-11 Appendix D.3: the session keys and send sequence counter that BAC
/// derives in the worked example.
const D3_KS_ENC: [u8; 16] = hex!("979EC13B1CBFE9DCD01AB0FED307EAE5");
const D3_KS_MAC: [u8; 16] = hex!("F1CB1F1FB5ADF208806B89DC579DC1F8");
const D3_SSC: [u8; 8] = hex!("887022120C06C226");

/// ICAO 9303-11 Appendix D.4: reading EF.COM under secure messaging. Each step is the
/// plain command, the protected command, the protected response and the plain response.
/// Plain command, protected command, protected response, plain response.
type Step = (&'static [u8], &'static [u8], &'static [u8], &'static [u8]);

const D4_STEPS: [Step; 3] = [
    // SELECT EF.COM (FID 011E).
    (
        &hex!("00A4020C02011E"),
        &hex!("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800"),
        &hex!("990290008E08FA855A5D4C50A8ED9000"),
        &hex!("9000"),
    ),
    // READ BINARY of the first four bytes (the TLV header of EF.COM).
    (
        &hex!("00B0000004"),
        &hex!("0CB000000D9701048E08ED6705417E96BA5500"),
        &hex!("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"),
        &hex!("60145F019000"),
    ),
    // READ BINARY of the remaining 18 bytes from offset 4.
    (
        &hex!("00B0000412"),
        &hex!("0CB000040D9701128E082EA28A70F3C7B53500"),
        &hex!(
            "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000"
        ),
        &hex!("04303130365F36063034303030305C0261759000"),
    ),
];

fn d3_codec() -> SmCodec {
    SmCodec::new(
        &SessionKeys::new(CipherSuite::TripleDes, &D3_KS_ENC, &D3_KS_MAC),
        &D3_SSC,
    )
    .unwrap()
}

/// A transport that checks each command against a script and plays the answers.
struct Script {
    steps: VecDeque<(Vec<u8>, Vec<u8>)>,
    caps: Capabilities,
}

impl Transport for Script {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let (expected, answer) = self.steps.pop_front().expect("script exhausted");
        assert_eq!(command, expected.as_slice());
        Ok(answer)
    }
    fn capabilities(&self) -> Capabilities {
        self.caps
    }
}

/// ICAO 9303-11 Appendix D.4, terminal side: the protected commands the terminal builds
/// and the plain responses it recovers, byte for byte.
#[test]
fn appendix_d4_terminal_side() {
    let mut codec = d3_codec();
    for (plain_cmd, protected_cmd, protected_resp, plain_resp) in D4_STEPS {
        let protected = codec
            .protect_command(&Command::parse(plain_cmd).unwrap())
            .unwrap();
        assert_eq!(protected.to_bytes().unwrap(), protected_cmd);
        let response = codec
            .unprotect_response(&Response::parse(protected_resp).unwrap())
            .unwrap();
        assert_eq!(response.to_bytes(), plain_resp);
    }
    assert_eq!(codec.ssc(), hex!("887022120C06C22C"));
}

/// ICAO 9303-11 Appendix D.4, card side: the card recovers the plain commands and builds
/// exactly the published protected responses.
#[test]
fn appendix_d4_card_side() {
    let mut codec = d3_codec();
    for (plain_cmd, protected_cmd, protected_resp, plain_resp) in D4_STEPS {
        let command = codec
            .unprotect_command(&Command::parse(protected_cmd).unwrap())
            .unwrap();
        assert_eq!(command, Command::parse(plain_cmd).unwrap());
        let response = codec.protect_response(&Response::parse(plain_resp).unwrap(), false);
        assert_eq!(response.to_bytes(), protected_resp);
    }
}

/// ICAO 9303-11 Appendix D.4 through [`SecureChannel`] over a transport: what goes on
/// the wire is the published APDUs, what comes out is the plain responses.
#[test]
fn appendix_d4_through_the_channel() {
    let steps = D4_STEPS
        .iter()
        .map(|(_, c, r, _)| (c.to_vec(), r.to_vec()))
        .collect();
    let mut channel = SecureChannel::new(
        Script {
            steps,
            caps: Capabilities::SHORT,
        },
        d3_codec(),
    );
    for (plain_cmd, _, _, plain_resp) in D4_STEPS {
        let response = exchange(&mut channel, &Command::parse(plain_cmd).unwrap()).unwrap();
        assert_eq!(response.to_bytes(), plain_resp);
    }
    assert!(channel.is_open());
}

fn pair(suite: CipherSuite) -> (SmCodec, SmCodec) {
    let enc: Vec<u8> = (0..suite.key_len())
        .map(|i| u8::try_from(i * 7 % 256).unwrap())
        .collect();
    let mac: Vec<u8> = (0..suite.key_len())
        .map(|i| u8::try_from(i * 13 % 256).unwrap())
        .collect();
    let keys = SessionKeys::new(suite, &enc, &mac);
    let ssc = vec![0; suite.block_size()];
    (
        SmCodec::new(&keys, &ssc).unwrap(),
        SmCodec::new(&keys, &ssc).unwrap(),
    )
}

const SUITES: [CipherSuite; 4] = [
    CipherSuite::TripleDes,
    CipherSuite::Aes128,
    CipherSuite::Aes192,
    CipherSuite::Aes256,
];

#[test]
fn terminal_and_card_agree_for_every_suite() {
    for suite in SUITES {
        let (mut terminal, mut card) = pair(suite);
        let commands = [
            Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(hex!("A0000002471001")),
            Command::new(0x00, 0xB0, 0x81, 0x00).with_le(256),
            Command::new(0x00, 0xB1, 0x00, 0x00)
                .with_data(hex!("540200E0"))
                .with_le(65_536),
            Command::new(0x00, 0x22, 0xC1, 0xA4).with_data(vec![0x80; 600]),
        ];
        for cmd in commands {
            let protected = terminal.protect_command(&cmd).unwrap();
            let wire = protected.to_bytes().unwrap();
            let recovered = card
                .unprotect_command(&Command::parse(&wire).unwrap())
                .unwrap();
            assert_eq!(recovered, cmd, "{suite:?}");
            let answer = Response::new(vec![0x42; 300], StatusWord::Success);
            let protected = card.protect_response(&answer, cmd.ins & 1 == 1);
            assert_eq!(
                terminal.unprotect_response(&protected).unwrap(),
                answer,
                "{suite:?}"
            );
        }
        assert_eq!(terminal.ssc(), card.ssc());
    }
}

#[test]
fn an_odd_instruction_uses_do85() {
    let (mut terminal, _) = pair(CipherSuite::Aes256);
    let cmd = Command::new(0x00, 0xB1, 0x00, 0x00)
        .with_data(hex!("540200E0"))
        .with_le(224);
    let protected = terminal.protect_command(&cmd).unwrap();
    assert_eq!(protected.data[0], 0x85);
}

/// A valid protected response, built card side, then edited by `edit` and given to a
/// terminal whose SSC matches.
fn tampered(suite: CipherSuite, edit: impl Fn(&mut Vec<u8>)) -> Result<Response, SmError> {
    let (mut terminal, mut card) = pair(suite);
    let mut protected = card.protect_response(
        &Response::new(hex!("0102030405"), StatusWord::Success),
        false,
    );
    edit(&mut protected.data);
    terminal.unprotect_response(&protected)
}

#[test]
fn a_wrong_mac_is_refused() {
    for suite in SUITES {
        let err = tampered(suite, |d| *d.last_mut().unwrap() ^= 1).unwrap_err();
        assert_eq!(err, SmError::BadMac);
        let err = tampered(suite, |d| d[3] ^= 0x80).unwrap_err();
        assert_eq!(err, SmError::BadMac);
    }
}

/// Builds a response from objects and a correct MAC, card side (SSC 1).
fn with_mac(suite: CipherSuite, objects: &[u8]) -> Response {
    let (_, mut card) = pair(suite);
    let ssc = card.advance();
    let mac = card.mac_over(&ssc, &[objects]);
    let mut data = objects.to_vec();
    tlv::write(&mut data, TAG_MAC, &mac);
    Response::new(data, StatusWord::Success)
}

#[test]
fn a_missing_status_object_is_refused() {
    let (mut terminal, card) = pair(CipherSuite::Aes128);
    let cryptogram = card.cryptogram(&hex!("00000000000000000000000000000001"), b"data", false);
    let response = with_mac(CipherSuite::Aes128, &cryptogram);
    assert_eq!(
        terminal.unprotect_response(&response).unwrap_err(),
        SmError::MissingStatus
    );
}

#[test]
fn a_missing_mac_is_refused() {
    let (mut terminal, _) = pair(CipherSuite::Aes128);
    let response = Response::new(hex!("99029000"), StatusWord::Success);
    assert_eq!(
        terminal.unprotect_response(&response).unwrap_err(),
        SmError::MissingMac
    );
}

#[test]
fn wrong_padding_is_refused() {
    let suite = CipherSuite::Aes128;
    let (mut terminal, card) = pair(suite);
    let ssc = hex!("00000000000000000000000000000001");
    // 16 bytes of plaintext with no 80 00.. padding, encrypted and MACed correctly.
    let mut body = vec![0x11; 16];
    card.engine.encrypt(&ssc, &mut body);
    let mut objects = Vec::new();
    let mut value = vec![0x01];
    value.extend_from_slice(&body);
    tlv::write(&mut objects, TAG_CRYPTOGRAM_PADDED, &value);
    tlv::write(&mut objects, TAG_STATUS, &hex!("9000"));
    let response = with_mac(suite, &objects);
    assert_eq!(
        terminal.unprotect_response(&response).unwrap_err(),
        SmError::BadPadding
    );
}

#[test]
fn card_sm_errors_and_plain_errors() {
    let (mut terminal, _) = pair(CipherSuite::Aes256);
    let err = terminal
        .unprotect_response(&Response::status(StatusWord::SmDataObjectsIncorrect))
        .unwrap_err();
    assert_eq!(
        err,
        SmError::RejectedByCard(StatusWord::SmDataObjectsIncorrect)
    );
    let plain = terminal
        .unprotect_response(&Response::status(StatusWord::FileNotFound))
        .unwrap();
    assert_eq!(plain.sw, StatusWord::FileNotFound);
    let err = terminal
        .unprotect_response(&Response::status(StatusWord::Success))
        .unwrap_err();
    assert_eq!(err, SmError::Unprotected);
}

#[test]
fn a_failure_closes_the_channel() {
    // Whatever is sent, the card's answer has a broken MAC.
    struct Liar;
    impl Transport for Liar {
        fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, TransportError> {
            Ok(hex!("990290008E080000000000000000 9000").to_vec())
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::EXTENDED
        }
    }
    let (terminal, _) = pair(CipherSuite::Aes256);
    let mut channel = SecureChannel::new(Liar, terminal);
    let select = Command::new(0, 0xA4, 0x02, 0x0C).with_data(hex!("011E"));
    let err = exchange(&mut channel, &select).unwrap_err();
    assert!(
        matches!(err, TransportError::SecureMessaging(SmError::BadMac)),
        "{err:?}"
    );
    assert!(!channel.is_open());
    let err = exchange(&mut channel, &select).unwrap_err();
    assert!(
        matches!(err, TransportError::SecureMessaging(SmError::ChannelClosed)),
        "{err:?}"
    );
}

#[test]
fn channel_capabilities_leave_room_for_sm() {
    let (codec, _) = pair(CipherSuite::Aes256);
    let short = SecureChannel::new(
        Script {
            steps: VecDeque::new(),
            caps: Capabilities::SHORT,
        },
        codec,
    );
    assert_eq!(
        short.capabilities(),
        Capabilities {
            extended_length: false,
            max_command_data: 223,
            max_response_data: 223
        }
    );
    let (codec, _) = pair(CipherSuite::TripleDes);
    let short = SecureChannel::new(
        Script {
            steps: VecDeque::new(),
            caps: Capabilities::SHORT,
        },
        codec,
    );
    assert_eq!(short.capabilities().max_response_data, 231);
    let (codec, _) = pair(CipherSuite::Aes256);
    let ext = SecureChannel::new(
        Script {
            steps: VecDeque::new(),
            caps: Capabilities::EXTENDED,
        },
        codec,
    );
    assert_eq!(ext.capabilities().max_response_data, 65_503);
}

/// The largest command and response the capabilities allow really fit the inner link.
#[test]
fn largest_protected_apdus_fit() {
    for suite in SUITES {
        for inner in [Capabilities::SHORT, Capabilities::EXTENDED] {
            let (mut terminal, mut card) = pair(suite);
            let (codec, _) = pair(suite);
            let caps = SecureChannel::new(
                Script {
                    steps: VecDeque::new(),
                    caps: inner,
                },
                codec,
            )
            .capabilities();
            let le = if inner.extended_length { 65_536 } else { 256 }.min(caps.max_response_data);
            let cmd = Command::new(0, 0xD6, 0, 0)
                .with_data(vec![1; caps.max_command_data])
                .with_le(le);
            let protected = terminal.protect_command(&cmd).unwrap();
            assert!(
                protected.data.len() <= inner.max_command_data,
                "{suite:?} {inner:?}"
            );
            assert_eq!(
                protected.natural_form() == LengthForm::Extended,
                inner.extended_length
            );
            card.unprotect_command(&protected).unwrap();
            let response = card.protect_response(
                &Response::new(vec![2; caps.max_response_data], StatusWord::Success),
                false,
            );
            assert!(
                response.data.len() <= inner.max_response_data,
                "{suite:?} {inner:?}"
            );
        }
    }
}

#[test]
fn keys_never_show_in_debug() {
    let keys = SessionKeys::new(CipherSuite::TripleDes, &D3_KS_ENC, &D3_KS_MAC);
    let shown = format!("{keys:?} {:?}", d3_codec());
    assert!(!shown.contains("979E") && !shown.contains("151"), "{shown}");
}

#[test]
fn keys_of_the_wrong_length_are_refused() {
    let keys = SessionKeys::new(CipherSuite::Aes256, &[0; 16], &[0; 16]);
    assert_eq!(
        SmCodec::new(&keys, &[0; 16]).unwrap_err(),
        SmError::InvalidKeyLength
    );
}

proptest! {
    /// Whatever a card sends, unprotecting it is an error or a response: never a panic.
    #[test]
    fn unprotect_never_panics(data in prop::collection::vec(any::<u8>(), 0..300), sw in any::<u16>()) {
        for suite in SUITES {
            let (mut terminal, mut card) = pair(suite);
            let _ = terminal.unprotect_response(&Response::new(data.clone(), StatusWord::from_u16(sw)));
            if let Ok(cmd) = Command::parse(&data) {
                let _ = card.unprotect_command(&cmd);
            }
        }
    }

    #[test]
    fn protect_then_unprotect_is_identity(
        data in prop::collection::vec(any::<u8>(), 0..700),
        le in prop::option::of(1usize..=65_536),
        ins in any::<u8>(),
        suite in 0usize..4,
    ) {
        let suite = SUITES[suite];
        let (mut terminal, mut card) = pair(suite);
        let mut cmd = Command::new(0x00, ins, 0x01, 0x02).with_data(data.clone());
        cmd.le = le;
        let protected = terminal.protect_command(&cmd).unwrap();
        let wire = protected.to_bytes().unwrap();
        prop_assert_eq!(card.unprotect_command(&Command::parse(&wire).unwrap()).unwrap(), cmd);
        let answer = Response::new(data, StatusWord::from_u16(0x6282));
        let back = card.protect_response(&answer, ins & 1 == 1);
        prop_assert_eq!(terminal.unprotect_response(&Response::parse(&back.to_bytes()).unwrap()).unwrap(), answer);
    }
}
