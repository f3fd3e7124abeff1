//! Town-hall counter mode (`sesamed serve --mode counter`, `docs/counter.md`): an agent
//! signs in with their own identity card, reads the citizen's card (photo included),
//! compares the chip photo with the person, and certifies or refuses; each decision is a
//! signed certification record, journaled and delivered to the IdP.
//!
//! | route | what |
//! |---|---|
//! | `GET /counter` | the counter page (sign-in first) |
//! | `GET /counter/events` | server-sent events: the readers, live |
//! | `POST /counter/sign-in` | `reader`, `can`: reads the agent's own card; an agent of the configuration gets a session cookie |
//! | `POST /counter/sign-out` | ends the agent's session |
//! | `POST /counter/read` | `token`, `reader`, `can` or `mrz`: reads the citizen's card with DG2; answers the case |
//! | `GET /counter/cases/{id}/photo` | the chip photo (JPEG, or PNG decoded from JPEG 2000) |
//! | `POST /counter/cases/{id}/decision` | `token`, `decision`, `face_matches`, `document_valid`, `reason` |
//!
//! Everything needs the daemon's `Host`, every POST its `Origin` (the guard of
//! [`crate::web`]); past sign-in, every call needs the agent's cookie
//! (`__Host-sesame-agent`, `SameSite=Strict`, `HttpOnly`, `Secure`) and every POST its
//! session token. A case (identity, photo, DG2 hash) lives in memory until decided or
//! for 15 minutes; the photo is never written anywhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sesame_idp::escape;
use sesame_protocol::kdf::Password;
use sesame_protocol::lds::DataGroup;
use sesame_protocol::reader::Document;

use crate::flow::random_id;
use crate::photo::Photo;
use crate::readers::{CardJob, JobError};
use crate::web::Daemon;

/// How long an agent's session lasts without use.
pub const AGENT_IDLE: Duration = Duration::from_secs(30 * 60);
/// How long an agent's session lasts at most (a working day).
pub const AGENT_MAX: Duration = Duration::from_secs(10 * 3600);
/// How long a read card waits for its decision.
pub const CASE_LIFETIME: Duration = Duration::from_secs(15 * 60);
const COOKIE: &str = "__Host-sesame-agent";
/// The journal's file is rotated past this size.
pub const JOURNAL_ROTATE_BYTES: u64 = 16 * 1024 * 1024;

/// A signed-in agent.
#[derive(Debug, Clone)]
pub struct Agent {
    /// Their document number (from their own card), as configured.
    pub id: String,
    /// Their name as configured.
    pub name: String,
    token: String,
    started: Instant,
    last: Instant,
}

/// A citizen's card, read, waiting for the agent's decision.
#[derive(Debug, Clone)]
pub struct Case {
    /// Who read it.
    pub agent: String,
    /// The document's claims (every one).
    pub claims: sesame_verifier::Claims,
    /// Passive Authentication: `verified`, `failed` or `not_checked`.
    pub passive_authentication: &'static str,
    /// The failure, in words.
    pub passive_authentication_error: Option<String>,
    /// Whether Chip (or Active) Authentication proved the chip genuine.
    pub chip_authentication: bool,
    /// SHA-256 of DG2 as read (base64url): what the record holds instead of the photo.
    pub dg2_sha256: String,
    /// The document's facts as the record states them.
    pub document: sesame_verifier::certification::CertifiedDocument,
    /// The photo, for the page.
    pub photo: Photo,
    created: Instant,
}

