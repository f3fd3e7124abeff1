//! # sesame-idp
//!
//! The reference identity provider: the smallest IdP that runs the Sésame redirect flow
//! (`docs/protocol.md` §1) and verifies the answer with [`sesame_verifier`]. It is what
//! the demo and the browser tests log in to, and it is meant to be read by IdP
//! developers: every step a real IdP must take is here, in order, and nothing else.
//!
//! - `GET /` — a page with one button, "Log in with my ID card".
//! - `GET /login` — makes a login (`state`, `nonce`), binds it to this browser with a
//!   `SameSite=None; Secure; HttpOnly` cookie (the answer is a cross-site POST, which a
//!   `Lax` cookie would not accompany), registers the nonce, and redirects to the
//!   daemon's `/v1/authorize`.
//! - `GET /extension` — the same login without a redirect: the page asks the Sésame
//!   browser extension (`web-extension-bridge/extension/sesame.js`) for the assertion
//!   and posts it to `/callback` itself.
//! - `POST /callback` — finds the login by its cookie, checks `state`, forgets the login
//!   (single use), verifies the assertion, and shows the identity or the reason in words.
//! - `POST /certifications` — a town-hall counter posts a signed certification record
//!   (`docs/counter.md`); it is verified against the registered counter keys
//!   ([`IdpConfig::counters`]) and kept in memory. `GET /certifications` lists them
//!   (HTML), `GET /certifications.json` too (JSON).
//!
//! Pages are plain HTML in French or English (from `Accept-Language`, or `?lang=`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod pages;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Form, FromRequest, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, http};
use base64ct::{Base64UrlUnpadded, Encoding};
use serde::Deserialize;
use sesame_verifier::{
    CertificationError, CertificationVerifier, InMemoryNonceStore, TrustedCounter,
    VerifiedCertification, Verifier, VerifierConfig,
};

pub use pages::{Lang, claim_label, escape};

/// How long a login may take, from `/login` to `/callback`, seconds.
pub const LOGIN_LIFETIME: i64 = 600;
/// The most logins waiting at once; beyond it `/login` answers 503 rather than grow.
pub const MAX_PENDING_LOGINS: usize = 10_000;
/// The most certification records kept; beyond it the oldest is dropped.
pub const MAX_CERTIFICATIONS: usize = 10_000;
/// The largest body `POST /certifications` reads (the record itself is at most 64 KiB).
pub const MAX_CERTIFICATION_BODY: usize = 128 * 1024;
/// The claims the reference IdP asks for.
pub const REQUESTED_CLAIMS: &str =
    "family_name given_name birthdate nationality document_number expiry_date";

/// What the IdP is configured with.
#[derive(Debug)]
pub struct IdpConfig {
    /// Its origin, which is also its `client_id` (`https://idp.example`, or
    /// `http://localhost:8080` for a developer's machine).
    pub origin: String,
    /// The daemon's base URL (`https://127.0.0.1:24729`).
    pub daemon: String,
    /// The CSCAs it trusts.
    pub trust: sesame_protocol::pa::TrustStore,
    /// Clock skew allowed on the assertion's and the certification records' times,
    /// seconds.
    pub clock_skew: i64,
    /// The town-hall counter keys whose certification records it accepts
    /// (`docs/counter.md`); empty: it accepts none.
    pub counters: Vec<TrustedCounter>,
}

/// A certification record the IdP accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedCertification {
    /// When it arrived, Unix seconds.
    pub received_at: i64,
    /// The verified record and the counter that signed it.
    pub certification: VerifiedCertification,
}

/// One login between `/login` and `/callback`.
struct Login {
    state: String,
    nonce: String,
    expires: i64,
}

/// The IdP's state, shared by the handlers.
pub struct Idp {
    origin: String,
    daemon: String,
    verifier: Verifier,
    logins: Mutex<HashMap<String, Login>>,
    certification_verifier: CertificationVerifier,
    /// Newest first, at most [`MAX_CERTIFICATIONS`].
    certifications: Mutex<VecDeque<ReceivedCertification>>,
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idp")
            .field("origin", &self.origin)
            .field("daemon", &self.daemon)
            .finish_non_exhaustive()
    }
}

