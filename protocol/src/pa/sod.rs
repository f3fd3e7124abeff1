//! EF.SOD (ICAO 9303-10 §4.6.2): a CMS SignedData (RFC 5652) whose content is the LDS
//! Security Object, the hashes of the data groups, signed by the Document Signer.

use std::collections::BTreeMap;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence};
use sesame_apdu::tlv;
use spki::AlgorithmIdentifierOwned;

use super::ber;
use super::signature::HashAlgorithm;

/// id-signedData (RFC 5652 §5.1).
const ID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
/// id-icao-mrtd-security-ldsSecurityObject (ICAO 9303-10 §4.6.2.2).
const ID_LDS_SECURITY_OBJECT: &str = "2.23.136.1.1.1";
/// id-messageDigest and id-contentType (RFC 5652 §11).
const ID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const ID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";

/// Why EF.SOD could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("EF.SOD is malformed: {0}")]
pub struct SodError(pub String);

fn bad(what: impl Into<String>) -> SodError {
    SodError(what.into())
}

/// EF.SOD, parsed: what Passive Authentication checks.
#[derive(Debug, Clone)]
pub struct Sod {
    /// The hash algorithm of the data group hashes.
    pub hash_algorithm: HashAlgorithm,
    /// The data group hashes, by data group number.
    pub hashes: BTreeMap<u8, Vec<u8>>,
    /// The LDS version the SOD names (V1 LDS security objects have none).
    pub lds_version: Option<(String, String)>,
    /// The Document Signer certificate embedded in the SOD (DER), if any.
    pub document_signer: Option<Vec<u8>>,
    pub(super) econtent: Vec<u8>,
    pub(super) signed_attributes: Option<Vec<u8>>,
    pub(super) message_digest: Option<Vec<u8>>,
    pub(super) content_type_attribute: Option<ObjectIdentifier>,
    pub(super) digest_algorithm: HashAlgorithm,
    pub(super) signature_algorithm: AlgorithmIdentifierOwned,
    pub(super) signature: Vec<u8>,
}

/// LDSSecurityObject (ICAO 9303-10 §4.6.2.2).
#[derive(Sequence)]
struct LdsSecurityObject {
    version: u8,
    hash_algorithm: AlgorithmIdentifierOwned,
    data_group_hash_values: Vec<DataGroupHash>,
    #[asn1(optional = "true")]
    lds_version_info: Option<LdsVersionInfo>,
}

#[derive(Sequence)]
struct DataGroupHash {
    data_group_number: u8,
    data_group_hash_value: OctetString,
}

#[derive(Sequence)]
struct LdsVersionInfo {
    lds_version: der::asn1::PrintableString,
    unicode_version: der::asn1::PrintableString,
}

/// The signed content of a CMS SignedData (RFC 5652 §5.2) of the given content type, BER
/// or DER, without checking the signature: EF.CardSecurity's SecurityInfos, a master
/// list's certificates.
///
/// # Errors
/// When the bytes are not such a SignedData.
pub fn signed_content(cms: &[u8], content_type: &str) -> Result<Vec<u8>, SodError> {
    let der = ber::to_der(cms).map_err(|e| bad(format!("not BER ({e})")))?;
    let content_info =
        ContentInfo::from_der(&der).map_err(|e| bad(format!("not a CMS ContentInfo ({e})")))?;
    if content_info.content_type.to_string() != ID_SIGNED_DATA {
        return Err(bad("the CMS content is not SignedData"));
    }
    let signed: SignedData = content_info
        .content
        .decode_as()
        .map_err(|e| bad(format!("the SignedData does not decode ({e})")))?;
    if signed.encap_content_info.econtent_type.to_string() != content_type {
        return Err(bad(format!(
            "the signed content is {}, not {content_type}",
            signed.encap_content_info.econtent_type
        )));
    }
    Ok(signed
        .encap_content_info
        .econtent
        .ok_or_else(|| bad("the signed content is absent"))?
        .decode_as::<OctetString>()
        .map_err(|e| bad(format!("the signed content is not an OCTET STRING ({e})")))?
        .into_bytes()
        .into_vec())
}

