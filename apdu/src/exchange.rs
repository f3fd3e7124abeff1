//! The ISO/IEC 7816-4 exchange rules, written once for every transport.

use crate::command::{LengthForm, SHORT_MAX_DATA, SHORT_MAX_LE};
use crate::{Command, Response, StatusWord, Transport, TransportError};

/// The most GET RESPONSE rounds one exchange may take: 256 rounds of 256 bytes cover
/// the largest extended response, and a card that asks for more is misbehaving.
pub const MAX_GET_RESPONSE: usize = 257;

/// Sends `command` and returns the card's complete response, applying the rules of
/// ISO/IEC 7816-4 §5.1-5.3 so that no caller has to:
///
/// - **Extended length** is used when the command needs it and the link offers it
///   ([`crate::Capabilities::extended_length`]); otherwise Le is lowered to what the link
///   can return and the caller gets the bytes the card sent (a READ BINARY loop continues
///   from there).
/// - **Command chaining** (§5.4.2) splits a data field longer than the link carries into
///   commands with CLA b5 set; each link of the chain must answer 9000.
/// - **61xx**: GET RESPONSE is sent until the card has given everything, at most
///   [`MAX_GET_RESPONSE`] times; the data is concatenated and the last status kept.
/// - **6Cxx**: the command is sent once more with the Le the card named.
///
/// # Errors
/// Whatever the transport reports, a response shorter than a status word, or a card that
/// never stops sending.
pub fn exchange<T: Transport + ?Sized>(
    transport: &mut T,
    command: &Command,
) -> Result<Response, TransportError> {
    let caps = transport.capabilities();
    let max_data = if caps.extended_length {
        caps.max_command_data
    } else {
        caps.max_command_data.min(SHORT_MAX_DATA)
    }
    .max(1);
    let max_le = if caps.extended_length {
        caps.max_response_data
    } else {
        caps.max_response_data.min(SHORT_MAX_LE)
    }
    .max(1);

    // Command chaining: every piece but the last goes alone, with CLA b5 set.
    let mut last = command.clone();
    if command.data.len() > max_data {
        let mut pieces = command.data.chunks(max_data).peekable();
        while let Some(piece) = pieces.next() {
            if pieces.peek().is_none() {
                last.data = piece.to_vec();
                break;
            }
            let link = Command::new(command.cla | 0x10, command.ins, command.p1, command.p2)
                .with_data(piece);
            let response = send(transport, &link, caps.extended_length)?;
            if response.sw != StatusWord::Success {
                return Ok(response);
            }
        }
    }
    if let Some(le) = last.le {
        last.le = Some(le.min(max_le));
    }

    let mut current = last;
    let mut collected = Vec::new();
    let mut resent_for_le = false;
    let mut get_responses = 0usize;
    loop {
        let response = send(transport, &current, caps.extended_length)?;
        match response.sw {
            StatusWord::WrongLe(n) if !resent_for_le => {
                resent_for_le = true;
                current.le = Some(if n == 0 { SHORT_MAX_LE } else { usize::from(n) });
            }
            StatusWord::BytesAvailable(n) => {
                collected.extend_from_slice(&response.data);
                get_responses += 1;
                if get_responses > MAX_GET_RESPONSE {
                    return Err(TransportError::ResponseTooLong);
                }
                resent_for_le = false;
                // GET RESPONSE keeps the logical channel, drops SM and chaining bits.
                current = Command::new(command.cla & 0x03, 0xC0, 0x00, 0x00).with_le(if n == 0 {
                    SHORT_MAX_LE
                } else {
                    usize::from(n)
                });
            }
            sw => {
                if collected.is_empty() {
                    return Ok(response);
                }
                collected.extend_from_slice(&response.data);
                return Ok(Response::new(collected, sw));
            }
        }
    }
}

