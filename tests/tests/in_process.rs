//! The in-process path: the virtual card as a `Transport`, no reader, no pcscd.

use sesame_apdu::{Command, StatusWord, exchange};
use sesame_emulator::{InProcessCard, MinimalCard};
use sesame_protocol::{EMRTD_AID, select_application};

#[test]
fn select_and_extended_read_in_process() {
    let mut card = InProcessCard::new(MinimalCard::new());
    select_application(&mut card, &EMRTD_AID).unwrap();
    let response = exchange(
        &mut card,
        &Command::new(0, 0xCA, 0x01, 0x00).with_le(65_536),
    )
    .unwrap();
    assert_eq!(response.sw, StatusWord::Success);
    assert_eq!(response.data.len(), 65_536);
    assert_eq!(card.card_mut().commands(), 2);
}
