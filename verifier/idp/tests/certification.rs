//! The reference IdP's certification endpoint (`docs/counter.md`), through its router: a
//! record from a registered counter is verified and listed (HTML and JSON), a refusal
//! too with its reason, a forged or replayed record is refused with its code and not
//! listed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64ct::Encoding;
use p256::ecdsa::SigningKey;
use sesame_idp::{Idp, IdpConfig, router};
use sesame_protocol::pa::TrustStore;
use sesame_protocol::random::SystemRandom;
use sesame_verifier::certification::{
    Agent, CertifiedDocument, Checks, Decision, PassiveAuthenticationVerdict, counter_issuer,
    dg2_sha256, new_jti,
};
use sesame_verifier::{CertificationPayload, TrustedCounter, issue_certification};
use tower::ServiceExt;

const ORIGIN: &str = "https://idp.example";

fn counter_key() -> SigningKey {
    SigningKey::from_slice(&[0x51; 32]).unwrap()
}

fn setup() -> (Arc<Idp>, axum::Router) {
    let idp = Arc::new(Idp::new(IdpConfig {
        origin: ORIGIN.into(),
        daemon: "https://127.0.0.1:24729".into(),
        trust: TrustStore::new(),
        clock_skew: 30,
        counters: vec![
            format!("{}=Mairie de Brest", counter_issuer(&counter_key()))
                .parse::<TrustedCounter>()
                .unwrap(),
        ],
    }));
    (Arc::clone(&idp), router(idp))
}

fn record(decision: Decision) -> CertificationPayload {
    let refused = decision == Decision::Refused;
    CertificationPayload {
        iss: String::new(),
        aud: ORIGIN.into(),
        iat: sesame_protocol::unix_now(),
        jti: new_jti(&mut SystemRandom).unwrap(),
        decision,
        reason: refused.then(|| "La photo <b>ne correspond pas</b> & la personne".to_owned()),
        agent: Agent {
            id: "A-042".into(),
            name: "Camille <Durand>".into(),
        },
        station: "Mairie de Brest — guichet 2".into(),
        document: CertifiedDocument {
            document_type: "ID".into(),
            issuing_state: "FRA".into(),
            document_number: "X4RTBPFW4".into(),
            family_name: "MARTIN".into(),
            given_name: "Élodie <script>alert(1)</script>".into(),
            birthdate: "1990-07-14".into(),
            expiry_date: "2031-03-02".into(),
            nationality: "FRA".into(),
        },
        checks: Checks {
            face_matches: !refused,
            document_valid: true,
            passive_authentication: PassiveAuthenticationVerdict::Verified,
            chip_authentication: true,
        },
        dg2_sha256: dg2_sha256(b"DG2"),
    }
}

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, String, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), 8 << 20)
        .await
        .unwrap();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