impl Idp {
    /// An IdP with an in-memory nonce store (one process).
    #[must_use]
    pub fn new(config: IdpConfig) -> Self {
        let origin = config.origin.trim_end_matches('/').to_owned();
        Self {
            verifier: Verifier::new(
                VerifierConfig {
                    client_id: origin.clone(),
                    trust: config.trust,
                    clock_skew: config.clock_skew,
                },
                Box::new(InMemoryNonceStore::new()),
            ),
            certification_verifier: CertificationVerifier::new(origin.clone(), config.counters)
                .with_clock_skew(config.clock_skew),
            daemon: config.daemon.trim_end_matches('/').to_owned(),
            origin,
            logins: Mutex::new(HashMap::new()),
            certifications: Mutex::new(VecDeque::new()),
        }
    }

    /// The certification records accepted so far, newest first.
    #[must_use]
    pub fn certifications(&self) -> Vec<ReceivedCertification> {
        self.certifications
            .lock()
            .map(|list| list.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The name of the login cookie: `__Host-` (no `Domain`, path `/`, `Secure`) when
    /// the origin is `https`; browsers accept `Secure` cookies on `http://localhost`, but
    /// not the `__Host-` prefix there.
    fn cookie_name(&self) -> &'static str {
        if self.origin.starts_with("https://") {
            "__Host-sesame-login"
        } else {
            "sesame-login"
        }
    }
}

/// The IdP's routes.
pub fn router(idp: Arc<Idp>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/extension", get(extension_login))
        .route("/static/sesame.js", get(sesame_js))
        .route("/static/extension-login.js", get(extension_login_js))
        .route("/callback", post(callback))
        .route(
            "/certifications",
            get(certifications_page)
                .post(post_certification)
                .layer(DefaultBodyLimit::max(MAX_CERTIFICATION_BODY)),
        )
        .route("/certifications.json", get(certifications_json))
        .with_state(idp)
}

/// 128 random bits, base64url (22 characters).
fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(Base64UrlUnpadded::encode_string(&bytes))
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

fn lang_of(query: Option<&str>, headers: &HeaderMap) -> Lang {
    Lang::choose(
        query,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

async fn home(
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> ([(http::HeaderName, HeaderValue); 1], Html<String>) {
    let lang = lang_of(query.lang.as_deref(), &headers);
    (pages::no_store(), Html(pages::home(lang)))
}

/// A new login: its id (the cookie's value), `state` and `nonce`, kept server-side, the
/// nonce registered with the verifier.
fn new_login(idp: &Idp) -> Result<(String, String, String), (StatusCode, pages::Problem<'static>)> {
    let (Ok(id), Ok(state), Ok(nonce)) = (random_token(), random_token(), random_token()) else {
        return Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::Problem::NoRandomness,
        ));
    };
    let now = sesame_protocol::unix_now();
    {
        let Ok(mut logins) = idp.logins.lock() else {
            return Err((StatusCode::INTERNAL_SERVER_ERROR, pages::Problem::Busy));
        };
        logins.retain(|_, login| login.expires > now);
        if logins.len() >= MAX_PENDING_LOGINS {
            return Err((StatusCode::SERVICE_UNAVAILABLE, pages::Problem::Busy));
        }
        logins.insert(
            id.clone(),
            Login {
                state: state.clone(),
                nonce: nonce.clone(),
                expires: now + LOGIN_LIFETIME,
            },
        );
    }
    idp.verifier.nonces().issue(&nonce, now + LOGIN_LIFETIME);
    Ok((id, state, nonce))
}

/// The cookie that binds login `id` to this browser.
fn login_cookie(idp: &Idp, id: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{}={id}; Path=/; Secure; HttpOnly; SameSite=None; Max-Age={LOGIN_LIFETIME}",
        idp.cookie_name()
    ))
    .ok()
}

