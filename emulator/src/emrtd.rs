//! The card side of an eMRTD (ICAO 9303): the file system (EF.CardAccess in the master
//! file; EF.COM, the data groups and EF.SOD in the eMRTD application), READ BINARY by SFI
//! or offset, PACE (ECDH Generic and Integrated Mapping) with the CAN or the MRZ, secure
//! messaging, and Chip Authentication. It shares the protocol crate's primitives (curves,
//! KDF, authentication tokens, secure messaging codec), written once for both sides.
//!
//! Access conditions follow ICAO 9303-11 §4.1: before PACE only SELECT, EF.CardAccess
//! and PACE's own commands; application files need secure messaging.

use std::collections::BTreeMap;

use der::asn1::ObjectIdentifier;
use sesame_apdu::sm::{CipherSuite, SessionKeys, SmCodec, SuiteCipher};
use sesame_apdu::tlv::{self, Tag, TlvBuilder};
use sesame_apdu::{Capabilities, Command, Response, StatusWord};
use sesame_protocol::ec::{Curve, x_coordinate};
use sesame_protocol::kdf::{KeyPurpose, Password, kdf};
use sesame_protocol::pa::HashAlgorithm;
use sesame_protocol::pace::{Mapping, authentication_token, nonce_len, pseudo_random};
use sesame_protocol::random::{RandomSource, SystemRandom};
use sesame_protocol::security_infos::{CaProtocol, PaceProtocol, SecurityInfos};
use sesame_protocol::{EMRTD_AID, bac};
use zeroize::Zeroizing;

use crate::CardHandler;
use crate::pki::{curve_token, hex, unhex, write_private};

/// What a personalised chip holds: its files and its secrets.
#[derive(Clone)]
pub struct CardContents {
    /// EF.CardAccess (the PACE protocols offered); `None` for a BAC-only passport.
    pub card_access: Option<Vec<u8>>,
    /// EF.CardSecurity (MF, SFI 1D): the signed SecurityInfos, readable after PACE.
    pub card_security: Option<Vec<u8>>,
    /// EF.DIR (MF, FID 2F00, SFI 1E): the applications on the card, readable freely.
    pub dir: Option<Vec<u8>>,
    /// The application's elementary files, by short file identifier (EF.COM 1E, EF.SOD
    /// 1D, DGn n).
    pub files: BTreeMap<u8, Vec<u8>>,
    /// The Card Access Number.
    pub can: Zeroizing<String>,
    /// The MRZ information (document number, birth and expiry dates with check digits).
    pub mrz_information: Option<Zeroizing<String>>,
    /// The Chip Authentication private key (big-endian scalar) and its curve.
    pub chip_authentication_key: Option<(Curve, Zeroizing<Vec<u8>>)>,
    /// The Active Authentication private key (its public half is DG15).
    pub active_authentication_key: Option<ActiveAuthenticationKey>,
}

/// An Active Authentication key (ICAO 9303-11 §6.1).
#[derive(Clone)]
pub enum ActiveAuthenticationKey {
    /// ECDSA, plain signatures with this hash (DG14's ActiveAuthenticationInfo).
    Ecdsa {
        /// The curve.
        curve: Curve,
        /// The private scalar.
        secret: Zeroizing<Vec<u8>>,
        /// The hash of the challenge.
        hash: HashAlgorithm,
    },
    /// RSA, ISO/IEC 9796-2 scheme 1 signatures with SHA-1 (the classic passport).
    Rsa(Box<rsa::RsaPrivateKey>),
}

