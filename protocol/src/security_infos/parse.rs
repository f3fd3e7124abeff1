//! The DER decoding of SecurityInfos with the `der` crate, one hand-written decoder per
//! ASN.1 type so that every error names its structure, field and byte position.

use der::asn1::{BitStringRef, ObjectIdentifier, OctetStringRef, UintRef};
use der::{Decode, FixedTag, Header, Length, Reader, SliceReader, Tag, TagNumber};

use super::algorithm::{
    AlgorithmIdentifier, ChipPublicKey, DomainParameters, ExplicitEcParameters,
};
use super::{
    ActiveAuthenticationInfo, CaProtocol, ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo,
    KeyAgreement, PaceDomainParameterInfo, PaceDomainProtocol, PaceInfo, PaceProtocol,
    SecurityInfo, SecurityInfoError, TerminalAuthenticationInfo, oid,
};

type Result<T> = core::result::Result<T, SecurityInfoError>;

/// DG14's tag, application 14 constructed (`6E`, ICAO 9303-10 §4.7.14).
const DG14_TAG: Tag = Tag::Application {
    constructed: true,
    number: TagNumber(14),
};

/// A length as a byte count (lengths are at most `u32::MAX`, which fits every `usize`
/// this crate builds for; saturate rather than fail on others).
fn to_usize(length: Length) -> usize {
    usize::try_from(length).unwrap_or(usize::MAX)
}

/// The absolute position of a `der` error inside input that starts at absolute byte
/// `base`; `fallback` (absolute) when the error does not say.
fn error_position(base: usize, fallback: usize, error: der::Error) -> usize {
    error
        .position()
        .map_or(fallback, |position| base.saturating_add(to_usize(position)))
}

/// A `der` error inside input that starts at absolute byte `base`.
fn der_error(base: usize, error: der::Error) -> SecurityInfoError {
    der_error_at(base, base, error)
}

/// A `der` error inside input that starts at absolute byte `base`, about the TLV at
/// absolute `fallback` when the error does not tell its position.
fn der_error_at(base: usize, fallback: usize, error: der::Error) -> SecurityInfoError {
    SecurityInfoError::Der {
        position: error_position(base, fallback, error),
        kind: error.kind(),
    }
}

/// Reads one TLV with the given tag from the start of `bytes` (at absolute `base`) and
/// returns its value and the absolute position of the value; nothing may follow it.
fn single_tlv<'a>(
    bytes: &'a [u8],
    base: usize,
    structure: &'static str,
    check_tag: impl FnOnce(Tag) -> Result<()>,
) -> Result<(&'a [u8], usize)> {
    let mut reader = SliceReader::new(bytes).map_err(|error| der_error(base, error))?;
    let header = Header::decode(&mut reader).map_err(|error| der_error(base, error))?;
    check_tag(header.tag())?;
    let value_position = base.saturating_add(to_usize(reader.position()));
    let value = reader
        .read_slice(header.length())
        .map_err(|error| der_error(base, error))?;
    if !reader.is_finished() {
        return Err(SecurityInfoError::TrailingData {
            structure,
            position: base.saturating_add(to_usize(reader.position())),
            remaining: to_usize(reader.remaining_len()),
        });
    }
    Ok((value, value_position))
}

/// `SecurityInfos ::= SET OF SecurityInfo`, at absolute position `base`.
pub(super) fn security_infos(bytes: &[u8], base: usize) -> Result<Vec<SecurityInfo>> {
    let (content, content_base) = single_tlv(bytes, base, "SecurityInfos", |tag| {
        if tag == Tag::Set {
            Ok(())
        } else {
            Err(SecurityInfoError::NotASet {
                position: base,
                found: tag,
            })
        }
    })?;
    let mut reader = SliceReader::new(content).map_err(|error| der_error(content_base, error))?;
    let mut infos = Vec::new();
    while !reader.is_finished() {
        let position = content_base.saturating_add(to_usize(reader.position()));
        let header =
            Header::peek(&reader).map_err(|error| der_error_at(content_base, position, error))?;
        if header.tag() != Tag::Sequence {
            return Err(SecurityInfoError::NotASequence {
                position,
                found: header.tag(),
            });
        }
        let tlv = reader
            .tlv_bytes()
            .map_err(|error| der_error_at(content_base, position, error))?;
        infos.push(security_info(tlv, position));
    }
    Ok(infos)
}