async fn login(
    State(idp): State<Arc<Idp>>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(query.lang.as_deref(), &headers);
    let (id, state, nonce) = match new_login(&idp) {
        Ok(login) => login,
        Err((status, problem)) => return pages::error(lang, status, problem),
    };
    let location = format!(
        "{}/v1/authorize?client_id={}&redirect_uri={}&nonce={nonce}&state={state}&claims={}",
        idp.daemon,
        pages::url_encode(&idp.origin),
        pages::url_encode(&format!("{}/callback", idp.origin)),
        pages::url_encode(REQUESTED_CLAIMS),
    );
    let (Ok(location), Some(cookie)) = (HeaderValue::from_str(&location), login_cookie(&idp, &id))
    else {
        return pages::error(
            lang,
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::Problem::Busy,
        );
    };
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

/// The login page that uses the browser extension instead of a redirect: the same login
/// (cookie, `state`, nonce), and a script that asks the extension for the assertion and
/// posts it to `/callback` (same origin, so the cookie comes along).
async fn extension_login(
    State(idp): State<Arc<Idp>>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(query.lang.as_deref(), &headers);
    let (id, state, nonce) = match new_login(&idp) {
        Ok(login) => login,
        Err((status, problem)) => return pages::error(lang, status, problem),
    };
    let Some(cookie) = login_cookie(&idp, &id) else {
        return pages::error(
            lang,
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::Problem::Busy,
        );
    };
    (
        [
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Html(pages::extension_login(
            lang,
            &state,
            &nonce,
            REQUESTED_CLAIMS,
        )),
    )
        .into_response()
}

fn javascript(source: &'static str) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        )],
        source,
    )
        .into_response()
}

async fn sesame_js() -> Response {
    javascript(include_str!(
        "../../../web-extension-bridge/extension/sesame.js"
    ))
}

async fn extension_login_js() -> Response {
    javascript(include_str!("extension-login.js"))
}

/// What the daemon posts back (`docs/protocol.md` §1.2).
#[derive(Deserialize)]
struct Answer {
    assertion: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The value of the cookie `name` in a request's headers.
#[must_use]
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

async fn callback(
    State(idp): State<Arc<Idp>>,
    headers: HeaderMap,
    Form(answer): Form<Answer>,
) -> Response {
    let lang = lang_of(None, &headers);
    let now = sesame_protocol::unix_now();
    // 1. The login this browser started: the cookie, then `state`. The login is
    //    forgotten whatever follows, so an answer is used at most once.
    let Some(id) = cookie_value(&headers, idp.cookie_name()) else {
        return pages::error(lang, StatusCode::BAD_REQUEST, pages::Problem::NoLogin);
    };
    let pending = match idp.logins.lock() {
        Ok(mut logins) => logins.remove(id),
        Err(_) => None,
    };
    let Some(pending) = pending else {
        return pages::error(lang, StatusCode::BAD_REQUEST, pages::Problem::NoLogin);
    };
    if pending.expires <= now {
        return pages::error(lang, StatusCode::BAD_REQUEST, pages::Problem::LoginExpired);
    }
    let state_matches = answer.state.as_deref().is_some_and(|state| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            state.as_bytes(),
            pending.state.as_bytes(),
        ))
    });
    if !state_matches {
        return pages::error(lang, StatusCode::BAD_REQUEST, pages::Problem::StateMismatch);
    }
    // 2. The daemon's answer: an error, or an assertion to verify.
    if let Some(code) = answer.error.as_deref() {
        return pages::error(
            lang,
            StatusCode::OK,
            pages::Problem::Daemon {
                code,
                description: answer.error_description.as_deref().unwrap_or_default(),
            },
        );
    }
    let Some(assertion) = answer.assertion.as_deref() else {
        return pages::error(lang, StatusCode::BAD_REQUEST, pages::Problem::NoAssertion);
    };
    match idp.verifier.verify(assertion, &pending.nonce, now) {
        Ok(identity) => pages::identity(lang, &identity),
        Err(error) => pages::error(lang, StatusCode::FORBIDDEN, pages::Problem::Refused(&error)),
    }
}