/// The counter's state.
#[derive(Debug)]
pub struct Counter {
    agents: Mutex<HashMap<String, Agent>>,
    cases: Mutex<HashMap<String, Case>>,
    /// The key that signs certification records.
    pub key: p256::ecdsa::SigningKey,
    /// The station's journal.
    pub journal: Mutex<crate::journal::Journal>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Counter {
    /// A counter signing with `key` and journaling to `journal`.
    #[must_use]
    pub fn new(key: p256::ecdsa::SigningKey, journal: crate::journal::Journal) -> Self {
        Self {
            agents: Mutex::new(HashMap::new()),
            cases: Mutex::new(HashMap::new()),
            key,
            journal: Mutex::new(journal),
        }
    }

    /// Appends to the journal.
    ///
    /// # Errors
    /// When the entry cannot be written (the decision is then not recorded).
    pub fn journal(&self, kind: &str, data: serde_json::Value) -> Result<(), String> {
        let mut journal = lock(&self.journal);
        journal
            .append(kind, data, sesame_protocol::unix_now())
            .map_err(|e| e.to_string())?;
        // A new file every 16 MiB; the chain goes on in it.
        if let Err(e) = journal.rotate_if_larger(JOURNAL_ROTATE_BYTES) {
            tracing::warn!("counter: the journal could not be rotated: {e}");
        }
        Ok(())
    }

    /// The agent behind the request's cookie, if their session is alive (and touched).
    fn agent(&self, headers: &HeaderMap) -> Option<(String, Agent)> {
        let id = sesame_idp::cookie_value(headers, COOKIE)?;
        let mut agents = lock(&self.agents);
        let now = Instant::now();
        agents.retain(|_, a| now - a.last < AGENT_IDLE && now - a.started < AGENT_MAX);
        let agent = agents.get_mut(id)?;
        agent.last = now;
        Some((id.to_owned(), agent.clone()))
    }

    fn agent_with_token(&self, headers: &HeaderMap, token: &str) -> Option<Agent> {
        let (_, agent) = self.agent(headers)?;
        bool::from(subtle::ConstantTimeEq::ct_eq(
            agent.token.as_bytes(),
            token.as_bytes(),
        ))
        .then_some(agent)
    }

    fn add_case(&self, case: Case) -> Option<String> {
        let id = random_id().ok()?;
        let mut cases = lock(&self.cases);
        let now = Instant::now();
        cases.retain(|_, c| now - c.created < CASE_LIFETIME);
        cases.insert(id.clone(), case);
        Some(id)
    }
}

/// The counter's routes (merged into the daemon's router in counter mode).
pub fn router() -> Router<Arc<Daemon>> {
    Router::new()
        .route("/counter", get(page))
        .route("/counter/events", get(crate::web::readers_events))
        .route("/counter/sign-in", post(sign_in))
        .route("/counter/sign-out", post(sign_out))
        .route("/counter/read", post(read))
        .route("/counter/cases/{id}/photo", get(photo))
        .route("/counter/cases/{id}/decision", post(decision))
        .route("/static/counter.js", get(counter_js))
}

fn json_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": code, "message": message.into() })),
    )
        .into_response()
}

fn not_counter() -> Response {
    (
        StatusCode::NOT_FOUND,
        "This station is not in counter mode.\n",
    )
        .into_response()
}

async fn page(State(daemon): State<Arc<Daemon>>, headers: HeaderMap) -> Response {
    let Some(counter) = daemon.counter.as_ref() else {
        return not_counter();
    };
    let lang = crate::web::lang_of(None, &headers);
    let agent = counter.agent(&headers).map(|(_, a)| a);
    Html(crate::counter_page::render(
        lang,
        daemon.config.counter.station.as_str(),
        agent.as_ref().map(|a| (a.name.as_str(), a.token.as_str())),
    ))
    .into_response()
}

#[derive(Deserialize)]
struct CardForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    reader: String,
    #[serde(default)]
    can: String,
    #[serde(default)]
    mrz: String,
}

impl Drop for CardForm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.can);
        zeroize::Zeroize::zeroize(&mut self.mrz);
    }
}

impl CardForm {
    /// The CAN, or the MRZ (typed, or scanned by a keyboard-wedge reader) as the BAC/PACE
    /// password; `None` when neither is usable.
    fn password(&self) -> Option<Password> {
        let can = self.can.trim();
        if !can.is_empty() {
            return (can.len() == 6 && can.bytes().all(|b| b.is_ascii_digit()))
                .then(|| Password::can(can));
        }
        let mrz = sesame_protocol::lds::Mrz::parse(self.mrz.trim()).ok()?;
        Some(Password::mrz(&mrz.key_seed_input()))
    }
}