impl std::fmt::Debug for CardContents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardContents")
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .field("secrets", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl CardContents {
    /// Writes the card to `dir`: `mf-1c.bin` (EF.CardAccess), `mf-1d.bin`
    /// (EF.CardSecurity), `mf-1e.bin` (EF.DIR), `ef-XX.bin` for the application's files by
    /// SFI, and `secrets.toml` (CAN, MRZ information, private keys; mode 0600).
    ///
    /// # Errors
    /// When a file cannot be written.
    pub fn save(&self, dir: &std::path::Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (name, file) in [
            ("mf-1c", &self.card_access),
            ("mf-1d", &self.card_security),
            ("mf-1e", &self.dir),
        ] {
            if let Some(bytes) = file {
                std::fs::write(dir.join(format!("{name}.bin")), bytes)?;
            }
        }
        for (sfi, bytes) in &self.files {
            std::fs::write(dir.join(format!("ef-{sfi:02x}.bin")), bytes)?;
        }
        let mut secrets = Zeroizing::new(format!("can = \"{}\"\n", self.can.as_str()));
        if let Some(mrz) = &self.mrz_information {
            secrets.push_str(&format!("mrz_information = \"{}\"\n", mrz.as_str()));
        }
        if let Some((curve, key)) = &self.chip_authentication_key {
            secrets.push_str(&format!(
                "chip_authentication_key = \"{} {}\"\n",
                curve_token(*curve),
                hex(key)
            ));
        }
        match &self.active_authentication_key {
            Some(ActiveAuthenticationKey::Ecdsa { curve, secret, .. }) => {
                secrets.push_str(&format!(
                    "active_authentication_key = \"{} {}\"\n",
                    curve_token(*curve),
                    hex(secret)
                ));
            }
            Some(ActiveAuthenticationKey::Rsa(key)) => {
                use rsa::pkcs1::EncodeRsaPrivateKey;
                let der = key
                    .to_pkcs1_der()
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                secrets.push_str(&format!(
                    "active_authentication_key = \"rsa {}\"\n",
                    hex(der.as_bytes())
                ));
            }
            None => {}
        }
        write_private(&dir.join("secrets.toml"), secrets.as_bytes())
    }

    /// Reads a card written by [`CardContents::save`].
    ///
    /// # Errors
    /// When a file is missing or malformed.
    pub fn load(dir: &std::path::Path) -> std::io::Result<Self> {
        let invalid = |what: &str| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {what}", dir.display()),
            )
        };
        let optional = |name: &str| std::fs::read(dir.join(name)).ok();
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(sfi) = name
                .strip_prefix("ef-")
                .and_then(|n| n.strip_suffix(".bin"))
            {
                let sfi = u8::from_str_radix(sfi, 16)
                    .map_err(|_| invalid("a file name is not ef-XX.bin"))?;
                files.insert(sfi, std::fs::read(dir.join(&name))?);
            }
        }
        let text = Zeroizing::new(std::fs::read_to_string(dir.join("secrets.toml"))?);
        let secrets: Secrets =
            toml::from_str(&text).map_err(|_| invalid("secrets.toml is malformed"))?;
        let key = |value: Option<&String>| -> std::io::Result<Option<(Curve, Zeroizing<Vec<u8>>)>> {
            let Some(value) = value else { return Ok(None) };
            let (curve, scalar) = value
                .split_once(' ')
                .ok_or_else(|| invalid("a key is malformed"))?;
            let curve = crate::pki::curve_named(curve)
                .ok_or_else(|| invalid("a key's curve is unknown"))?;
            let scalar = unhex(scalar).ok_or_else(|| invalid("a key is not hex"))?;
            Ok(Some((curve, Zeroizing::new(scalar))))
        };
        Ok(Self {
            card_access: optional("mf-1c.bin"),
            card_security: optional("mf-1d.bin"),
            dir: optional("mf-1e.bin"),
            files,
            can: Zeroizing::new(secrets.can.clone()),
            mrz_information: secrets.mrz_information.clone().map(Zeroizing::new),
            chip_authentication_key: key(secrets.chip_authentication_key.as_ref())?,
            active_authentication_key: match secrets.active_authentication_key.as_deref() {
                Some(value) if value.starts_with("rsa ") => {
                    use rsa::pkcs1::DecodeRsaPrivateKey;
                    let der = unhex(value.get(4..).unwrap_or_default())
                        .ok_or_else(|| invalid("a key is not hex"))?;
                    let key = rsa::RsaPrivateKey::from_pkcs1_der(&der)
                        .map_err(|_| invalid("the RSA key is malformed"))?;
                    Some(ActiveAuthenticationKey::Rsa(Box::new(key)))
                }
                other => key(other.map(ToOwned::to_owned).as_ref())?.map(|(curve, secret)| {
                    ActiveAuthenticationKey::Ecdsa {
                        curve,
                        secret,
                        hash: HashAlgorithm::Sha256,
                    }
                }),
            },
        })
    }
}

/// `secrets.toml` of a saved card.
#[derive(serde::Deserialize, zeroize::ZeroizeOnDrop)]
struct Secrets {
    can: String,
    mrz_information: Option<String>,
    chip_authentication_key: Option<String>,
    active_authentication_key: Option<String>,
}

/// Where the card is in PACE.
enum PaceState {
    /// MSE:Set AT received.
    Selected {
        protocol: PaceProtocol,
        oid: Vec<u8>,
        curve: Curve,
        password: Password,
    },
    /// Step 1 answered: the nonce s.
    Nonce {
        is_can: bool,
        protocol: PaceProtocol,
        oid: Vec<u8>,
        curve: Curve,
        s: Zeroizing<Vec<u8>>,
    },
    /// Step 2 answered: the mapped generator.
    Mapped {
        is_can: bool,
        protocol: PaceProtocol,
        oid: Vec<u8>,
        curve: Curve,
        generator: Vec<u8>,
    },
    /// Step 3 answered: the keys and both ephemeral keys.
    Agreed {
        is_can: bool,
        oid: Vec<u8>,
        keys: SessionKeys,
        ours: Vec<u8>,
        theirs: Vec<u8>,
    },
}

