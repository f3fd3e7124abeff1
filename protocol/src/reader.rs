//! The document reader: one call that runs the whole read of DESIGN.md's card profile and
//! returns the typed document with the raw bytes needed as evidence.
//!
//! EF.CardAccess → PACE (or BAC when there is no EF.CardAccess) → SELECT the eMRTD
//! application → DG14 → Chip Authentication → DG1, the asked-for data groups, DG15 when
//! Active Authentication is asked, EF.SOD → Active Authentication → Passive
//! Authentication. Each step is reported to the caller before it starts. Files are read
//! with SFI READ BINARY and as large an Le as the link allows (no SELECT per file; one
//! APDU per file with extended length).

use std::collections::BTreeMap;

use sesame_apdu::sm::{SecureChannel, SmCodec};
use sesame_apdu::{Command, CountingTransport, ExchangeStats, Transport, TransportError, exchange};

use crate::aa::{self, AaError};
use crate::bac::{BacError, establish_bac};
use crate::ca::{CaError, CaParameters, chip_authentication};
use crate::files::{ReadError, read_file_by_sfi};
use crate::kdf::Password;
use crate::lds::{DataGroup, Dg1, Dg2, Dg11, FaceImage, LdsError, LdsFile, Mrz};
use crate::pa::{PassiveAuthError, PassiveAuthentication, Sod, TrustStore};
use crate::pace::{PaceError, PaceParameters, PaceStep, establish_pace};
use crate::random::RandomSource;
use crate::security_infos::{KeyAgreement, PaceProtocol, SecurityInfoError, SecurityInfos};
use crate::{EMRTD_AID, SelectError, select_application};

/// The short file identifier of EF.CardAccess in the master file (ICAO 9303-10 §3.11.3).
const SFI_CARD_ACCESS: u8 = 0x1C;

/// What to read, and how to open the document.
#[derive(Debug)]
pub struct ReadRequest<'a> {
    /// The CAN (or MRZ information, PIN, PUK) that opens the chip.
    pub password: Password,
    /// Data groups to read besides DG1 (and DG14, DG15 as the protocols need): DG11 for
    /// the full name and place of birth, DG2 for the face (only when asked: it is the
    /// largest file), DG12…
    pub data_groups: Vec<DataGroup>,
    /// Run Active Authentication over this challenge when the document has DG15.
    pub active_authentication: Option<[u8; 8]>,
    /// Run Passive Authentication against these CSCAs (at [`ReadRequest::now`]).
    pub trust: Option<&'a TrustStore>,
    /// The time for certificate validity, Unix seconds.
    pub now: i64,
}

/// A step of the read, reported before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStep {
    /// Reading EF.CardAccess.
    CardAccess,
    /// A step of PACE.
    Pace(PaceStep),
    /// Basic Access Control (documents without PACE).
    Bac,
    /// Selecting the eMRTD application.
    SelectApplication,
    /// Reading a file.
    ReadFile(LdsFile),
    /// Chip Authentication.
    ChipAuthentication,
    /// Active Authentication.
    ActiveAuthentication,
    /// Passive Authentication (no card I/O).
    PassiveAuthentication,
}

/// How the chip was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessControl {
    /// PACE with this protocol.
    Pace(PaceProtocol),
    /// Basic Access Control.
    Bac,
}

/// What Chip Authentication established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipAuthenticated {
    /// The CA protocol OID (dotted).
    pub protocol: String,
    /// The key used.
    pub key_id: Option<u32>,
}

/// Active Authentication's evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveAuthenticated {
    /// The challenge the chip signed.
    pub challenge: [u8; 8],
    /// The chip's signature (verified with DG15's key).
    pub signature: Vec<u8>,
}

