//! Faults on demand, for tests of what a terminal does when the card misbehaves: pull
//! the card out at the Nth APDU, corrupt the MAC of the Nth response, answer slowly, or
//! answer the Nth command with a given status word. [`FaultyTransport`] wraps any
//! transport (in-process tests); [`FaultyCard`] wraps a card (served through vpcd, where
//! "pulled out" closes the link: pcscd sees the card removed).

use std::time::Duration;

use sesame_apdu::{Capabilities, StatusWord, Transport, TransportError};

use crate::CardHandler;

/// Which faults to inject; APDUs are counted from 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// The card leaves the field when the Nth command arrives (it is not answered).
    pub remove_at: Option<usize>,
    /// The Nth response has one bit of its last data byte before the status flipped (under
    /// secure messaging, that is the MAC).
    pub corrupt_mac_at: Option<usize>,
    /// Every answer is delayed by this much.
    pub delay: Option<Duration>,
    /// The Nth command is answered with this status word alone.
    pub status_word_at: Option<(usize, StatusWord)>,
}

/// A card (or any transport) with faults.
#[derive(Debug)]
pub struct FaultyTransport<T> {
    inner: T,
    faults: Faults,
    count: usize,
    removed: bool,
}

impl<T: Transport> FaultyTransport<T> {
    /// `inner` with `faults`.
    pub const fn new(inner: T, faults: Faults) -> Self {
        Self {
            inner,
            faults,
            count: 0,
            removed: false,
        }
    }

    /// How many commands arrived.
    #[must_use]
    pub const fn commands(&self) -> usize {
        self.count
    }
}

impl<T: Transport> Transport for FaultyTransport<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.count += 1;
        if self.removed || self.faults.remove_at == Some(self.count) {
            self.removed = true;
            return Err(TransportError::CardRemoved);
        }
        if let Some(delay) = self.faults.delay {
            std::thread::sleep(delay);
        }
        if let Some((at, sw)) = self.faults.status_word_at
            && at == self.count
        {
            return Ok(sw.to_bytes().to_vec());
        }
        let mut response = self.inner.transmit(command)?;
        if self.faults.corrupt_mac_at == Some(self.count) && response.len() > 2 {
            let index = response.len() - 3;
            if let Some(byte) = response.get_mut(index) {
                *byte ^= 0x01;
            }
        }
        Ok(response)
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}

/// A card with faults, for `sesame-card run` and the tests through pcscd.
#[derive(Debug)]
pub struct FaultyCard<C> {
    card: C,
    faults: Faults,
    count: usize,
    removed: bool,
}

impl<C: CardHandler> FaultyCard<C> {
    /// `card` with `faults`.
    pub const fn new(card: C, faults: Faults) -> Self {
        Self {
            card,
            faults,
            count: 0,
            removed: false,
        }
    }
}

impl<C: CardHandler> CardHandler for FaultyCard<C> {
    fn atr(&self) -> Vec<u8> {
        self.card.atr()
    }

    fn reset(&mut self) {
        self.card.reset();
    }

    fn power_off(&mut self) {
        self.card.power_off();
    }

    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        self.count += 1;
        if self.removed || self.faults.remove_at == Some(self.count) {
            self.removed = true;
            return Vec::new();
        }
        if let Some(delay) = self.faults.delay {
            std::thread::sleep(delay);
        }
        if let Some((at, sw)) = self.faults.status_word_at
            && at == self.count
        {
            return sw.to_bytes().to_vec();
        }
        let mut response = self.card.process(command);
        if self.faults.corrupt_mac_at == Some(self.count) && response.len() > 2 {
            let index = response.len() - 3;
            if let Some(byte) = response.get_mut(index) {
                *byte ^= 0x01;
            }
        }
        response
    }

    fn capabilities(&self) -> Capabilities {
        self.card.capabilities()
    }

    fn removed(&self) -> bool {
        self.removed
    }
}
