//! The transport seam: how command bytes reach a card and response bytes come back.

use crate::ApduError;
use crate::command::{EXTENDED_MAX_DATA, EXTENDED_MAX_LE, SHORT_MAX_DATA, SHORT_MAX_LE};
use crate::sm::SmError;

/// One connection to one card.
///
/// Implementors: the PC/SC reader (`sesame-daemon`), the in-process virtual card
/// (`sesame-emulator`), transcript replayers in tests, and [`crate::sm::SecureChannel`],
/// which wraps another transport. The trait is object-safe and synchronous: card I/O
/// runs on a reader's own worker thread.
///
/// `transmit` sends exactly the bytes given and returns exactly the bytes received
/// (data + SW1SW2); the ISO exchange rules live in [`crate::exchange`], written once
/// for every transport.
pub trait Transport: Send {
    /// Sends one command APDU, returns the response APDU (data + SW1SW2).
    ///
    /// # Errors
    /// When the card or reader is gone, or the link fails.
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError>;

    /// What this link can carry.
    fn capabilities(&self) -> Capabilities;
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }

    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }

    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
}

/// What went over a link: APDUs and bytes each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExchangeStats {
    /// Command APDUs sent.
    pub apdus: usize,
    /// Bytes sent (command APDUs).
    pub bytes_sent: usize,
    /// Bytes received (response APDUs).
    pub bytes_received: usize,
}

/// A [`Transport`] that counts what passes through it (for the figures a benchmark
/// reports: APDUs and bytes per document read).
#[derive(Debug)]
pub struct CountingTransport<T> {
    inner: T,
    stats: ExchangeStats,
}

impl<T: Transport> CountingTransport<T> {
    /// Counts the traffic of `inner`.
    pub const fn new(inner: T) -> Self {
        Self {
            inner,
            stats: ExchangeStats {
                apdus: 0,
                bytes_sent: 0,
                bytes_received: 0,
            },
        }
    }

    /// What has passed so far.
    #[must_use]
    pub const fn stats(&self) -> ExchangeStats {
        self.stats
    }

    /// The transport underneath.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transport> Transport for CountingTransport<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.stats.apdus += 1;
        self.stats.bytes_sent += command.len();
        let response = self.inner.transmit(command)?;
        self.stats.bytes_received += response.len();
        Ok(response)
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}

/// What a link (reader + card, or a secure channel over one) can carry in one APDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Whether extended Lc/Le may be used.
    pub extended_length: bool,
    /// The longest command data field (Nc) one APDU may carry.
    pub max_command_data: usize,
    /// The longest response data field (Ne) one APDU may return.
    pub max_response_data: usize,
}

impl Capabilities {
    /// Short APDUs only: 255 bytes of command data, 256 of response.
    pub const SHORT: Self = Self {
        extended_length: false,
        max_command_data: SHORT_MAX_DATA,
        max_response_data: SHORT_MAX_LE,
    };

    /// Full extended length: 65 535 bytes of command data, 65 536 of response.
    pub const EXTENDED: Self = Self {
        extended_length: true,
        max_command_data: EXTENDED_MAX_DATA,
        max_response_data: EXTENDED_MAX_LE,
    };

    /// Extended length limited to the given sizes (e.g. a reader's buffer, or the
    /// limits an ID card announces in EF.ATR/INFO). Sizes at or below the short limits
    /// give [`Capabilities::SHORT`]-like behaviour with the smaller numbers.
    #[must_use]
    pub fn extended(max_command_data: usize, max_response_data: usize) -> Self {
        let max_command_data = max_command_data.min(EXTENDED_MAX_DATA);
        let max_response_data = max_response_data.min(EXTENDED_MAX_LE);
        Self {
            extended_length: max_command_data > SHORT_MAX_DATA || max_response_data > SHORT_MAX_LE,
            max_command_data,
            max_response_data,
        }
    }

