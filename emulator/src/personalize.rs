//! Personalisation: a profile (identity, CAN, protocols, face) and a test PKI become a
//! card — EF.CardAccess, EF.CardSecurity, EF.DIR, EF.COM, DG1 (MRZ with check digits),
//! DG2 (ISO/IEC 19794-5 face), DG11, DG14, DG15, and EF.SOD signed by the document
//! signer — with fresh Chip and Active Authentication keys.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sesame_apdu::tlv::{self, Tag, TlvBuilder};
use sesame_protocol::ec::Curve;
use sesame_protocol::lds::check_digit;
use sesame_protocol::pa::HashAlgorithm;
use sesame_protocol::random::RandomSource;
use zeroize::Zeroizing;

pub use crate::pki::curve_named;
use crate::pki::{ID_SECURITY_OBJECT, PkiError, TestPki};
use crate::{ActiveAuthenticationKey, CardContents};

/// A card profile (`emulator/profiles/*.toml`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The Card Access Number.
    pub can: String,
    /// A JPEG or JPEG 2000 face image, relative to the profile.
    pub face: Option<PathBuf>,
    /// Who the document is for.
    pub identity: Identity,
    /// What the chip speaks.
    #[serde(default)]
    pub protocols: Protocols,
}

/// The identity printed and stored on the document.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// "ID" (TD1 card) or "P" (TD3 passport).
    pub document_code: String,
    /// The issuing state, ICAO three-letter code.
    pub issuing_state: String,
    /// The document number (up to 9 characters).
    pub document_number: String,
    /// Family name, with its accents (the MRZ gets an ASCII transliteration).
    pub family_name: String,
    /// Given names, space-separated.
    pub given_names: String,
    /// YYYY-MM-DD.
    pub birth_date: String,
    /// F, M or X.
    pub sex: String,
    /// Nationality, ICAO three-letter code.
    pub nationality: String,
    /// YYYY-MM-DD.
    pub expiry_date: String,
    /// Place of birth (DG11).
    pub place_of_birth: Option<String>,
}

/// The chip's protocols.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Protocols {
    /// PACE ECDH GM and IM with AES-256 (EF.CardAccess).
    pub pace: bool,
    /// BAC with the MRZ.
    pub bac: bool,
    /// Chip Authentication (DG14).
    pub chip_authentication: bool,
    /// Active Authentication (DG15).
    pub active_authentication: bool,
    /// Its algorithm: "ecdsa" (plain signatures, SHA-256) or "rsa" (RSA-1024, ISO/IEC
    /// 9796-2, as classic passports).
    pub active_authentication_algorithm: String,
    /// The curve of PACE, CA and AA keys.
    pub curve: String,
}

impl Default for Protocols {
    fn default() -> Self {
        Self {
            pace: true,
            bac: false,
            chip_authentication: true,
            active_authentication: false,
            active_authentication_algorithm: "ecdsa".into(),
            curve: "brainpoolP256r1".into(),
        }
    }
}

