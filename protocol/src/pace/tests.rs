//! PACE tests: the ICAO 9303-11 Appendix G.1 worked example (ECDH Generic Mapping on
//! brainpoolP256r1, AES-128, MRZ password), every intermediate value and every APDU,
//! then each way the chip can refuse or misbehave.

use super::*;
use crate::random::FixedRandom;
use hex_literal::hex;
use sesame_apdu::Capabilities;
use std::collections::VecDeque;

/// ICAO 9303-11 Appendix G.1: id-PACE-ECDH-GM-AES-CBC-CMAC-128 (0.4.0.127.0.7.2.2.4.2.2).
const G1_OID: [u8; 10] = hex!("04007F00070202040202");
/// Appendix G.1: the MRZ information of the example.
const G1_MRZ: &str = "T22000129364081251010318";
/// Appendix G.1: the nonce s and its encryption z under K_π.
const G1_S: [u8; 16] = hex!("3F00C4D39D153F2B2A214A078D899B22");
const G1_Z: [u8; 16] = hex!("95A3A016522EE98D01E76CB6B98B42C3");
/// Appendix G.1: the terminal's mapping key pair.
const G1_MAP_SK_IFD: [u8; 32] =
    hex!("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99");
const G1_MAP_PK_IFD: [u8; 65] = hex!(
    "04 7ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E
        544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D"
);
/// Appendix G.1: the chip's mapping key pair.
const G1_MAP_SK_IC: [u8; 32] =
    hex!("498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560");
const G1_MAP_PK_IC: [u8; 65] = hex!(
    "04 824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57
        30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54"
);
/// Appendix G.1: the mapping's shared point H and the mapped generator G~.
const G1_H: [u8; 65] = hex!(
    "04 60332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5
        0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181"
);
const G1_MAPPED_G: [u8; 65] = hex!(
    "04 8CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2
        8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522"
);
/// Appendix G.1: the ephemeral key pairs on G~.
const G1_EPH_SK_IFD: [u8; 32] =
    hex!("A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595");
const G1_EPH_PK_IFD: [u8; 65] = hex!(
    "04 2DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C
        3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462"
);
const G1_EPH_SK_IC: [u8; 32] =
    hex!("107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A");
const G1_EPH_PK_IC: [u8; 65] = hex!(
    "04 9E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB
        7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094"
);
/// Appendix G.1: the shared secret K, the session keys, the authentication tokens.
const G1_K: [u8; 32] = hex!("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925");
const G1_KS_ENC: [u8; 16] = hex!("F5F0E35C0D7161EE6724EE513A0D9A7F");
const G1_KS_MAC: [u8; 16] = hex!("FE251C7858B356B24514B3BD5F4297D1");
const G1_T_IFD: [u8; 8] = hex!("C2B0BD78D94BA866");
const G1_T_IC: [u8; 8] = hex!("3ABB9674BCE93C08");

const BP256: Curve = Curve::BrainpoolP256r1;

fn g1_params() -> PaceParameters {
    PaceParameters {
        oid: G1_OID.to_vec(),
        mapping: Mapping::Generic,
        suite: CipherSuite::Aes128,
        curve: BP256,
        parameter_reference: None,
    }
}