/// Encodes, transmits and parses one APDU.
fn send<T: Transport + ?Sized>(
    transport: &mut T,
    command: &Command,
    extended: bool,
) -> Result<Response, TransportError> {
    let form = match command.natural_form() {
        LengthForm::Extended if extended => LengthForm::Extended,
        LengthForm::Extended => return Err(TransportError::CommandTooLong),
        LengthForm::Short => LengthForm::Short,
    };
    let bytes = command
        .to_bytes_in(form)
        .map_err(TransportError::InvalidCommand)?;
    let answer = transport.transmit(&bytes)?;
    Response::parse(&answer).map_err(TransportError::MalformedResponse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Capabilities;
    use hex_literal::hex;
    use std::collections::VecDeque;

    /// A transport that checks each command against a script and plays the answers.
    struct Script {
        steps: VecDeque<(Vec<u8>, Vec<u8>)>,
        caps: Capabilities,
    }

    impl Script {
        fn new(caps: Capabilities, steps: &[(&[u8], &[u8])]) -> Self {
            Self {
                steps: steps
                    .iter()
                    .map(|(c, r)| (c.to_vec(), r.to_vec()))
                    .collect(),
                caps,
            }
        }
        fn done(&self) -> bool {
            self.steps.is_empty()
        }
    }

    impl Transport for Script {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            let (expected, answer) = self.steps.pop_front().expect("no more steps in the script");
            assert_eq!(command, expected.as_slice(), "unexpected command");
            Ok(answer)
        }
        fn capabilities(&self) -> Capabilities {
            self.caps
        }
    }

    #[test]
    fn get_response_collects_everything() {
        let mut t = Script::new(
            Capabilities::SHORT,
            &[
                (&hex!("00B0000004"), &hex!("0102 6104")),
                (&hex!("00C0000004"), &hex!("03040506 6102")),
                (&hex!("00C0000002"), &hex!("0708 9000")),
            ],
        );
        let r = exchange(&mut t, &Command::new(0, 0xB0, 0, 0).with_le(4)).unwrap();
        assert_eq!(
            r,
            Response::new(hex!("0102030405060708"), StatusWord::Success)
        );
        assert!(t.done());
    }

    #[test]
    fn wrong_le_is_resent_once() {
        let mut t = Script::new(
            Capabilities::SHORT,
            &[
                (&hex!("00B0000000"), &hex!("6C12")),
                (&hex!("00B0000012"), &hex!("6C10")),
            ],
        );
        let r = exchange(&mut t, &Command::new(0, 0xB0, 0, 0).with_le(256)).unwrap();
        assert_eq!(r.sw, StatusWord::WrongLe(0x10));
        assert!(t.done());
    }

    #[test]
    fn get_response_loop_is_bounded() {
        struct Endless;
        impl Transport for Endless {
            fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, TransportError> {
                Ok(hex!("AA 6101").to_vec())
            }
            fn capabilities(&self) -> Capabilities {
                Capabilities::SHORT
            }
        }
        let err = exchange(&mut Endless, &Command::new(0, 0xB0, 0, 0).with_le(1)).unwrap_err();
        assert!(matches!(err, TransportError::ResponseTooLong));
    }

    #[test]
    fn long_data_is_chained_on_a_short_link() {
        let data: Vec<u8> = (0..=255u8).chain(0..=43).collect(); // 300 bytes
        let mut first = hex!("102A00BEFF").to_vec();
        first.extend_from_slice(&data[..255]);
        let mut second = hex!("002A00BE2D").to_vec();
        second.extend_from_slice(&data[255..]);
        second.push(0x00);
        let mut t = Script::new(
            Capabilities::SHORT,
            &[(&first, &hex!("9000")), (&second, &hex!("CAFE 9000"))],
        );
        let cmd = Command::new(0, 0x2A, 0x00, 0xBE)
            .with_data(data)
            .with_le(256);
        let r = exchange(&mut t, &cmd).unwrap();
        assert_eq!(r.data, hex!("CAFE"));
        assert!(t.done());
    }

    #[test]
    fn a_refused_chain_link_ends_the_exchange() {
        let mut t = Script::new(
            Capabilities::extended(4, 256),
            &[(&hex!("10DA000004 01020304"), &hex!("6884"))],
        );
        let cmd = Command::new(0, 0xDA, 0, 0).with_data(hex!("0102030405"));
        assert_eq!(
            exchange(&mut t, &cmd).unwrap().sw,
            StatusWord::ChainingNotSupported
        );
    }

    #[test]
    fn extended_length_when_offered() {
        let mut t = Script::new(
            Capabilities::EXTENDED,
            &[(&hex!("00B09E00000000"), &hex!("5A5A 9000"))],
        );
        let r = exchange(&mut t, &Command::new(0, 0xB0, 0x9E, 0).with_le(65_536)).unwrap();
        assert_eq!(r.data, hex!("5A5A"));
        // Without it, the same read asks for 256 bytes.
        let mut t = Script::new(
            Capabilities::SHORT,
            &[(&hex!("00B09E0000"), &hex!("5A5A 9000"))],
        );
        exchange(&mut t, &Command::new(0, 0xB0, 0x9E, 0).with_le(65_536)).unwrap();
        // A link limited to 1000 bytes asks for 1000.
        let mut t = Script::new(
            Capabilities::extended(1000, 1000),
            &[(&hex!("00B09E00 0003E8"), &hex!("9000"))],
        );
        exchange(&mut t, &Command::new(0, 0xB0, 0x9E, 0).with_le(65_536)).unwrap();
    }

    #[test]
    fn a_response_without_status_is_an_error() {
        let mut t = Script::new(Capabilities::SHORT, &[(&hex!("00A4000C"), &hex!("90"))]);
        let err = exchange(&mut t, &Command::new(0, 0xA4, 0, 0x0C)).unwrap_err();
        assert!(matches!(err, TransportError::MalformedResponse(_)));
    }
}