/// The card's security state.
enum Session {
    /// Nothing established.
    Plain,
    /// PACE under way.
    Pace(PaceState),
    /// Secure messaging established (after PACE, or CA), with a pending CA protocol.
    Secure {
        codec: Box<SmCodec>,
        ca: Option<(CaProtocol, Option<u32>)>,
    },
}

/// An ICAO 9303 eMRTD chip.
pub struct EmrtdCard {
    contents: CardContents,
    session: Session,
    application_selected: bool,
    current_file: Option<u8>,
    rng: Box<dyn RandomSource + Send>,
    /// Chip Authentication's new session, started after its answer goes out.
    pending_rekey: Option<SmCodec>,
    /// The last historical byte of the ATR (to tell virtual cards apart).
    atr_id: u8,
    /// The challenge of a GET CHALLENGE, for BAC's EXTERNAL AUTHENTICATE.
    challenge: Option<[u8; 8]>,
    /// Wrong-password count since power-on (for tests and fault injection).
    pub failed_password_attempts: usize,
    /// Tries left for the CAN before the card refuses it (persistent across resets, as
    /// on a real chip; a successful PACE restores it).
    can_tries: u8,
}

/// The CAN's try counter when personalised.
pub const CAN_TRIES: u8 = 3;

impl std::fmt::Debug for EmrtdCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmrtdCard")
            .field("contents", &self.contents)
            .finish_non_exhaustive()
    }
}

/// The ATR a contactless reader builds for the card (PC/SC part 3 §3.1.3.2.3): historical
/// bytes with card capabilities announcing extended Lc/Le.
const ATR_ID: u8 = 0x4D;

/// `3B 88 80 01` and the historical bytes up to the card's id byte (then TCK).
const ATR: [u8; 11] = [
    0x3B, 0x88, 0x80, 0x01, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x52, 0x45,
];

impl EmrtdCard {
    /// A card with these contents, drawing its nonces and keys from the system.
    #[must_use]
    pub fn new(contents: CardContents) -> Self {
        Self::with_random(contents, Box::new(SystemRandom))
    }

    /// A card with a given random source (tests replaying fixed values).
    #[must_use]
    pub fn with_random(contents: CardContents, rng: Box<dyn RandomSource + Send>) -> Self {
        Self {
            contents,
            session: Session::Plain,
            application_selected: false,
            current_file: None,
            rng,
            pending_rekey: None,
            atr_id: ATR_ID,
            challenge: None,
            failed_password_attempts: 0,
            can_tries: CAN_TRIES,
        }
    }

    /// The same card with `tries` left for the CAN (0: blocked), to try what a terminal
    /// says about a card whose CAN is nearly or fully used up.
    #[must_use]
    pub const fn with_can_tries(mut self, tries: u8) -> Self {
        self.can_tries = if tries > CAN_TRIES { CAN_TRIES } else { tries };
        self
    }

    /// The same card with another last ATR byte, so that tests running side by side tell
    /// their readers apart.
    #[must_use]
    pub const fn with_atr_id(mut self, id: u8) -> Self {
        self.atr_id = id;
        self
    }

    /// Whether secure messaging is established.
    #[must_use]
    pub const fn is_secure(&self) -> bool {
        matches!(self.session, Session::Secure { .. })
    }

    fn answer(&mut self, command: &Command) -> Response {
        match (command.ins, command.p1, command.p2) {
            (0xA4, _, _) => self.select(command),
            (0xB0 | 0xB1, _, _) => self.read_binary(command),
            (0x22, 0xC1, 0xA4) => self.pace_set_at(command),
            (0x22, 0x41, 0xA4) => self.ca_set_at(command),
            (0x86, 0x00, 0x00) => self.general_authenticate(command),
            (0x84, 0x00, 0x00) => self.get_challenge(),
            (0x82, 0x00, 0x00) => self.external_authenticate(command),
            (0x88, 0x00, 0x00) => self.internal_authenticate(command),
            _ => Response::status(StatusWord::InstructionNotSupported),
        }
    }