/// The document as read. `Debug` shows the structure and sizes, never the personal data
/// (the raw data groups hold the MRZ, from which the access key derives).
pub struct Document {
    /// How the chip was opened.
    pub access: AccessControl,
    /// EF.CardAccess as read (absent with BAC).
    pub card_access: Option<Vec<u8>>,
    /// Every data group read, by number, as read (the evidence Passive Authentication
    /// checks).
    pub data_groups: BTreeMap<u8, Vec<u8>>,
    /// EF.SOD as read.
    pub sod: Vec<u8>,
    /// The MRZ from DG1.
    pub mrz: Mrz,
    /// DG11, when asked for and present.
    pub dg11: Option<Dg11>,
    /// The faces of DG2, when asked for.
    pub faces: Vec<FaceImage>,
    /// Chip Authentication, when the document supports it (DG14).
    pub chip_authentication: Option<ChipAuthenticated>,
    /// Active Authentication, when asked and the document has DG15.
    pub active_authentication: Option<ActiveAuthenticated>,
    /// Passive Authentication's outcome, when a trust store was given. A failure is kept
    /// here rather than failing the read: the caller decides (a counter agent may still
    /// want to see the data, an IdP must refuse it).
    pub passive_authentication: Option<Result<PassiveAuthentication, PassiveAuthError>>,
    /// What went over the link.
    pub exchange: ExchangeStats,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("access", &self.access)
            .field(
                "data_groups",
                &self
                    .data_groups
                    .iter()
                    .map(|(n, b)| (*n, b.len()))
                    .collect::<Vec<_>>(),
            )
            .field("sod_len", &self.sod.len())
            .field("faces", &self.faces.len())
            .field("chip_authentication", &self.chip_authentication)
            .field(
                "active_authentication",
                &self.active_authentication.is_some(),
            )
            .field(
                "passive_authentication",
                &self
                    .passive_authentication
                    .as_ref()
                    .map(|r| r.as_ref().map(|_| "verified")),
            )
            .field("exchange", &self.exchange)
            .finish_non_exhaustive()
    }
}

