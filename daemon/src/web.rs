//! The daemon's HTTP API and pages (served over TLS by [`crate::server`]).
//!
//! | route | what |
//! |---|---|
//! | `GET /` | a status page |
//! | `GET /v1/status` | readers and version, JSON |
//! | `GET /v1/authorize` | checks the request (`docs/protocol.md` §1.1), opens a session, shows the consent page |
//! | `GET /v1/bridge/{id}?token=` | the consent page of a request that came through the browser extension (the URL is handed to the extension over the bridge socket) |
//! | `GET /v1/sessions/{id}/events?token=` | server-sent events: `readers`, `progress`, `retry`, `done` |
//! | `POST /v1/sessions/{id}/start` | `token`, `can`, `reader`: starts the card job |
//! | `POST /v1/sessions/{id}/finish` | `token`, `action=return\|cancel`: the page that posts the answer to the IdP |
//! | `GET /static/…` | the pages' script and style (no external resource anywhere) |
//!
//! Every request must carry a `Host` that names the loopback and the daemon's port (DNS
//! rebinding); every POST must come from the daemon's own origin (`Origin` header, checked
//! in the `guard` middleware for all of them) and carry the session's token. Pages forbid framing and caching; `Referrer-Policy: same-origin`
//! (not `no-referrer`, under which browsers send `Origin: null` even for same-origin form
//! posts, and the origin check would refuse the page's own forms).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use p256::ecdsa::SigningKey;
use serde::Deserialize;
use sesame_idp::{Lang, claim_label, escape};
use sesame_protocol::kdf::Password;
use sesame_protocol::lds::DataGroup;
use sesame_protocol::pace::PaceStep;
use sesame_protocol::reader::ReadStep;

use crate::config::Config;
use crate::flow::{self, Failure, Outcome, PageEvent, Phase, RequestError, SessionError, Sessions};
use crate::readers::{CardJob, JobProgress, ReaderHub, ReadersView};

/// What the handlers share.
#[derive(Debug)]
pub struct Daemon {
    /// The configuration.
    pub config: Config,
    /// The readers.
    pub hub: ReaderHub,
    /// The consent sessions.
    pub sessions: Sessions,
    /// The assertion-signing key.
    pub key: SigningKey,
    /// The port the daemon answers on (for the `Host` and `Origin` checks).
    pub port: u16,
    /// Counter mode's state (`None` on a desktop).
    pub counter: Option<crate::counter::Counter>,
}

/// The router.
pub fn router(daemon: Arc<Daemon>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/v1/status", get(status))
        .route("/v1/authorize", get(authorize))
        .route("/v1/bridge/{id}", get(bridge_consent))
        .route("/v1/sessions/{id}/events", get(events))
        .route("/v1/sessions/{id}/start", post(start))
        .route("/v1/sessions/{id}/finish", post(finish))
        .route("/static/consent.js", get(consent_js))
        .route("/static/return.js", get(return_js))
        .route("/static/sesame.css", get(css))
        .merge(crate::counter::router())
        .layer(axum::middleware::from_fn_with_state(daemon.clone(), guard))
        .with_state(daemon)
}

const CSP_PAGE: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                        connect-src 'self'; img-src 'self'; form-action 'self'; \
                        frame-ancestors 'none'; base-uri 'none'";

/// The `Host` check and the headers every answer carries.
async fn guard(State(daemon): State<Arc<Daemon>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !daemon.is_own_host(host) {
        tracing::warn!(host, "refused a request for another host (DNS rebinding?)");
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "This is the Sésame daemon on this computer; it only answers to 127.0.0.1, [::1] and localhost.\n",
        )
            .into_response();
    }
    // Every state-changing call (all of them are POSTs) comes from the daemon's own pages.
    if request.method() == axum::http::Method::POST && !daemon.is_own_origin(request.headers()) {
        return (
            StatusCode::FORBIDDEN,
            "State-changing requests must come from the daemon's own pages.\n",
        )
            .into_response();
    }
    tracing::debug!(method = %request.method(), path = request.uri().path(), "request");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP_PAGE));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

