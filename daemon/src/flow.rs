//! The redirect flow's rules, apart from HTTP: checking an authorization request
//! (`docs/protocol.md` §1.1), the sessions it opens, the outcome of a card job as the IdP
//! will see it (§1.2), and the assertion (§3).
//!
//! A session is named by 128 random bits and carries its own 128-bit token, which every
//! state-changing call must present; it is used once (the answer consumes it) and ends
//! after [`SESSION_LIFETIME`].

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64ct::{Base64UrlUnpadded, Encoding};
use p256::ecdsa::SigningKey;
use sesame_protocol::pace::PaceError;
use sesame_protocol::reader::{Document, DocumentError};
use sesame_verifier::Claims;

use crate::config::{Config, Origin, TrustedIdp};
use crate::readers::JobError;

/// How long a consent page stays usable.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(600);
/// The most sessions open at once; beyond it `/v1/authorize` answers 503.
pub const MAX_SESSIONS: usize = 256;

/// The claims an IdP may ask for (`docs/protocol.md` §3.3), in display order.
pub const CLAIM_NAMES: [&str; 9] = [
    "family_name",
    "given_name",
    "birthdate",
    "sex",
    "nationality",
    "document_number",
    "document_type",
    "issuing_state",
    "expiry_date",
];

/// A checked authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The IdP's origin.
    pub client_id: String,
    /// Its display names.
    pub idp: TrustedIdp,
    /// Where the answer goes.
    pub redirect_uri: String,
    /// The IdP's nonce.
    pub nonce: String,
    /// The IdP's state, returned unchanged.
    pub state: String,
    /// The claims asked for, in [`CLAIM_NAMES`] order.
    pub claims: Vec<&'static str>,
    /// How the answer reaches the IdP.
    pub delivery: Delivery,
}

/// How the answer reaches the IdP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A form POST to `redirect_uri` (the redirect flow, `docs/protocol.md` §1).
    Redirect,
    /// Back through the browser extension's bridge to the page that asked
    /// (`docs/protocol.md` §5); `redirect_uri` is then the page's origin and unused.
    Bridge,
}

/// What is wrong with an authorization request: each names the parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// A parameter is missing.
    #[error("the parameter {0} is missing")]
    Missing(&'static str),
    /// A parameter is given twice.
    #[error("the parameter {0} is given more than once")]
    Repeated(&'static str),
    /// `client_id` is not an origin.
    #[error("client_id is not an origin such as https://idp.example")]
    ClientIdNotAnOrigin,
    /// `client_id` is not a trusted IdP.
    #[error("this service is not among the identity providers Sésame trusts")]
    UntrustedClient,
    /// `redirect_uri` is not on the IdP's origin, or not https.
    #[error("redirect_uri is not an https address of the identity provider itself")]
    ForeignRedirect,
    /// `nonce` is not 22 to 128 base64url characters.
    #[error("nonce must be 22 to 128 base64url characters")]
    BadNonce,
    /// `state` is longer than 512 characters.
    #[error("state must be at most 512 characters")]
    BadState,
    /// `claims` names an unknown claim.
    #[error("claims names a claim Sésame does not know")]
    UnknownClaim,
}

impl RequestError {
    /// The HTTP status: 403 for an untrusted IdP, 400 for the rest.
    #[must_use]
    pub const fn status(self) -> u16 {
        match self {
            Self::UntrustedClient => 403,
            _ => 400,
        }
    }
}

/// Checks an authorization request's parameters (as decoded from the query, in order).
///
/// # Errors
/// The first [`RequestError`] found.
pub fn check_request(
    config: &Config,
    params: &[(String, String)],
) -> Result<Authorization, RequestError> {
    let one = |name: &'static str| -> Result<Option<&str>, RequestError> {
        let mut values = params.iter().filter(|(k, _)| k == name);
        let first = values.next().map(|(_, v)| v.as_str());
        if values.next().is_some() {
            return Err(RequestError::Repeated(name));
        }
        Ok(first)
    };
    let required = |name| one(name)?.ok_or(RequestError::Missing(name));

    let client_id = required("client_id")?;
    let origin = Origin::parse(client_id)
        .filter(|o| o.to_string() == client_id)
        .ok_or(RequestError::ClientIdNotAnOrigin)?;
    let idp = config
        .idp(client_id)
        .ok_or(RequestError::UntrustedClient)?
        .clone();
    let redirect_uri = required("redirect_uri")?;
    let target = Origin::parse(redirect_uri).ok_or(RequestError::ForeignRedirect)?;
    let scheme_ok =
        target.is_https() || (config.developer_mode && target.is_loopback() && !origin.is_https());
    if target != origin
        || !scheme_ok
        || redirect_uri.len() > 2048
        || redirect_uri.contains('#')
        || redirect_uri.chars().any(char::is_control)
    {
        return Err(RequestError::ForeignRedirect);
    }
    let nonce = required("nonce")?;
    if !(22..=128).contains(&nonce.len())
        || !nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(RequestError::BadNonce);
    }
    let state = required("state")?;
    if state.chars().count() > 512 {
        return Err(RequestError::BadState);
    }
    let claims = match one("claims")? {
        None => CLAIM_NAMES.to_vec(),
        Some(list) => {
            let asked: Vec<&str> = list.split(' ').filter(|c| !c.is_empty()).collect();
            if asked.iter().any(|c| !CLAIM_NAMES.contains(c)) {
                return Err(RequestError::UnknownClaim);
            }
            let chosen: Vec<&'static str> = CLAIM_NAMES
                .into_iter()
                .filter(|c| asked.contains(c))
                .collect();
            if chosen.is_empty() {
                CLAIM_NAMES.to_vec()
            } else {
                chosen
            }
        }
    };
    Ok(Authorization {
        client_id: client_id.to_owned(),
        idp,
        redirect_uri: redirect_uri.to_owned(),
        nonce: nonce.to_owned(),
        state: state.to_owned(),
        claims,
        delivery: Delivery::Redirect,
    })
}

