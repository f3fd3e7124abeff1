//! The reference IdP's flow, driven through its router: `/login` binds a login to the
//! browser and redirects to the daemon; `/callback` accepts the answer only with that
//! browser's cookie and `state`, once, and verifies an assertion read from the virtual
//! card. The same flow in a real browser, against the real daemon, is
//! `tests/tests/browser_flow.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use p256::ecdsa::SigningKey;
use sesame_emulator::personalize::{Profile, personalize};
use sesame_emulator::pki::TestPki;
use sesame_emulator::{EmrtdCard, InProcessCard};
use sesame_idp::{Idp, IdpConfig, router};
use sesame_protocol::ec::Curve;
use sesame_protocol::kdf::Password;
use sesame_protocol::lds::DataGroup;
use sesame_protocol::pa::TrustStore;
use sesame_protocol::random::SystemRandom;
use sesame_protocol::reader::{ReadRequest, read_document};
use sesame_verifier::{active_authentication_challenge, issue, payload_from_document};
use tower::ServiceExt;

const ORIGIN: &str = "https://idp.example";
const DAEMON: &str = "https://127.0.0.1:24729";

fn idp(pki: &TestPki) -> axum::Router {
    let mut trust = TrustStore::new();
    trust.add_der(&pki.csca.certificate).unwrap();
    router(Arc::new(Idp::new(IdpConfig {
        origin: ORIGIN.into(),
        daemon: DAEMON.into(),
        trust,
        clock_skew: 30,
        counters: Vec::new(),
    })))
}

async fn send(
    app: &axum::Router,
    request: Request<Body>,
) -> (StatusCode, HashMap<String, String>, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .unwrap()
        .to_owned()
}

fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

struct Login {
    cookie: String,
    state: String,
    nonce: String,
}

async fn start_login(app: &axum::Router) -> Login {
    let (status, headers, _) = send(app, Request::get("/login").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = &headers["location"];
    let cookie = headers["set-cookie"].split(';').next().unwrap().to_owned();
    Login {
        cookie,
        state: query_param(location, "state"),
        nonce: query_param(location, "nonce"),
    }
}

fn callback(cookie: Option<&str>, form: &str) -> Request<Body> {
    let mut request = Request::post("/callback")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, format!("theme=dark; {cookie}"));
    }
    request.body(Body::from(form.to_owned())).unwrap()
}

/// What the daemon would post after reading the CNIe-like virtual card for this login.
fn assertion_from_the_virtual_card(pki: &TestPki, aud: &str, nonce: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../emulator/profiles/cnie.toml");
    let profile = Profile::load(&path).unwrap();
    let contents = personalize(&profile, pki, &mut SystemRandom)
        .unwrap()
        .contents;
    let challenge: [u8; 8] = active_authentication_challenge(aud, nonce)
        .try_into()
        .unwrap();
    let mut card = InProcessCard::new(EmrtdCard::new(contents));
    let request = ReadRequest {
        password: Password::can(&profile.can),
        data_groups: vec![DataGroup::Dg11],
        active_authentication: Some(challenge),
        trust: None,
        now: sesame_protocol::unix_now(),
    };
    let document = read_document(&mut card, &request, &mut SystemRandom, &mut |_| {}).unwrap();
    let payload = payload_from_document(&document, aud, nonce, sesame_protocol::unix_now());
    issue(payload, &SigningKey::from_slice(&[0x42; 32]).unwrap()).unwrap()
}

fn pki() -> TestPki {
    TestPki::generate(Curve::BrainpoolP256r1, &mut SystemRandom).unwrap()
}