impl Daemon {
    fn is_own_host(&self, host: &str) -> bool {
        let port = self.port.to_string();
        ["127.0.0.1", "[::1]", "localhost"]
            .iter()
            .any(|name| host.strip_prefix(name).and_then(|r| r.strip_prefix(':')) == Some(&port))
    }

    fn is_own_origin(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .and_then(|o| o.strip_prefix("https://"))
            .is_some_and(|host| self.is_own_host(host))
    }
}

pub(crate) fn lang_of(query: Option<&str>, headers: &HeaderMap) -> Lang {
    Lang::choose(
        query,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn page(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{code}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} — Sésame</title>\n<link rel=\"stylesheet\" href=\"/static/sesame.css\">\n\
         </head>\n<body>\n<main>\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        code = lang.code(),
        title = escape(title),
    )
}

fn error_page(lang: Lang, status: StatusCode, title: &str, reason: &str) -> Response {
    let body = format!(
        "<p role=\"alert\">{}</p>\n<p>{}</p>",
        escape(reason),
        lang.pick(
            "Vous pouvez fermer cette page et revenir au site qui vous a envoyé ici.",
            "You can close this page and go back to the site that sent you here.",
        )
    );
    (status, Html(page(lang, title, &body))).into_response()
}

async fn home(headers: HeaderMap, Query(q): Query<LangQuery>) -> Html<String> {
    let lang = lang_of(q.lang.as_deref(), &headers);
    Html(page(
        lang,
        lang.pick("Sésame fonctionne", "Sésame is running"),
        lang.pick(
            "<p>Ce service lit votre carte d'identité quand un site de confiance vous le demande. Il n'y a rien à faire ici.</p>",
            "<p>This service reads your identity card when a trusted site asks you to. There is nothing to do here.</p>",
        ),
    ))
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

async fn status(State(daemon): State<Arc<Daemon>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": 1,
        "mode": daemon.config.mode,
        "readers": daemon.hub.snapshot(),
    }))
}

fn request_error_text(lang: Lang, e: RequestError) -> String {
    match (lang, e) {
        (Lang::En, e) => e.to_string(),
        (Lang::Fr, RequestError::Missing(p)) => format!("Le paramètre {p} manque."),
        (Lang::Fr, RequestError::Repeated(p)) => format!("Le paramètre {p} est donné plusieurs fois."),
        (Lang::Fr, RequestError::ClientIdNotAnOrigin) => {
            "client_id n'est pas une origine comme https://idp.example.".into()
        }
        (Lang::Fr, RequestError::UntrustedClient) => {
            "Ce service ne fait pas partie des fournisseurs d'identité auxquels Sésame fait confiance.".into()
        }
        (Lang::Fr, RequestError::ForeignRedirect) => {
            "redirect_uri n'est pas une adresse https du fournisseur d'identité lui-même.".into()
        }
        (Lang::Fr, RequestError::BadNonce) => {
            "nonce doit compter de 22 à 128 caractères base64url.".into()
        }
        (Lang::Fr, RequestError::BadState) => "state doit compter au plus 512 caractères.".into(),
        (Lang::Fr, RequestError::UnknownClaim) => {
            "claims demande une donnée que Sésame ne connaît pas.".into()
        }
    }
}

async fn authorize(
    State(daemon): State<Arc<Daemon>>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = query.map(|Query(p)| p).unwrap_or_default();
    let lang_param = params
        .iter()
        .find(|(k, _)| k == "lang")
        .map(|(_, v)| v.as_str());
    let lang = lang_of(lang_param, &headers);
    let title = lang.pick("Demande refusée", "Request refused");
    let request = match flow::check_request(&daemon.config, &params) {
        Ok(request) => request,
        Err(e) => {
            tracing::info!("authorization refused: {e}");
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            return error_page(lang, status, title, &request_error_text(lang, e));
        }
    };
    let (id, token) = match daemon.sessions.open(request.clone(), lang) {
        Ok(pair) => pair,
        Err(e) => {
            return error_page(lang, StatusCode::SERVICE_UNAVAILABLE, title, &e.to_string());
        }
    };
    tracing::info!(client_id = request.client_id, "consent page shown");
    Html(consent_page(lang, &request, &id, &token)).into_response()
}