/// The form of `POST /certifications` when it is `application/x-www-form-urlencoded`.
#[derive(Deserialize)]
struct CertificationForm {
    certification: Option<String>,
}

/// A JSON answer.
fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        value.to_string(),
    )
        .into_response()
}

/// `{"error": code, "message": sentence}`.
fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        &serde_json::json!({ "error": code, "message": message }),
    )
}

/// The HTTP status for a refused record (`docs/counter.md`, the error codes table).
fn certification_status(error: &CertificationError) -> StatusCode {
    match error.code() {
        "bad_signature" | "wrong_issuer" | "unknown_counter" | "wrong_audience" => {
            StatusCode::FORBIDDEN
        }
        "replayed_jti" => StatusCode::CONFLICT,
        "replay_store_full" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The compact JWS of a `POST /certifications` body: the body itself
/// (`application/jose`, `text/plain`), or the form field `certification`.
async fn certification_body(request: Request) -> Result<String, Response> {
    let media_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match media_type.as_str() {
        "application/jose" | "text/plain" => {
            let bytes = Bytes::from_request(request, &())
                .await
                .map_err(|rejection| {
                    json_error(
                        rejection.status(),
                        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                            "too_large"
                        } else {
                            "bad_request"
                        },
                        "the body could not be read (at most 128 KiB)",
                    )
                })?;
            String::from_utf8(bytes.to_vec()).map_err(|_| {
                json_error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "the body is not UTF-8",
                )
            })
        }
        "application/x-www-form-urlencoded" => {
            let Form(form) = Form::<CertificationForm>::from_request(request, &())
                .await
                .map_err(|rejection| {
                    let status = rejection.status();
                    json_error(
                        status,
                        if status == StatusCode::PAYLOAD_TOO_LARGE {
                            "too_large"
                        } else {
                            "bad_request"
                        },
                        "the form could not be read (at most 128 KiB)",
                    )
                })?;
            form.certification.ok_or_else(|| {
                json_error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "the form has no certification field",
                )
            })
        }
        _ => Err(json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the record as application/jose, text/plain, or the form field certification",
        )),
    }
}

/// `POST /certifications`: a counter station posts a certification record. No cookie:
/// it is machine to machine, and the record's signature by a registered counter key is
/// what authenticates it (a production IdP would also authenticate the station's TLS
/// client, `docs/counter.md`).
async fn post_certification(State(idp): State<Arc<Idp>>, request: Request) -> Response {
    let jws = match certification_body(request).await {
        Ok(jws) => jws,
        Err(response) => return response,
    };
    let now = sesame_protocol::unix_now();
    match idp
        .certification_verifier
        .verify_certification(jws.trim(), now)
    {
        Ok(certification) => {
            let jti = certification.payload.jti.clone();
            if let Ok(mut list) = idp.certifications.lock() {
                list.push_front(ReceivedCertification {
                    received_at: now,
                    certification,
                });
                list.truncate(MAX_CERTIFICATIONS);
            }
            json_response(
                StatusCode::CREATED,
                &serde_json::json!({ "status": "verified", "jti": jti }),
            )
        }
        Err(error) => json_error(
            certification_status(&error),
            error.code(),
            &error.to_string(),
        ),
    }
}

/// `GET /certifications`: the records received, newest first, as an HTML table.
async fn certifications_page(
    State(idp): State<Arc<Idp>>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(query.lang.as_deref(), &headers);
    (
        pages::no_store(),
        Html(pages::certifications(lang, &idp.certifications())),
    )
        .into_response()
}

/// `GET /certifications.json`: the same list, as JSON.
async fn certifications_json(State(idp): State<Arc<Idp>>) -> Response {
    let list: Vec<serde_json::Value> = idp
        .certifications()
        .iter()
        .map(|received| {
            serde_json::json!({
                "received_at": received.received_at,
                "counter": received.certification.counter_name,
                "counter_thumbprint": received.certification.counter_thumbprint,
                "certification": received.certification.payload,
            })
        })
        .collect();
    json_response(StatusCode::OK, &serde_json::Value::Array(list))
}