#[tokio::test]
async fn the_home_page_speaks_french_and_english() {
    let app = idp(&pki());
    let (status, _, fr) = send(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(fr.contains("<html lang=\"fr\">"));
    assert!(fr.contains("<button type=\"submit\">Se connecter avec ma carte d'identité</button>"));
    let (_, _, en) = send(
        &app,
        Request::get("/")
            .header(header::ACCEPT_LANGUAGE, "en-US,en;q=0.8,fr;q=0.5")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("Log in with my ID card"));
    let (_, _, chosen) = send(&app, Request::get("/?lang=en").body(Body::empty()).unwrap()).await;
    assert!(chosen.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn login_redirects_to_the_daemon_with_a_cookie_that_survives_a_cross_site_post() {
    let app = idp(&pki());
    let (status, headers, _) =
        send(&app, Request::get("/login").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = &headers["location"];
    assert!(
        location.starts_with("https://127.0.0.1:24729/v1/authorize?"),
        "{location}"
    );
    assert_eq!(
        query_param(location, "client_id"),
        "https%3A%2F%2Fidp.example"
    );
    assert_eq!(
        query_param(location, "redirect_uri"),
        "https%3A%2F%2Fidp.example%2Fcallback"
    );
    let nonce = query_param(location, "nonce");
    assert!((22..=128).contains(&nonce.len()));
    assert!(query_param(location, "claims").contains("family_name"));
    let cookie = &headers["set-cookie"];
    assert!(cookie.starts_with("__Host-sesame-login="), "{cookie}");
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=None"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Domain"));
    // Two logins never share a nonce or a state.
    let other = start_login(&app).await;
    assert_ne!(other.nonce, nonce);
}

#[tokio::test]
async fn an_assertion_from_the_virtual_card_logs_in_once() {
    let pki = pki();
    let app = idp(&pki);
    let login = start_login(&app).await;
    let assertion = assertion_from_the_virtual_card(&pki, ORIGIN, &login.nonce);
    let form = format!(
        "assertion={}&state={}",
        form_encode(&assertion),
        form_encode(&login.state)
    );
    let (status, _, page) = send(&app, callback(Some(&login.cookie), &form)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Identity verified"));
    assert!(page.contains("data-assurance=\"chip-authenticated\""));
    assert!(page.contains("<dd data-claim=\"family_name\">"));
    // The same answer again: the login is gone.
    let (status, _, page) = send(&app, callback(Some(&login.cookie), &form)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("role=\"alert\""));
    assert!(page.contains("Login not found"));
}

#[tokio::test]
async fn an_answer_without_the_browser_cookie_or_with_another_state_is_refused() {
    let pki = pki();
    let app = idp(&pki);
    let login = start_login(&app).await;
    let assertion = assertion_from_the_virtual_card(&pki, ORIGIN, &login.nonce);
    let form = format!(
        "assertion={}&state={}",
        form_encode(&assertion),
        form_encode(&login.state)
    );
    // Posted into a browser that did not start the login (login CSRF).
    let (status, _, page) = send(&app, callback(None, &form)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Login not found"));
    // With the cookie but another state: refused, and the login is spent.
    let wrong = format!("assertion={}&state=other", form_encode(&assertion));
    let (status, _, page) = send(&app, callback(Some(&login.cookie), &wrong)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("does not match the login"));
    let (status, _, _) = send(&app, callback(Some(&login.cookie), &form)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_tampered_assertion_is_refused_with_its_code() {
    let pki = pki();
    let app = idp(&pki);
    let login = start_login(&app).await;
    let assertion = assertion_from_the_virtual_card(&pki, ORIGIN, &login.nonce);
    let mut parts: Vec<String> = assertion.split('.').map(str::to_owned).collect();
    let signature = parts[2].clone();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    parts[2] = format!("{flipped}{}", &signature[1..]);
    let form = format!(
        "assertion={}&state={}",
        form_encode(&parts.join(".")),
        form_encode(&login.state)
    );
    let (status, _, page) = send(&app, callback(Some(&login.cookie), &form)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("data-error=\"bad_signature\""), "{page}");
    assert!(page.contains("Identity not verified"));
}

#[tokio::test]
async fn an_assertion_read_for_another_idp_is_refused() {
    let pki = pki();
    let app = idp(&pki);
    let login = start_login(&app).await;
    let mut other = payload_of(&assertion_from_the_virtual_card(&pki, ORIGIN, &login.nonce));
    other.aud = "https://evil.example".into();
    let jws = issue(other, &SigningKey::from_slice(&[0x42; 32]).unwrap()).unwrap();
    let form = format!(
        "assertion={}&state={}",
        form_encode(&jws),
        form_encode(&login.state)
    );
    let (status, _, page) = send(&app, callback(Some(&login.cookie), &form)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("data-error=\"wrong_audience\""));
}

fn payload_of(jws: &str) -> sesame_verifier::Payload {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let part = jws.split('.').nth(1).unwrap();
    serde_json::from_slice(&Base64UrlUnpadded::decode_vec(part).unwrap()).unwrap()
}

#[tokio::test]
async fn a_daemon_error_is_shown_in_words_and_escaped() {
    let app = idp(&pki());
    let login = start_login(&app).await;
    let form = format!(
        "error=wrong_can&error_description={}&state={}",
        form_encode("<script>alert(1)</script> 2 tries left"),
        form_encode(&login.state)
    );
    let mut request = callback(Some(&login.cookie), &form);
    request
        .headers_mut()
        .insert(header::ACCEPT_LANGUAGE, "fr-FR,fr;q=0.9".parse().unwrap());
    let (status, _, page) = send(&app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Le code de la carte (CAN) saisi n'est pas le bon"));
    assert!(page.contains("data-error=\"wrong_can\""));
    assert!(!page.contains("<script>"));
}

#[tokio::test]
async fn malformed_answers_never_break_the_idp() {
    let app = idp(&pki());
    for form in [
        "",
        "assertion=",
        "assertion=a.b.c&state=x",
        "state=%FF%FE",
        "assertion=%ZZ",
        &"a=".repeat(10_000),
    ] {
        let login = start_login(&app).await;
        let (status, _, _) = send(&app, callback(Some(&login.cookie), form)).await;
        assert!(status.is_client_error(), "{form:.40}: {status}");
    }
    // Still serving.
    let (status, _, _) = send(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}