/// Checks a request that came through the browser extension: `origin` is the asking
/// page's origin as the browser reported it (the extension takes it from the sender,
/// never from the page), the same rules as the redirect flow's `client_id`.
///
/// # Errors
/// As [`check_request`].
pub fn check_bridge_request(
    config: &Config,
    origin: &str,
    nonce: &str,
    claims: &[String],
) -> Result<Authorization, RequestError> {
    let mut params = vec![
        ("client_id".to_owned(), origin.to_owned()),
        ("redirect_uri".to_owned(), format!("{origin}/")),
        ("nonce".to_owned(), nonce.to_owned()),
        ("state".to_owned(), String::new()),
    ];
    if !claims.is_empty() {
        params.push(("claims".to_owned(), claims.join(" ")));
    }
    let mut request = check_request(config, &params)?;
    request.redirect_uri = origin.to_owned();
    request.delivery = Delivery::Bridge;
    Ok(request)
}

/// The answer the IdP receives (`docs/protocol.md` §1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `assertion=<JWS>`.
    Assertion(String),
    /// `error=<code>&error_description=<English sentence>`.
    Error {
        /// The stable code.
        code: &'static str,
        /// An English sentence, never with a secret.
        description: String,
    },
}

impl Outcome {
    /// An error outcome.
    #[must_use]
    pub fn error(code: &'static str, description: impl Into<String>) -> Self {
        Self::Error {
            code,
            description: description.into(),
        }
    }
}

/// What a failed card job means for the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The CAN was wrong: the user may try again (the tries left when the card says).
    WrongCan(Option<u8>),
    /// The flow ends with this answer.
    Final(Outcome),
}

/// Maps a job's error to what the user and the IdP see.
#[must_use]
pub fn failure_of(error: &JobError) -> Failure {
    match error {
        JobError::Document(DocumentError::Pace(PaceError::WrongPassword {
            retries_left, ..
        })) => Failure::WrongCan(*retries_left),
        JobError::Cancelled => Failure::Final(Outcome::error(
            "access_denied",
            "The user cancelled the login.",
        )),
        JobError::Timeout => {
            Failure::Final(Outcome::error("timeout", "No card was presented in time."))
        }
        JobError::Document(
            DocumentError::NotAnEmrtd(_)
            | DocumentError::NoSupportedProtocol
            | DocumentError::NeedsMrz(_),
        ) => Failure::Final(Outcome::error(
            "unsupported_document",
            "This document cannot be read by Sésame.",
        )),
        other => Failure::Final(Outcome::error("card_error", other.to_string())),
    }
}