/// Why the read failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// PACE failed (wrong CAN, blocked PIN, card error…).
    #[error(transparent)]
    Pace(#[from] PaceError),
    /// BAC failed.
    #[error(transparent)]
    Bac(#[from] BacError),
    /// The document has no EF.CardAccess (so no PACE) and BAC needs the MRZ.
    #[error("this document needs the MRZ (it does not support the {0})")]
    NeedsMrz(&'static str),
    /// EF.CardAccess or DG14 offer no protocol this reader supports.
    #[error("the document offers no access protocol this reader supports")]
    NoSupportedProtocol,
    /// EF.CardAccess or DG14 do not parse.
    #[error("the document's security information is malformed: {0}")]
    SecurityInfos(#[from] SecurityInfoError),
    /// The eMRTD application is missing.
    #[error("this card is not an identity document: {0}")]
    NotAnEmrtd(#[from] SelectError),
    /// EF.CardAccess could not be read.
    #[error("reading EF.CardAccess failed: {0}")]
    CardAccess(ReadError),
    /// A file could not be read.
    #[error("reading {file} failed: {source}")]
    File {
        /// The file.
        file: LdsFile,
        /// Why.
        source: ReadError,
    },
    /// A file does not parse.
    #[error("{file} is malformed: {source}")]
    Lds {
        /// The file.
        file: LdsFile,
        /// Why.
        source: LdsError,
    },
    /// EF.SOD does not parse.
    #[error(transparent)]
    Sod(#[from] crate::pa::SodError),
    /// Chip Authentication failed: the chip may be a copy.
    #[error("chip authentication failed: {0}")]
    ChipAuthentication(#[from] CaError),
    /// Active Authentication failed: the chip may be a copy.
    #[error("active authentication failed: {0}")]
    ActiveAuthentication(#[from] AaError),
}

/// Reads the document in the card behind `transport`. `on_step` hears of each step
/// before it runs.
///
/// # Errors
/// See [`DocumentError`]; a wrong password is [`PaceError::WrongPassword`] (or
/// [`BacError::WrongKey`]) inside it, with the tries left.
pub fn read_document(
    transport: &mut dyn Transport,
    request: &ReadRequest<'_>,
    rng: &mut dyn RandomSource,
    on_step: &mut dyn FnMut(ReadStep),
) -> Result<Document, DocumentError> {
    let mut counting = CountingTransport::new(transport);

    // EF.CardAccess, in the master file, without secure messaging.
    on_step(ReadStep::CardAccess);
    let card_access = match read_file_by_sfi(&mut counting, SFI_CARD_ACCESS) {
        Ok(bytes) => Some(bytes),
        // Not found, or refused: perhaps another application is current (a card left
        // selected by an earlier session). Select the master file and try once more.
        Err(ReadError::NotFound | ReadError::AccessDenied) => {
            let select_mf = Command::new(0x00, 0xA4, 0x00, 0x0C).with_data([0x3F, 0x00]);
            exchange(&mut counting, &select_mf)
                .map_err(|e| DocumentError::CardAccess(ReadError::Transport(e)))?;
            match read_file_by_sfi(&mut counting, SFI_CARD_ACCESS) {
                Ok(bytes) => Some(bytes),
                Err(ReadError::NotFound) => None,
                Err(source) => return Err(DocumentError::CardAccess(source)),
            }
        }
        Err(source) => return Err(DocumentError::CardAccess(source)),
    };

    let (access, codec) = match &card_access {
        Some(bytes) => {
            let infos = SecurityInfos::from_der(bytes)?;
            let info = infos
                .preferred_pace()
                .ok_or(DocumentError::NoSupportedProtocol)?;
            let curve = infos
                .pace_curve(info)
                .ok_or(DocumentError::NoSupportedProtocol)?;
            let params = PaceParameters {
                oid: info.protocol.oid().as_bytes().to_vec(),
                mapping: info.protocol.mapping(),
                suite: info.protocol.cipher().into(),
                curve,
                parameter_reference: info.parameter_id.filter(|_| infos.pace_infos().count() > 1),
            };
            let outcome =
                establish_pace(&mut counting, &params, &request.password, rng, &mut |s| {
                    on_step(ReadStep::Pace(s))
                })?;
            (
                AccessControl::Pace(info.protocol),
                outcome.codec().map_err(PaceError::from)?,
            )
        }
        None => {
            let Password::Mrz(mrz) = &request.password else {
                return Err(DocumentError::NeedsMrz("PACE"));
            };
            on_step(ReadStep::Bac);
            (AccessControl::Bac, establish_bac(&mut counting, mrz, rng)?)
        }
    };
    let mut channel = SecureChannel::new(&mut counting, codec);

    on_step(ReadStep::SelectApplication);
    select_application(&mut channel, &EMRTD_AID)?;

    let mut data_groups = BTreeMap::new();
    // DG14 and Chip Authentication first, so that everything else is read under the
    // chip-authenticated session.
    let mut chip_authenticated = None;
    let mut dg14_infos = None;
    if let Some(dg14) = read_group(&mut channel, DataGroup::Dg14, true, on_step)? {
        let infos = SecurityInfos::from_dg14(&dg14)?;
        if let Some(params) = ca_parameters(&infos) {
            on_step(ReadStep::ChipAuthentication);
            let codec: SmCodec = chip_authentication(&mut channel, &params, rng)?;
            channel.rekey(codec);
            chip_authenticated = Some(ChipAuthenticated {
                protocol: der::asn1::ObjectIdentifier::from_bytes(&params.oid)
                    .map(|o| o.to_string())
                    .unwrap_or_default(),
                key_id: params.key_id,
            });
        }
        data_groups.insert(14, dg14);
        dg14_infos = Some(infos);
    }

    // DG1 is the first response under the chip-authenticated keys: if it does not
    // verify, the chip does not hold the key DG14 announces.
    let dg1_bytes = match read_group(&mut channel, DataGroup::Dg1, false, on_step) {
        Err(DocumentError::File {
            source: ReadError::Transport(TransportError::SecureMessaging(_)),
            ..
        }) if chip_authenticated.is_some() => {
            return Err(DocumentError::ChipAuthentication(CaError::NotConfirmed));
        }
        other => other?.ok_or(DocumentError::NoSupportedProtocol)?,
    };
    let mrz = Dg1::parse(&dg1_bytes)
        .map_err(|source| DocumentError::Lds {
            file: LdsFile::Dg(DataGroup::Dg1),
            source,
        })?
        .mrz;
    data_groups.insert(1, dg1_bytes);

    let mut wanted = request.data_groups.clone();
    if request.active_authentication.is_some() && !wanted.contains(&DataGroup::Dg15) {
        wanted.push(DataGroup::Dg15);
    }
    for group in wanted {
        if data_groups.contains_key(&group.number()) {
            continue;
        }
        if let Some(bytes) = read_group(&mut channel, group, true, on_step)? {
            data_groups.insert(group.number(), bytes);
        }
    }

    on_step(ReadStep::ReadFile(LdsFile::Sod));
    let sod = read_file_by_sfi(&mut channel, LdsFile::Sod.sfi()).map_err(|source| {
        DocumentError::File {
            file: LdsFile::Sod,
            source,
        }
    })?;

    let dg11 = data_groups
        .get(&11)
        .map(|bytes| {
            Dg11::parse(bytes).map_err(|source| DocumentError::Lds {
                file: LdsFile::Dg(DataGroup::Dg11),
                source,
            })
        })
        .transpose()?;
    let faces = data_groups
        .get(&2)
        .map(|bytes| {
            Dg2::parse(bytes).map_err(|source| DocumentError::Lds {
                file: LdsFile::Dg(DataGroup::Dg2),
                source,
            })
        })
        .transpose()?
        .map(|dg2| dg2.faces)
        .unwrap_or_default();

    let mut active_authentication = None;
    if let (Some(challenge), Some(dg15)) = (request.active_authentication, data_groups.get(&15)) {
        on_step(ReadStep::ActiveAuthentication);
        let spki = crate::lds::Dg15::parse(dg15)
            .map_err(|source| DocumentError::Lds {
                file: LdsFile::Dg(DataGroup::Dg15),
                source,
            })?
            .subject_public_key_info;
        let signature = aa::internal_authenticate(&mut channel, &challenge)?;
        let algorithm = dg14_infos
            .as_ref()
            .and_then(|i| i.active_authentication())
            .map(|a| a.signature_algorithm);
        aa::verify(&spki, algorithm.as_ref(), &challenge, &signature)?;
        active_authentication = Some(ActiveAuthenticated {
            challenge,
            signature,
        });
    }
    drop(channel);

    let passive_authentication = match request.trust {
        Some(trust) => {
            on_step(ReadStep::PassiveAuthentication);
            let parsed = Sod::parse(&sod)?;
            let groups: Vec<(u8, &[u8])> = data_groups
                .iter()
                .map(|(n, b)| (*n, b.as_slice()))
                .collect();
            Some(crate::pa::verify(&parsed, &groups, trust, request.now))
        }
        None => None,
    };

    Ok(Document {
        access,
        card_access,
        data_groups,
        sod,
        mrz,
        dg11,
        faces,
        chip_authentication: chip_authenticated,
        active_authentication,
        passive_authentication,
        exchange: counting.stats(),
    })
}

/// Reads a data group by SFI; an optional one that is absent or protected (DG3/DG4 need
/// Extended Access Control) is `None`.
fn read_group(
    channel: &mut dyn Transport,
    group: DataGroup,
    optional: bool,
    on_step: &mut dyn FnMut(ReadStep),
) -> Result<Option<Vec<u8>>, DocumentError> {
    let file = LdsFile::Dg(group);
    on_step(ReadStep::ReadFile(file));
    match read_file_by_sfi(channel, group.sfi()) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(ReadError::NotFound | ReadError::AccessDenied) if optional => Ok(None),
        Err(source) => Err(DocumentError::File { file, source }),
    }
}

/// Chip Authentication parameters from DG14: the first ECDH CA protocol whose key is on
/// a supported curve.
fn ca_parameters(infos: &SecurityInfos) -> Option<CaParameters> {
    infos.chip_authentication_infos().find_map(|info| {
        if info.protocol.key_agreement != KeyAgreement::Ecdh {
            return None;
        }
        let key = infos.chip_authentication_public_key_for(info)?;
        Some(CaParameters {
            oid: info.protocol.oid().as_bytes().to_vec(),
            suite: info.protocol.cipher.into(),
            curve: key.public_key.curve?,
            key_id: info.key_id.or(key.key_id),
            chip_public_key: key.public_key.point.clone(),
        })
    })
}