async fn bridge_consent(
    State(daemon): State<Arc<Daemon>>,
    Path(id): Path<String>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    let found = daemon
        .sessions
        .with(&id, &q.token, |s| Ok((s.request.clone(), s.lang)));
    match found {
        Ok((request, lang)) if request.delivery == flow::Delivery::Bridge => {
            Html(consent_page(lang, &request, &id, &q.token)).into_response()
        }
        _ => {
            let lang = lang_of(None, &headers);
            error_page(
                lang,
                StatusCode::GONE,
                lang.pick("Demande expirée", "Request expired"),
                lang.pick(
                    "Cette page de connexion a expiré ou a déjà servi.",
                    "This login page has expired or was already used.",
                ),
            )
        }
    }
}

fn consent_page(lang: Lang, request: &flow::Authorization, id: &str, token: &str) -> String {
    let name = match lang {
        Lang::Fr => request.idp.name_fr.as_deref().unwrap_or(&request.idp.name),
        Lang::En => &request.idp.name,
    };
    let claims: String = request
        .claims
        .iter()
        .map(|c| format!("<li>{}</li>", claim_label(lang, c)))
        .collect();
    let title = match lang {
        Lang::Fr => format!("Se connecter à {name} avec votre carte d'identité"),
        Lang::En => format!("Log in to {name} with your identity card"),
    };
    let body = format!(
        "<p>{asks_pre}<strong>{name}</strong> (<span class=\"origin\">{origin}</span>){asks_post}</p>\n\
         <ul>{claims}</ul>\n\
         <form id=\"consent\" method=\"post\" action=\"/v1/sessions/{id}/start\" data-session=\"{id}\" novalidate>\n\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\n\
         <p id=\"readers\" role=\"status\">{readers_wait}</p>\n\
         <p id=\"reader-choice\" hidden><label for=\"reader\">{reader_label}</label>\n\
         <select id=\"reader\" name=\"reader\"><option value=\"\">{reader_auto}</option></select></p>\n\
         <p><label for=\"can\">{can_label}</label></p>\n\
         <p id=\"can-hint\" class=\"hint\">{can_hint}</p>\n\
         <p><input id=\"can\" name=\"can\" type=\"text\" inputmode=\"numeric\" autocomplete=\"off\" \
         maxlength=\"6\" pattern=\"[0-9]{{6}}\" required aria-describedby=\"can-hint can-error\" autofocus></p>\n\
         <p id=\"can-error\" class=\"error\" role=\"alert\"></p>\n\
         <p><button id=\"continue\" type=\"submit\">{continue_label}</button></p>\n\
         </form>\n\
         <div id=\"progress-area\" hidden><p id=\"progress-label\">{progress_label}</p>\n\
         <progress id=\"progress\" max=\"100\" value=\"0\" aria-labelledby=\"progress-label\"></progress></div>\n\
         <p id=\"progress-text\" role=\"status\"></p>\n\
         <form id=\"finish\" method=\"post\" action=\"/v1/sessions/{id}/finish\">\n\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\n\
         <button id=\"cancel\" type=\"submit\" name=\"action\" value=\"cancel\" class=\"secondary\">{cancel_label}</button>\n\
         </form>\n\
         <noscript><p>{noscript}</p></noscript>\n\
         <script src=\"/static/consent.js\"></script>",
        asks_pre = lang.pick("", ""),
        asks_post = lang.pick(
            " vous demande de prouver votre identité. Sésame va lire dans la puce de votre carte et lui transmettre :",
            " asks you to prove who you are. Sésame will read your card's chip and pass on:",
        ),
        origin = escape(&request.client_id),
        name = escape(name),
        id = escape(id),
        token = escape(token),
        readers_wait = lang.pick("Recherche des lecteurs…", "Looking for readers…"),
        reader_label = lang.pick("Lecteur de carte", "Card reader"),
        reader_auto = lang.pick("Celui où se trouve la carte", "The one with the card"),
        can_label = lang.pick(
            "Numéro d'accès à la carte (CAN, 6 chiffres)",
            "Card access number (CAN, 6 digits)",
        ),
        can_hint = lang.pick(
            "Les six chiffres imprimés sur le recto de la carte, en bas à droite. Posez ensuite la carte sur le lecteur et gardez-la immobile.",
            "The six digits printed on the front of the card, bottom right. Then place the card on the reader and keep it still.",
        ),
        continue_label = lang.pick("Lire ma carte", "Read my card"),
        progress_label = lang.pick("Lecture de la carte", "Reading the card"),
        cancel_label = lang.pick("Annuler et revenir au site", "Cancel and go back to the site"),
        noscript = lang.pick(
            "Cette page a besoin de JavaScript pour suivre la lecture de la carte.",
            "This page needs JavaScript to follow the card reading.",
        ),
    );
    page(lang, &title, &body)
}

