//! The certification record (`docs/counter.md`): the good path, certified and refused,
//! then each rejection on its own, then arbitrary input never panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64ct::{Base64UrlUnpadded, Encoding};
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer;
use proptest::prelude::*;
use sesame_protocol::random::SystemRandom;
use sesame_verifier::certification::{
    Agent, CERTIFICATION_TYPE, CertifiedDocument, Checks, Decision, MAX_CERTIFICATION_LEN,
    PassiveAuthenticationVerdict, counter_issuer, dg2_sha256, new_jti,
};
use sesame_verifier::{
    CertificationError, CertificationPayload, CertificationVerifier, Jwk, TrustedCounter,
    issue_certification, jwk_of, thumbprint,
};

const IDP: &str = "https://idp.example";
const NOW: i64 = 1_900_000_000;
const COUNTER_NAME: &str = "Mairie de Brest";

fn counter_key() -> SigningKey {
    SigningKey::from_slice(&[0x31; 32]).unwrap()
}

fn other_key() -> SigningKey {
    SigningKey::from_slice(&[0x32; 32]).unwrap()
}

fn verifier() -> CertificationVerifier {
    CertificationVerifier::new(
        IDP,
        vec![TrustedCounter::new(
            &counter_issuer(&counter_key()),
            COUNTER_NAME,
        )],
    )
}

fn certified() -> CertificationPayload {
    CertificationPayload {
        iss: String::new(),
        aud: IDP.into(),
        iat: NOW - 5,
        jti: new_jti(&mut SystemRandom).unwrap(),
        decision: Decision::Certified,
        reason: None,
        agent: Agent {
            id: "A-042".into(),
            name: "Camille Durand".into(),
        },
        station: "Mairie de Brest — guichet 2".into(),
        document: CertifiedDocument {
            document_type: "ID".into(),
            issuing_state: "FRA".into(),
            document_number: "X4RTBPFW4".into(),
            family_name: "MARTIN".into(),
            given_name: "Élodie Anne".into(),
            birthdate: "1990-07-14".into(),
            expiry_date: "2031-03-02".into(),
            nationality: "FRA".into(),
        },
        checks: Checks {
            face_matches: true,
            document_valid: true,
            passive_authentication: PassiveAuthenticationVerdict::Verified,
            chip_authentication: true,
        },
        dg2_sha256: dg2_sha256(b"\x75\x82\x3a\x00 a JPEG 2000 face"),
    }
}

fn refused() -> CertificationPayload {
    CertificationPayload {
        decision: Decision::Refused,
        reason: Some("La personne ne correspond pas à la photo.".into()),
        checks: Checks {
            face_matches: false,
            ..certified().checks
        },
        ..certified()
    }
}

fn sign(payload: CertificationPayload) -> String {
    issue_certification(payload, &counter_key()).unwrap()
}

fn check(payload: CertificationPayload) -> Result<CertificationPayload, CertificationError> {
    verifier()
        .verify_certification(&sign(payload), NOW)
        .map(|v| v.payload)
}

/// A compact JWS from raw header and payload JSON, signed by `key`.
fn raw_jws(header: &serde_json::Value, payload: &serde_json::Value, key: &SigningKey) -> String {
    let input = format!(
        "{}.{}",
        Base64UrlUnpadded::encode_string(&serde_json::to_vec(header).unwrap()),
        Base64UrlUnpadded::encode_string(&serde_json::to_vec(payload).unwrap())
    );
    let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
    format!(
        "{input}.{}",
        Base64UrlUnpadded::encode_string(&signature.to_bytes())
    )
}

fn header_json(key: &SigningKey) -> serde_json::Value {
    serde_json::json!({"alg": "ES256", "typ": CERTIFICATION_TYPE, "jwk": jwk_of(key)})
}

fn payload_json(payload: &CertificationPayload, key: &SigningKey) -> serde_json::Value {
    let mut value = serde_json::to_value(payload).unwrap();
    value["iss"] = counter_issuer(key).into();
    value
}

fn parts(jws: &str) -> Vec<String> {
    jws.split('.').map(str::to_owned).collect()
}

// The good path.