    fn select(&mut self, command: &Command) -> Response {
        match command.p1 {
            0x04 if command.data == EMRTD_AID => {
                self.application_selected = true;
                self.current_file = None;
                Response::status(StatusWord::Success)
            }
            0x04 => Response::status(StatusWord::FileNotFound),
            0x00 | 0x02 => {
                let fid = match command.data.as_slice() {
                    [hi, lo] => u16::from_be_bytes([*hi, *lo]),
                    _ => return Response::status(StatusWord::IncorrectP1P2),
                };
                let [hi, lo] = fid.to_be_bytes();
                let sfi = match (hi, lo) {
                    (0x01, 0x1C)
                        if !self.application_selected && self.contents.card_access.is_some() =>
                    {
                        Some(0x1C)
                    }
                    (0x01, 0x1D)
                        if !self.application_selected && self.contents.card_security.is_some() =>
                    {
                        Some(0x1D)
                    }
                    (0x2F, 0x00) if !self.application_selected && self.contents.dir.is_some() => {
                        Some(0x1E)
                    }
                    (0x01, n)
                        if self.application_selected && self.contents.files.contains_key(&n) =>
                    {
                        Some(n)
                    }
                    (0x3F, 0x00) => {
                        self.application_selected = false;
                        self.current_file = None;
                        return Response::status(StatusWord::Success);
                    }
                    _ => None,
                };
                match sfi {
                    Some(sfi) => {
                        self.current_file = Some(sfi);
                        Response::status(StatusWord::Success)
                    }
                    None => Response::status(StatusWord::FileNotFound),
                }
            }
            _ => Response::status(StatusWord::IncorrectP1P2),
        }
    }

    fn file(&self, sfi: u8) -> Result<&[u8], StatusWord> {
        if !self.application_selected {
            // The master file: EF.CardAccess and EF.DIR are free, EF.CardSecurity needs PACE.
            return match sfi {
                0x1C => self
                    .contents
                    .card_access
                    .as_deref()
                    .ok_or(StatusWord::FileNotFound),
                0x1E => self.contents.dir.as_deref().ok_or(StatusWord::FileNotFound),
                0x1D if !self.is_secure() => Err(StatusWord::SecurityStatusNotSatisfied),
                0x1D => self
                    .contents
                    .card_security
                    .as_deref()
                    .ok_or(StatusWord::FileNotFound),
                _ => Err(StatusWord::FileNotFound),
            };
        }
        if !self.is_secure() {
            return Err(StatusWord::SecurityStatusNotSatisfied);
        }
        self.contents
            .files
            .get(&sfi)
            .map(Vec::as_slice)
            .ok_or(StatusWord::FileNotFound)
    }

    fn read_binary(&mut self, command: &Command) -> Response {
        let (sfi, offset) = if command.ins == 0xB1 {
            let offset = tlv::parse_one(&command.data)
                .ok()
                .filter(|o| o.tag() == Tag::new(0x54))
                .map(|o| {
                    o.value()
                        .iter()
                        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
                });
            match (self.current_file, offset) {
                (Some(sfi), Some(offset)) => (sfi, offset),
                _ => return Response::status(StatusWord::CommandNotAllowed),
            }
        } else if command.p1 & 0x80 != 0 {
            (command.p1 & 0x1F, usize::from(command.p2))
        } else {
            match self.current_file {
                Some(sfi) => (
                    sfi,
                    usize::from(u16::from_be_bytes([command.p1 & 0x7F, command.p2])),
                ),
                None => return Response::status(StatusWord::CommandNotAllowed),
            }
        };
        let file = match self.file(sfi) {
            Ok(file) => file,
            Err(sw) => return Response::status(sw),
        };
        if offset > file.len() {
            return Response::status(StatusWord::WrongP1P2);
        }
        let wanted = command.le.unwrap_or(256);
        let end = (offset + wanted).min(file.len());
        let data = file.get(offset..end).unwrap_or(&[]).to_vec();
        let sw = if end - offset < wanted {
            StatusWord::EndOfFile
        } else {
            StatusWord::Success
        };
        self.current_file = Some(sfi);
        if command.ins == 0xB1 {
            let mut wrapped = Vec::new();
            tlv::write(&mut wrapped, Tag::new(0x53), &data);
            return Response::new(wrapped, sw);
        }
        Response::new(data, sw)
    }