/// The readers, in words.
fn readers_text(lang: Lang, view: &ReadersView) -> String {
    if !view.service {
        return lang
            .pick(
                "Le service des cartes à puce (pcscd) ne répond pas : démarrez-le, puis réessayez.",
                "The smart-card service (pcscd) does not answer: start it, then try again.",
            )
            .into();
    }
    if view.readers.is_empty() {
        return lang
            .pick(
                "Aucun lecteur de carte n'est branché : branchez-en un.",
                "No card reader is connected: plug one in.",
            )
            .into();
    }
    let with_card: Vec<&str> = view
        .readers
        .iter()
        .filter(|r| r.card_present)
        .map(|r| r.name.as_str())
        .collect();
    match (lang, with_card.first()) {
        (Lang::Fr, Some(name)) => format!("Carte détectée sur le lecteur « {name} »."),
        (Lang::En, Some(name)) => format!("Card detected on the reader “{name}”."),
        (Lang::Fr, None) => "Posez votre carte sur le lecteur.".into(),
        (Lang::En, None) => "Place your card on the reader.".into(),
    }
}

fn readers_event(lang: Lang, view: &ReadersView) -> Event {
    let data = serde_json::json!({
        "text": readers_text(lang, view),
        "readers": view.readers,
    });
    Event::default().event("readers").data(data.to_string())
}