/// Runs a read on the daemon's reader hub and waits for it.
async fn run_job(
    daemon: &Daemon,
    form: &CardForm,
    data_groups: Vec<DataGroup>,
) -> Result<Document, (StatusCode, &'static str, String)> {
    let password = form.password().ok_or((
        StatusCode::UNPROCESSABLE_ENTITY,
        "password_format",
        "Type the 6-digit CAN, or scan or type the MRZ.".to_owned(),
    ))?;
    let (done, outcome) = tokio::sync::oneshot::channel();
    let job = CardJob {
        password,
        data_groups,
        active_authentication: None,
        deadline: Instant::now() + Duration::from_secs(daemon.config.job_timeout_secs),
        cancel: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        progress: Box::new(|_| {}),
        done,
    };
    let reader = Some(form.reader.as_str()).filter(|r| !r.is_empty());
    daemon
        .hub
        .submit(reader, job)
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, "reader", e.to_string()))?;
    let result = outcome.await.unwrap_or(Err(JobError::ReaderGone));
    result.map_err(|e| match crate::flow::failure_of(&e) {
        crate::flow::Failure::WrongCan(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_can",
            "This CAN (or MRZ) does not open the card: check it and try again.".to_owned(),
        ),
        crate::flow::Failure::Final(crate::flow::Outcome::Error { code, description }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, code, description)
        }
        crate::flow::Failure::Final(crate::flow::Outcome::Assertion(_)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "card_error",
            "unexpected".to_owned(),
        ),
    })
}

async fn sign_in(State(daemon): State<Arc<Daemon>>, Form(form): Form<CardForm>) -> Response {
    let Some(counter) = daemon.counter.as_ref() else {
        return not_counter();
    };
    let document = match run_job(&daemon, &form, vec![DataGroup::Dg11]).await {
        Ok(document) => document,
        Err((status, code, message)) => return json_error(status, code, message),
    };
    if !matches!(document.passive_authentication, Some(Ok(_))) {
        return json_error(
            StatusCode::FORBIDDEN,
            "agent_card_unverified",
            "The agent card's issuer signature could not be verified (is csca_dir configured?).",
        );
    }
    let number = document.mrz.document_number().to_owned();
    let Some(agent) = daemon
        .config
        .counter
        .agents
        .iter()
        .find(|a| a.document_number == number)
    else {
        tracing::warn!("counter sign-in refused: the card is not an agent's");
        return json_error(
            StatusCode::FORBIDDEN,
            "not_an_agent",
            "This card is not the card of an agent of this station.",
        );
    };
    let (Ok(session), Ok(token)) = (random_id(), random_id()) else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "randomness",
            "no randomness",
        );
    };
    let now = Instant::now();
    lock(&counter.agents).insert(
        session.clone(),
        Agent {
            id: agent.document_number.clone(),
            name: agent.name.clone(),
            token,
            started: now,
            last: now,
        },
    );
    tracing::info!(agent = agent.name, "counter: agent signed in");
    if let Err(e) = counter.journal(
        "agent_sign_in",
        serde_json::json!({ "agent": { "id": agent.document_number, "name": agent.name } }),
    ) {
        return json_error(StatusCode::INTERNAL_SERVER_ERROR, "journal", e);
    }
    let cookie = format!("{COOKIE}={session}; Path=/; Secure; HttpOnly; SameSite=Strict");
    let mut response = Json(serde_json::json!({ "agent": agent.name })).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn sign_out(State(daemon): State<Arc<Daemon>>, headers: HeaderMap) -> Response {
    let Some(counter) = daemon.counter.as_ref() else {
        return not_counter();
    };
    if let Some((session, agent)) = counter.agent(&headers) {
        lock(&counter.agents).remove(&session);
        tracing::info!(agent = agent.name, "counter: agent signed out");
        let _ = counter.journal(
            "agent_sign_out",
            serde_json::json!({ "agent": { "id": agent.id, "name": agent.name } }),
        );
    }
    let mut response = Json(serde_json::json!({ "signed_out": true })).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn unauthorised() -> Response {
    json_error(
        StatusCode::UNAUTHORIZED,
        "signed_out",
        "The agent session ended: sign in again with your card.",
    )
}

async fn read(
    State(daemon): State<Arc<Daemon>>,
    headers: HeaderMap,
    Form(form): Form<CardForm>,
) -> Response {
    let Some(counter) = daemon.counter.as_ref() else {
        return not_counter();
    };
    let Some(agent) = counter.agent_with_token(&headers, &form.token) else {
        return unauthorised();
    };
    let started = Instant::now();
    let document = match run_job(&daemon, &form, vec![DataGroup::Dg11, DataGroup::Dg2]).await {
        Ok(document) => document,
        Err((status, code, message)) => return json_error(status, code, message),
    };
    let Some(dg2) = document.data_groups.get(&2) else {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_photo",
            "The document holds no photo (DG2).",
        );
    };
    let photo = match crate::photo::from_dg2(dg2) {
        Ok(photo) => photo,
        Err(e) => return json_error(StatusCode::UNPROCESSABLE_ENTITY, "photo", e.to_string()),
    };
    let now = sesame_protocol::unix_now();
    let claims = sesame_verifier::claims_of(&document, now);
    let (passive_authentication, error) = match &document.passive_authentication {
        Some(Ok(_)) => ("verified", None),
        Some(Err(e)) => ("failed", Some(e.to_string())),
        None => ("not_checked", None),
    };
    let case = Case {
        agent: agent.id.clone(),
        claims: claims.clone(),
        passive_authentication,
        passive_authentication_error: error.clone(),
        chip_authentication: document.chip_authentication.is_some()
            || document.active_authentication.is_some(),
        dg2_sha256: sesame_verifier::certification::dg2_sha256(dg2),
        document: sesame_verifier::certification::CertifiedDocument::from_document(&document, now),
        photo: photo.clone(),
        created: Instant::now(),
    };
    let chip = case.chip_authentication;
    let Some(id) = counter.add_case(case) else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "randomness",
            "no randomness",
        );
    };
    let elapsed = started.elapsed().as_millis();
    tracing::info!(
        ms = elapsed,
        apdus = document.exchange.apdus,
        "counter: card read"
    );
    Json(serde_json::json!({
        "case": id,
        "claims": claims,
        "passive_authentication": passive_authentication,
        "passive_authentication_error": error,
        "chip_authentication": chip,
        "photo": { "url": format!("/counter/cases/{id}/photo"), "width": photo.width, "height": photo.height },
        "read_ms": elapsed,
        "apdus": document.exchange.apdus,
    }))
    .into_response()
}

