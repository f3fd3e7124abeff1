//! PC/SC readers through pcsc-lite (the `pcsc` crate).
//!
//! - [`PcscService`]: a connection to the PC/SC service; lists readers with their card
//!   state and ATR ([`ReaderInfo`]).
//! - [`PcscCard`]: one card in one reader, as a [`Transport`]. Its [`Capabilities`] are
//!   what both the reader (PC/SC v2 part 10 `dwMaxAPDUDataSize`) and the card (ATR card
//!   capabilities) allow.
//! - [`ReaderWatcher`]: reader and card events from `SCardGetStatusChange`, including
//!   readers plugged in and out (`\\?PnP?\Notification`).
//!
//! Every PC/SC error becomes a [`PcscError`] or a [`TransportError`] that reads as a
//! sentence: "the smart-card service (pcscd) is not running", never an error code.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::time::Duration;

use pcsc::{Context, Protocols, ReaderState, Scope, ShareMode, State};
use sesame_apdu::atr::Atr;
use sesame_apdu::{Capabilities, Transport, TransportError};

/// Why the PC/SC service could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PcscError {
    /// pcscd is not running (or its socket is not where the client looks).
    #[error("the smart-card service (pcscd) is not running")]
    NoService,
    /// No reader is connected.
    #[error("no smart-card reader is connected")]
    NoReaders,
    /// The named reader does not exist (any more).
    #[error("the card reader {0:?} is not connected")]
    UnknownReader(String),
    /// The reader has no card.
    #[error("there is no card in the reader {0:?}")]
    NoCard(String),
    /// Another program holds the card exclusively.
    #[error("another program is using the card in {0:?}")]
    Sharing(String),
    /// The card did not answer reset.
    #[error("the card in {0:?} does not respond; take it out and put it back")]
    CardUnresponsive(String),
    /// The wait was cancelled from another thread.
    #[error("the operation was cancelled")]
    Cancelled,
    /// Any other PC/SC failure, with pcsc-lite's own description.
    #[error("the smart-card service failed: {0}")]
    Other(String),
}

impl PcscError {
    fn from_pcsc(e: pcsc::Error, reader: &str) -> Self {
        match e {
            pcsc::Error::NoReadersAvailable => Self::NoReaders,
            pcsc::Error::NoService | pcsc::Error::ServiceStopped => Self::NoService,
            pcsc::Error::UnknownReader | pcsc::Error::ReaderUnavailable => {
                Self::UnknownReader(reader.to_owned())
            }
            pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard => Self::NoCard(reader.to_owned()),
            pcsc::Error::SharingViolation => Self::Sharing(reader.to_owned()),
            pcsc::Error::UnresponsiveCard
            | pcsc::Error::UnpoweredCard
            | pcsc::Error::UnsupportedCard => Self::CardUnresponsive(reader.to_owned()),
            pcsc::Error::Cancelled => Self::Cancelled,
            other => Self::Other(other.to_string()),
        }
    }
}

/// Maps a PC/SC error during an exchange to the transport's vocabulary.
fn transport_error(e: pcsc::Error, reader: &str) -> TransportError {
    match e {
        pcsc::Error::RemovedCard | pcsc::Error::ResetCard => TransportError::CardRemoved,
        pcsc::Error::NoSmartcard => TransportError::NoCard,
        pcsc::Error::ReaderUnavailable | pcsc::Error::UnknownReader => {
            TransportError::ReaderUnavailable {
                reader: reader.to_owned(),
            }
        }
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => TransportError::NoService,
        pcsc::Error::SharingViolation => TransportError::Sharing,
        pcsc::Error::Timeout => TransportError::Timeout,
        pcsc::Error::Cancelled => TransportError::Cancelled,
        pcsc::Error::UnresponsiveCard | pcsc::Error::UnpoweredCard => {
            TransportError::CardUnresponsive
        }
        other => TransportError::Communication(other.to_string()),
    }
}

/// One reader as the service sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReaderInfo {
    /// The reader's name, as PC/SC programs show it.
    pub name: String,
    /// Whether a card is in the reader.
    pub card_present: bool,
    /// The card's answer to reset, as received (empty when there is no card).
    #[serde(serialize_with = "hex_upper")]
    pub atr: Vec<u8>,
    /// Whether the ATR announces extended-length APDUs (`None`: it does not say).
    pub extended_length: Option<bool>,
}

fn hex_upper<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(bytes, ""))
}

/// Bytes as upper-case hex, with `sep` between bytes.
#[must_use]
pub fn hex(bytes: &[u8], sep: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// A connection to the PC/SC service.
#[derive(Clone)]
pub struct PcscService {
    context: Context,
}

impl std::fmt::Debug for PcscService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PcscService")
    }
}