/// DG14: `6E` around the SecurityInfos.
pub(super) fn dg14(bytes: &[u8]) -> Result<Vec<SecurityInfo>> {
    let (content, content_base) = single_tlv(bytes, 0, "DG14", |tag| {
        if tag == DG14_TAG {
            Ok(())
        } else {
            Err(SecurityInfoError::NotDg14 {
                position: 0,
                found: tag,
            })
        }
    })?;
    security_infos(content, content_base)
}

/// One SecurityInfo, given as the TLV of a SEQUENCE at absolute `position`. Never fails:
/// what does not parse is kept as [`SecurityInfo::Unknown`] or [`SecurityInfo::Malformed`].
fn security_info(tlv: &[u8], position: usize) -> SecurityInfo {
    let malformed = |oid, reason| SecurityInfo::Malformed {
        oid,
        der: tlv.to_vec(),
        reason,
    };
    let mut fields = match Fields::sequence(tlv, position, "SecurityInfo") {
        Ok(fields) => fields,
        Err(reason) => return malformed(None, reason),
    };
    let protocol: ObjectIdentifier = match fields.decode("protocol") {
        Ok(protocol) => protocol,
        Err(reason) => return malformed(None, reason),
    };
    let parsed = if let Some(pace) = PaceProtocol::from_oid(&protocol) {
        pace_info(fields, pace).map(SecurityInfo::Pace)
    } else if let Some(domain) = PaceDomainProtocol::from_oid(&protocol) {
        pace_domain_parameter_info(fields, domain).map(SecurityInfo::PaceDomainParameters)
    } else if let Some(ca) = CaProtocol::from_oid(&protocol) {
        chip_authentication_info(fields, ca).map(SecurityInfo::ChipAuthentication)
    } else if protocol == oid::ID_PK_DH {
        chip_authentication_public_key_info(fields, KeyAgreement::Dh)
            .map(SecurityInfo::ChipAuthenticationPublicKey)
    } else if protocol == oid::ID_PK_ECDH {
        chip_authentication_public_key_info(fields, KeyAgreement::Ecdh)
            .map(SecurityInfo::ChipAuthenticationPublicKey)
    } else if protocol == oid::ID_TA {
        terminal_authentication_info(fields).map(SecurityInfo::TerminalAuthentication)
    } else if protocol == oid::ID_AA {
        active_authentication_info(fields).map(SecurityInfo::ActiveAuthentication)
    } else {
        return SecurityInfo::Unknown {
            oid: protocol,
            der: tlv.to_vec(),
        };
    };
    parsed.unwrap_or_else(|reason| malformed(Some(protocol), reason))
}

/// The rest of a PACEInfo (ICAO 9303-11 §9.2; TR-03110-3 A.1.1.1).
fn pace_info(mut fields: Fields<'_>, protocol: PaceProtocol) -> Result<PaceInfo> {
    fields.structure = "PACEInfo";
    let version = fields.decode("version")?;
    let parameter_id = fields.optional("parameterId")?;
    fields.finish()?;
    Ok(PaceInfo {
        protocol,
        version,
        parameter_id,
    })
}

/// The rest of a PACEDomainParameterInfo (ICAO 9303-11 §9.2; TR-03110-3 A.1.1.1).
fn pace_domain_parameter_info(
    mut fields: Fields<'_>,
    protocol: PaceDomainProtocol,
) -> Result<PaceDomainParameterInfo> {
    fields.structure = "PACEDomainParameterInfo";
    let (tlv, position) = fields.sequence_tlv("domainParameter")?;
    let domain_parameter = algorithm_identifier(tlv, position)?;
    let parameter_id = fields.optional("parameterId")?;
    fields.finish()?;
    Ok(PaceDomainParameterInfo {
        protocol,
        domain_parameter,
        parameter_id,
    })
}

/// The rest of a ChipAuthenticationInfo (TR-03110-3 A.1.1.2).
fn chip_authentication_info(
    mut fields: Fields<'_>,
    protocol: CaProtocol,
) -> Result<ChipAuthenticationInfo> {
    fields.structure = "ChipAuthenticationInfo";
    let version = fields.decode("version")?;
    let key_id = fields.optional("keyId")?;
    fields.finish()?;
    Ok(ChipAuthenticationInfo {
        protocol,
        version,
        key_id,
    })
}