async fn photo(
    State(daemon): State<Arc<Daemon>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(counter) = daemon.counter.as_ref() else {
        return not_counter();
    };
    if counter.agent(&headers).is_none() {
        return unauthorised();
    }
    let Some(photo) = lock(&counter.cases).get(&id).map(|c| c.photo.clone()) else {
        return json_error(
            StatusCode::GONE,
            "case_gone",
            "This card was already handled.",
        );
    };
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(photo.mime))],
        photo.bytes,
    )
        .into_response()
}

#[derive(Deserialize)]
struct DecisionForm {
    token: String,
    decision: String,
    #[serde(default)]
    face_matches: Option<String>,
    #[serde(default)]
    document_valid: Option<String>,
    #[serde(default)]
    reason: String,
}

async fn decision(
    State(daemon): State<Arc<Daemon>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    let Some(counter) = daemon.counter.as_ref() else {
        return not_counter();
    };
    let Some(agent) = counter.agent_with_token(&headers, &form.token) else {
        return unauthorised();
    };
    let face_matches = form.face_matches.is_some();
    let document_valid = form.document_valid.is_some();
    let certified = match form.decision.as_str() {
        "certified" => true,
        "refused" => false,
        _ => return json_error(StatusCode::BAD_REQUEST, "decision", "certified or refused"),
    };
    let reason = form.reason.trim();
    if certified && !(face_matches && document_valid) {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unconfirmed",
            "Confirm that the person matches the photo and that the document is valid.",
        );
    }
    if !certified && reason.is_empty() {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason",
            "Give the reason for the refusal.",
        );
    }
    let Some(case) = lock(&counter.cases).remove(&id) else {
        return json_error(
            StatusCode::GONE,
            "case_gone",
            "This card was already handled.",
        );
    };
    if certified && case.passive_authentication != "verified" {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_verified",
            "The issuing state's signature was not verified: this document cannot be certified.",
        );
    }
    let outcome = crate::certify::record(
        &daemon,
        &agent,
        &case,
        crate::certify::Decision {
            certified,
            face_matches,
            document_valid,
            reason: (!certified).then(|| reason.to_owned()),
        },
    )
    .await;
    match outcome {
        Ok(delivery) => Json(delivery).into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "journal", e),
    }
}

async fn counter_js() -> Response {
    crate::web::asset(
        "text/javascript; charset=utf-8",
        include_str!("../assets/counter.js"),
    )
}

/// Escapes for the page (re-exported for `counter_page`).
pub(crate) fn esc(text: &str) -> String {
    escape(text)
}