/// Appendix G.1, the arithmetic: each intermediate value from the ones before it, on
/// both sides.
#[test]
fn appendix_g1_intermediate_values() {
    let k_pi = kdf(
        CipherSuite::Aes128,
        &Password::mrz(G1_MRZ).pace_secret(),
        KeyPurpose::Password,
    );
    let cipher = SuiteCipher::new(CipherSuite::Aes128, &k_pi, &k_pi).unwrap();
    let mut s = G1_Z;
    cipher.decrypt_cbc(&[], &mut s).unwrap();
    assert_eq!(s, G1_S);

    assert_eq!(BP256.mul_base(&G1_MAP_SK_IFD, None).unwrap(), G1_MAP_PK_IFD);
    assert_eq!(BP256.mul_base(&G1_MAP_SK_IC, None).unwrap(), G1_MAP_PK_IC);
    assert_eq!(BP256.mul(&G1_MAP_SK_IFD, &G1_MAP_PK_IC).unwrap(), G1_H);
    assert_eq!(BP256.mul(&G1_MAP_SK_IC, &G1_MAP_PK_IFD).unwrap(), G1_H);
    assert_eq!(BP256.map_generic(&G1_S, &G1_H).unwrap(), G1_MAPPED_G);

    assert_eq!(
        BP256.mul_base(&G1_EPH_SK_IFD, Some(&G1_MAPPED_G)).unwrap(),
        G1_EPH_PK_IFD
    );
    assert_eq!(
        BP256.mul_base(&G1_EPH_SK_IC, Some(&G1_MAPPED_G)).unwrap(),
        G1_EPH_PK_IC
    );
    let shared = BP256.mul(&G1_EPH_SK_IFD, &G1_EPH_PK_IC).unwrap();
    assert_eq!(x_coordinate(&shared), G1_K);
    assert_eq!(
        x_coordinate(&BP256.mul(&G1_EPH_SK_IC, &G1_EPH_PK_IFD).unwrap()),
        G1_K
    );

    assert_eq!(
        *kdf(CipherSuite::Aes128, &G1_K, KeyPurpose::Encryption),
        G1_KS_ENC
    );
    assert_eq!(*kdf(CipherSuite::Aes128, &G1_K, KeyPurpose::Mac), G1_KS_MAC);
    let tokens = SuiteCipher::new(CipherSuite::Aes128, &G1_KS_ENC, &G1_KS_MAC).unwrap();
    assert_eq!(
        public_key_data_object(&G1_OID, &G1_EPH_PK_IC),
        [
            hex!("7F494F060A04007F00070202040202864104").as_slice(),
            &G1_EPH_PK_IC[1..]
        ]
        .concat()
    );
    assert_eq!(
        authentication_token(&tokens, &G1_OID, &G1_EPH_PK_IC),
        G1_T_IFD
    );
    assert_eq!(
        authentication_token(&tokens, &G1_OID, &G1_EPH_PK_IFD),
        G1_T_IC
    );
}

/// A transport that checks each command against a script and plays the answers; an
/// empty expectation accepts any command.
struct Script(VecDeque<(Vec<u8>, Vec<u8>)>);

impl Transport for Script {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let (expected, answer) = self.0.pop_front().expect("script exhausted");
        if !expected.is_empty() {
            assert_eq!(command, expected.as_slice());
        }
        Ok(answer)
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::SHORT
    }
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Appendix G.1 as APDUs: what the terminal sends and the chip answers.
fn g1_transcript() -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        (
            hex!("0022C1A40F 800A04007F00070202040202 830101").to_vec(),
            hex!("9000").to_vec(),
        ),
        (
            hex!("10860000027C0000").to_vec(),
            concat(&[&hex!("7C128010"), &G1_Z, &hex!("9000")]),
        ),
        (
            concat(&[&hex!("10860000457C438141"), &G1_MAP_PK_IFD, &hex!("00")]),
            concat(&[&hex!("7C438241"), &G1_MAP_PK_IC, &hex!("9000")]),
        ),
        (
            concat(&[&hex!("10860000457C438341"), &G1_EPH_PK_IFD, &hex!("00")]),
            concat(&[&hex!("7C438441"), &G1_EPH_PK_IC, &hex!("9000")]),
        ),
        (
            concat(&[&hex!("008600000C7C0A8508"), &G1_T_IFD, &hex!("00")]),
            concat(&[&hex!("7C0A8608"), &G1_T_IC, &hex!("9000")]),
        ),
    ]
}

fn g1_random() -> FixedRandom {
    FixedRandom::new(&[&G1_MAP_SK_IFD, &G1_EPH_SK_IFD])
}