/// Why a card could not be personalised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersonalizeError {
    /// The profile is not valid TOML or misses a field.
    #[error("the profile is invalid: {0}")]
    Profile(String),
    /// A field's value is out of range.
    #[error("the profile's {field} is invalid: {reason}")]
    Field {
        /// Which field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Signing or key generation failed.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

fn field(field: &'static str, reason: impl Into<String>) -> PersonalizeError {
    PersonalizeError::Field {
        field,
        reason: reason.into(),
    }
}

impl Profile {
    /// Reads a profile; the face image path is resolved next to it.
    ///
    /// # Errors
    /// When the file cannot be read or is not a valid profile.
    pub fn load(path: &Path) -> Result<Self, PersonalizeError> {
        let text = std::fs::read_to_string(path).map_err(|source| PersonalizeError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut profile: Self =
            toml::from_str(&text).map_err(|e| PersonalizeError::Profile(e.to_string()))?;
        if let (Some(face), Some(dir)) = (&profile.face, path.parent()) {
            profile.face = Some(dir.join(face));
        }
        Ok(profile)
    }
}

/// The MRZ transliteration of a name (ICAO 9303-3 §6): upper case, Latin letters without
/// diacritics, anything else a filler.
#[must_use]
pub fn transliterate(name: &str) -> String {
    name.chars()
        .map(|c| match c.to_uppercase().next().unwrap_or(c) {
            'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
            'Ç' => 'C',
            'È' | 'É' | 'Ê' | 'Ë' => 'E',
            'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
            'Ñ' => 'N',
            'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'O',
            'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
            'Ý' | 'Ÿ' => 'Y',
            c @ ('A'..='Z' | '0'..='9') => c,
            _ => '<',
        })
        .collect()
}

/// YYYY-MM-DD as the MRZ's YYMMDD.
fn mrz_date(date: &str, name: &'static str) -> Result<String, PersonalizeError> {
    let bytes = date.as_bytes();
    let well_formed = bytes.len() == 10
        && bytes.get(4) == Some(&b'-')
        && bytes.get(7) == Some(&b'-')
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !well_formed {
        return Err(field(name, "expected YYYY-MM-DD"));
    }
    let digits: String = date.chars().filter(char::is_ascii_digit).collect();
    digits
        .get(2..8)
        .map(str::to_owned)
        .ok_or_else(|| field(name, "expected YYYY-MM-DD"))
}

fn pad(text: &str, len: usize) -> String {
    let mut out: String = text.chars().take(len).collect();
    while out.chars().count() < len {
        out.push('<');
    }
    out
}

fn digit(text: &str) -> Result<char, PersonalizeError> {
    check_digit(text)
        .and_then(|d| char::from_digit(u32::from(d), 10))
        .ok_or_else(|| field("identity", "a character the MRZ cannot hold"))
}

/// The MRZ of the identity: TD1 (three lines of 30) for ID cards, TD3 (two lines of 44)
/// for passports, every check digit computed (ICAO 9303-3 §4.9).
///
/// # Errors
/// When a field does not fit the MRZ.
pub fn mrz(identity: &Identity) -> Result<String, PersonalizeError> {
    let number = pad(&transliterate(&identity.document_number), 9);
    let birth = mrz_date(&identity.birth_date, "birth_date")?;
    let expiry = mrz_date(&identity.expiry_date, "expiry_date")?;
    let sex = match identity.sex.as_str() {
        "F" | "M" => identity.sex.clone(),
        _ => "<".to_owned(),
    };
    let state = pad(&transliterate(&identity.issuing_state), 3);
    let nationality = pad(&transliterate(&identity.nationality), 3);
    let names = format!(
        "{}<<{}",
        transliterate(&identity.family_name),
        transliterate(&identity.given_names)
    );
    let code = pad(&transliterate(&identity.document_code), 2);
    let (n_cd, b_cd, e_cd) = (digit(&number)?, digit(&birth)?, digit(&expiry)?);
    if code.starts_with('P') {
        let line1 = format!("{code}{state}{}", pad(&names, 39));
        let personal = pad("", 14);
        let partial =
            format!("{number}{n_cd}{nationality}{birth}{b_cd}{sex}{expiry}{e_cd}{personal}<");
        let composite_input = format!("{number}{n_cd}{birth}{b_cd}{expiry}{e_cd}{personal}<");
        Ok(format!("{line1}{partial}{}", digit(&composite_input)?))
    } else {
        let line1 = format!("{code}{state}{number}{n_cd}{}", pad("", 15));
        let optional2 = pad("", 11);
        let line2_start = format!("{birth}{b_cd}{sex}{expiry}{e_cd}{nationality}{optional2}");
        let composite_input = format!(
            "{}{birth}{b_cd}{expiry}{e_cd}{optional2}",
            line1.get(5..).unwrap_or_default()
        );
        let line3 = pad(&names, 30);
        Ok(format!(
            "{line1}{line2_start}{}{line3}",
            digit(&composite_input)?
        ))
    }
}

/// A personalised card: its contents, ready to serve or save.
#[derive(Debug)]
pub struct Personalized {
    /// Files and secrets.
    pub contents: CardContents,
}

/// Personalises a card from `profile`, signing with `pki`.
///
/// # Errors
/// When the profile is out of range or signing fails.
pub fn personalize(
    profile: &Profile,
    pki: &TestPki,
    rng: &mut dyn RandomSource,
) -> Result<Personalized, PersonalizeError> {
    let protocols = &profile.protocols;
    let curve =
        curve_named(&protocols.curve).ok_or_else(|| field("protocols.curve", "unknown curve"))?;
    if profile.can.len() != 6 || !profile.can.chars().all(|c| c.is_ascii_digit()) {
        return Err(field("can", "six digits expected"));
    }
    let mrz = mrz(&profile.identity)?;
    let mrz_information = {
        let parsed =
            sesame_protocol::lds::Mrz::parse(&mrz).map_err(|e| field("identity", e.to_string()))?;
        parsed.key_seed_input()
    };

    let mut files = BTreeMap::new();
    let dg1 = TlvBuilder::new()
        .constructed(Tag::new(0x61), |b| {
            b.primitive(Tag::new(0x5F1F), mrz.as_bytes())
        })
        .finish();
    files.insert(0x01u8, dg1);

    if let Some(face) = &profile.face {
        let image = std::fs::read(face).map_err(|source| PersonalizeError::Io {
            path: face.display().to_string(),
            source,
        })?;
        files.insert(
            0x02,
            dg2(&image)
                .ok_or_else(|| field("face", "not a JPEG or JPEG 2000 image we can size"))?,
        );
    }

    let identity = &profile.identity;
    let full_name = format!(
        "{}<<{}",
        identity.family_name.to_uppercase(),
        identity.given_names.to_uppercase().replace(' ', "<")
    );
    let birth: String = identity
        .birth_date
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let mut tag_list = vec![0x5F, 0x0E, 0x5F, 0x2B];
    let mut dg11_body = TlvBuilder::new()
        .primitive(Tag::new(0x5F0E), full_name.as_bytes())
        .primitive(Tag::new(0x5F2B), birth.as_bytes());
    if let Some(place) = &identity.place_of_birth {
        tag_list.extend_from_slice(&[0x5F, 0x11]);
        dg11_body = dg11_body.primitive(Tag::new(0x5F11), place.as_bytes());
    }
    let dg11 = TlvBuilder::new()
        .constructed(Tag::new(0x6B), |b| {
            b.primitive(Tag::new(0x5C), &tag_list)
                .raw(&dg11_body.finish())
        })
        .finish();
    files.insert(0x0B, dg11);

    // Security infos: PACE (EF.CardAccess), CA and AA (DG14).
    let mut pace_infos = Vec::new();
    let parameter_id = u8::try_from(curve.standardized_id()).unwrap_or(13);
    if protocols.pace {
        for mapping_arc in [2u8, 4] {
            // id-PACE-ECDH-GM/IM-AES-CBC-CMAC-256, version 2, parameterId.
            let oid = [
                0x04,
                0x00,
                0x7F,
                0x00,
                0x07,
                0x02,
                0x02,
                0x04,
                mapping_arc,
                0x04,
            ];
            pace_infos.push(sequence(&[
                &tlv_of(0x06, &oid),
                &[0x02, 0x01, 0x02],
                &[0x02, 0x01, parameter_id],
            ]));
        }
    }
    let mut ca_infos = Vec::new();
    let mut chip_authentication_key = None;
    if protocols.chip_authentication {
        let secret = curve.random_scalar(rng).map_err(|_| PkiError::Key)?;
        let public = curve.mul_base(&secret, None).map_err(|_| PkiError::Key)?;
        // ChipAuthenticationInfo id-CA-ECDH-AES-CBC-CMAC-256 v1 keyId 1.
        ca_infos.push(sequence(&[
            &tlv_of(
                0x06,
                &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x04],
            ),
            &[0x02, 0x01, 0x01],
            &[0x02, 0x01, 0x01],
        ]));
        // ChipAuthenticationPublicKeyInfo id-PK-ECDH, SubjectPublicKeyInfo, keyId 1.
        ca_infos.push(sequence(&[
            &tlv_of(
                0x06,
                &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x01, 0x02],
            ),
            &spki(curve, &public),
            &[0x02, 0x01, 0x01],
        ]));
        chip_authentication_key = Some((curve, secret));
    }
    let mut active_authentication_key = None;
    if protocols.active_authentication && protocols.active_authentication_algorithm == "rsa" {
        use rsa::pkcs8::EncodePublicKey;
        let mut system = rsa::rand_core::UnwrapErr(getrandom::SysRng);
        let key = rsa::RsaPrivateKey::new(&mut system, 1024).map_err(|_| PkiError::Key)?;
        let spki = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|_| PkiError::Key)?;
        files.insert(
            0x0F,
            TlvBuilder::new()
                .primitive(Tag::new(0x6F), spki.as_bytes())
                .finish(),
        );
        active_authentication_key = Some(ActiveAuthenticationKey::Rsa(Box::new(key)));
    } else if protocols.active_authentication {
        let secret = curve.random_scalar(rng).map_err(|_| PkiError::Key)?;
        let public = curve.mul_base(&secret, None).map_err(|_| PkiError::Key)?;
        // ActiveAuthenticationInfo v1 ecdsa-plain-SHA256.
        ca_infos.push(sequence(&[
            &tlv_of(0x06, &[0x67, 0x81, 0x08, 0x01, 0x01, 0x05]),
            &[0x02, 0x01, 0x01],
            &tlv_of(
                0x06,
                &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01, 0x03],
            ),
        ]));
        files.insert(
            0x0F,
            TlvBuilder::new()
                .primitive(Tag::new(0x6F), &spki(curve, &public))
                .finish(),
        );
        active_authentication_key = Some(ActiveAuthenticationKey::Ecdsa {
            curve,
            secret,
            hash: HashAlgorithm::Sha256,
        });
    }
    if !ca_infos.is_empty() {
        let set = tlv_of(0x31, &ca_infos.concat());
        files.insert(
            0x0E,
            TlvBuilder::new().primitive(Tag::new(0x6E), &set).finish(),
        );
    }

    // EF.COM lists the data groups present.
    let dg_tags: Vec<u8> = files
        .keys()
        .filter_map(|n| sesame_protocol::lds::DataGroup::from_number(*n).map(|g| g.tag()))
        .collect();
    let com = TlvBuilder::new()
        .constructed(Tag::new(0x60), |b| {
            b.primitive(Tag::new(0x5F01), b"0108")
                .primitive(Tag::new(0x5F36), b"040000")
                .primitive(Tag::new(0x5C), &dg_tags)
        })
        .finish();

    let signed: Vec<(u8, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let sod = pki.sod(&signed)?;
    files.insert(0x1E, com);
    files.insert(0x1D, sod);

    let card_access = (!pace_infos.is_empty()).then(|| tlv_of(0x31, &pace_infos.concat()));
    let card_security = match &card_access {
        Some(_) => Some(pki.sign(
            ID_SECURITY_OBJECT,
            &tlv_of(0x31, &[pace_infos.concat(), ca_infos.concat()].concat()),
        )?),
        None => None,
    };
    Ok(Personalized {
        contents: CardContents {
            card_access,
            card_security,
            dir: Some(vec![
                0x61, 0x09, 0x4F, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01,
            ]),
            files,
            can: Zeroizing::new(profile.can.clone()),
            mrz_information: protocols
                .bac
                .then(|| Zeroizing::new(mrz_information.to_string())),
            chip_authentication_key,
            active_authentication_key,
        },
    })
}