impl PcscService {
    /// Connects to pcscd (through `PCSCLITE_CSOCK_NAME` when set).
    ///
    /// # Errors
    /// [`PcscError::NoService`] when pcscd is not running.
    pub fn establish() -> Result<Self, PcscError> {
        let context = Context::establish(Scope::User).map_err(|e| PcscError::from_pcsc(e, ""))?;
        Ok(Self { context })
    }

    /// The names of the connected readers.
    ///
    /// # Errors
    /// [`PcscError::NoReaders`] when there is none, [`PcscError::NoService`] when pcscd
    /// went away.
    pub fn reader_names(&self) -> Result<Vec<String>, PcscError> {
        let names = self
            .context
            .list_readers_owned()
            .map_err(|e| PcscError::from_pcsc(e, ""))?;
        if names.is_empty() {
            return Err(PcscError::NoReaders);
        }
        Ok(names
            .iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect())
    }

    /// Every reader with its card state, without connecting to any card.
    ///
    /// # Errors
    /// As [`PcscService::reader_names`].
    pub fn readers(&self) -> Result<Vec<ReaderInfo>, PcscError> {
        let names = self
            .context
            .list_readers_owned()
            .map_err(|e| PcscError::from_pcsc(e, ""))?;
        if names.is_empty() {
            return Err(PcscError::NoReaders);
        }
        let mut states: Vec<ReaderState> = names
            .into_iter()
            .map(|n| ReaderState::new(n, State::UNAWARE))
            .collect();
        self.context
            .get_status_change(Duration::ZERO, &mut states)
            .map_err(|e| PcscError::from_pcsc(e, ""))?;
        Ok(states.iter().map(reader_info).collect())
    }

    /// Connects to the card in `reader` (shared mode, T=0 or T=1).
    ///
    /// # Errors
    /// When the reader is unknown, has no card, or the card does not answer.
    pub fn connect(&self, reader: &str) -> Result<PcscCard, PcscError> {
        let name = CString::new(reader).map_err(|_| PcscError::UnknownReader(reader.to_owned()))?;
        let card = self
            .context
            .connect(&name, ShareMode::Shared, Protocols::ANY)
            .map_err(|e| PcscError::from_pcsc(e, reader))?;
        let atr = card
            .status2_owned()
            .map_err(|e| PcscError::from_pcsc(e, reader))?
            .atr()
            .to_vec();
        let reader_caps = reader_capabilities(&card);
        let card_caps = match Atr::parse(&atr).ok().and_then(|a| a.extended_length()) {
            Some(false) => Capabilities::SHORT,
            // An ATR that says nothing does not rule extended length out (an eMRTD says it
            // in EF.ATR/INFO): the reader's limit decides.
            Some(true) | None => Capabilities::EXTENDED,
        };
        Ok(PcscCard {
            card,
            reader: reader.to_owned(),
            atr,
            capabilities: reader_caps.intersect(card_caps),
            buffer: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
        })
    }

    /// A watcher for reader and card events, on its own connection to the service.
    ///
    /// # Errors
    /// [`PcscError::NoService`] when pcscd is not running.
    pub fn watcher(&self) -> Result<ReaderWatcher, PcscError> {
        ReaderWatcher::new()
    }
}

fn reader_info(state: &ReaderState) -> ReaderInfo {
    let present = state.event_state().contains(State::PRESENT);
    let atr = if present {
        state.atr().to_vec()
    } else {
        Vec::new()
    };
    ReaderInfo {
        name: state.name().to_string_lossy().into_owned(),
        card_present: present,
        extended_length: Atr::parse(&atr).ok().and_then(|a| a.extended_length()),
        atr,
    }
}

/// `CM_IOCTL_GET_FEATURE_REQUEST` (PC/SC v2 part 10 §2.2): `SCARD_CTL_CODE(3400)`.
const FEATURE_REQUEST: u32 = 3400;
/// PC/SC v2 part 10 §2.3: the feature tag of `FEATURE_GET_TLV_PROPERTIES`.
const FEATURE_GET_TLV_PROPERTIES: u8 = 0x12;
/// PC/SC v2 part 10 §2.6.14: the TLV property `dwMaxAPDUDataSize`.
const PROPERTY_MAX_APDU_DATA_SIZE: u8 = 0x0A;