#[test]
fn a_certification_verifies_with_the_counter_name() {
    let payload = certified();
    let jws = sign(payload.clone());
    let verified = verifier().verify_certification(&jws, NOW).unwrap();
    assert_eq!(verified.counter_name, COUNTER_NAME);
    assert_eq!(
        verified.counter_thumbprint,
        thumbprint(&jwk_of(&counter_key()))
    );
    assert_eq!(verified.payload.iss, counter_issuer(&counter_key()));
    assert_eq!(
        CertificationPayload {
            iss: verified.payload.iss.clone(),
            ..payload
        },
        verified.payload
    );
    // The header is exactly what docs/counter.md says.
    let header: serde_json::Value = serde_json::from_slice(
        &Base64UrlUnpadded::decode_vec(jws.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "sesame-certification+jwt");
    assert_eq!(header.as_object().unwrap().len(), 3);
}

#[test]
fn a_refusal_verifies_with_its_reason() {
    let verified = check(refused()).unwrap();
    assert_eq!(verified.decision, Decision::Refused);
    assert_eq!(
        verified.reason.as_deref(),
        Some("La personne ne correspond pas à la photo.")
    );
    // A refusal may say anything of the checks: that is why it was refused.
    let mut failed_pa = refused();
    failed_pa.checks.passive_authentication = PassiveAuthenticationVerdict::Failed;
    failed_pa.checks.document_valid = false;
    assert!(check(failed_pa).is_ok());
}

#[test]
fn the_registered_counter_may_be_given_with_or_without_the_prefix() {
    let bare = thumbprint(&jwk_of(&counter_key()));
    for key in [bare.clone(), format!("sesame:{bare}")] {
        let verifier = CertificationVerifier::new(IDP, vec![TrustedCounter::new(&key, "X")]);
        assert!(
            verifier
                .verify_certification(&sign(certified()), NOW)
                .is_ok()
        );
    }
    // Even when built by hand with the prefix.
    let verifier = CertificationVerifier::new(
        IDP,
        vec![TrustedCounter {
            thumbprint: format!("sesame:{bare}"),
            name: "X".into(),
        }],
    );
    assert!(
        verifier
            .verify_certification(&sign(certified()), NOW)
            .is_ok()
    );
}

#[test]
fn an_unknown_birth_month_and_day_are_accepted() {
    let mut payload = certified();
    payload.document.birthdate = "1990-00-00".into();
    payload.document.given_name = String::new();
    assert!(check(payload).is_ok());
}

#[test]
fn the_record_never_carries_the_photo_the_mrz_or_the_can() {
    let value = serde_json::to_value(certified()).unwrap();
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    for forbidden in ["photo", "dg2", "face", "mrz", "can"] {
        assert!(!keys.iter().any(|k| *k == forbidden), "{forbidden}");
    }
    assert_eq!(value["dg2_sha256"].as_str().unwrap().len(), 43);
}

// Rejections, one by one.

#[test]
fn a_tampered_payload_is_refused() {
    let mut p = parts(&sign(certified()));
    let mut payload = certified();
    payload.iss = counter_issuer(&counter_key());
    payload.document.document_number = "Z9999999".into();
    p[1] = Base64UrlUnpadded::encode_string(&serde_json::to_vec(&payload).unwrap());
    assert_eq!(
        verifier().verify_certification(&p.join("."), NOW),
        Err(CertificationError::BadSignature)
    );
}

#[test]
fn a_tampered_signature_is_refused() {
    let mut p = parts(&sign(certified()));
    let mut signature = Base64UrlUnpadded::decode_vec(&p[2]).unwrap();
    signature[10] ^= 0x01;
    p[2] = Base64UrlUnpadded::encode_string(&signature);
    assert_eq!(
        verifier().verify_certification(&p.join("."), NOW),
        Err(CertificationError::BadSignature)
    );
    // A signature of the wrong length.
    let mut p = parts(&sign(certified()));
    p[2] = Base64UrlUnpadded::encode_string(&[1; 63]);
    assert_eq!(
        verifier().verify_certification(&p.join("."), NOW),
        Err(CertificationError::BadSignature)
    );
}

#[test]
fn alg_none_and_hs256_are_refused() {
    let key = counter_key();
    let payload = payload_json(&certified(), &key);
    for alg in ["none", "HS256", "ES384", "RS256"] {
        let mut header = header_json(&key);
        header["alg"] = alg.into();
        let mut jws = raw_jws(&header, &payload, &key);
        if alg == "none" {
            let p = parts(&jws);
            jws = format!("{}.{}.", p[0], p[1]);
        }
        assert_eq!(
            verifier().verify_certification(&jws, NOW),
            Err(CertificationError::UnsupportedAlgorithm(alg.into())),
            "{alg}"
        );
    }
    let mut header = header_json(&key);
    header.as_object_mut().unwrap().remove("alg");
    assert_eq!(
        verifier().verify_certification(&raw_jws(&header, &payload, &key), NOW),
        Err(CertificationError::UnsupportedAlgorithm(String::new()))
    );
}

#[test]
fn another_type_or_another_header_field_is_refused() {
    let key = counter_key();
    let payload = payload_json(&certified(), &key);
    let mut header = header_json(&key);
    header["typ"] = "sesame-assertion+jwt".into();
    assert_eq!(
        verifier().verify_certification(&raw_jws(&header, &payload, &key), NOW),
        Err(CertificationError::WrongType("sesame-assertion+jwt".into()))
    );
    for (field, value) in [
        ("kid", serde_json::json!("counter-1")),
        ("jku", serde_json::json!("https://evil.example/keys")),
        ("crit", serde_json::json!(["exp"])),
    ] {
        let mut header = header_json(&key);
        header[field] = value;
        assert!(
            matches!(
                verifier().verify_certification(&raw_jws(&header, &payload, &key), NOW),
                Err(CertificationError::Malformed(_))
            ),
            "{field}"
        );
    }
}

#[test]
fn a_record_signed_by_an_unregistered_key_is_refused() {
    let jws = issue_certification(certified(), &other_key()).unwrap();
    assert_eq!(
        verifier().verify_certification(&jws, NOW),
        Err(CertificationError::UnknownCounter)
    );
    // And a verifier with no counter at all trusts nothing.
    let empty = CertificationVerifier::new(IDP, Vec::new());
    assert_eq!(
        empty.verify_certification(&sign(certified()), NOW),
        Err(CertificationError::UnknownCounter)
    );
}

#[test]
fn an_iss_that_is_not_the_header_key_is_refused() {
    // Signed by an unregistered key, claiming to be the registered counter.
    let other = other_key();
    let mut payload = payload_json(&certified(), &other);
    payload["iss"] = counter_issuer(&counter_key()).into();
    assert_eq!(
        verifier().verify_certification(&raw_jws(&header_json(&other), &payload, &other), NOW),
        Err(CertificationError::WrongIssuer)
    );
    // The bare thumbprint without the prefix is not the iss form either.
    let key = counter_key();
    let mut payload = payload_json(&certified(), &key);
    payload["iss"] = thumbprint(&jwk_of(&key)).into();
    assert_eq!(
        verifier().verify_certification(&raw_jws(&header_json(&key), &payload, &key), NOW),
        Err(CertificationError::WrongIssuer)
    );
}

#[test]
fn a_header_key_not_on_p256_is_refused() {
    let key = counter_key();
    let mut header = header_json(&key);
    let jwk: Jwk = serde_json::from_value(header["jwk"].clone()).unwrap();
    header["jwk"]["y"] = Base64UrlUnpadded::encode_string(&[0; 32]).into();
    assert_ne!(jwk.y, header["jwk"]["y"]);
    assert!(matches!(
        verifier().verify_certification(
            &raw_jws(&header, &payload_json(&certified(), &key), &key),
            NOW
        ),
        Err(CertificationError::Malformed(_))
    ));
}

#[test]
fn a_record_for_another_idp_is_refused() {
    let mut payload = certified();
    payload.aud = "https://evil.example".into();
    assert_eq!(
        check(payload),
        Err(CertificationError::WrongAudience(
            "https://evil.example".into()
        ))
    );
}

#[test]
fn a_record_too_old_is_refused() {
    let mut payload = certified();
    payload.iat = NOW - 600 - 60 - 1;
    assert_eq!(check(payload.clone()), Err(CertificationError::Expired));
    // Just within max age + skew.
    payload.iat = NOW - 600 - 60;
    assert!(check(payload).is_ok());
    // A shorter max age.
    let strict = verifier().with_max_age(30).with_clock_skew(0);
    let mut payload = certified();
    payload.iat = NOW - 31;
    assert_eq!(
        strict.verify_certification(&sign(payload), NOW),
        Err(CertificationError::Expired)
    );
}

#[test]
fn a_record_from_the_future_is_refused() {
    let mut payload = certified();
    payload.iat = NOW + 61;
    assert_eq!(check(payload.clone()), Err(CertificationError::NotYetValid));
    payload.iat = NOW + 60;
    assert!(check(payload).is_ok());
}

#[test]
fn a_replayed_record_is_refused() {
    let verifier = verifier();
    let jws = sign(certified());
    assert!(verifier.verify_certification(&jws, NOW).is_ok());
    assert_eq!(
        verifier.verify_certification(&jws, NOW + 1),
        Err(CertificationError::ReplayedJti)
    );
    // Another record with the same jti (re-signed) is a replay too.
    let mut again = certified();
    again.jti = serde_json::from_slice::<CertificationPayload>(
        &Base64UrlUnpadded::decode_vec(jws.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap()
    .jti;
    again.station = "another desk".into();
    assert_eq!(
        verifier.verify_certification(&sign(again), NOW + 2),
        Err(CertificationError::ReplayedJti)
    );
    // Once too old to be accepted, it is expired, not a replay.
    assert_eq!(
        verifier.verify_certification(&jws, NOW + 10_000),
        Err(CertificationError::Expired)
    );
    // A later record makes the verifier forget the old jti; a clock that then goes
    // back does not bring the forgotten record back.
    let mut later = certified();
    later.iat = NOW + 10_000;
    assert!(
        verifier
            .verify_certification(&sign(later), NOW + 10_000)
            .is_ok()
    );
    assert_eq!(
        verifier.verify_certification(&jws, NOW + 3),
        Err(CertificationError::Expired)
    );
}

#[test]
fn a_refused_record_does_not_use_up_its_jti() {
    let verifier = verifier();
    let mut bad = certified();
    bad.checks.face_matches = false;
    let jti = bad.jti.clone();
    assert!(verifier.verify_certification(&sign(bad), NOW).is_err());
    let mut good = certified();
    good.jti = jti;
    assert!(verifier.verify_certification(&sign(good), NOW).is_ok());
}

#[test]
fn the_replay_store_is_bounded() {
    let verifier = verifier().with_max_seen(2);
    assert!(
        verifier
            .verify_certification(&sign(certified()), NOW)
            .is_ok()
    );
    assert!(
        verifier
            .verify_certification(&sign(certified()), NOW)
            .is_ok()
    );
    assert_eq!(
        verifier.verify_certification(&sign(certified()), NOW),
        Err(CertificationError::ReplayStoreFull)
    );
    // Once the first two are too old to be accepted, they are forgotten.
    let mut later = certified();
    later.iat = NOW + 1_000;
    assert!(
        verifier
            .verify_certification(&sign(later), NOW + 1_000)
            .is_ok()
    );
}

#[test]
fn a_certification_without_a_face_match_is_refused() {
    let mut payload = certified();
    payload.checks.face_matches = false;
    assert!(matches!(
        check(payload),
        Err(CertificationError::InconsistentDecision(why)) if why.contains("face")
    ));
    let mut payload = certified();
    payload.checks.document_valid = false;
    assert!(matches!(
        check(payload),
        Err(CertificationError::InconsistentDecision(why)) if why.contains("document")
    ));
}

#[test]
fn a_certification_with_passive_authentication_failed_is_refused() {
    for verdict in [
        PassiveAuthenticationVerdict::Failed,
        PassiveAuthenticationVerdict::NotChecked,
    ] {
        let mut payload = certified();
        payload.checks.passive_authentication = verdict;
        assert!(matches!(
            check(payload),
            Err(CertificationError::InconsistentDecision(why)) if why.contains("passive")
        ));
    }
}

#[test]
fn a_refusal_without_a_reason_is_refused() {
    let mut payload = refused();
    payload.reason = None;
    assert_eq!(check(payload), Err(CertificationError::MissingReason));
    let mut payload = refused();
    payload.reason = Some(" \n ".into());
    assert_eq!(check(payload), Err(CertificationError::MissingReason));
}

#[test]
fn a_certification_with_a_reason_or_a_reason_too_long_is_refused() {
    let mut payload = certified();
    payload.reason = Some("why not".into());
    assert_eq!(check(payload), Err(CertificationError::UnexpectedReason));
    let mut payload = refused();
    payload.reason = Some("é".repeat(500));
    assert!(check(payload).is_ok());
    let mut payload = refused();
    payload.reason = Some("é".repeat(501));
    assert_eq!(check(payload), Err(CertificationError::ReasonTooLong));
}

#[test]
fn a_malformed_dg2_hash_is_refused() {
    let good = certified().dg2_sha256;
    for bad in [
        String::new(),
        good[..42].to_owned(),
        format!("{good}A"),
        format!("{}=", &good[..42]),
        format!("{}+", &good[..42]),
        "0".repeat(64), // hex is not the format
    ] {
        let mut payload = certified();
        payload.dg2_sha256 = bad.clone();
        assert_eq!(
            check(payload),
            Err(CertificationError::InvalidDg2Hash),
            "{bad}"
        );
    }
}

#[test]
fn a_malformed_jti_date_or_empty_field_is_refused() {
    for jti in [
        "",
        "short",
        "b3DkP1x9QmWq7ZcT2s0aL+",
        "b3DkP1x9QmWq7ZcT2s0aLgX",
    ] {
        let mut payload = certified();
        payload.jti = jti.into();
        assert_eq!(check(payload), Err(CertificationError::InvalidJti), "{jti}");
    }
    for date in ["2031-02-30", "02/03/2031", "2031-3-2", "", "2031-00-00"] {
        let mut payload = certified();
        payload.document.expiry_date = date.into();
        assert_eq!(
            check(payload),
            Err(CertificationError::InvalidDate("document.expiry_date")),
            "{date}"
        );
    }
    let mut payload = certified();
    payload.document.birthdate = "1990-13-01".into();
    assert_eq!(
        check(payload),
        Err(CertificationError::InvalidDate("document.birthdate"))
    );
    let mut payload = certified();
    payload.agent.id = " ".into();
    assert_eq!(
        check(payload),
        Err(CertificationError::MissingField("agent.id"))
    );
    let mut payload = certified();
    payload.station = String::new();
    assert_eq!(
        check(payload),
        Err(CertificationError::MissingField("station"))
    );
}

#[test]
fn an_unknown_field_is_refused() {
    let key = counter_key();
    let header = header_json(&key);
    let mut payload = payload_json(&certified(), &key);
    payload["photo"] = "/9j/4AAQSkZJRg==".into();
    let error = verifier()
        .verify_certification(&raw_jws(&header, &payload, &key), NOW)
        .unwrap_err();
    assert!(matches!(error, CertificationError::Malformed(_)));
    // Nested, and an unknown enum value, too.
    let mut payload = payload_json(&certified(), &key);
    payload["document"]["mrz"] = "IDFRAMARTIN<<<<".into();
    assert!(matches!(
        verifier().verify_certification(&raw_jws(&header, &payload, &key), NOW),
        Err(CertificationError::Malformed(_))
    ));
    let mut payload = payload_json(&certified(), &key);
    payload["decision"] = "maybe".into();
    assert!(matches!(
        verifier().verify_certification(&raw_jws(&header, &payload, &key), NOW),
        Err(CertificationError::Malformed(_))
    ));
    // The message never quotes a value from the record.
    let mut payload = payload_json(&certified(), &key);
    payload["document"]["family_name"] = serde_json::json!(["MARTIN"]);
    let error = verifier()
        .verify_certification(&raw_jws(&header, &payload, &key), NOW)
        .unwrap_err();
    assert_eq!(error.code(), "malformed");
    assert!(!error.to_string().contains("MARTIN"), "{error}");
}

#[test]
fn an_oversized_record_is_refused() {
    let mut payload = refused();
    payload.station = "x".repeat(MAX_CERTIFICATION_LEN);
    assert_eq!(check(payload).map_err(|e| e.code()), Err("malformed"));
    let huge = "a".repeat(MAX_CERTIFICATION_LEN + 1);
    assert!(matches!(
        verifier().verify_certification(&huge, NOW),
        Err(CertificationError::Malformed(why)) if why.contains("64 KiB")
    ));
}

#[test]
fn not_a_jws_is_refused() {
    for input in [
        "",
        ".",
        "..",
        "a.b.c",
        "a.b.c.d",
        "eyJ9.e30.",
        "e30.e30.e30",
    ] {
        assert!(
            matches!(
                verifier().verify_certification(input, NOW),
                Err(CertificationError::Malformed(_) | CertificationError::UnsupportedAlgorithm(_))
            ),
            "{input}"
        );
    }
}

#[test]
fn an_assertion_is_not_a_certification() {
    // Same key, same JWS machinery, but typ sesame-assertion+jwt.
    let key = counter_key();
    let mut header = header_json(&key);
    header["typ"] = sesame_verifier::model::ASSERTION_TYPE.into();
    let payload = payload_json(&certified(), &key);
    assert_eq!(
        verifier()
            .verify_certification(&raw_jws(&header, &payload, &key), NOW)
            .map_err(|e| e.code()),
        Err("wrong_type")
    );
}

#[test]
fn every_error_has_a_snake_case_code_and_an_english_sentence() {
    let mut payload = refused();
    payload.reason = None;
    let error = check(payload).unwrap_err();
    assert_eq!(error.code(), "missing_reason");
    assert_eq!(error.to_string(), "a refusal must give the agent's reason");
}

#[test]
fn the_document_facts_come_from_a_read_document() {
    use sesame_emulator::personalize::{Profile, personalize};
    use sesame_emulator::pki::TestPki;
    use sesame_emulator::{EmrtdCard, InProcessCard};
    use sesame_protocol::ec::Curve;
    use sesame_protocol::kdf::Password;
    use sesame_protocol::lds::DataGroup;
    use sesame_protocol::reader::{ReadRequest, read_document};

    let pki = TestPki::generate(Curve::BrainpoolP256r1, &mut SystemRandom).unwrap();
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../emulator/profiles/cnie.toml");
    let profile = Profile::load(&path).unwrap();
    let contents = personalize(&profile, &pki, &mut SystemRandom)
        .unwrap()
        .contents;
    let mut card = InProcessCard::new(EmrtdCard::new(contents));
    let request = ReadRequest {
        password: Password::can(&profile.can),
        data_groups: vec![DataGroup::Dg11, DataGroup::Dg2],
        active_authentication: None,
        trust: None,
        now: NOW,
    };
    let document = read_document(&mut card, &request, &mut SystemRandom, &mut |_| {}).unwrap();
    let facts = CertifiedDocument::from_document(&document, NOW);
    assert_eq!(facts.family_name, "LEFÈVRE");
    assert_eq!(facts.document_type, "ID");
    let mut payload = certified();
    payload.document = facts;
    payload.dg2_sha256 = dg2_sha256(document.data_groups.get(&2).unwrap());
    assert!(check(payload).is_ok());
}

// Never a panic.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(verifier().verify_certification(&text, NOW).is_err());
    }

    #[test]
    fn random_jws_shaped_input_never_panics(
        h in "[A-Za-z0-9_-]{0,200}",
        p in "[A-Za-z0-9_-]{0,400}",
        s in "[A-Za-z0-9_-]{0,100}",
    ) {
        let input = format!("{h}.{p}.{s}");
        prop_assert!(verifier().verify_certification(&input, NOW).is_err());
    }

    #[test]
    fn mutations_of_a_valid_record_never_panic_and_are_refused(
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let jws = sign(certified());
        let mut bytes = jws.clone().into_bytes();
        let at = position.index(bytes.len());
        if cut {
            bytes.truncate(at);
        } else {
            bytes[at] = byte;
        }
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        let verifier = verifier();
        let result = verifier.verify_certification(&mutated, NOW);
        if mutated != jws {
            // A change to the signed parts breaks the signature (or the shape); a change
            // to the signature's last character may keep the same bytes (base64url's
            // spare bits), which base64ct refuses as non-canonical anyway.
            prop_assert!(result.is_err(), "{mutated}");
        }
    }

    #[test]
    fn mutations_of_the_payload_json_never_panic(
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        // Re-signed after the mutation: the signature holds, the content checks run.
        let key = counter_key();
        let mut json = serde_json::to_vec(&payload_json(&certified(), &key)).unwrap();
        let at = position.index(json.len());
        json[at] = byte;
        let input = format!(
            "{}.{}",
            Base64UrlUnpadded::encode_string(&serde_json::to_vec(&header_json(&key)).unwrap()),
            Base64UrlUnpadded::encode_string(&json)
        );
        let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
        let jws = format!("{input}.{}", Base64UrlUnpadded::encode_string(&signature.to_bytes()));
        let _ = verifier().verify_certification(&jws, NOW);
    }
}