/// Keeps only the claims in `asked`.
#[must_use]
pub fn restrict_claims(claims: Claims, asked: &[&str]) -> Claims {
    let keep = |name: &str, value: Option<String>| value.filter(|_| asked.contains(&name));
    Claims {
        family_name: keep("family_name", claims.family_name),
        given_name: keep("given_name", claims.given_name),
        birthdate: keep("birthdate", claims.birthdate),
        sex: keep("sex", claims.sex),
        nationality: keep("nationality", claims.nationality),
        document_number: keep("document_number", claims.document_number),
        document_type: keep("document_type", claims.document_type),
        issuing_state: keep("issuing_state", claims.issuing_state),
        expiry_date: keep("expiry_date", claims.expiry_date),
    }
}

/// The signed assertion for `request` from `document`, or the error outcome when the
/// daemon's own Passive Authentication failed (a document it can prove forged is not
/// passed on).
#[must_use]
pub fn assertion(document: &Document, request: &Authorization, key: &SigningKey) -> Outcome {
    if let Some(Err(e)) = &document.passive_authentication {
        return Outcome::error("card_error", format!("passive authentication failed: {e}"));
    }
    let now = sesame_protocol::unix_now();
    let mut payload =
        sesame_verifier::payload_from_document(document, &request.client_id, &request.nonce, now);
    payload.claims = restrict_claims(payload.claims, &request.claims);
    match sesame_verifier::issue(payload, key) {
        Ok(jws) => Outcome::Assertion(jws),
        Err(e) => Outcome::error(
            "card_error",
            format!("the assertion could not be made: {e}"),
        ),
    }
}

/// The Active Authentication challenge of a request (`docs/protocol.md` §3.4).
#[must_use]
pub fn active_authentication_challenge(request: &Authorization) -> [u8; 8] {
    let bytes =
        sesame_verifier::active_authentication_challenge(&request.client_id, &request.nonce);
    let mut challenge = [0_u8; 8];
    for (slot, byte) in challenge.iter_mut().zip(bytes) {
        *slot = byte;
    }
    challenge
}

/// Where a session is.
#[derive(Debug)]
pub enum Phase {
    /// The consent page is shown; the user has not sent a CAN (or may try again).
    Waiting,
    /// A card job runs; setting the flag cancels it.
    Running(Arc<AtomicBool>),
    /// The answer is ready.
    Finished(Outcome),
}

/// A consent session.
#[derive(Debug)]
pub struct Session {
    /// The request it answers.
    pub request: Authorization,
    /// The token state-changing calls must present.
    pub token: String,
    /// The page's language (`fr`/`en`).
    pub lang: sesame_idp::Lang,
    /// Where it is.
    pub phase: Phase,
    /// When it ends.
    pub expires: Instant,
    /// Progress and results for the page's event stream.
    pub events: tokio::sync::broadcast::Sender<PageEvent>,
    /// The last progress event, for a page that connects late.
    pub last: Option<PageEvent>,
    /// Where a bridge session's answer goes.
    pub bridge: Option<tokio::sync::oneshot::Sender<Outcome>>,
}

/// An event for the consent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageEvent {
    /// `progress`, `retry` or `done`.
    pub kind: &'static str,
    /// JSON data.
    pub data: String,
}

/// Why a session call is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// No such session (never existed, used, or expired and swept).
    #[error("this login page has expired or was already used")]
    Gone,
    /// The token does not match.
    #[error("this request does not come from the login page")]
    BadToken,
    /// Too many sessions.
    #[error("too many logins are waiting")]
    Full,
    /// A job already runs.
    #[error("the card is already being read")]
    Running,
    /// No answer yet.
    #[error("the card has not been read yet")]
    NotFinished,
    /// No randomness.
    #[error("the system's random number generator failed")]
    Randomness,
}

/// The open sessions.
#[derive(Debug)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    lifetime: Duration,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::with_lifetime(SESSION_LIFETIME)
    }
}

/// 128 random bits, base64url.
///
/// # Errors
/// [`SessionError::Randomness`].
pub fn random_id() -> Result<String, SessionError> {
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| SessionError::Randomness)?;
    Ok(Base64UrlUnpadded::encode_string(&bytes))
}

