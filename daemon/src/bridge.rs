//! The daemon's end of the browser-extension bridge (`docs/protocol.md` §5): a Unix
//! socket (mode 0600 in a 0700 directory: this user only) where `sesame-bridge` sends
//! [`Request`]s as JSON lines and reads [`Reply`]s.
//!
//! An `authenticate` request passes the same checks as `/v1/authorize` (the origin must
//! be a trusted IdP; the audience is that origin, as the extension took it from the
//! browser), opens a consent session, and hands back the consent page's URL for the
//! extension to open: the user sees who asks and types the CAN on the daemon's own page,
//! never in the extension or the page. Progress is relayed; the answer comes back on the
//! same connection. A connection that closes (the tab or the browser went away) abandons
//! its session and cancels its card job.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sesame_bridge::{MAX_FRAME, ReaderState, Reply, Request};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::flow::{self, Outcome, PageEvent};
use crate::web::Daemon;

/// Binds the socket at `path` (its directory made 0700, a stale socket replaced).
///
/// # Errors
/// When the directory or socket cannot be made.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serves bridge connections until the listener fails.
pub async fn serve(daemon: Arc<Daemon>, listener: UnixListener, path: PathBuf) {
    tracing::info!(socket = %path.display(), "browser-extension bridge listening");
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let daemon = daemon.clone();
                tokio::spawn(async move { connection(daemon, stream).await });
            }
            Err(e) => {
                tracing::warn!("bridge socket: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
}

async fn write(stream: &mut tokio::net::unix::OwnedWriteHalf, reply: &Reply) -> bool {
    let Ok(mut line) = serde_json::to_vec(reply) else {
        return false;
    };
    line.push(b'\n');
    stream.write_all(&line).await.is_ok()
}

/// The session a connection waits on.
struct Pending {
    id: String,
    events: tokio::sync::broadcast::Receiver<PageEvent>,
    answer: tokio::sync::oneshot::Receiver<Outcome>,
}

/// What woke the connection up.
enum Step {
    Line(std::io::Result<usize>),
    Event(Option<PageEvent>),
    Answer(Option<Outcome>),
}

async fn connection(daemon: Arc<Daemon>, stream: UnixStream) {
    let (read, mut write_half) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut session: Option<String> = None;
    let mut events: Option<tokio::sync::broadcast::Receiver<PageEvent>> = None;
    let mut answer: Option<tokio::sync::oneshot::Receiver<Outcome>> = None;
    // `read_line` keeps what it read when another branch wins: the line is cleared only
    // once it has been handled.
    let mut line = String::new();
    let limit = u64::try_from(MAX_FRAME + 1).unwrap_or(u64::MAX);
    loop {
        let mut limited = (&mut lines).take(limit);
        let step = tokio::select! {
            read = limited.read_line(&mut line) => Step::Line(read),
            event = async {
                match events.as_mut() {
                    Some(events) => events.recv().await.ok(),
                    None => std::future::pending().await,
                }
            } => Step::Event(event),
            outcome = async {
                match answer.as_mut() {
                    Some(answer) => answer.await.ok(),
                    None => std::future::pending().await,
                }
            } => Step::Answer(outcome),
        };
        drop(limited);
        let reply = match step {
            Step::Line(Ok(0) | Err(_)) => break,
            Step::Line(Ok(_)) if !line.ends_with('\n') && line.len() > MAX_FRAME => {
                let _ = write(
                    &mut write_half,
                    &Reply::error("bad_request", "request too long"),
                )
                .await;
                break;
            }
            Step::Line(Ok(_)) if !line.ends_with('\n') => continue,
            Step::Line(Ok(_)) => {
                let request = serde_json::from_str::<Request>(line.trim_end());
                line.clear();
                match request {
                    Err(_) => Some(Reply::error("bad_request", "unknown or malformed request")),
                    Ok(Request::Status {}) => Some(status(&daemon)),
                    Ok(Request::Cancel {}) => session.take().map(|id| {
                        daemon.sessions.abandon(&id);
                        events = None;
                        answer = None;
                        Reply::error("access_denied", "The login was cancelled.")
                    }),
                    Ok(Request::Authenticate { .. }) if session.is_some() => Some(Reply::error(
                        "busy",
                        "a login is already waiting on this connection",
                    )),
                    Ok(Request::Authenticate {
                        origin,
                        nonce,
                        claims,
                        lang,
                    }) => match open(&daemon, &origin, &nonce, &claims, lang.as_deref()) {
                        Ok((pending, url)) => {
                            session = Some(pending.id);
                            events = Some(pending.events);
                            answer = Some(pending.answer);
                            Some(Reply::Consent { url })
                        }
                        Err(reply) => Some(reply),
                    },
                }
            }
            Step::Event(event) => event
                .filter(|e| e.kind == "progress")
                .and_then(|e| serde_json::from_str::<serde_json::Value>(&e.data).ok())
                .map(|value| Reply::Progress {
                    percent: value["percent"]
                        .as_u64()
                        .and_then(|p| u8::try_from(p).ok())
                        .unwrap_or(0),
                    text: value["text"].as_str().unwrap_or_default().to_owned(),
                }),
            Step::Answer(outcome) => {
                session = None;
                events = None;
                answer = None;
                Some(match outcome {
                    Some(Outcome::Assertion(assertion)) => Reply::Result { assertion },
                    Some(Outcome::Error { code, description }) => Reply::error(code, description),
                    None => Reply::error("timeout", "The login page expired."),
                })
            }
        };
        if let Some(reply) = reply
            && !write(&mut write_half, &reply).await
        {
            break;
        }
    }
    if let Some(id) = session {
        tracing::info!("bridge connection closed: its login is abandoned");
        daemon.sessions.abandon(&id);
    }
}

fn status(daemon: &Daemon) -> Reply {
    Reply::Status {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        readers: daemon
            .hub
            .snapshot()
            .readers
            .into_iter()
            .map(|r| ReaderState {
                name: r.name,
                card_present: r.card_present,
            })
            .collect(),
    }
}

fn open(
    daemon: &Daemon,
    origin: &str,
    nonce: &str,
    claims: &[String],
    lang: Option<&str>,
) -> Result<(Pending, String), Reply> {
    let request =
        flow::check_bridge_request(&daemon.config, origin, nonce, claims).map_err(|e| {
            tracing::info!(origin, "bridge request refused: {e}");
            let code = match e {
                flow::RequestError::UntrustedClient | flow::RequestError::ClientIdNotAnOrigin => {
                    "untrusted_origin"
                }
                _ => "bad_request",
            };
            Reply::error(code, e.to_string())
        })?;
    let lang = sesame_idp::Lang::choose(lang, None);
    let (id, token) = daemon
        .sessions
        .open(request, lang)
        .map_err(|e| Reply::error("busy", e.to_string()))?;
    let (answer_tx, answer) = tokio::sync::oneshot::channel();
    let events = daemon
        .sessions
        .attach_bridge(&id, answer_tx)
        .ok_or_else(|| Reply::error("timeout", "The login page expired."))?;
    tracing::info!(origin, "bridge login: consent page opened");
    let url = format!(
        "https://127.0.0.1:{}/v1/bridge/{id}?token={token}",
        daemon.port
    );
    Ok((Pending { id, events, answer }, url))
}