/// The rest of a ChipAuthenticationPublicKeyInfo (TR-03110-3 A.1.1.2).
fn chip_authentication_public_key_info(
    mut fields: Fields<'_>,
    key_agreement: KeyAgreement,
) -> Result<ChipAuthenticationPublicKeyInfo> {
    fields.structure = "ChipAuthenticationPublicKeyInfo";
    let (tlv, position) = fields.sequence_tlv("chipAuthenticationPublicKey")?;
    let public_key = subject_public_key_info(tlv, position, key_agreement)?;
    let key_id = fields.optional("keyId")?;
    fields.finish()?;
    Ok(ChipAuthenticationPublicKeyInfo {
        key_agreement,
        public_key,
        key_id,
    })
}

/// The rest of a TerminalAuthenticationInfo (TR-03110-3 A.1.1.3).
fn terminal_authentication_info(mut fields: Fields<'_>) -> Result<TerminalAuthenticationInfo> {
    fields.structure = "TerminalAuthenticationInfo";
    let version = fields.decode("version")?;
    let ef_cvca = if fields.is_finished() {
        None
    } else {
        Some(fields.sequence_tlv("efCVCA")?.0.to_vec())
    };
    fields.finish()?;
    Ok(TerminalAuthenticationInfo { version, ef_cvca })
}

/// The rest of an ActiveAuthenticationInfo (ICAO 9303-11 §9.2).
fn active_authentication_info(mut fields: Fields<'_>) -> Result<ActiveAuthenticationInfo> {
    fields.structure = "ActiveAuthenticationInfo";
    let version = fields.decode("version")?;
    let signature_algorithm = fields.decode("signatureAlgorithm")?;
    fields.finish()?;
    Ok(ActiveAuthenticationInfo {
        version,
        signature_algorithm,
    })
}

/// An AlgorithmIdentifier (RFC 5280 §4.1.1.2) of domain parameters, the TLV at `position`.
fn algorithm_identifier(tlv: &[u8], position: usize) -> Result<AlgorithmIdentifier> {
    let mut fields = Fields::sequence(tlv, position, "AlgorithmIdentifier")?;
    let algorithm: ObjectIdentifier = fields.decode("algorithm")?;
    let parameters = if fields.is_finished() {
        None
    } else {
        Some(fields.any_tlv("parameters")?)
    };
    fields.finish()?;
    let domain = match parameters {
        Some((parameters, at)) if algorithm == oid::ID_EC_PUBLIC_KEY => {
            ec_domain_parameters(parameters, at)?
        }
        Some((parameters, at)) if algorithm == oid::STANDARDIZED_DOMAIN_PARAMETERS => {
            let id = decode_whole::<u32>(parameters, at, "AlgorithmIdentifier", "parameters")?;
            DomainParameters::Standardized(id)
        }
        _ => DomainParameters::Other,
    };
    Ok(AlgorithmIdentifier {
        algorithm,
        parameters: parameters.map(|(parameters, _)| parameters.to_vec()),
        der: tlv.to_vec(),
        domain,
    })
}

/// The parameters of `id-ecPublicKey` (RFC 5480 §2.1.1; TR-03111 §4.1.1): a named curve,
/// explicit parameters, or NULL.
fn ec_domain_parameters(tlv: &[u8], position: usize) -> Result<DomainParameters> {
    let reader = SliceReader::new(tlv).map_err(|error| der_error(position, error))?;
    let tag = Tag::peek(&reader).map_err(|error| der_error(position, error))?;
    match tag {
        Tag::ObjectIdentifier => {
            let named =
                decode_whole::<ObjectIdentifier>(tlv, position, "ECParameters", "namedCurve")?;
            Ok(DomainParameters::NamedCurve(named))
        }
        Tag::Null => {
            decode_whole::<der::asn1::Null>(tlv, position, "ECParameters", "implicitlyCA")?;
            Ok(DomainParameters::ImplicitlyCa)
        }
        Tag::Sequence => explicit_ec_parameters(tlv, position).map(DomainParameters::ExplicitCurve),
        actual => Err(SecurityInfoError::InvalidField {
            structure: "AlgorithmIdentifier",
            field: "parameters",
            position,
            kind: der::ErrorKind::TagUnexpected {
                expected: Some(Tag::Sequence),
                actual,
            },
        }),
    }
}