/// Appendix G.1 end to end: the terminal sends exactly the example's APDUs and ends with
/// its session keys; every step is reported.
#[test]
fn appendix_g1_through_a_transport() {
    let mut card = Script(g1_transcript().into());
    let mut steps = Vec::new();
    let outcome = establish_pace(
        &mut card,
        &g1_params(),
        &Password::mrz(G1_MRZ),
        &mut g1_random(),
        &mut |s| steps.push(s),
    )
    .unwrap();
    assert!(card.0.is_empty());
    assert_eq!(*outcome.keys.enc, G1_KS_ENC);
    assert_eq!(*outcome.keys.mac, G1_KS_MAC);
    assert_eq!(outcome.chip_ephemeral_key, G1_EPH_PK_IC);
    assert_eq!(outcome.codec().unwrap().ssc(), [0; 16]);
    assert_eq!(steps.len(), 5);
    assert_eq!(steps[4], PaceStep::MutualAuthentication);
}

fn run_with_last_answer(answer: &[u8]) -> PaceError {
    let mut transcript = g1_transcript();
    transcript[4].1 = answer.to_vec();
    let mut card = Script(transcript.into());
    establish_pace(
        &mut card,
        &g1_params(),
        &Password::mrz(G1_MRZ),
        &mut g1_random(),
        &mut |_| {},
    )
    .unwrap_err()
}

