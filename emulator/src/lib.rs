//! # sesame-emulator
//!
//! The virtual card that makes Sésame testable without hardware. A card is a
//! [`CardHandler`]: it answers reset with an ATR and command APDUs with response APDUs.
//! The same card runs in-process ([`InProcessCard`], a [`sesame_apdu::Transport`]) or
//! behind a real PC/SC reader through the vsmartcard `vpcd` driver ([`vpcd`]).
//!
//! So far the crate holds [`MinimalCard`], which knows just enough (SELECT of the eMRTD
//! application) to prove the PC/SC path end to end; the eMRTD card with PACE, Chip
//! Authentication and its file system is built on the same seams in the virtual-card
//! issue.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::indexing_slicing)]

pub mod emrtd;
pub mod faults;
mod minimal;
pub mod personalize;
pub mod pki;
pub mod sample;
pub mod testing;
pub mod vpcd;

pub use emrtd::{ActiveAuthenticationKey, CardContents, EmrtdCard};
pub use minimal::MinimalCard;

use sesame_apdu::{Capabilities, Transport, TransportError};

/// The card side of a card: what a reader sees.
pub trait CardHandler: Send {
    /// The answer to reset.
    fn atr(&self) -> Vec<u8>;
    /// The field came on or the card was reset: forget every session state.
    fn reset(&mut self);
    /// The field went off.
    fn power_off(&mut self) {
        self.reset();
    }
    /// Answers one command APDU (bytes as received) with a response APDU.
    fn process(&mut self, command: &[u8]) -> Vec<u8>;
    /// What the card can receive and send in one APDU.
    fn capabilities(&self) -> Capabilities {
        Capabilities::EXTENDED
    }
    /// Whether the card has left the field (a fault): the link then closes instead of
    /// answering.
    fn removed(&self) -> bool {
        false
    }
}

impl<C: CardHandler + ?Sized> CardHandler for Box<C> {
    fn atr(&self) -> Vec<u8> {
        (**self).atr()
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn power_off(&mut self) {
        (**self).power_off();
    }
    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        (**self).process(command)
    }
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    fn removed(&self) -> bool {
        (**self).removed()
    }
}

/// A card in the same process, used as a [`Transport`] (no reader, no pcscd).
#[derive(Debug)]
pub struct InProcessCard<C: CardHandler> {
    card: C,
}

impl<C: CardHandler> InProcessCard<C> {
    /// Powers the card on.
    pub fn new(mut card: C) -> Self {
        card.reset();
        Self { card }
    }

    /// The card itself (to inspect its state in tests).
    pub const fn card_mut(&mut self) -> &mut C {
        &mut self.card
    }
}

impl<C: CardHandler> Transport for InProcessCard<C> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(self.card.process(command))
    }

    fn capabilities(&self) -> Capabilities {
        self.card.capabilities()
    }
}
