//! The daemon's HTTP rules, request by request (no browser, no TLS: the router itself):
//! each bad authorization parameter is refused with its status and never redirected,
//! DNS rebinding (`Host`), cross-origin and token-less POSTs, reused and expired sessions;
//! and a whole flow against the in-process virtual card whose assertion the verifier
//! accepts, with only the claims asked for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sesame_daemon::config::Config;
use sesame_daemon::flow::Sessions;
use sesame_daemon::readers::ReaderHub;
use sesame_daemon::web::{Daemon, router};
use sesame_emulator::EmrtdCard;
use sesame_emulator::sample::{SAMPLE_CAN, SAMPLE_CSCA, sample_card};
use tower::ServiceExt;

const PORT: u16 = 24729;
const HOST: &str = "127.0.0.1:24729";
const ORIGIN: &str = "https://127.0.0.1:24729";
const IDP: &str = "https://idp.example";
const NONCE: &str = "q6xJ0c1gk2d7m1T0dQm3Yw";

fn daemon(lifetime: Duration) -> Arc<Daemon> {
    let config = Config::parse(
        "[[idp]]\norigin = \"https://idp.example\"\nname = \"Example\"\n",
        std::path::Path::new("test"),
    )
    .unwrap();
    let hub = ReaderHub::new(None, Vec::new());
    hub.add_virtual_card(
        "Sésame virtual card (test)",
        Box::new(EmrtdCard::new(sample_card())),
    );
    Arc::new(Daemon {
        config,
        hub,
        sessions: Sessions::with_lifetime(lifetime),
        key: p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap(),
        port: PORT,
        counter: None,
    })
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

async fn send(daemon: &Arc<Daemon>, request: Request<Body>) -> Answer {
    let response = router(daemon.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        location,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, HOST)
        .header(header::ACCEPT_LANGUAGE, "en")
        .body(Body::empty())
        .unwrap()
}

fn post(uri: &str, origin: Option<&str>, form: &str) -> Request<Body> {
    let mut request = Request::post(uri)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request.body(Body::from(form.to_owned())).unwrap()
}

fn authorize_uri(client_id: &str, redirect_uri: &str, nonce: &str) -> String {
    let enc = |s: &str| s.replace(':', "%3A").replace('/', "%2F");
    format!(
        "/v1/authorize?client_id={}&redirect_uri={}&nonce={nonce}&state=xyz&claims=given_name%20family_name",
        enc(client_id),
        enc(redirect_uri)
    )
}

/// Opens a consent page; returns (session id, token).
async fn consent(daemon: &Arc<Daemon>) -> (String, String) {
    let answer = send(
        daemon,
        get(&authorize_uri(IDP, "https://idp.example/callback", NONCE)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let attr = |name: &str| {
        let start = answer.body.find(name).unwrap() + name.len();
        answer.body[start..].split('"').next().unwrap().to_owned()
    };
    (attr("data-session=\""), attr("name=\"token\" value=\""))
}

#[tokio::test]
async fn every_bad_request_is_refused_and_never_redirected() {
    let d = daemon(Duration::from_secs(60));
    let cases = [
        (
            authorize_uri("https://evil.example", "https://evil.example/cb", NONCE),
            StatusCode::FORBIDDEN,
            "not among the identity providers",
        ),
        (
            authorize_uri(IDP, "https://evil.example/callback", NONCE),
            StatusCode::BAD_REQUEST,
            "redirect_uri",
        ),
        (
            authorize_uri(IDP, "http://idp.example/callback", NONCE),
            StatusCode::BAD_REQUEST,
            "redirect_uri",
        ),
        (
            authorize_uri(IDP, "https://idp.example/callback", "short"),
            StatusCode::BAD_REQUEST,
            "nonce",
        ),
        (
            authorize_uri(
                IDP,
                "https://idp.example/callback",
                "not+base64url+at+all+!!",
            ),
            StatusCode::BAD_REQUEST,
            "nonce",
        ),
        (
            "/v1/authorize?client_id=https%3A%2F%2Fidp.example".to_owned(),
            StatusCode::BAD_REQUEST,
            "redirect_uri is missing",
        ),
    ];
    for (uri, status, reason) in cases {
        let answer = send(&d, get(&uri)).await;
        assert_eq!(answer.status, status, "{uri}: {}", answer.body);
        assert!(answer.body.contains(reason), "{uri}: {}", answer.body);
        assert!(answer.location.is_none(), "{uri} redirected");
        assert!(!answer.body.contains("<form"), "{uri} offers a form");
        assert!(
            !answer.body.contains("evil.example/c"),
            "{uri} echoes the foreign URL"
        );
    }
    assert!(d.sessions.is_empty(), "no session for a refused request");
}

#[tokio::test]
async fn pages_are_refused_for_a_foreign_host() {
    let d = daemon(Duration::from_secs(60));
    for host in [
        "evil.example",
        "evil.example:24729",
        "127.0.0.1:80",
        "127.0.0.1.evil:24729",
    ] {
        let request = Request::get(authorize_uri(IDP, "https://idp.example/callback", NONCE))
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap();
        let answer = send(&d, request).await;
        assert_eq!(answer.status, StatusCode::MISDIRECTED_REQUEST, "{host}");
    }
    for host in ["[::1]:24729", "localhost:24729"] {
        let request = Request::get("/")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&d, request).await.status, StatusCode::OK, "{host}");
    }
}

#[tokio::test]
async fn state_changing_calls_need_the_daemons_origin_and_the_token() {
    let d = daemon(Duration::from_secs(60));
    let (id, token) = consent(&d).await;
    let start = format!("/v1/sessions/{id}/start");
    let finish = format!("/v1/sessions/{id}/finish");
    let form = format!("token={token}&can={SAMPLE_CAN}");
    for origin in [
        None,
        Some("https://evil.example"),
        Some("null"),
        Some("http://127.0.0.1:24729"),
    ] {
        let answer = send(&d, post(&start, origin, &form)).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "start from {origin:?}"
        );
        let answer = send(
            &d,
            post(&finish, origin, &format!("token={token}&action=cancel")),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "finish from {origin:?}"
        );
    }
    let answer = send(
        &d,
        post(
            &start,
            Some(ORIGIN),
            &format!("token=wrong&can={SAMPLE_CAN}"),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = send(&d, get(&format!("/v1/sessions/{id}/events?token=wrong"))).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = send(
        &d,
        post(&start, Some(ORIGIN), &format!("token={token}&can=12345")),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a 5-digit CAN"
    );
    // The session survived all that: it can still be cancelled, once.
    let cancel = format!("token={token}&action=cancel");
    let answer = send(&d, post(&finish, Some(ORIGIN), &cancel)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer
            .body
            .contains("name=\"error\" value=\"access_denied\""),
        "{}",
        answer.body
    );
    assert!(answer.body.contains("name=\"state\" value=\"xyz\""));
    assert!(
        answer
            .body
            .contains("action=\"https://idp.example/callback\"")
    );
    let answer = send(&d, post(&finish, Some(ORIGIN), &cancel)).await;
    assert_eq!(answer.status, StatusCode::GONE, "a used session");
    assert!(!answer.body.contains("<form"));
}

#[tokio::test]
async fn an_expired_session_is_gone() {
    let d = daemon(Duration::from_millis(1));
    let (id, token) = consent(&d).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let answer = send(
        &d,
        post(
            &format!("/v1/sessions/{id}/start"),
            Some(ORIGIN),
            &format!("token={token}&can={SAMPLE_CAN}"),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::GONE);
    let answer = send(
        &d,
        post(
            &format!("/v1/sessions/{id}/finish"),
            Some(ORIGIN),
            &format!("token={token}&action=cancel"),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::GONE);
}

async fn wait_for_event(d: &Arc<Daemon>, id: &str, token: &str, kind: &str) -> String {
    for _ in 0..200 {
        let last = d.sessions.with(id, token, |s| Ok(s.last.clone())).unwrap();
        if let Some(event) = last
            && event.kind == kind
        {
            return event.data;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no {kind} event");
}

#[tokio::test]
async fn a_wrong_can_can_be_retried_and_the_assertion_verifies() {
    let d = daemon(Duration::from_secs(60));
    let (id, token) = consent(&d).await;
    let start = format!("/v1/sessions/{id}/start");
    let answer = send(
        &d,
        post(&start, Some(ORIGIN), &format!("token={token}&can=000000")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let retry = wait_for_event(&d, &id, &token, "retry").await;
    assert!(
        retry.contains("does not open the card") || retry.contains("n'ouvre pas"),
        "{retry}"
    );
    // Not finished: asking for the answer now is refused, and the session stays.
    let finish = format!("/v1/sessions/{id}/finish");
    let early = send(
        &d,
        post(
            &finish,
            Some(ORIGIN),
            &format!("token={token}&action=return"),
        ),
    )
    .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    let answer = send(
        &d,
        post(
            &start,
            Some(ORIGIN),
            &format!("token={token}&can={SAMPLE_CAN}"),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let done = wait_for_event(&d, &id, &token, "done").await;
    assert!(done.contains("\"ok\":true"), "{done}");
    let answer = send(
        &d,
        post(
            &finish,
            Some(ORIGIN),
            &format!("token={token}&action=return"),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let jws = answer
        .body
        .split("name=\"assertion\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

    let mut trust = sesame_protocol::pa::TrustStore::new();
    trust.add_der(SAMPLE_CSCA).unwrap();
    let nonces = sesame_verifier::InMemoryNonceStore::new();
    sesame_verifier::NonceStore::issue(&nonces, NONCE, i64::MAX);
    let verifier = sesame_verifier::Verifier::new(
        sesame_verifier::VerifierConfig {
            client_id: IDP.into(),
            trust,
            clock_skew: 60,
        },
        Box::new(nonces),
    );
    let identity = verifier
        .verify(&jws, NONCE, sesame_protocol::unix_now())
        .unwrap();
    assert_eq!(identity.claims.given_name.as_deref(), Some("ANNA"));
    assert_eq!(identity.claims.family_name.as_deref(), Some("ERIKSSON"));
    assert_eq!(identity.claims.birthdate, None, "only the claims asked for");
    assert_eq!(identity.claims.document_number, None);
}