    fn pace_set_at(&mut self, command: &Command) -> Response {
        let Some(card_access) = &self.contents.card_access else {
            return Response::status(StatusWord::InstructionNotSupported);
        };
        let Ok(infos) = SecurityInfos::from_der(card_access) else {
            return Response::status(StatusWord::ReferencedDataNotFound);
        };
        let mut oid = None;
        let mut password_ref = None;
        for object in tlv::parse(&command.data) {
            let Ok(object) = object else {
                return Response::status(StatusWord::IncorrectData);
            };
            match object.tag().raw() {
                0x80 => oid = Some(object.value().to_vec()),
                0x83 => password_ref = object.value().first().copied(),
                _ => {}
            }
        }
        let (Some(oid), Some(password_ref)) = (oid, password_ref) else {
            return Response::status(StatusWord::IncorrectData);
        };
        let Some(info) = ObjectIdentifier::from_bytes(&oid)
            .ok()
            .and_then(|o| infos.pace_infos().find(|i| i.protocol.oid() == o).cloned())
        else {
            return Response::status(StatusWord::ReferencedDataNotFound);
        };
        let Some(curve) = infos.pace_curve(&info) else {
            return Response::status(StatusWord::ReferencedDataNotFound);
        };
        let password = match password_ref {
            0x02 if self.can_tries == 0 => {
                return Response::status(StatusWord::AuthenticationMethodBlocked);
            }
            0x02 => Password::can(&self.contents.can),
            0x01 => match &self.contents.mrz_information {
                Some(mrz) => Password::mrz(mrz),
                None => return Response::status(StatusWord::ReferencedDataNotFound),
            },
            _ => return Response::status(StatusWord::ReferencedDataNotFound),
        };
        self.session = Session::Pace(PaceState::Selected {
            protocol: info.protocol,
            oid,
            curve,
            password,
        });
        Response::status(StatusWord::Success)
    }

    /// GET CHALLENGE (BAC, ICAO 9303-11 §4.3.4.1): eight random bytes.
    fn get_challenge(&mut self) -> Response {
        let mut challenge = [0u8; 8];
        if self.contents.mrz_information.is_none() || self.rng.fill(&mut challenge).is_err() {
            return Response::status(StatusWord::ConditionsOfUseNotSatisfied);
        }
        self.challenge = Some(challenge);
        Response::new(challenge.to_vec(), StatusWord::Success)
    }

    /// EXTERNAL AUTHENTICATE (BAC, ICAO 9303-11 §4.3.4.2): checks the terminal's
    /// cryptogram under the MRZ-derived keys, answers with the chip's, and starts secure
    /// messaging.
    fn external_authenticate(&mut self, command: &Command) -> Response {
        let (Some(mrz), Some(rnd_ic)) =
            (self.contents.mrz_information.clone(), self.challenge.take())
        else {
            return Response::status(StatusWord::ConditionsOfUseNotSatisfied);
        };
        let Ok(cipher) = bac::access_cipher(&mrz) else {
            return Response::status(StatusWord::ExecutionError);
        };
        let mac = |data: &[u8]| bac::padded_mac(&cipher, data);
        let Some((e_ifd, m_ifd)) = command.data.split_at_checked(32) else {
            return Response::status(StatusWord::WrongLength);
        };
        if mac(e_ifd).as_slice() != m_ifd {
            self.failed_password_attempts += 1;
            return Response::status(StatusWord::VerificationFailed);
        }
        let mut s = Zeroizing::new(e_ifd.to_vec());
        if cipher.decrypt_cbc(&[0; 8], &mut s).is_err() || s.get(8..16) != Some(rnd_ic.as_slice()) {
            return Response::status(StatusWord::VerificationFailed);
        }
        let rnd_ifd = s.get(..8).unwrap_or(&[]).to_vec();
        let k_ifd = s.get(16..32).unwrap_or(&[]).to_vec();
        let mut k_ic = Zeroizing::new([0u8; 16]);
        if self.rng.fill(k_ic.as_mut_slice()).is_err() {
            return Response::status(StatusWord::ExecutionError);
        }
        let mut r = Zeroizing::new([rnd_ic.as_slice(), &rnd_ifd, k_ic.as_slice()].concat());
        if cipher.encrypt_cbc(&[0; 8], &mut r).is_err() {
            return Response::status(StatusWord::ExecutionError);
        }
        let mut answer = r.to_vec();
        answer.extend_from_slice(&mac(&r));
        match bac::session_codec(&k_ifd, k_ic.as_slice(), &rnd_ic, &rnd_ifd) {
            Ok(codec) => {
                // The answer itself goes out in plain; the session starts after it.
                self.pending_rekey = Some(codec);
                Response::new(answer, StatusWord::Success)
            }
            Err(_) => Response::status(StatusWord::ExecutionError),
        }
    }