/// A step in words, with how far along the read it is.
fn progress_of(lang: Lang, progress: JobProgress) -> (u8, &'static str) {
    match progress {
        JobProgress::WaitingForCard => (
            2,
            lang.pick(
                "En attente de la carte : posez-la sur le lecteur.",
                "Waiting for the card: place it on the reader.",
            ),
        ),
        JobProgress::Step(step) => match step {
            ReadStep::CardAccess => (
                10,
                lang.pick("Connexion à la puce…", "Connecting to the chip…"),
            ),
            ReadStep::Pace(PaceStep::SetAuthenticationTemplate | PaceStep::EncryptedNonce)
            | ReadStep::Bac => (
                20,
                lang.pick(
                    "Ouverture de la puce avec le CAN…",
                    "Opening the chip with the CAN…",
                ),
            ),
            ReadStep::Pace(_) => (
                35,
                lang.pick(
                    "Établissement du canal chiffré…",
                    "Setting up the encrypted channel…",
                ),
            ),
            ReadStep::SelectApplication | ReadStep::ReadFile(_) => (
                60,
                lang.pick("Lecture de votre identité…", "Reading your identity…"),
            ),
            ReadStep::ChipAuthentication | ReadStep::ActiveAuthentication => (
                80,
                lang.pick(
                    "Vérification de l'authenticité de la puce…",
                    "Checking the chip is genuine…",
                ),
            ),
            ReadStep::PassiveAuthentication => (
                90,
                lang.pick(
                    "Vérification de la signature de l'État émetteur…",
                    "Checking the issuing state's signature…",
                ),
            ),
        },
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: String,
}

async fn events(
    State(daemon): State<Arc<Daemon>>,
    Path(id): Path<String>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let subscribed = daemon.sessions.with(&id, &q.token, |s| {
        Ok((s.events.subscribe(), s.last.clone(), s.lang))
    });
    let (mut session_events, last, lang) = match subscribed {
        Ok(parts) => parts,
        Err(e) => return session_error(e),
    };
    let mut readers = daemon.hub.subscribe();
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(16);
    tokio::spawn(async move {
        let first = readers_event(lang, &readers.borrow_and_update());
        if tx.send(first).await.is_err() {
            return;
        }
        if let Some(last) = last
            && tx
                .send(Event::default().event(last.kind).data(last.data))
                .await
                .is_err()
        {
            return;
        }
        loop {
            let event = tokio::select! {
                () = tx.closed() => return,
                changed = readers.changed() => match changed {
                    Ok(()) => readers_event(lang, &readers.borrow_and_update()),
                    Err(_) => return,
                },
                received = session_events.recv() => match received {
                    Ok(e) => Event::default().event(e.kind).data(e.data),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// The readers alone, live (the counter page's stream).
pub(crate) async fn readers_events(
    State(daemon): State<Arc<Daemon>>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(None, &headers);
    let readers = daemon.hub.subscribe();
    let stream =
        futures_util::stream::unfold((readers, true), move |(mut readers, first)| async move {
            if !first && readers.changed().await.is_err() {
                return None;
            }
            let event = readers_event(lang, &readers.borrow_and_update());
            Some((Ok::<_, Infallible>(event), (readers, false)))
        });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn session_error(e: SessionError) -> Response {
    let status = match e {
        SessionError::Gone => StatusCode::GONE,
        SessionError::BadToken => StatusCode::FORBIDDEN,
        SessionError::Running | SessionError::NotFinished => StatusCode::CONFLICT,
        SessionError::Full | SessionError::Randomness => StatusCode::SERVICE_UNAVAILABLE,
    };
    (
        status,
        Json(serde_json::json!({ "error": format!("{e:?}"), "message": e.to_string() })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct StartForm {
    token: String,
    can: String,
    #[serde(default)]
    reader: String,
}

impl Drop for StartForm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.can);
    }
}

async fn start(
    State(daemon): State<Arc<Daemon>>,
    Path(id): Path<String>,
    Form(form): Form<StartForm>,
) -> Response {
    let cancel = Arc::new(AtomicBool::new(false));
    let prepared = daemon.sessions.with(&id, &form.token, |s| match s.phase {
        Phase::Running(_) => Err(SessionError::Running),
        Phase::Finished(_) => Err(SessionError::NotFinished),
        Phase::Waiting => {
            s.phase = Phase::Running(cancel.clone());
            Ok((s.request.clone(), s.lang))
        }
    });
    let (request, lang) = match prepared {
        Ok(parts) => parts,
        Err(e) => return session_error(e),
    };
    if form.can.len() != 6 || !form.can.bytes().all(|b| b.is_ascii_digit()) {
        daemon.sessions.set_phase(&id, Phase::Waiting);
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({
                "error": "can_format",
                "message": lang.pick(
                    "Le CAN compte exactement 6 chiffres.",
                    "The CAN is exactly 6 digits.",
                ),
            })),
        )
            .into_response();
    }
    let (done, outcome) = tokio::sync::oneshot::channel();
    let progress_daemon = daemon.clone();
    let progress_id = id.clone();
    let mut shown = 0_u8;
    let job = CardJob {
        password: Password::can(&form.can),
        data_groups: vec![DataGroup::Dg11],
        active_authentication: Some(flow::active_authentication_challenge(&request)),
        deadline: Instant::now() + Duration::from_secs(daemon.config.job_timeout_secs),
        cancel,
        progress: Box::new(move |p| {
            let (percent, text) = progress_of(lang, p);
            // The bar only moves forward (files are read after Chip Authentication too).
            if percent <= shown && shown != 0 {
                return;
            }
            shown = percent;
            progress_daemon.sessions.emit(
                &progress_id,
                PageEvent {
                    kind: "progress",
                    data: serde_json::json!({ "percent": percent, "text": text }).to_string(),
                },
            );
        }),
        done,
    };
    let reader = Some(form.reader.as_str()).filter(|r| !r.is_empty());
    if let Err(e) = daemon.hub.submit(reader, job) {
        daemon.sessions.set_phase(&id, Phase::Waiting);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "error": "reader", "message": job_error_text(lang, &e) })),
        )
            .into_response();
    }
    tokio::spawn(async move {
        let result = outcome
            .await
            .unwrap_or(Err(crate::readers::JobError::ReaderGone));
        let finished = match result {
            Ok(document) => {
                let key = daemon.key.clone();
                let answer =
                    tokio::task::spawn_blocking(move || flow::assertion(&document, &request, &key))
                        .await
                        .unwrap_or_else(|_| Outcome::error("card_error", "internal error"));
                Some(answer)
            }
            Err(e) => match flow::failure_of(&e) {
                Failure::WrongCan(left) => {
                    daemon.sessions.set_phase(&id, Phase::Waiting);
                    let message = match (lang, left) {
                        (Lang::Fr, Some(n)) => format!(
                            "Ce CAN n'ouvre pas la carte ({n} essai(s) restant(s)). Vérifiez les six chiffres imprimés sur la carte et réessayez."
                        ),
                        (Lang::Fr, None) => "Ce CAN n'ouvre pas la carte. Vérifiez les six chiffres imprimés sur la carte et réessayez.".into(),
                        (Lang::En, Some(n)) => format!(
                            "This CAN does not open the card ({n} tries left). Check the six digits printed on the card and try again."
                        ),
                        (Lang::En, None) => "This CAN does not open the card. Check the six digits printed on the card and try again.".into(),
                    };
                    daemon.sessions.emit(
                        &id,
                        PageEvent {
                            kind: "retry",
                            data: serde_json::json!({ "message": message }).to_string(),
                        },
                    );
                    None
                }
                Failure::Final(outcome) => Some(outcome),
            },
        };
        if let Some(outcome) = finished {
            let data = match &outcome {
                Outcome::Assertion(_) => serde_json::json!({ "ok": true }),
                Outcome::Error { code, .. } => serde_json::json!({ "ok": false, "error": code }),
            };
            daemon.sessions.set_phase(&id, Phase::Finished(outcome));
            daemon.sessions.emit(
                &id,
                PageEvent {
                    kind: "done",
                    data: data.to_string(),
                },
            );
        }
    });
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "started": true })),
    )
        .into_response()
}