impl Sod {
    /// Parses EF.SOD as read from the chip (application tag 77 around the CMS), BER or DER.
    ///
    /// # Errors
    /// A [`SodError`] saying what is wrong.
    pub fn parse(ef_sod: &[u8]) -> Result<Self, SodError> {
        let der = ber::to_der(ef_sod).map_err(|e| bad(format!("not BER ({e})")))?;
        let outer = tlv::parse_one(&der).map_err(|e| bad(format!("no tag 77 ({e})")))?;
        if outer.tag() != tlv::Tag::new(0x77) {
            return Err(bad("the file does not start with tag 77"));
        }
        let content_info = ContentInfo::from_der(outer.value())
            .map_err(|e| bad(format!("not a CMS ContentInfo ({e})")))?;
        if content_info.content_type.to_string() != ID_SIGNED_DATA {
            return Err(bad("the CMS content is not SignedData"));
        }
        let signed_data: SignedData = content_info
            .content
            .decode_as()
            .map_err(|e| bad(format!("the SignedData does not decode ({e})")))?;
        Self::from_signed_data(&signed_data)
    }

    fn from_signed_data(signed: &SignedData) -> Result<Self, SodError> {
        let encap = &signed.encap_content_info;
        if encap.econtent_type.to_string() != ID_LDS_SECURITY_OBJECT {
            return Err(bad(format!(
                "the signed content is {}, not an LDS security object",
                encap.econtent_type
            )));
        }
        let econtent = encap
            .econtent
            .as_ref()
            .ok_or_else(|| bad("the signed content is absent"))?
            .decode_as::<OctetString>()
            .map_err(|e| bad(format!("the signed content is not an OCTET STRING ({e})")))?
            .into_bytes()
            .into_vec();
        let lds = LdsSecurityObject::from_der(&econtent)
            .map_err(|e| bad(format!("the LDS security object does not decode ({e})")))?;
        if lds.version > 1 {
            return Err(bad(format!(
                "LDS security object version {} is unknown",
                lds.version
            )));
        }
        let hash_algorithm = HashAlgorithm::from_oid(&lds.hash_algorithm.oid).ok_or_else(|| {
            bad(format!(
                "unsupported hash algorithm {}",
                lds.hash_algorithm.oid
            ))
        })?;
        let mut hashes = BTreeMap::new();
        for entry in lds.data_group_hash_values {
            if hashes
                .insert(
                    entry.data_group_number,
                    entry.data_group_hash_value.into_bytes().into_vec(),
                )
                .is_some()
            {
                return Err(bad(format!(
                    "DG{} is listed twice",
                    entry.data_group_number
                )));
            }
        }
        let lds_version = lds
            .lds_version_info
            .map(|v| (v.lds_version.to_string(), v.unicode_version.to_string()));

        let signer: &SignerInfo = match signed.signer_infos.0.as_slice() {
            [one] => one,
            [] => return Err(bad("there is no signer")),
            _ => return Err(bad("there is more than one signer")),
        };
        let digest_algorithm =
            HashAlgorithm::from_oid(&signer.digest_alg.oid).ok_or_else(|| {
                bad(format!(
                    "unsupported digest algorithm {}",
                    signer.digest_alg.oid
                ))
            })?;
        let mut message_digest = None;
        let mut content_type_attribute = None;
        let signed_attributes = match &signer.signed_attrs {
            Some(attributes) => {
                for attribute in attributes.iter() {
                    let value = match attribute.values.as_slice() {
                        [one] => one,
                        _ => return Err(bad("a signed attribute has no single value")),
                    };
                    match attribute.oid.to_string().as_str() {
                        ID_MESSAGE_DIGEST => {
                            let digest = value
                                .decode_as::<OctetString>()
                                .map_err(|_| bad("the message digest is not an OCTET STRING"))?;
                            message_digest = Some(digest.into_bytes().into_vec());
                        }
                        ID_CONTENT_TYPE => {
                            content_type_attribute = Some(
                                value
                                    .decode_as::<ObjectIdentifier>()
                                    .map_err(|_| bad("the content type is not an OID"))?,
                            );
                        }
                        _ => {}
                    }
                }
                // The signature covers the DER encoding of the attributes as a SET OF
                // (RFC 5652 §5.4), not the [0] IMPLICIT encoding in the SignerInfo.
                Some(
                    attributes
                        .to_der()
                        .map_err(|e| bad(format!("the signed attributes do not encode ({e})")))?,
                )
            }
            None => None,
        };
        let document_signer = match &signed.certificates {
            Some(set) => set.0.iter().find_map(|choice| match choice {
                cms::cert::CertificateChoices::Certificate(cert) => cert.to_der().ok(),
                cms::cert::CertificateChoices::Other(_) => None,
            }),
            None => None,
        };
        Ok(Self {
            hash_algorithm,
            hashes,
            lds_version,
            document_signer,
            econtent,
            signed_attributes,
            message_digest,
            content_type_attribute,
            digest_algorithm,
            signature_algorithm: signer.signature_algorithm.clone(),
            signature: signer.signature.as_bytes().to_vec(),
        })
    }
}