/// Explicit prime-field `ECParameters` (TR-03111 §4.1.1), the TLV at `position`.
fn explicit_ec_parameters(tlv: &[u8], position: usize) -> Result<ExplicitEcParameters> {
    let mut fields = Fields::sequence(tlv, position, "ECParameters")?;
    let version_at = fields.position();
    let version: u32 = fields.decode("version")?;
    if version != 1 {
        return Err(SecurityInfoError::UnsupportedEcParameters {
            position: version_at,
            reason: "the version is not ecpVer1 (1)",
        });
    }

    let (field_id, field_id_at) = fields.sequence_tlv("fieldID")?;
    let mut field = Fields::sequence(field_id, field_id_at, "FieldID")?;
    let field_type: ObjectIdentifier = field.decode("fieldType")?;
    if field_type != oid::PRIME_FIELD {
        return Err(SecurityInfoError::UnsupportedEcParameters {
            position: field_id_at,
            reason: "the field is not a prime field",
        });
    }
    let prime: UintRef<'_> = field.decode("prime")?;
    field.finish()?;

    let (curve_tlv, curve_at) = fields.sequence_tlv("curve")?;
    let mut curve = Fields::sequence(curve_tlv, curve_at, "Curve")?;
    let a: &OctetStringRef = curve.decode("a")?;
    let b: &OctetStringRef = curve.decode("b")?;
    let _seed: Option<BitStringRef<'_>> = curve.optional("seed")?;
    curve.finish()?;

    let generator: &OctetStringRef = fields.decode("base")?;
    let order: UintRef<'_> = fields.decode("order")?;
    let cofactor: Option<UintRef<'_>> = fields.optional("cofactor")?;
    fields.finish()?;

    Ok(ExplicitEcParameters {
        prime: prime.as_bytes().to_vec(),
        a: a.as_bytes().to_vec(),
        b: b.as_bytes().to_vec(),
        generator: generator.as_bytes().to_vec(),
        order: order.as_bytes().to_vec(),
        cofactor: cofactor.map(|cofactor| cofactor.as_bytes().to_vec()),
    })
}

/// A SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) for Chip Authentication, the TLV at
/// `position`. An EC key on a supported curve must be a valid point of it.
fn subject_public_key_info(
    tlv: &[u8],
    position: usize,
    key_agreement: KeyAgreement,
) -> Result<ChipPublicKey> {
    let mut fields = Fields::sequence(tlv, position, "SubjectPublicKeyInfo")?;
    let (algorithm_tlv, algorithm_at) = fields.sequence_tlv("algorithm")?;
    let algorithm = algorithm_identifier(algorithm_tlv, algorithm_at)?;
    let bits: BitStringRef<'_> = fields.decode("subjectPublicKey")?;
    fields.finish()?;

    let point = bits
        .as_bytes()
        .ok_or(SecurityInfoError::InvalidPublicKey {
            position,
            reason: "the subjectPublicKey BIT STRING is not a whole number of bytes",
        })?
        .to_vec();
    let is_ec = algorithm.algorithm == oid::ID_EC_PUBLIC_KEY;
    if key_agreement == KeyAgreement::Ecdh && !is_ec {
        return Err(SecurityInfoError::InvalidPublicKey {
            position,
            reason: "an id-PK-ECDH key is not an id-ecPublicKey",
        });
    }
    let curve = if is_ec { algorithm.curve() } else { None };
    if let Some(curve) = curve
        && !curve.is_valid_point(&point)
    {
        return Err(SecurityInfoError::PointNotOnCurve { position, curve });
    }
    Ok(ChipPublicKey {
        algorithm,
        curve,
        point,
        spki_der: tlv.to_vec(),
    })
}

/// A SubjectPublicKeyInfo on its own (a certificate's, DG15's): no key-agreement
/// constraint, the curve identified when the key is EC, the point checked on it.
pub(super) fn public_key(spki: &[u8]) -> Result<ChipPublicKey> {
    subject_public_key_info(spki, 0, KeyAgreement::Dh)
}