fn job_error_text(lang: Lang, e: &crate::readers::JobError) -> String {
    use crate::readers::JobError;
    match (lang, e) {
        (Lang::Fr, JobError::NoService) => {
            "Le service des cartes à puce (pcscd) ne répond pas.".into()
        }
        (Lang::Fr, JobError::ReaderGone) => "Aucun lecteur de carte n'est branché.".into(),
        (Lang::Fr, JobError::Busy) => "Le lecteur est occupé : réessayez dans un instant.".into(),
        (_, e) => e.to_string(),
    }
}

#[derive(Deserialize)]
struct FinishForm {
    token: String,
    action: String,
}

async fn finish(
    State(daemon): State<Arc<Daemon>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<FinishForm>,
) -> Response {
    let lang = lang_of(None, &headers);
    let session = match daemon.sessions.take(&id, &form.token) {
        Ok(session) => session,
        Err(e) => {
            let status = match e {
                SessionError::BadToken => StatusCode::FORBIDDEN,
                _ => StatusCode::GONE,
            };
            let reason = match (lang, e) {
                (Lang::Fr, SessionError::BadToken) => {
                    "Cette demande ne vient pas de la page de Sésame."
                }
                (Lang::Fr, _) => "Cette page de connexion a expiré ou a déjà servi.",
                (Lang::En, SessionError::BadToken) => {
                    "This request does not come from Sésame's page."
                }
                (Lang::En, _) => "This login page has expired or was already used.",
            };
            return error_page(
                lang,
                status,
                lang.pick("Demande refusée", "Request refused"),
                reason,
            );
        }
    };
    let outcome = match (form.action.as_str(), &session.phase) {
        ("cancel", phase) => {
            if let Phase::Running(cancel) = phase {
                cancel.store(true, Ordering::SeqCst);
            }
            tracing::info!(
                client_id = session.request.client_id,
                "login cancelled by the user"
            );
            Outcome::error("access_denied", "The user cancelled the login.")
        }
        ("return", Phase::Finished(outcome)) => outcome.clone(),
        _ => {
            let lang = session.lang;
            daemon.sessions.restore(id, session);
            return error_page(
                lang,
                StatusCode::CONFLICT,
                lang.pick("Pas encore", "Not yet"),
                lang.pick(
                    "La carte n'a pas encore été lue.",
                    "The card has not been read yet.",
                ),
            );
        }
    };
    if let Some(bridge) = session.bridge {
        let _ = bridge.send(outcome.clone());
        return bridge_done_page(session.lang, &session.request, &outcome);
    }
    return_page(&session, &outcome)
}