fn post(content_type: &str, body: String) -> Request<Body> {
    Request::post("/certifications")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

async fn listed(app: &axum::Router) -> (String, serde_json::Value) {
    let (status, content_type, html) = send(
        app,
        Request::get("/certifications?lang=en")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let (status, content_type, list) = send(
        app,
        Request::get("/certifications.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/json");
    (html, json(&list))
}

#[tokio::test]
async fn a_verified_certification_is_listed_in_html_and_json() {
    let (idp, app) = setup();
    let payload = record(Decision::Certified);
    let jti = payload.jti.clone();
    let jws = issue_certification(payload, &counter_key()).unwrap();
    let (status, content_type, body) = send(&app, post("application/jose", jws)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(content_type, "application/json");
    assert_eq!(
        json(&body),
        serde_json::json!({"status": "verified", "jti": jti})
    );

    let (html, list) = listed(&app).await;
    assert!(html.contains("<table>"));
    assert!(html.contains("<caption id=\"certifications-caption\">"));
    for column in [
        "Time (UTC)",
        "Station",
        "Agent",
        "Decision",
        "Document number",
        "Name",
        "Passive authentication",
        "Counter key",
    ] {
        assert!(
            html.contains(&format!("<th scope=\"col\">{column}</th>")),
            "{column}"
        );
    }
    assert!(html.contains(&format!("data-jti=\"{jti}\" data-decision=\"certified\"")));
    assert!(html.contains("<td>X4RTBPFW4</td>"));
    assert!(html.contains("<td>Mairie de Brest</td>"));
    assert!(html.contains("data-pa=\"verified\""));
    // Everything from the record is escaped.
    assert!(html.contains("Camille &lt;Durand&gt;"));
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;"));

    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["counter"], "Mairie de Brest");
    assert_eq!(list[0]["certification"]["jti"], jti.as_str());
    assert_eq!(list[0]["certification"]["decision"], "certified");
    assert_eq!(
        list[0]["certification"]["iss"],
        counter_issuer(&counter_key()).as_str()
    );
    assert_eq!(idp.certifications().len(), 1);

    // In French too.
    let (_, _, fr) = send(
        &app,
        Request::get("/certifications")
            .header(header::ACCEPT_LANGUAGE, "fr-FR,fr;q=0.9")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(fr.contains("<html lang=\"fr\">"));
    assert!(fr.contains("<th scope=\"col\">Guichet</th>"));
    assert!(fr.contains("Certifiée"));
}

#[tokio::test]
async fn a_refusal_is_listed_with_its_reason() {
    let (_, app) = setup();
    let payload = record(Decision::Refused);
    let jti = payload.jti.clone();
    let jws = issue_certification(payload, &counter_key()).unwrap();
    // As text/plain, with the line break a shell would add.
    let (status, _, body) = send(&app, post("text/plain; charset=utf-8", format!("{jws}\n"))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (html, list) = listed(&app).await;
    assert!(html.contains(&format!("data-jti=\"{jti}\" data-decision=\"refused\"")));
    assert!(html.contains(
        "Refused: <q data-reason>La photo &lt;b&gt;ne correspond pas&lt;/b&gt; &amp; la personne</q>"
    ));
    assert_eq!(list[0]["certification"]["decision"], "refused");
    assert_eq!(
        list[0]["certification"]["reason"],
        "La photo <b>ne correspond pas</b> & la personne"
    );
}

#[tokio::test]
async fn the_form_field_is_accepted_and_the_newest_comes_first() {
    let (_, app) = setup();
    let first = record(Decision::Certified);
    let second = record(Decision::Refused);
    let (first_jti, second_jti) = (first.jti.clone(), second.jti.clone());
    for payload in [first, second] {
        let jws = issue_certification(payload, &counter_key()).unwrap();
        let (status, _, body) = send(
            &app,
            post(
                "application/x-www-form-urlencoded",
                format!("certification={jws}"),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (html, list) = listed(&app).await;
    assert_eq!(list[0]["certification"]["jti"], second_jti.as_str());
    assert_eq!(list[1]["certification"]["jti"], first_jti.as_str());
    let newest = html.find(&second_jti).unwrap();
    let oldest = html.find(&first_jti).unwrap();
    assert!(newest < oldest);
}

#[tokio::test]
async fn a_forged_record_is_refused_and_not_listed() {
    let (idp, app) = setup();
    // Signed by a key the IdP never registered.
    let intruder = SigningKey::from_slice(&[0x52; 32]).unwrap();
    let jws = issue_certification(record(Decision::Certified), &intruder).unwrap();
    let (status, content_type, body) = send(&app, post("application/jose", jws)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(content_type, "application/json");
    let answer = json(&body);
    assert_eq!(answer["error"], "unknown_counter");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("not registered")
    );

    // The registered counter's record, altered after signing.
    let jws = issue_certification(record(Decision::Certified), &counter_key()).unwrap();
    let mut parts: Vec<&str> = jws.split('.').collect();
    let mut refused = record(Decision::Certified);
    refused.iss = counter_issuer(&counter_key());
    refused.document.document_number = "Z0000000".into();
    let altered =
        base64ct::Base64UrlUnpadded::encode_string(&serde_json::to_vec(&refused).unwrap());
    parts[1] = &altered;
    let (status, _, body) = send(&app, post("application/jose", parts.join("."))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json(&body)["error"], "bad_signature");

    // A certification that says the face did not match.
    let mut inconsistent = record(Decision::Certified);
    inconsistent.checks.face_matches = false;
    let jws = issue_certification(inconsistent, &counter_key()).unwrap();
    let (status, _, body) = send(&app, post("application/jose", jws)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&body)["error"], "inconsistent_decision");

    // Garbage.
    let (status, _, body) = send(&app, post("application/jose", "a.b.c".into())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&body)["error"], "malformed");

    let (html, list) = listed(&app).await;
    assert_eq!(list, serde_json::json!([]));
    assert!(html.contains("No certification received yet."));
    assert!(!html.contains("<table>"));
    assert!(idp.certifications().is_empty());
}

#[tokio::test]
async fn a_replayed_record_is_refused() {
    let (_, app) = setup();
    let jws = issue_certification(record(Decision::Certified), &counter_key()).unwrap();
    let (status, _, _) = send(&app, post("application/jose", jws.clone())).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, body) = send(&app, post("application/jose", jws)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(json(&body)["error"], "replayed_jti");
    let (_, list) = listed(&app).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_record_for_another_idp_is_refused() {
    let (_, app) = setup();
    let mut payload = record(Decision::Certified);
    payload.aud = "https://other.example".into();
    let jws = issue_certification(payload, &counter_key()).unwrap();
    let (status, _, body) = send(&app, post("application/jose", jws)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json(&body)["error"], "wrong_audience");
}

#[tokio::test]
async fn bad_requests_get_json_errors() {
    let (_, app) = setup();
    let (status, _, body) = send(&app, post("application/json", "{}".into())).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(json(&body)["error"], "unsupported_media_type");
    let (status, _, body) = send(
        &app,
        post("application/x-www-form-urlencoded", "other=1".into()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&body)["error"], "bad_request");
    let (status, _, body) = send(&app, post("application/jose", "x".repeat(200_000))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json(&body)["error"], "too_large");
    let (status, _, body) = send(&app, post("application/jose", "x".repeat(70_000))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&body)["error"], "malformed");
    let request = Request::post("/certifications")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(vec![0xff, 0xfe, 0x2e]))
        .unwrap();
    let (status, _, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&body)["error"], "bad_request");
    // Still serving.
    let (status, _, _) = send(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_idp_without_counters_accepts_none() {
    let app = router(Arc::new(Idp::new(IdpConfig {
        origin: ORIGIN.into(),
        daemon: "https://127.0.0.1:24729".into(),
        trust: TrustStore::new(),
        clock_skew: 30,
        counters: Vec::new(),
    })));
    let jws = issue_certification(record(Decision::Certified), &counter_key()).unwrap();
    let (status, _, body) = send(&app, post("application/jose", jws)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json(&body)["error"], "unknown_counter");
}