/// Decodes a `T` that must fill `tlv`, at absolute `position`.
fn decode_whole<'a, T: Decode<'a, Error = der::Error>>(
    tlv: &'a [u8],
    position: usize,
    structure: &'static str,
    field: &'static str,
) -> Result<T> {
    T::from_der(tlv).map_err(|error| SecurityInfoError::InvalidField {
        structure,
        field,
        position: error_position(position, position, error),
        kind: error.kind(),
    })
}

/// A cursor over the fields of one SEQUENCE, which knows the absolute position of its
/// input and the name of the structure for error messages.
struct Fields<'a> {
    reader: SliceReader<'a>,
    /// The absolute position of the reader's first byte.
    base: usize,
    structure: &'static str,
}

impl<'a> Fields<'a> {
    /// The fields of the SEQUENCE whose whole TLV is `tlv`, at absolute `position`.
    fn sequence(tlv: &'a [u8], position: usize, structure: &'static str) -> Result<Self> {
        let (content, base) = single_tlv(tlv, position, structure, |tag| {
            if tag == Tag::Sequence {
                Ok(())
            } else {
                Err(SecurityInfoError::InvalidField {
                    structure,
                    field: "SEQUENCE",
                    position,
                    kind: der::ErrorKind::TagUnexpected {
                        expected: Some(Tag::Sequence),
                        actual: tag,
                    },
                })
            }
        })?;
        let reader = SliceReader::new(content).map_err(|error| der_error(base, error))?;
        Ok(Fields {
            reader,
            base,
            structure,
        })
    }

    /// The absolute position of the next field.
    fn position(&self) -> usize {
        self.base.saturating_add(to_usize(self.reader.position()))
    }

    /// An error about `field`, which starts at absolute `start`.
    fn invalid(&self, field: &'static str, start: usize, error: der::Error) -> SecurityInfoError {
        SecurityInfoError::InvalidField {
            structure: self.structure,
            field,
            position: error_position(self.base, start, error),
            kind: error.kind(),
        }
    }

    /// Whether all fields have been read.
    fn is_finished(&self) -> bool {
        self.reader.is_finished()
    }

    /// Decodes the next field as a `T`.
    fn decode<T: Decode<'a, Error = der::Error>>(&mut self, field: &'static str) -> Result<T> {
        let start = self.position();
        self.reader
            .decode::<T>()
            .map_err(|error| self.invalid(field, start, error))
    }

    /// Decodes the next field as a `T` if its tag is `T`'s; `None` if it is absent.
    fn optional<T: Decode<'a, Error = der::Error> + FixedTag>(
        &mut self,
        field: &'static str,
    ) -> Result<Option<T>> {
        if self.is_finished() {
            return Ok(None);
        }
        let start = self.position();
        let tag = Tag::peek(&self.reader).map_err(|error| self.invalid(field, start, error))?;
        if tag == T::TAG {
            self.decode(field).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The whole TLV of the next field, whatever its type, and its absolute position.
    fn any_tlv(&mut self, field: &'static str) -> Result<(&'a [u8], usize)> {
        let position = self.position();
        let tlv = self
            .reader
            .tlv_bytes()
            .map_err(|error| self.invalid(field, position, error))?;
        Ok((tlv, position))
    }

    /// The whole TLV of the next field, which must be a SEQUENCE, and its absolute
    /// position.
    fn sequence_tlv(&mut self, field: &'static str) -> Result<(&'a [u8], usize)> {
        let position = self.position();
        let tag = Tag::peek(&self.reader).map_err(|error| self.invalid(field, position, error))?;
        if tag != Tag::Sequence {
            return Err(SecurityInfoError::InvalidField {
                structure: self.structure,
                field,
                position,
                kind: der::ErrorKind::TagUnexpected {
                    expected: Some(Tag::Sequence),
                    actual: tag,
                },
            });
        }
        self.any_tlv(field)
    }

    /// Checks that no field is left.
    fn finish(self) -> Result<()> {
        if self.is_finished() {
            Ok(())
        } else {
            Err(SecurityInfoError::TrailingData {
                structure: self.structure,
                position: self.position(),
                remaining: to_usize(self.reader.remaining_len()),
            })
        }
    }
}
