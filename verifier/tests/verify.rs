//! The verifier against assertions made from the virtual card: the good path, then each
//! rejection on its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use p256::ecdsa::SigningKey;
use sesame_emulator::personalize::{Profile, personalize};
use sesame_emulator::pki::TestPki;
use sesame_emulator::{EmrtdCard, InProcessCard};
use sesame_protocol::ec::Curve;
use sesame_protocol::kdf::Password;
use sesame_protocol::lds::DataGroup;
use sesame_protocol::pa::{PassiveAuthError, TrustStore};
use sesame_protocol::random::SystemRandom;
use sesame_protocol::reader::{ReadRequest, read_document};
use sesame_verifier::{
    Assurance, Claims, InMemoryNonceStore, Payload, Verifier, VerifierConfig, VerifyError,
    active_authentication_challenge, issue, payload_from_document,
};

const IDP: &str = "https://idp.example";
const NONCE: &str = "n-0S6_WzA2Mj-login-nonce-0001";
const NOW: i64 = 1_900_000_000;

struct Fixture {
    pki: TestPki,
    payload: Payload,
}

/// Reads a personalised card and builds the payload the daemon would sign.
fn fixture(profile_name: &str) -> Fixture {
    let challenge: [u8; 8] = active_authentication_challenge(IDP, NONCE)
        .try_into()
        .unwrap();
    fixture_with_challenge(profile_name, challenge)
}

/// The same, with the chip's Active Authentication run over `challenge`.
fn fixture_with_challenge(profile_name: &str, challenge: [u8; 8]) -> Fixture {
    let pki = TestPki::generate(Curve::BrainpoolP256r1, &mut SystemRandom).unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../emulator/profiles")
        .join(profile_name);
    let profile = Profile::load(&path).unwrap();
    let contents = personalize(&profile, &pki, &mut SystemRandom)
        .unwrap()
        .contents;
    let password = match &contents.mrz_information {
        Some(mrz) => Password::mrz(mrz),
        None => Password::can(&profile.can),
    };
    let mut card = InProcessCard::new(EmrtdCard::new(contents));
    let request = ReadRequest {
        password,
        data_groups: vec![DataGroup::Dg11],
        active_authentication: Some(challenge),
        trust: None,
        now: sesame_protocol::unix_now(),
    };
    let document = read_document(&mut card, &request, &mut SystemRandom, &mut |_| {}).unwrap();
    let mut payload = payload_from_document(&document, IDP, NONCE, NOW);
    // Only the claims this IdP asked for.
    let all = payload.claims;
    payload.claims = Claims {
        family_name: all.family_name,
        given_name: all.given_name,
        document_number: all.document_number,
        nationality: all.nationality,
        ..Claims::default()
    };
    Fixture { pki, payload }
}

fn key() -> SigningKey {
    SigningKey::from_slice(&[0x24; 32]).unwrap()
}

fn verifier(pki: &TestPki) -> Verifier {
    let mut trust = TrustStore::new();
    trust.add_der(&pki.csca.certificate).unwrap();
    let verifier = Verifier::new(
        VerifierConfig {
            client_id: IDP.into(),
            trust,
            clock_skew: 30,
        },
        Box::new(InMemoryNonceStore::new()),
    );
    verifier.nonces().issue(NONCE, NOW + 300);
    verifier
}

fn check(f: &Fixture, payload: Payload) -> Result<sesame_verifier::VerifiedIdentity, VerifyError> {
    verifier(&f.pki).verify(&issue(payload, &key()).unwrap(), NONCE, NOW + 10)
}

#[test]
fn the_good_path_from_the_virtual_card() {
    let f = fixture("cnie.toml");
    let identity = check(&f, f.payload.clone()).unwrap();
    assert_eq!(identity.assurance, Assurance::ChipAuthenticated);
    assert_eq!(identity.claims.family_name.as_deref(), Some("LEFÈVRE"));
    assert!(identity.issuer.contains("Sesame TEST DS"));
}

#[test]
fn active_authentication_is_verified_and_bound_to_the_request() {
    let f = fixture("passport.toml");
    let mut payload = f.payload.clone();
    payload.evidence.chip_authentication = None;
    assert_eq!(
        check(&f, payload).unwrap().assurance,
        Assurance::ChipAuthenticated
    );
}

#[test]
fn an_active_authentication_challenge_not_bound_to_the_request_is_refused() {
    let f = fixture("passport.toml");
    let mut payload = f.payload.clone();
    // The chip's signature, presented with the challenge of another request.
    payload
        .evidence
        .active_authentication
        .as_mut()
        .unwrap()
        .challenge = Base64::encode_string(&[0u8; 8]);
    assert!(matches!(
        check(&f, payload),
        Err(VerifyError::ActiveAuthentication(_))
    ));
}