fn tlv_of(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    tlv::write(&mut out, Tag::new(tag), value);
    out
}

fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv_of(0x30, &parts.concat())
}

/// An EC SubjectPublicKeyInfo with a named curve.
fn spki(curve: Curve, point: &[u8]) -> Vec<u8> {
    use der::Encode;
    let curve_oid = curve.oid().to_der().unwrap_or_default();
    let algorithm = sequence(&[
        &tlv_of(0x06, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]),
        &curve_oid,
    ]);
    let mut bits = vec![0x00];
    bits.extend_from_slice(point);
    sequence(&[&algorithm, &tlv_of(0x03, &bits)])
}

/// DG2 around one face (ISO/IEC 19794-5 facial record in CBEFF, ICAO 9303-10 §4.7.2).
fn dg2(image: &[u8]) -> Option<Vec<u8>> {
    let (kind, width, height) = image_size(image)?;
    let mut facial = Vec::new();
    let facial_len = u32::try_from(20 + 12 + image.len()).ok()?;
    facial.extend_from_slice(&facial_len.to_be_bytes());
    facial.extend_from_slice(&[0, 0]); // feature points
    facial.extend_from_slice(&[0, 0, 0]); // gender, eye colour, hair colour: unspecified
    facial.extend_from_slice(&[0, 0, 0]); // property mask
    facial.extend_from_slice(&[0, 0]); // expression
    facial.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // pose angles and uncertainty
    facial.push(1); // full frontal
    facial.push(kind);
    facial.extend_from_slice(&width.to_be_bytes());
    facial.extend_from_slice(&height.to_be_bytes());
    facial.extend_from_slice(&[1, 2, 0, 0, 0, 0]); // colour space, source, device, quality
    facial.extend_from_slice(image);
    let mut record = b"FAC\x00010\x00".to_vec();
    record.extend_from_slice(&u32::try_from(14 + facial.len()).ok()?.to_be_bytes());
    record.extend_from_slice(&[0, 1]);
    record.extend_from_slice(&facial);
    Some(
        TlvBuilder::new()
            .constructed(Tag::new(0x75), |b| {
                b.constructed(Tag::new(0x7F61), |b| {
                    b.primitive(Tag::new(0x02), &[1])
                        .constructed(Tag::new(0x7F60), |b| {
                            b.constructed(Tag::new(0xA1), |b| {
                                b.primitive(Tag::new(0x80), &[1, 1])
                                    .primitive(Tag::new(0x87), &[1, 1])
                                    .primitive(Tag::new(0x88), &[0, 8])
                            })
                            .primitive(Tag::new(0x5F2E), &record)
                        })
                })
            })
            .finish(),
    )
}