/// What the reader can carry, from its PC/SC v2 part 10 TLV properties:
/// `dwMaxAPDUDataSize` = 0 means short APDUs only, a larger value is the extended limit.
/// A reader that does not answer (vpcd, some contactless readers) is taken to pass
/// extended APDUs through; if it does not, pcscd reports the failed exchange.
fn reader_capabilities(card: &pcsc::Card) -> Capabilities {
    max_apdu_data_size(card).map_or(Capabilities::EXTENDED, |size| match size {
        0 => Capabilities::SHORT,
        n => Capabilities::extended(n, n),
    })
}

fn max_apdu_data_size(card: &pcsc::Card) -> Option<usize> {
    let mut buf = [0u8; 256];
    let features = card
        .control(pcsc::ctl_code(FEATURE_REQUEST.into()), &[], &mut buf)
        .ok()?
        .to_vec();
    // Each feature: tag (1), length (1) = 4, control code (4, big endian).
    let code = features.chunks_exact(6).find_map(|f| match f {
        [FEATURE_GET_TLV_PROPERTIES, 4, a, b, c, d] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    })?;
    let properties = card.control(code.into(), &[], &mut buf).ok()?;
    // Each property: tag (1), length (1), value (little endian).
    let mut rest = properties;
    while let [tag, len, tail @ ..] = rest {
        let len = usize::from(*len);
        let (value, next) = tail.split_at_checked(len)?;
        if *tag == PROPERTY_MAX_APDU_DATA_SIZE {
            return Some(
                value
                    .iter()
                    .rev()
                    .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            );
        }
        rest = next;
    }
    None
}

/// One card in one reader, as a [`Transport`]. Dropping it resets the card
/// (`SCARD_RESET_CARD`): whatever secure channel was open dies with the connection, so
/// no other program can pick up an unlocked card.
pub struct PcscCard {
    card: pcsc::Card,
    reader: String,
    atr: Vec<u8>,
    capabilities: Capabilities,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for PcscCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscCard")
            .field("reader", &self.reader)
            .field("atr", &hex(&self.atr, " "))
            .field("capabilities", &self.capabilities)
            .finish_non_exhaustive()
    }
}

impl PcscCard {
    /// The reader's name.
    #[must_use]
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The card's answer to reset.
    #[must_use]
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// Overrides the capabilities (e.g. with what the card says in EF.ATR/INFO, or to
    /// force short APDUs for a reader that misreports).
    pub fn set_capabilities(&mut self, capabilities: Capabilities) {
        self.capabilities = capabilities;
    }
}

impl Transport for PcscCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let reply = self
            .card
            .transmit(command, &mut self.buffer)
            .map(<[u8]>::to_vec)
            .map_err(|e| transport_error(e, &self.reader))?;
        if reply.len() < 2 {
            // Some drivers (vpcd among them) report a card that left mid-exchange as an
            // empty answer: ask the reader before calling it malformed.
            match self.card.status2_owned() {
                Err(e) => return Err(transport_error(e, &self.reader)),
                Ok(status) if !status.status().contains(pcsc::Status::PRESENT) => {
                    return Err(TransportError::CardRemoved);
                }
                // Still listed as present: it stopped answering (pcscd notices the removal
                // at its next poll).
                Ok(_) => return Err(TransportError::CardUnresponsive),
            }
        }
        Ok(reply)
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }
}

/// Something that happened to a reader.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ReaderEvent {
    /// A reader was plugged in (or was there when watching started).
    ReaderAdded {
        /// The reader's name.
        reader: String,
    },
    /// A reader was unplugged.
    ReaderRemoved {
        /// The reader's name.
        reader: String,
    },
    /// A card was put in a reader (or was there when watching started).
    CardInserted {
        /// The reader's name.
        reader: String,
        /// The card's ATR.
        #[serde(serialize_with = "hex_upper")]
        atr: Vec<u8>,
    },
    /// The card left the reader.
    CardRemoved {
        /// The reader's name.
        reader: String,
    },
}

/// Watches readers and cards with `SCardGetStatusChange`.
pub struct ReaderWatcher {
    context: Context,
    states: Vec<ReaderState>,
    /// Per reader: whether a card is in it, and pcsc-lite's insertion/removal counter.
    present: BTreeMap<String, (bool, u32)>,
}

impl std::fmt::Debug for ReaderWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderWatcher")
            .field("present", &self.present)
            .finish_non_exhaustive()
    }
}

/// Cancels a [`ReaderWatcher`]'s wait from another thread.
#[derive(Clone)]
pub struct WatchCanceller(Context);

impl WatchCanceller {
    /// Makes the pending (or next) [`ReaderWatcher::next_events`] return
    /// [`PcscError::Cancelled`].
    pub fn cancel(&self) {
        let _ = self.0.cancel();
    }
}

