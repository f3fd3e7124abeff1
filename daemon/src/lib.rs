//! # sesame-daemon
//!
//! The library behind `sesamed`:
//! - [`pcsc_reader`]: PC/SC readers as [`sesame_apdu::Transport`]s, and their events;
//! - [`readers`]: one worker thread per reader, card jobs queued with deadlines;
//! - [`config`], [`state`], [`tls`]: the configuration file, the state directory (the
//!   assertion key, the local TLS authority);
//! - [`flow`]: the redirect flow's rules (request checks, sessions, outcomes, assertion);
//! - [`web`]: the HTTP API and the consent page; [`server`]: TLS on loopback, socket
//!   activation, `sd_notify`;
//! - [`bridge`]: the browser extension's way in (a Unix socket for `sesame-bridge`);
//! - counter mode: [`counter`] (the page's API), [`photo`] (DG2 for a browser),
//!   [`certify`] (the signed record), [`journal`] (hash-chained), [`deliver`] (to the IdP).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bridge;
pub mod certify;
pub mod config;
pub mod counter;
mod counter_page;
pub mod deliver;
pub mod flow;
pub mod journal;
pub mod pcsc_reader;
pub mod photo;
pub mod readers;
pub mod server;
pub mod state;
pub mod tls;
pub mod web;

use std::sync::Arc;

use config::Config;
use readers::ReaderHub;
use state::{StateDir, StateError};
use web::Daemon;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The state directory or its keys.
    #[error(transparent)]
    State(#[from] StateError),
    /// The listening sockets.
    #[error(transparent)]
    Serve(#[from] server::ServeError),
    /// The CSCA directory.
    #[error("the CSCA directory: {0}")]
    Trust(#[from] sesame_protocol::pa::TrustStoreError),
    /// Serving failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
    /// The counter's journal cannot be opened (`sesamed journal verify` says why).
    #[error("the counter journal: {0}")]
    Journal(String),
}

/// A daemon ready to serve: its state, bound sockets and TLS identity.
#[derive(Debug)]
pub struct Prepared {
    /// What the handlers share.
    pub daemon: Arc<Daemon>,
    /// The TLS identity (its SPKI hash pins the server).
    pub identity: tls::TlsIdentity,
    listeners: Vec<std::net::TcpListener>,
    /// Whether systemd passed the sockets.
    pub activated: bool,
}

impl Prepared {
    /// Loads the keys and certificates (making them on first start), binds the sockets
    /// (or takes systemd's) and sets up the readers. `config.port` 0 picks a free port.
    ///
    /// # Errors
    /// [`DaemonError`].
    pub fn new(config: Config, state: &StateDir) -> Result<Self, DaemonError> {
        state.ensure()?;
        let key = state.signing_key()?;
        let identity = tls::load_or_create(state)?;
        let trust = config
            .csca_dir
            .as_deref()
            .map(sesame_protocol::pa::TrustStore::from_dir)
            .transpose()?;
        let (listeners, activated) = server::listeners(config.port)?;
        let port = listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .map_or(config.port, |a| a.port());
        let hub = ReaderHub::new(trust, config.readers.clone());
        let counter = if config.mode == config::Mode::Counter {
            let journal = journal::Journal::open(&journal::dir_in(state))
                .map_err(|e| DaemonError::Journal(e.to_string()))?;
            Some(counter::Counter::new(
                state.key(state::COUNTER_KEY)?,
                journal,
            ))
        } else {
            None
        };
        let daemon = Arc::new(Daemon {
            counter,
            config,
            hub,
            sessions: flow::Sessions::default(),
            key,
            port,
        });
        Ok(Self {
            daemon,
            identity,
            listeners,
            activated,
        })
    }

    /// The port the daemon answers on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.daemon.port
    }

    /// Serves until `shutdown` resolves, then lets open requests finish.
    ///
    /// # Errors
    /// [`DaemonError`].
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), DaemonError> {
        let config = self.identity.server_config()?;
        let listener = server::TlsListener::new(self.listeners, config)?;
        let app = web::router(self.daemon.clone());
        let config = &self.daemon.config;
        if config.bridge
            && let Some(path) = config
                .bridge_socket
                .clone()
                .or_else(sesame_bridge::socket_path)
        {
            match bridge::bind(&path) {
                Ok(socket) => {
                    tokio::spawn(bridge::serve(self.daemon.clone(), socket, path));
                }
                Err(e) => tracing::warn!(
                    socket = %path.display(),
                    "the browser-extension bridge is off: {e}"
                ),
            }
        }
        tracing::info!(
            port = self.daemon.port,
            activated = self.activated,
            "serving"
        );
        server::notify_ready();
        let hub = self.daemon.hub.clone();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await?;
        hub.stop();
        Ok(())
    }
}
