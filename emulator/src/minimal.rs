//! A card that only knows how to be selected.

use sesame_apdu::{Command, Response, StatusWord};
use sesame_protocol::EMRTD_AID;

use crate::CardHandler;

/// The smallest card worth plugging into a reader: it answers SELECT of the eMRTD
/// application (AID A0000002471001) with 9000, SELECT of anything else with 6A82, other
/// instructions with 6D00, and malformed APDUs with 6700. Its ATR is the one a PC/SC
/// contactless reader builds for an ISO 14443-4 type A card that announces extended
/// length (PC/SC part 3 §3.1.3.2.3).
#[derive(Debug, Default)]
pub struct MinimalCard {
    selected: bool,
    commands: usize,
    id: u8,
}

/// `3B 88 80 01` + historical bytes + TCK. The historical bytes are compact-TLV
/// (category 80): card capabilities `73 C0 21 C0` (b7 of the third byte: extended Lc and
/// Le) and issuer data `52 53 xx` ("S" and the card's id, so that tests running side by
/// side tell their cards apart by ATR).
const ATR_WITHOUT_TCK: [u8; 11] = [
    0x3B, 0x88, 0x80, 0x01, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x52, 0x53,
];

impl MinimalCard {
    /// A fresh card.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A card whose ATR ends with `id` (before TCK).
    #[must_use]
    pub fn with_id(id: u8) -> Self {
        Self {
            id,
            ..Self::default()
        }
    }

    /// Whether the eMRTD application is selected.
    #[must_use]
    pub const fn is_selected(&self) -> bool {
        self.selected
    }

    /// How many APDUs the card has answered since power-on.
    #[must_use]
    pub const fn commands(&self) -> usize {
        self.commands
    }

    fn answer(&mut self, command: &Command) -> Response {
        match (command.cla & 0xF0, command.ins, command.p1) {
            (0x00, 0xA4, 0x04) => {
                self.selected = command.data == EMRTD_AID;
                if self.selected {
                    Response::status(StatusWord::Success)
                } else {
                    Response::status(StatusWord::FileNotFound)
                }
            }
            (0x00, 0xA4, _) => Response::status(StatusWord::FileNotFound),
            // GET DATA of anything: echo how many bytes were asked for, to exercise
            // extended length through a reader.
            (0x00, 0xCA, _) => {
                let n = command.le.unwrap_or(0).min(65_536);
                Response::new(vec![0x5A; n], StatusWord::Success)
            }
            (0x00, _, _) => Response::status(StatusWord::InstructionNotSupported),
            _ => Response::status(StatusWord::ClassNotSupported),
        }
    }
}

impl CardHandler for MinimalCard {
    fn atr(&self) -> Vec<u8> {
        let mut atr = ATR_WITHOUT_TCK.to_vec();
        atr.push(self.id);
        let tck = atr.iter().skip(1).fold(0u8, |acc, b| acc ^ b);
        atr.push(tck);
        atr
    }

    fn reset(&mut self) {
        self.selected = false;
        self.commands = 0;
    }

    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        self.commands += 1;
        let response = match Command::parse(command) {
            Ok(command) => self.answer(&command),
            Err(_) => Response::status(StatusWord::WrongLength),
        };
        response.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InProcessCard;
    use sesame_apdu::atr::Atr;

    #[test]
    fn selects_the_emrtd_application_and_nothing_else() {
        let mut card = InProcessCard::new(MinimalCard::new());
        sesame_protocol::select_application(&mut card, &EMRTD_AID).unwrap();
        assert!(card.card_mut().is_selected());
        let err =
            sesame_protocol::select_application(&mut card, &[0xA0, 0, 0, 0, 0x63]).unwrap_err();
        assert!(matches!(
            err,
            sesame_protocol::SelectError::Refused(StatusWord::FileNotFound)
        ));
        assert_eq!(card.card_mut().process(&[0x00, 0xA4]), [0x67, 0x00]);
    }

    #[test]
    fn its_atr_is_well_formed_and_announces_extended_length() {
        let atr = Atr::parse(&MinimalCard::new().atr()).unwrap();
        assert_eq!(atr.extended_length(), Some(true));
    }
}