    /// What both sides can do: the card's and the reader's capabilities together.
    #[must_use]
    pub fn intersect(self, other: Self) -> Self {
        let extended_length = self.extended_length && other.extended_length;
        let (cmd_cap, resp_cap) = if extended_length {
            (EXTENDED_MAX_DATA, EXTENDED_MAX_LE)
        } else {
            (SHORT_MAX_DATA, SHORT_MAX_LE)
        };
        Self {
            extended_length,
            max_command_data: self
                .max_command_data
                .min(other.max_command_data)
                .min(cmd_cap),
            max_response_data: self
                .max_response_data
                .min(other.max_response_data)
                .min(resp_cap),
        }
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Self::SHORT
    }
}

/// Why an exchange with the card failed. Each variant reads as a sentence.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The card left the reader.
    #[error("the card was removed from the reader")]
    CardRemoved,
    /// There is no card in the reader.
    #[error("there is no card in the reader")]
    NoCard,
    /// The card did not answer to reset or does not speak a supported protocol.
    #[error("the card does not respond")]
    CardUnresponsive,
    /// The reader was unplugged or became unusable.
    #[error("the card reader {reader:?} is no longer available")]
    ReaderUnavailable {
        /// The reader's name.
        reader: String,
    },
    /// The smart-card service (pcscd) is not running.
    #[error("the smart-card service (pcscd) is not running")]
    NoService,
    /// Another program holds the card exclusively.
    #[error("another program is using the card")]
    Sharing,
    /// No answer in time.
    #[error("the card did not answer in time")]
    Timeout,
    /// The operation was cancelled.
    #[error("the operation was cancelled")]
    Cancelled,
    /// A lower-level communication failure, described by the link.
    #[error("communication with the card failed: {0}")]
    Communication(String),
    /// The card's answer is not a response APDU.
    #[error("the card sent a malformed response: {0}")]
    MalformedResponse(ApduError),
    /// A command could not be encoded (a program error, not a card error).
    #[error("the command could not be encoded: {0}")]
    InvalidCommand(ApduError),
    /// The card kept answering 61xx beyond [`crate::MAX_GET_RESPONSE`] rounds or the
    /// response outgrew what was asked for.
    #[error("the card sent more response data than expected")]
    ResponseTooLong,
    /// The command needs command chaining the link cannot do (e.g. an extended-length
    /// command whose Le the link cannot carry).
    #[error("the command is too long for this card and reader")]
    CommandTooLong,
    /// Secure messaging failed; the secure channel is closed.
    #[error("secure messaging failed: {0}")]
    SecureMessaging(#[from] SmError),
}

impl TransportError {
    /// Whether the card is gone (removed, reader unplugged, service stopped): the job
    /// must end; retrying on this connection cannot help.
    #[must_use]
    pub const fn is_card_gone(&self) -> bool {
        matches!(
            self,
            Self::CardRemoved
                | Self::NoCard
                | Self::CardUnresponsive
                | Self::ReaderUnavailable { .. }
                | Self::NoService
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersection_takes_the_weaker_side() {
        let reader = Capabilities::extended(261, 65_536);
        let card = Capabilities::EXTENDED;
        assert_eq!(
            reader.intersect(card),
            Capabilities {
                extended_length: true,
                max_command_data: 261,
                max_response_data: 65_536
            }
        );
        assert_eq!(Capabilities::SHORT.intersect(card), Capabilities::SHORT);
        assert_eq!(
            Capabilities::extended(200, 200),
            Capabilities {
                extended_length: false,
                max_command_data: 200,
                max_response_data: 200
            }
        );
    }

    #[test]
    fn transport_is_object_safe() {
        fn takes(_: &mut dyn Transport) {}
        struct Nothing;
        impl Transport for Nothing {
            fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, TransportError> {
                Err(TransportError::NoCard)
            }
            fn capabilities(&self) -> Capabilities {
                Capabilities::SHORT
            }
        }
        takes(&mut Nothing);
        let mut boxed: Box<dyn Transport> = Box::new(Nothing);
        assert!(boxed.transmit(&[0, 0xA4, 0, 0]).unwrap_err().is_card_gone());
    }
}