/// The end of a bridge session: the answer went back through the extension.
fn bridge_done_page(lang: Lang, request: &flow::Authorization, outcome: &Outcome) -> Response {
    let site = escape(&request.client_id);
    let body = match (lang, outcome) {
        (Lang::Fr, Outcome::Assertion(_)) => format!(
            "<p role=\"status\">Votre identité a été transmise à <strong>{site}</strong>. Vous pouvez fermer cet onglet.</p>"
        ),
        (Lang::En, Outcome::Assertion(_)) => format!(
            "<p role=\"status\">Your identity was sent to <strong>{site}</strong>. You can close this tab.</p>"
        ),
        (Lang::Fr, Outcome::Error { .. }) => format!(
            "<p role=\"status\">Rien n'a été transmis à <strong>{site}</strong>. Vous pouvez fermer cet onglet.</p>"
        ),
        (Lang::En, Outcome::Error { .. }) => format!(
            "<p role=\"status\">Nothing was sent to <strong>{site}</strong>. You can close this tab.</p>"
        ),
    };
    Html(page(lang, lang.pick("Terminé", "Done"), &body)).into_response()
}

/// The page that posts the answer to the IdP (by script, or by the button).
fn return_page(session: &flow::Session, outcome: &Outcome) -> Response {
    let lang = session.lang;
    let request = &session.request;
    let mut fields = Vec::new();
    match outcome {
        Outcome::Assertion(jws) => fields.push(("assertion", jws.clone())),
        Outcome::Error { code, description } => {
            fields.push(("error", (*code).to_owned()));
            fields.push(("error_description", description.clone()));
        }
    }
    fields.push(("state", request.state.clone()));
    let inputs: String = fields
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(value)
            )
        })
        .collect();
    let name = escape(&request.idp.name);
    let body = format!(
        "<form id=\"return\" method=\"post\" action=\"{action}\">{inputs}\
         <p><button type=\"submit\">{button} {name}</button></p></form>\n\
         <script src=\"/static/return.js\"></script>",
        action = escape(&request.redirect_uri),
        button = lang.pick("Revenir à", "Back to"),
    );
    let title = lang.pick("Retour au site", "Returning to the site");
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; form-action {}; \
         frame-ancestors 'none'; base-uri 'none'",
        crate::config::Origin::parse(&request.redirect_uri)
            .map(|o| o.to_string())
            .unwrap_or_else(|| "'none'".into())
    );
    let mut response = Html(page(lang, title, &body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// A static asset of the pages.
pub(crate) fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

async fn consent_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../assets/consent.js"),
    )
}

async fn return_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../assets/return.js"),
    )
}

async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../assets/sesame.css"),
    )
}