impl std::fmt::Debug for WatchCanceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WatchCanceller")
    }
}

impl ReaderWatcher {
    /// A watcher on its own PC/SC context. The first [`ReaderWatcher::next_events`]
    /// reports the readers and cards already there.
    ///
    /// # Errors
    /// [`PcscError::NoService`] when pcscd is not running.
    pub fn new() -> Result<Self, PcscError> {
        let context = Context::establish(Scope::User).map_err(|e| PcscError::from_pcsc(e, ""))?;
        let pnp = ReaderState::new(pcsc::PNP_NOTIFICATION(), State::UNAWARE);
        Ok(Self {
            context,
            states: vec![pnp],
            present: BTreeMap::new(),
        })
    }

    /// A handle that cancels the wait from another thread.
    #[must_use]
    pub fn canceller(&self) -> WatchCanceller {
        WatchCanceller(self.context.clone())
    }

    /// Waits up to `timeout` for changes and returns them (empty on timeout).
    ///
    /// # Errors
    /// [`PcscError::Cancelled`] after [`WatchCanceller::cancel`],
    /// [`PcscError::NoService`] when pcscd stops.
    pub fn next_events(&mut self, timeout: Duration) -> Result<Vec<ReaderEvent>, PcscError> {
        let mut events = Vec::new();
        if self.states.len() == 1 {
            // First call, or every reader gone: pick up the readers now.
            self.sync_readers(&mut events)?;
            if !events.is_empty() {
                self.poll_cards(Duration::ZERO, &mut events)?;
                return Ok(events);
            }
        }
        self.poll_cards(timeout, &mut events)?;
        Ok(events)
    }

    fn poll_cards(
        &mut self,
        timeout: Duration,
        events: &mut Vec<ReaderEvent>,
    ) -> Result<(), PcscError> {
        match self.context.get_status_change(timeout, &mut self.states) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => return Ok(()),
            Err(e) => return Err(PcscError::from_pcsc(e, "")),
        }
        let mut readers_changed = false;
        for state in &mut self.states {
            let name = state.name().to_string_lossy().into_owned();
            let event_state = state.event_state();
            if state.name() == pcsc::PNP_NOTIFICATION() {
                readers_changed |= event_state.contains(State::CHANGED);
                state.sync_current_state();
                continue;
            }
            if event_state.intersects(State::UNKNOWN | State::IGNORE | State::UNAVAILABLE) {
                readers_changed = true;
                continue;
            }
            let now = (event_state.contains(State::PRESENT), state.event_count());
            let before = self.present.insert(name.clone(), now);
            let was_present = before.is_some_and(|(present, _)| present);
            // A card swapped between two polls leaves PRESENT set but moves the counter.
            let swapped = before.is_some_and(|(present, count)| present && now.0 && count != now.1);
            if was_present && (!now.0 || swapped) {
                events.push(ReaderEvent::CardRemoved {
                    reader: name.clone(),
                });
            }
            if now.0 && (!was_present || swapped) {
                events.push(ReaderEvent::CardInserted {
                    reader: name,
                    atr: state.atr().to_vec(),
                });
            }
            state.sync_current_state();
        }
        if readers_changed {
            self.sync_readers(events)?;
        }
        Ok(())
    }

    /// Compares the reader list with what is watched; reports readers added and removed.
    fn sync_readers(&mut self, events: &mut Vec<ReaderEvent>) -> Result<(), PcscError> {
        let names: Vec<CString> = match self.context.list_readers_owned() {
            Ok(names) => names,
            Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(PcscError::from_pcsc(e, "")),
        };
        let pnp = pcsc::PNP_NOTIFICATION();
        let is_listed = |s: &CStr| s == pnp || names.iter().any(|n| n.as_c_str() == s);
        let mut removed = Vec::new();
        self.states.retain(|s| {
            let keep = is_listed(s.name());
            if !keep {
                removed.push(s.name().to_string_lossy().into_owned());
            }
            keep
        });
        for reader in removed {
            if self
                .present
                .remove(&reader)
                .is_some_and(|(present, _)| present)
            {
                events.push(ReaderEvent::CardRemoved {
                    reader: reader.clone(),
                });
            }
            events.push(ReaderEvent::ReaderRemoved { reader });
        }
        for name in names {
            if !self.states.iter().any(|s| s.name() == name.as_c_str()) {
                events.push(ReaderEvent::ReaderAdded {
                    reader: name.to_string_lossy().into_owned(),
                });
                self.states.push(ReaderState::new(name, State::UNAWARE));
            }
        }
        Ok(())
    }
}