impl Sessions {
    /// Sessions that last `lifetime` (tests shorten it).
    #[must_use]
    pub fn with_lifetime(lifetime: Duration) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            lifetime,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a session; returns its id and token.
    ///
    /// # Errors
    /// [`SessionError::Full`], [`SessionError::Randomness`].
    pub fn open(
        &self,
        request: Authorization,
        lang: sesame_idp::Lang,
    ) -> Result<(String, String), SessionError> {
        let id = random_id()?;
        let token = random_id()?;
        let mut map = self.lock();
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS {
            return Err(SessionError::Full);
        }
        let (events, _) = tokio::sync::broadcast::channel(64);
        map.insert(
            id.clone(),
            Session {
                request,
                token: token.clone(),
                lang,
                phase: Phase::Waiting,
                expires: now + self.lifetime,
                events,
                last: None,
                bridge: None,
            },
        );
        Ok((id, token))
    }

    /// Runs `f` on the session `id` after checking `token` (in constant time) and expiry.
    ///
    /// # Errors
    /// [`SessionError::Gone`], [`SessionError::BadToken`], or `f`'s error.
    pub fn with<T>(
        &self,
        id: &str,
        token: &str,
        f: impl FnOnce(&mut Session) -> Result<T, SessionError>,
    ) -> Result<T, SessionError> {
        let mut map = self.lock();
        let session = map.get_mut(id).ok_or(SessionError::Gone)?;
        if session.expires <= Instant::now() {
            map.remove(id);
            return Err(SessionError::Gone);
        }
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            session.token.as_bytes(),
            token.as_bytes(),
        )) {
            return Err(SessionError::BadToken);
        }
        f(session)
    }

    /// Removes the session and returns it (after the same checks as [`Sessions::with`]).
    ///
    /// # Errors
    /// As [`Sessions::with`].
    pub fn take(&self, id: &str, token: &str) -> Result<Session, SessionError> {
        self.with(id, token, |_| Ok(()))?;
        self.lock().remove(id).ok_or(SessionError::Gone)
    }

    /// Gives a bridge session its answer channel and returns a subscription to its
    /// events (no token: for the daemon's own bridge connection).
    pub fn attach_bridge(
        &self,
        id: &str,
        answer: tokio::sync::oneshot::Sender<Outcome>,
    ) -> Option<tokio::sync::broadcast::Receiver<PageEvent>> {
        let mut map = self.lock();
        let session = map.get_mut(id)?;
        session.bridge = Some(answer);
        Some(session.events.subscribe())
    }

    /// Ends a session from the daemon's side (its bridge connection went away): a
    /// running job is cancelled.
    pub fn abandon(&self, id: &str) {
        if let Some(session) = self.lock().remove(id)
            && let Phase::Running(cancel) = &session.phase
        {
            cancel.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Puts a session back (when its answer was not ready after all).
    pub fn restore(&self, id: String, session: Session) {
        self.lock().insert(id, session);
    }

    /// Records an event and sends it to the page.
    pub fn emit(&self, id: &str, event: PageEvent) {
        if let Some(session) = self.lock().get_mut(id) {
            let _ = session.events.send(event.clone());
            session.last = Some(event);
        }
    }

    /// Sets the phase of `id` (no token: for the daemon's own job task).
    pub fn set_phase(&self, id: &str, phase: Phase) {
        if let Some(session) = self.lock().get_mut(id) {
            session.phase = phase;
        }
    }

    /// How many sessions are open.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is open.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            "developer_mode = true\n\
             [[idp]]\norigin = \"https://idp.example\"\nname = \"IdP\"\n\
             [[idp]]\norigin = \"http://localhost:8080\"\nname = \"Dev\"\n",
            std::path::Path::new("t"),
        )
        .unwrap()
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const NONCE: &str = "q6xJ0c1gk2d7m1T0dQm3Yw";

    fn good() -> Vec<(&'static str, &'static str)> {
        vec![
            ("client_id", "https://idp.example"),
            ("redirect_uri", "https://idp.example/callback"),
            ("nonce", NONCE),
            ("state", "s"),
            ("claims", "given_name family_name"),
        ]
    }

    fn with(name: &'static str, value: &'static str) -> Vec<(String, String)> {
        let mut p = good();
        for pair in &mut p {
            if pair.0 == name {
                pair.1 = value;
            }
        }
        params(&p)
    }

    #[test]
    fn a_good_request_keeps_the_claims_in_order() {
        let a = check_request(&config(), &params(&good())).unwrap();
        assert_eq!(a.claims, ["family_name", "given_name"]);
        assert_eq!(a.idp.name, "IdP");
    }

    #[test]
    fn each_bad_parameter_is_named() {
        let c = config();
        let cases = [
            (
                with("client_id", "https://evil.example"),
                RequestError::UntrustedClient,
            ),
            (
                with("client_id", "https://idp.example/"),
                RequestError::ClientIdNotAnOrigin,
            ),
            (
                with("redirect_uri", "https://evil.example/cb"),
                RequestError::ForeignRedirect,
            ),
            (
                with("redirect_uri", "http://idp.example/cb"),
                RequestError::ForeignRedirect,
            ),
            (
                with("redirect_uri", "https://idp.example.evil/cb"),
                RequestError::ForeignRedirect,
            ),
            (
                with("redirect_uri", "https://idp.example@evil/cb"),
                RequestError::ForeignRedirect,
            ),
            (with("nonce", "short"), RequestError::BadNonce),
            (
                with("nonce", "q6xJ0c1gk2d7m1T0dQm3Yw+="),
                RequestError::BadNonce,
            ),
            (
                with("claims", "family_name password"),
                RequestError::UnknownClaim,
            ),
        ];
        for (p, expected) in cases {
            assert_eq!(check_request(&c, &p), Err(expected), "{p:?}");
        }
        let mut twice = params(&good());
        twice.push(("state".into(), "other".into()));
        assert_eq!(
            check_request(&c, &twice),
            Err(RequestError::Repeated("state"))
        );
        let long_state = "x".repeat(513);
        let mut p = params(&good());
        p[3].1 = long_state;
        assert_eq!(check_request(&c, &p), Err(RequestError::BadState));
        assert_eq!(
            check_request(&c, &params(&good()[1..])),
            Err(RequestError::Missing("client_id"))
        );
    }

    #[test]
    fn http_only_for_a_loopback_idp_in_developer_mode() {
        let c = config();
        let dev = params(&[
            ("client_id", "http://localhost:8080"),
            ("redirect_uri", "http://localhost:8080/callback"),
            ("nonce", NONCE),
            ("state", ""),
        ]);
        assert!(check_request(&c, &dev).is_ok());
        let mut strict = c.clone();
        strict.developer_mode = false;
        assert_eq!(
            check_request(&strict, &dev),
            Err(RequestError::ForeignRedirect)
        );
    }

    #[test]
    fn sessions_need_their_token_and_are_single_use() {
        let sessions = Sessions::default();
        let request = check_request(&config(), &params(&good())).unwrap();
        let (id, token) = sessions.open(request, sesame_idp::Lang::En).unwrap();
        assert_eq!(id.len(), 22);
        assert!(matches!(
            sessions.take(&id, "wrong"),
            Err(SessionError::BadToken)
        ));
        assert!(sessions.take(&id, &token).is_ok());
        assert!(matches!(
            sessions.take(&id, &token),
            Err(SessionError::Gone)
        ));
    }
}

/// Entry points for the fuzz targets (`fuzz/`): not part of the API.
#[doc(hidden)]
pub mod internal {
    use super::{Config, Origin, check_request};

    /// Parses `data` as a query string (as the daemon receives it) and checks it as an
    /// authorization request; parses it as an origin too. Must never panic.
    pub fn fuzz_authorize(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        if let Some(origin) = Origin::parse(&text) {
            assert_eq!(Origin::parse(&origin.to_string()), Some(origin.clone()));
        }
        let params: Vec<(String, String)> = text
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        let config = Config {
            developer_mode: true,
            idps: vec![crate::config::TrustedIdp {
                origin: "https://idp.example".into(),
                name: "IdP".into(),
                name_fr: None,
            }],
            ..Config::default()
        };
        if let Ok(request) = check_request(&config, &params) {
            // Whatever passed names the trusted IdP and redirects to its own origin.
            assert_eq!(request.client_id, "https://idp.example");
            assert_eq!(
                Origin::parse(&request.redirect_uri).map(|o| o.to_string()),
                Some(request.client_id.clone())
            );
        }
    }
}