#[test]
fn an_active_authentication_signature_over_another_challenge_is_refused() {
    // The chip signed another challenge; the evidence claims it signed the bound one.
    let f = fixture_with_challenge("passport.toml", [7; 8]);
    let mut payload = f.payload.clone();
    payload
        .evidence
        .active_authentication
        .as_mut()
        .unwrap()
        .challenge = Base64::encode_string(&active_authentication_challenge(IDP, NONCE));
    assert!(matches!(
        check(&f, payload),
        Err(VerifyError::ActiveAuthentication(_))
    ));
}

#[test]
fn without_chip_proof_it_is_only_chip_signed() {
    let f = fixture("cnie.toml");
    let mut payload = f.payload.clone();
    payload.evidence.chip_authentication = None;
    assert_eq!(check(&f, payload).unwrap().assurance, Assurance::ChipSigned);
}

fn tamper_part(jws: &str, part: usize) -> String {
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    let mut bytes = Base64UrlUnpadded::decode_vec(&parts[part]).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    parts[part] = Base64UrlUnpadded::encode_string(&bytes);
    parts.join(".")
}

#[test]
fn a_tampered_payload_is_refused() {
    let f = fixture("cnie.toml");
    let jws = tamper_part(&issue(f.payload.clone(), &key()).unwrap(), 1);
    let err = verifier(&f.pki).verify(&jws, NONCE, NOW).unwrap_err();
    assert!(
        matches!(err, VerifyError::BadSignature | VerifyError::Malformed(_)),
        "{err:?}"
    );
}

#[test]
fn a_tampered_signature_is_refused() {
    let f = fixture("cnie.toml");
    let jws = tamper_part(&issue(f.payload.clone(), &key()).unwrap(), 2);
    assert!(matches!(
        verifier(&f.pki).verify(&jws, NONCE, NOW),
        Err(VerifyError::BadSignature)
    ));
}

#[test]
fn another_algorithm_is_refused() {
    let f = fixture("cnie.toml");
    let jws = issue(f.payload.clone(), &key()).unwrap();
    let rest = jws.split_once('.').unwrap().1;
    for alg in ["none", "HS256", "ES384"] {
        let header = Base64UrlUnpadded::encode_string(
            format!(r#"{{"alg":"{alg}","typ":"sesame-assertion+jwt"}}"#).as_bytes(),
        );
        let err = verifier(&f.pki)
            .verify(&format!("{header}.{rest}"), NONCE, NOW)
            .unwrap_err();
        assert!(
            matches!(err, VerifyError::UnsupportedAlgorithm(ref a) if a == alg),
            "{err:?}"
        );
        assert_eq!(err.code(), "unsupported_algorithm");
    }
}

#[test]
fn a_wrong_audience_is_refused() {
    let f = fixture("cnie.toml");
    let mut payload = f.payload.clone();
    payload.aud = "https://evil.example".into();
    assert!(matches!(
        check(&f, payload),
        Err(VerifyError::WrongAudience(_))
    ));
}

#[test]
fn a_replayed_nonce_is_refused() {
    let f = fixture("cnie.toml");
    let verifier = verifier(&f.pki);
    let jws = issue(f.payload.clone(), &key()).unwrap();
    verifier.verify(&jws, NONCE, NOW).unwrap();
    assert!(matches!(
        verifier.verify(&jws, NONCE, NOW),
        Err(VerifyError::ReplayedNonce)
    ));
}

#[test]
fn an_unknown_nonce_is_refused() {
    let f = fixture("cnie.toml");
    let mut payload = f.payload.clone();
    payload.nonce = "never-issued-nonce-0000000000".into();
    let jws = issue(payload, &key()).unwrap();
    let err = verifier(&f.pki)
        .verify(&jws, "never-issued-nonce-0000000000", NOW)
        .unwrap_err();
    assert!(matches!(err, VerifyError::UnknownNonce), "{err:?}");
    assert!(matches!(
        verifier(&f.pki).verify(&jws, NONCE, NOW),
        Err(VerifyError::NonceMismatch)
    ));
}

#[test]
fn an_expired_assertion_is_refused() {
    let f = fixture("cnie.toml");
    let jws = issue(f.payload.clone(), &key()).unwrap();
    assert!(matches!(
        verifier(&f.pki).verify(&jws, NONCE, NOW + 200),
        Err(VerifyError::Expired)
    ));
}

#[test]
fn a_not_yet_valid_assertion_is_refused() {
    let f = fixture("cnie.toml");
    let jws = issue(f.payload.clone(), &key()).unwrap();
    assert!(matches!(
        verifier(&f.pki).verify(&jws, NONCE, NOW - 100),
        Err(VerifyError::NotYetValid)
    ));
}

#[test]
fn a_changed_data_group_fails_passive_authentication() {
    let f = fixture("cnie.toml");
    let mut payload = f.payload.clone();
    let mut dg11 = Base64::decode_vec(&payload.evidence.data_groups["11"]).unwrap();
    let last = dg11.len() - 1;
    dg11[last] ^= 0x01;
    payload
        .evidence
        .data_groups
        .insert("11".into(), Base64::encode_string(&dg11));
    let err = check(&f, payload).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::PassiveAuthentication(PassiveAuthError::DataGroupHashMismatch(11))
        ),
        "{err:?}"
    );
}