/// The image type (0 JPEG, 1 JPEG 2000) and size, from the JPEG SOF marker or the JPEG
/// 2000 image header box (`ihdr`) / codestream SIZ marker.
fn image_size(image: &[u8]) -> Option<(u8, u16, u16)> {
    let be16 = |i: usize| Some(u16::from_be_bytes([*image.get(i)?, *image.get(i + 1)?]));
    let be32 = |i: usize| {
        Some(u32::from_be_bytes([
            *image.get(i)?,
            *image.get(i + 1)?,
            *image.get(i + 2)?,
            *image.get(i + 3)?,
        ]))
    };
    if image.starts_with(&[0xFF, 0xD8]) {
        let mut i = 2;
        while i + 9 < image.len() {
            if image.get(i) != Some(&0xFF) {
                return None;
            }
            let marker = *image.get(i + 1)?;
            let len = usize::from(be16(i + 2)?);
            if matches!(marker, 0xC0..=0xC3) {
                return Some((0, be16(i + 7)?, be16(i + 5)?));
            }
            i += 2 + len;
        }
        return None;
    }
    if let Some(pos) = image.windows(4).position(|w| w == b"ihdr") {
        let height = u16::try_from(be32(pos + 4)?).ok()?;
        let width = u16::try_from(be32(pos + 8)?).ok()?;
        return Some((1, width, height));
    }
    if image.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        let width = u16::try_from(be32(8)?).ok()?;
        let height = u16::try_from(be32(12)?).ok()?;
        return Some((1, width, height));
    }
    None
}