#[test]
fn a_wrong_password_says_so_with_the_tries_left() {
    let err = run_with_last_answer(&hex!("63C2"));
    assert!(
        matches!(
            err,
            PaceError::WrongPassword {
                password: "MRZ",
                retries_left: Some(2)
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "wrong MRZ (2 tries left)");
    let err = run_with_last_answer(&hex!("6300"));
    assert!(
        matches!(
            err,
            PaceError::WrongPassword {
                retries_left: None,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_chip_with_a_wrong_token_is_not_authenticated() {
    let err = run_with_last_answer(&hex!("7C0A8608 0000000000000000 9000"));
    assert!(matches!(err, PaceError::ChipNotAuthenticated), "{err:?}");
}

#[test]
fn malformed_answers_are_errors() {
    let err = run_with_last_answer(&hex!("7C03860100 9000"));
    assert!(
        matches!(
            err,
            PaceError::Malformed {
                step: PaceStep::MutualAuthentication
            }
        ),
        "{err:?}"
    );
    let mut transcript = g1_transcript();
    transcript[1].1 = hex!("7C02 8100 9000").to_vec();
    let mut card = Script(transcript.into());
    let err = establish_pace(
        &mut card,
        &g1_params(),
        &Password::mrz(G1_MRZ),
        &mut g1_random(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            PaceError::Malformed {
                step: PaceStep::EncryptedNonce
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_chip_key_off_the_curve_or_echoing_ours_is_refused() {
    let mut transcript = g1_transcript();
    let mut off_curve = G1_MAP_PK_IC;
    off_curve[64] ^= 1;
    transcript[2].1 = concat(&[&hex!("7C438241"), &off_curve, &hex!("9000")]);
    let mut card = Script(transcript.into());
    let err = establish_pace(
        &mut card,
        &g1_params(),
        &Password::mrz(G1_MRZ),
        &mut g1_random(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            PaceError::InvalidKey {
                step: PaceStep::Mapping,
                ..
            }
        ),
        "{err:?}"
    );

    let mut transcript = g1_transcript();
    transcript[2].1 = concat(&[&hex!("7C438241"), &G1_MAP_PK_IFD, &hex!("9000")]);
    let mut card = Script(transcript.into());
    let err = establish_pace(
        &mut card,
        &g1_params(),
        &Password::mrz(G1_MRZ),
        &mut g1_random(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            PaceError::InvalidKey {
                step: PaceStep::Mapping,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn suspended_and_blocked_passwords() {
    let pin = Password::Pin(zeroize::Zeroizing::new("123456".into()));
    let mut card = Script(vec![(Vec::new(), hex!("63C1").to_vec())].into());
    let err =
        establish_pace(&mut card, &g1_params(), &pin, &mut g1_random(), &mut |_| {}).unwrap_err();
    assert!(
        matches!(err, PaceError::PasswordSuspended { password: "PIN" }),
        "{err:?}"
    );
    let mut card = Script(vec![(Vec::new(), hex!("6983").to_vec())].into());
    let err = establish_pace(
        &mut card,
        &g1_params(),
        &Password::can("123456"),
        &mut g1_random(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, PaceError::PasswordBlocked { password: "CAN" }),
        "{err:?}"
    );
    // For a CAN, 63C1 only warns: PACE goes on (and here fails on the next answer).
    let mut card = Script(
        vec![
            (Vec::new(), hex!("63C1").to_vec()),
            (Vec::new(), hex!("6A80").to_vec()),
        ]
        .into(),
    );
    let err = establish_pace(
        &mut card,
        &g1_params(),
        &Password::can("123456"),
        &mut g1_random(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            PaceError::Refused {
                step: PaceStep::EncryptedNonce,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn the_parameter_reference_goes_in_tag_84() {
    let mut params = g1_params();
    params.parameter_reference = Some(13);
    let mut card = Script(
        vec![(
            hex!("0022C1A412 800A04007F00070202040202 830102 84010D").to_vec(),
            hex!("6A80").to_vec(),
        )]
        .into(),
    );
    let err = establish_pace(
        &mut card,
        &params,
        &Password::can("123456"),
        &mut g1_random(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(
        err,
        PaceError::Refused {
            step: PaceStep::SetAuthenticationTemplate,
            sw: StatusWord::IncorrectData
        }
    ));
}

/// ICAO 9303-11 Appendix H.1 (PACE with ECDH Integrated Mapping, brainpoolP256r1,
/// AES-128, CAN `123456`): id-PACE-ECDH-IM-AES-CBC-CMAC-128.
const H1_OID: [u8; 10] = hex!("04007F00070202040402");
/// Appendix H.1: the encrypted nonce z, the nonce s, the terminal's nonce t.
const H1_Z: [u8; 16] = hex!("143DC40C08C8E891FBED7DEDB92B64AD");
const H1_S: [u8; 16] = hex!("2923BE84E16CD6AE529049F1F1BBE9EB");
const H1_T: [u8; 16] = hex!("5DD4CBFC96F5453B130D890A1CDBAE32");
/// Appendix H.1: R_p(s, t), and the mapped generator f_G(R_p(s, t) mod p).
const H1_R: [u8; 48] = hex!(
    "E4447E2DFB3586BAC05DDB00156B57FBB2179A3949294C97254189800C517BAA
     8DA0FF397ED8C445D3E421E4FEB57322"
);
const H1_MAPPED_G: [u8; 65] = hex!(
    "04 8E82D31559ED0FDE92A4D0498ADD3C23BABA94FB77691E31E90AEA77FB17D427
        4C1AE14BD0C3DBAC0C871B7F3608169364437CA30AC243A089D3F266C1E60FAD"
);
/// Appendix H.1: the ephemeral keys (the terminal's private key is G.1's).
const H1_EPH_PK_IFD: [u8; 65] = hex!(
    "04 89CBA23FFE96AA18D824627C3E934E54A9FD0B87A95D1471DC1C0ABFDCD640D4
        6755DE9B7B778280B6BEBD57439ADFEB0E21FD4ED6DF42578C13418A59B34C37"
);
const H1_EPH_PK_IC: [u8; 65] = hex!(
    "04 67F78E5F7F7686082B293E8D087E056916D0F74BC01A5F8957D0DE45691E51E8
        932B69A962B52A0985AD2C0A271EE6A13A8ADDDCD1A3A994B9DED257F4D22753"
);
/// Appendix H.1: the shared secret, the session keys, the tokens.
const H1_K: [u8; 32] = hex!("4F150FDE1D4F0E38E95017B891BAE17133A0DF45B0D3E18B60BA7BEAFDC2C713");
const H1_KS_ENC: [u8; 16] = hex!("0D3FEB33251A6370893D62AE8DAAF51B");
const H1_KS_MAC: [u8; 16] = hex!("B01E89E3D9E8719E586B50B4A7506E0B");
const H1_T_IFD: [u8; 8] = hex!("450F02B86F6A0909");
const H1_T_IC: [u8; 8] = hex!("75D4D96E8D5B0308");

/// Appendix H.1, every intermediate value: K_π from the CAN, s from z, R_p(s, t), the
/// point encoding, the key agreement, the keys and the tokens.
#[test]
fn appendix_h1_intermediate_values() {
    let k_pi = kdf(
        CipherSuite::Aes128,
        &Password::can("123456").pace_secret(),
        KeyPurpose::Password,
    );
    assert_eq!(*k_pi, hex!("591468CDA83D65219CCCB8560233600F"));
    let mut s = H1_Z;
    SuiteCipher::new(CipherSuite::Aes128, &k_pi, &k_pi)
        .unwrap()
        .decrypt_cbc(&[], &mut s)
        .unwrap();
    assert_eq!(s, H1_S);

    let r = pseudo_random(CipherSuite::Aes128, &H1_S, &H1_T, BP256.field_bits()).unwrap();
    assert_eq!(*r, H1_R);
    assert_eq!(BP256.map_integrated(&r).unwrap(), H1_MAPPED_G);

    assert_eq!(
        BP256.mul_base(&G1_EPH_SK_IFD, Some(&H1_MAPPED_G)).unwrap(),
        H1_EPH_PK_IFD
    );
    assert_eq!(
        x_coordinate(&BP256.mul(&G1_EPH_SK_IFD, &H1_EPH_PK_IC).unwrap()),
        H1_K
    );
    assert_eq!(
        *kdf(CipherSuite::Aes128, &H1_K, KeyPurpose::Encryption),
        H1_KS_ENC
    );
    assert_eq!(*kdf(CipherSuite::Aes128, &H1_K, KeyPurpose::Mac), H1_KS_MAC);
    let tokens = SuiteCipher::new(CipherSuite::Aes128, &H1_KS_ENC, &H1_KS_MAC).unwrap();
    assert_eq!(
        authentication_token(&tokens, &H1_OID, &H1_EPH_PK_IC),
        H1_T_IFD
    );
    assert_eq!(
        authentication_token(&tokens, &H1_OID, &H1_EPH_PK_IFD),
        H1_T_IC
    );
}

/// Appendix H.1 as APDUs, end to end through a transport.
#[test]
fn appendix_h1_through_a_transport() {
    let transcript = vec![
        (
            hex!("0022C1A40F 800A04007F00070202040402 830102").to_vec(),
            hex!("9000").to_vec(),
        ),
        (
            hex!("10860000027C0000").to_vec(),
            concat(&[&hex!("7C128010"), &H1_Z, &hex!("9000")]),
        ),
        (
            concat(&[&hex!("10860000147C128110"), &H1_T, &hex!("00")]),
            hex!("7C00 9000").to_vec(),
        ),
        (
            concat(&[&hex!("10860000457C438341"), &H1_EPH_PK_IFD, &hex!("00")]),
            concat(&[&hex!("7C438441"), &H1_EPH_PK_IC, &hex!("9000")]),
        ),
        (
            concat(&[&hex!("008600000C7C0A8508"), &H1_T_IFD, &hex!("00")]),
            concat(&[&hex!("7C0A8608"), &H1_T_IC, &hex!("9000")]),
        ),
    ];
    let params = PaceParameters {
        oid: H1_OID.to_vec(),
        mapping: Mapping::Integrated,
        suite: CipherSuite::Aes128,
        curve: BP256,
        parameter_reference: None,
    };
    let mut card = Script(transcript.into());
    let mut rng = FixedRandom::new(&[&H1_T, &G1_EPH_SK_IFD]);
    let outcome = establish_pace(
        &mut card,
        &params,
        &Password::can("123456"),
        &mut rng,
        &mut |_| {},
    )
    .unwrap();
    assert!(card.0.is_empty());
    assert_eq!(*outcome.keys.enc, H1_KS_ENC);
    assert_eq!(*outcome.keys.mac, H1_KS_MAC);
}