#[test]
fn a_document_signer_outside_the_trusted_cscas_is_refused() {
    let f = fixture("cnie.toml");
    let other = TestPki::generate(Curve::NistP256, &mut SystemRandom).unwrap();
    let err = verifier(&other)
        .verify(&issue(f.payload.clone(), &key()).unwrap(), NONCE, NOW)
        .unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::PassiveAuthentication(PassiveAuthError::UntrustedDocumentSigner { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn a_sod_signed_by_an_untrusted_document_signer_is_refused() {
    // Another PKI's SOD over the same data groups: well formed, wrongly signed.
    let f = fixture("cnie.toml");
    let other = TestPki::generate(Curve::BrainpoolP256r1, &mut SystemRandom).unwrap();
    let groups: Vec<(u8, Vec<u8>)> = f
        .payload
        .evidence
        .data_groups
        .iter()
        .map(|(n, b)| (n.parse().unwrap(), Base64::decode_vec(b).unwrap()))
        .collect();
    let refs: Vec<(u8, &[u8])> = groups.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let mut payload = f.payload.clone();
    payload.evidence.sod = Base64::encode_string(&other.sod(&refs).unwrap());
    let err = check(&f, payload).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::PassiveAuthentication(PassiveAuthError::UntrustedDocumentSigner { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn claims_that_disagree_with_the_document_are_refused() {
    let f = fixture("cnie.toml");
    let mut payload = f.payload.clone();
    payload.claims.document_number = Some("X4RTBPFW5".into());
    assert!(matches!(
        check(&f, payload),
        Err(VerifyError::ClaimMismatch("document_number"))
    ));
    let mut payload = f.payload.clone();
    payload.claims.family_name = Some("DUPONT".into());
    assert!(matches!(
        check(&f, payload),
        Err(VerifyError::ClaimMismatch("family_name"))
    ));
}

#[test]
fn malformed_and_oversized_input_never_panics() {
    let f = fixture("cnie.toml");
    let verifier = verifier(&f.pki);
    for input in [
        "",
        ".",
        "..",
        "a.b.c",
        "a.b.c.d",
        "e30.e30.e30",
        &"A".repeat(300_000),
    ] {
        let err = verifier.verify(input, NONCE, NOW).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::Malformed(_) | VerifyError::UnsupportedAlgorithm(_)
            ),
            "{input:.20}: {err:?}"
        );
    }
}

/// Our JWS is verified by an independent JOSE implementation (`jsonwebtoken`), with the
/// key taken from our header.
#[test]
fn jsonwebtoken_verifies_our_assertion() {
    let f = fixture("cnie.toml");
    let jws = issue(f.payload.clone(), &key()).unwrap();
    let header = jsonwebtoken::decode_header(&jws).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("sesame-assertion+jwt"));
    let ours: sesame_verifier::Header = serde_json::from_slice(
        &Base64UrlUnpadded::decode_vec(jws.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    let key = jsonwebtoken::DecodingKey::from_ec_components(&ours.jwk.x, &ours.jwk.y).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[IDP]);
    let data = jsonwebtoken::decode::<serde_json::Value>(&jws, &key, &validation).unwrap();
    assert_eq!(data.claims["nonce"], NONCE);
}

/// A JWS made by `jsonwebtoken` (header with our `typ` and the key as a JWK) passes our
/// verifier.
#[test]
fn our_verifier_accepts_a_jws_made_by_jsonwebtoken() {
    use p256::pkcs8::EncodePrivateKey;
    let f = fixture("cnie.toml");
    let key = key();
    let point = key.verifying_key().to_sec1_point(false);
    let (x, y) = (&point.as_bytes()[1..33], &point.as_bytes()[33..65]);
    let jwk_json = serde_json::json!({
        "kty": "EC", "crv": "P-256",
        "x": Base64UrlUnpadded::encode_string(x), "y": Base64UrlUnpadded::encode_string(y)
    });
    let ours: sesame_verifier::Jwk = serde_json::from_value(jwk_json.clone()).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("sesame-assertion+jwt".into());
    header.jwk = Some(serde_json::from_value(jwk_json).unwrap());
    let mut payload = f.payload.clone();
    payload.iss = format!("sesame:{}", sesame_verifier::thumbprint(&ours));
    let der = key.to_pkcs8_der().unwrap();
    let jws = jsonwebtoken::encode(
        &header,
        &payload,
        &jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()),
    )
    .unwrap();
    let identity = verifier(&f.pki).verify(&jws, NONCE, NOW).unwrap();
    assert_eq!(identity.assurance, Assurance::ChipAuthenticated);
}