    /// INTERNAL AUTHENTICATE (Active Authentication, ICAO 9303-11 §6.1): an ECDSA plain
    /// signature, or an RSA ISO/IEC 9796-2 signature, over the terminal's challenge.
    fn internal_authenticate(&mut self, command: &Command) -> Response {
        use ecdsa::signature::hazmat::PrehashSigner;
        let (curve, secret, hash) = match &self.contents.active_authentication_key {
            None => return Response::status(StatusWord::InstructionNotSupported),
            Some(_) if !self.is_secure() => {
                return Response::status(StatusWord::SecurityStatusNotSatisfied);
            }
            Some(ActiveAuthenticationKey::Rsa(key)) => {
                return match iso9796_2_sign(key, &command.data, self.rng.as_mut()) {
                    Some(signature) => Response::new(signature, StatusWord::Success),
                    None => Response::status(StatusWord::ExecutionError),
                };
            }
            Some(ActiveAuthenticationKey::Ecdsa {
                curve,
                secret,
                hash,
            }) => (curve, secret, hash),
        };
        let digest = hash.digest(&command.data);
        macro_rules! sign_with {
            ($C:ty) => {{
                ecdsa::SigningKey::<$C>::from_slice(secret)
                    .ok()
                    .and_then(|key| {
                        PrehashSigner::<ecdsa::Signature<$C>>::sign_prehash(&key, &digest).ok()
                    })
                    .map(|signature| signature.to_bytes().to_vec())
            }};
        }
        let signature = match curve {
            Curve::BrainpoolP256r1 => sign_with!(bp256::BrainpoolP256r1),
            Curve::BrainpoolP384r1 => sign_with!(bp384::BrainpoolP384r1),
            Curve::NistP256 => sign_with!(p256::NistP256),
            Curve::NistP384 => sign_with!(p384::NistP384),
        };
        match signature {
            Some(signature) => Response::new(signature, StatusWord::Success),
            None => Response::status(StatusWord::ExecutionError),
        }
    }

    fn ca_set_at(&mut self, command: &Command) -> Response {
        let Session::Secure { ca, .. } = &mut self.session else {
            return Response::status(StatusWord::SecurityStatusNotSatisfied);
        };
        let mut protocol = None;
        let mut key_id = None;
        for object in tlv::parse(&command.data) {
            let Ok(object) = object else {
                return Response::status(StatusWord::IncorrectData);
            };
            match object.tag().raw() {
                0x80 => {
                    protocol = ObjectIdentifier::from_bytes(object.value())
                        .ok()
                        .and_then(|o| CaProtocol::from_oid(&o))
                }
                0x84 => {
                    key_id = Some(
                        object
                            .value()
                            .iter()
                            .fold(0u32, |acc, b| (acc << 8) | u32::from(*b)),
                    )
                }
                _ => {}
            }
        }
        match protocol {
            Some(protocol) if self.contents.chip_authentication_key.is_some() => {
                *ca = Some((protocol, key_id));
                Response::status(StatusWord::Success)
            }
            _ => Response::status(StatusWord::ReferencedDataNotFound),
        }
    }

    fn general_authenticate(&mut self, command: &Command) -> Response {
        let Ok(outer) = tlv::parse_one(&command.data) else {
            return Response::status(StatusWord::IncorrectData);
        };
        if outer.tag() != Tag::new(0x7C) {
            return Response::status(StatusWord::IncorrectData);
        }
        let object = |tag: u32| {
            outer
                .find(Tag::new(tag))
                .ok()
                .flatten()
                .map(|o| o.value().to_vec())
        };
        let session = std::mem::replace(&mut self.session, Session::Plain);
        let (next, response) = match session {
            Session::Pace(state) => self.pace_step(state, &object),
            Session::Secure {
                codec,
                ca: Some((protocol, _)),
            } => self.ca_step(codec, protocol, &object),
            other => (
                other,
                Response::status(StatusWord::ConditionsOfUseNotSatisfied),
            ),
        };
        self.session = next;
        response
    }

    fn pace_step(
        &mut self,
        state: PaceState,
        object: &dyn Fn(u32) -> Option<Vec<u8>>,
    ) -> (Session, Response) {
        let fail = |sw| (Session::Plain, Response::status(sw));
        match state {
            PaceState::Selected {
                protocol,
                oid,
                curve,
                password,
            } => {
                let is_can = matches!(password, Password::Can(_));
                let suite: CipherSuite = protocol.cipher().into();
                let mut s = Zeroizing::new(vec![0u8; nonce_len(suite)]);
                if self.rng.fill(&mut s).is_err() {
                    return fail(StatusWord::ExecutionError);
                }
                let k_pi = kdf(suite, &password.pace_secret(), KeyPurpose::Password);
                let Ok(cipher) = SuiteCipher::new(suite, &k_pi, &k_pi) else {
                    return fail(StatusWord::ExecutionError);
                };
                let mut z = s.to_vec();
                if cipher.encrypt_cbc(&[], &mut z).is_err() {
                    return fail(StatusWord::ExecutionError);
                }
                let data = TlvBuilder::new()
                    .constructed(Tag::new(0x7C), |b| b.primitive(Tag::new(0x80), &z))
                    .finish();
                (
                    Session::Pace(PaceState::Nonce {
                        is_can,
                        protocol,
                        oid,
                        curve,
                        s,
                    }),
                    Response::new(data, StatusWord::Success),
                )
            }
            PaceState::Nonce {
                is_can,
                protocol,
                oid,
                curve,
                s,
            } => {
                let Some(received) = object(0x81) else {
                    return fail(StatusWord::IncorrectData);
                };
                let suite: CipherSuite = protocol.cipher().into();
                let (generator, data) = match protocol.mapping() {
                    Mapping::Generic => {
                        let Ok(secret) = curve.random_scalar(self.rng.as_mut()) else {
                            return fail(StatusWord::ExecutionError);
                        };
                        let (Ok(public), Ok(h)) =
                            (curve.mul_base(&secret, None), curve.mul(&secret, &received))
                        else {
                            return fail(StatusWord::IncorrectData);
                        };
                        let Ok(generator) = curve.map_generic(&s, &h) else {
                            return fail(StatusWord::IncorrectData);
                        };
                        let data = TlvBuilder::new()
                            .constructed(Tag::new(0x7C), |b| b.primitive(Tag::new(0x82), &public))
                            .finish();
                        (generator, data)
                    }
                    Mapping::Integrated => {
                        let Some(r) = pseudo_random(suite, &s, &received, curve.field_bits())
                        else {
                            return fail(StatusWord::IncorrectData);
                        };
                        let Ok(generator) = curve.map_integrated(&r) else {
                            return fail(StatusWord::IncorrectData);
                        };
                        (generator, vec![0x7C, 0x00])
                    }
                    Mapping::ChipAuthentication => return fail(StatusWord::FunctionNotSupported),
                };
                (
                    Session::Pace(PaceState::Mapped {
                        is_can,
                        protocol,
                        oid,
                        curve,
                        generator,
                    }),
                    Response::new(data, StatusWord::Success),
                )
            }
            PaceState::Mapped {
                is_can,
                protocol,
                oid,
                curve,
                generator,
            } => {
                let Some(theirs) = object(0x83) else {
                    return fail(StatusWord::IncorrectData);
                };
                let Ok(secret) = curve.random_scalar(self.rng.as_mut()) else {
                    return fail(StatusWord::ExecutionError);
                };
                let (Ok(ours), Ok(shared)) = (
                    curve.mul_base(&secret, Some(&generator)),
                    curve.mul(&secret, &theirs),
                ) else {
                    return fail(StatusWord::IncorrectData);
                };
                if ours == theirs {
                    return fail(StatusWord::IncorrectData);
                }
                let suite: CipherSuite = protocol.cipher().into();
                let k = x_coordinate(&shared);
                let keys = SessionKeys {
                    suite,
                    enc: kdf(suite, k, KeyPurpose::Encryption),
                    mac: kdf(suite, k, KeyPurpose::Mac),
                };
                let data = TlvBuilder::new()
                    .constructed(Tag::new(0x7C), |b| b.primitive(Tag::new(0x84), &ours))
                    .finish();
                (
                    Session::Pace(PaceState::Agreed {
                        is_can,
                        oid,
                        keys,
                        ours,
                        theirs,
                    }),
                    Response::new(data, StatusWord::Success),
                )
            }
            PaceState::Agreed {
                is_can,
                oid,
                keys,
                ours,
                theirs,
            } => {
                let Some(token) = object(0x85) else {
                    return fail(StatusWord::IncorrectData);
                };
                let Ok(cipher) = SuiteCipher::new(keys.suite, &keys.enc, &keys.mac) else {
                    return fail(StatusWord::ExecutionError);
                };
                if authentication_token(&cipher, &oid, &ours).as_slice() != token.as_slice() {
                    // The terminal used another password: its keys differ.
                    self.failed_password_attempts += 1;
                    if is_can {
                        self.can_tries = self.can_tries.saturating_sub(1);
                        return fail(StatusWord::CounterWarning(self.can_tries));
                    }
                    return fail(StatusWord::VerificationFailed);
                }
                if is_can {
                    self.can_tries = CAN_TRIES;
                }
                let our_token = authentication_token(&cipher, &oid, &theirs);
                let Ok(codec) = SmCodec::new(&keys, &vec![0; keys.suite.block_size()]) else {
                    return fail(StatusWord::ExecutionError);
                };
                let data = TlvBuilder::new()
                    .constructed(Tag::new(0x7C), |b| b.primitive(Tag::new(0x86), &our_token))
                    .finish();
                (
                    Session::Secure {
                        codec: Box::new(codec),
                        ca: None,
                    },
                    Response::new(data, StatusWord::Success),
                )
            }
        }
    }

    fn ca_step(
        &mut self,
        codec: Box<SmCodec>,
        protocol: CaProtocol,
        object: &dyn Fn(u32) -> Option<Vec<u8>>,
    ) -> (Session, Response) {
        let keep = |codec| {
            (
                Session::Secure { codec, ca: None },
                Response::status(StatusWord::IncorrectData),
            )
        };
        let (Some(terminal_key), Some((curve, secret))) =
            (object(0x80), self.contents.chip_authentication_key.as_ref())
        else {
            return keep(codec);
        };
        let Ok(shared) = curve.mul(secret, &terminal_key) else {
            return keep(codec);
        };
        let suite: CipherSuite = protocol.cipher.into();
        let k = x_coordinate(&shared);
        let keys = SessionKeys {
            suite,
            enc: kdf(suite, k, KeyPurpose::Encryption),
            mac: kdf(suite, k, KeyPurpose::Mac),
        };
        let Ok(new_codec) = SmCodec::new(&keys, &vec![0; suite.block_size()]) else {
            return keep(codec);
        };
        // The answer goes out under the old keys; the new session starts after it.
        self.pending_rekey = Some(new_codec);
        (
            Session::Secure { codec, ca: None },
            Response::new(vec![0x7C, 0x00], StatusWord::Success),
        )
    }
}

/// An ISO/IEC 9796-2 scheme 1 signature with partial recovery (ICAO 9303-11 §6.1.2):
/// the representative `6A ‖ M1 ‖ SHA-1(M1 ‖ challenge) ‖ BC` with a random M1, raised to
/// the private exponent.
fn iso9796_2_sign(
    key: &rsa::RsaPrivateKey,
    challenge: &[u8],
    rng: &mut dyn RandomSource,
) -> Option<Vec<u8>> {
    use rsa::traits::PublicKeyParts;
    let size = key.size();
    let mut m1 = vec![0u8; size.checked_sub(22)?];
    rng.fill(&mut m1).ok()?;
    let hash = HashAlgorithm::Sha1.digest(&[m1.as_slice(), challenge].concat());
    let representative = [&[0x6A][..], &m1, &hash, &[0xBC]].concat();
    let precision = key.n().as_ref().bits_precision();
    let m = rsa::BoxedUint::from_be_slice(&representative, precision).ok()?;
    let s = rsa::hazmat::rsa_decrypt::<rsa::rand_core::UnwrapErr<getrandom::SysRng>>(None, key, &m)
        .ok()?;
    let bytes = s.to_be_bytes();
    let start = bytes.len().checked_sub(size)?;
    bytes.get(start..).map(<[u8]>::to_vec)
}

impl CardHandler for EmrtdCard {
    fn atr(&self) -> Vec<u8> {
        let mut atr = ATR.to_vec();
        atr.push(self.atr_id);
        let tck = atr.iter().skip(1).fold(0u8, |acc, b| acc ^ b);
        atr.push(tck);
        atr
    }

    fn reset(&mut self) {
        self.session = Session::Plain;
        self.application_selected = false;
        self.current_file = None;
        self.pending_rekey = None;
        self.challenge = None;
    }

    fn process(&mut self, bytes: &[u8]) -> Vec<u8> {
        let Ok(command) = Command::parse(bytes) else {
            return Response::status(StatusWord::WrongLength).to_bytes();
        };
        if command.cla & 0x0C != 0x0C {
            // A plain command ends any secure messaging session (ICAO 9303-11 §9.8.1).
            if self.is_secure() {
                self.session = Session::Plain;
            }
            let response = self.answer(&command);
            if let Some(codec) = self.pending_rekey.take() {
                self.session = Session::Secure {
                    codec: Box::new(codec),
                    ca: None,
                };
            }
            return response.to_bytes();
        }
        let plain = match &mut self.session {
            Session::Secure { codec, .. } => codec.unprotect_command(&command),
            _ => return Response::status(StatusWord::SmDataObjectsMissing).to_bytes(),
        };
        let Ok(plain) = plain else {
            // A wrong MAC or malformed SM objects: the session keys are gone.
            self.session = Session::Plain;
            return Response::status(StatusWord::SmDataObjectsIncorrect).to_bytes();
        };
        let response = self.answer(&plain);
        let protected = match &mut self.session {
            Session::Secure { codec, .. } => codec.protect_response(&response, plain.ins & 1 == 1),
            _ => response,
        };
        if let Some(codec) = self.pending_rekey.take() {
            self.session = Session::Secure {
                codec: Box::new(codec),
                ca: None,
            };
        }
        protected.to_bytes()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::EXTENDED
    }
}
