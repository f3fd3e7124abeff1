//! Serving the API over TLS on loopback: `127.0.0.1:PORT` and `[::1]:PORT`, or the
//! sockets systemd passes (socket activation, `LISTEN_FDS`); `sd_notify` READY and
//! STOPPING; graceful shutdown on SIGTERM or Ctrl-C.
//!
//! Each accepted connection does its TLS handshake in its own task (bounded by
//! [`HANDSHAKE_TIMEOUT`]), so a slow or silent client never holds up the others.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A loopback address could not be bound (another daemon runs?).
    #[error("cannot listen on {address}: {source} (is another sesamed running?)")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A socket passed by systemd is unusable or not on loopback.
    #[error("the socket passed by systemd is unusable: {0}")]
    Activation(String),
}

/// The listening sockets: those systemd passed, else our own on both loopbacks.
///
/// # Errors
/// [`ServeError`].
pub fn listeners(port: u16) -> Result<(Vec<std::net::TcpListener>, bool), ServeError> {
    let mut fds = listenfd::ListenFd::from_env();
    let mut passed = Vec::new();
    for index in 0..fds.len() {
        match fds.take_tcp_listener(index) {
            Ok(Some(listener)) => {
                let address = listener
                    .local_addr()
                    .map_err(|e| ServeError::Activation(e.to_string()))?;
                if !address.ip().is_loopback() {
                    return Err(ServeError::Activation(format!(
                        "{address} is not a loopback address: the daemon listens on loopback only"
                    )));
                }
                passed.push(listener);
            }
            Ok(None) => {}
            Err(e) => return Err(ServeError::Activation(e.to_string())),
        }
    }
    if !passed.is_empty() {
        return Ok((passed, true));
    }
    let mut own: Vec<std::net::TcpListener> = Vec::new();
    for ip in [
        std::net::IpAddr::V4(Ipv4Addr::LOCALHOST),
        std::net::IpAddr::V6(Ipv6Addr::LOCALHOST),
    ] {
        // Port 0 (tests): the IPv6 socket takes the port the IPv4 one got.
        let port = match own.first().map(std::net::TcpListener::local_addr) {
            Some(Ok(first)) if port == 0 => first.port(),
            _ => port,
        };
        let address = SocketAddr::new(ip, port);
        match bind(address) {
            Ok(listener) => own.push(listener),
            // A machine without IPv6 on loopback still serves on 127.0.0.1.
            Err(e) if ip.is_ipv6() && e.kind() == std::io::ErrorKind::AddrNotAvailable => {
                tracing::warn!("no IPv6 loopback: serving on 127.0.0.1 only");
            }
            Err(source) => return Err(ServeError::Bind { address, source }),
        }
    }
    Ok((own, false))
}

fn bind(address: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let domain = socket2::Domain::for_address(address);
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, None)?;
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.bind(&address.into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

/// Accepted TLS connections from every listener, for `axum::serve`.
pub struct TlsListener {
    connections: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listeners` with `config`.
    ///
    /// # Errors
    /// When a listener cannot be handed to tokio.
    pub fn new(
        listeners: Vec<std::net::TcpListener>,
        config: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<Self> {
        let acceptor = TlsAcceptor::from(config);
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let mut local = None;
        for listener in listeners {
            listener.set_nonblocking(true)?;
            let listener = TcpListener::from_std(listener)?;
            local = local.or(listener.local_addr().ok());
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                loop {
                    let (stream, peer) = match listener.accept().await {
                        Ok(pair) => pair,
                        Err(e) => {
                            tracing::warn!("accept: {e}");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let acceptor = acceptor.clone();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                        {
                            Ok(Ok(tls)) => {
                                let _ = tx.send((tls, peer)).await;
                            }
                            Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        }
                    });
                }
            });
        }
        let local = local.ok_or_else(|| std::io::Error::other("no listening socket"))?;
        Ok(Self {
            connections: rx,
            local,
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Some(connection) = self.connections.recv().await {
                return connection;
            }
            // Every acceptor task is gone: nothing more will come.
            std::future::pending::<()>().await;
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Tells systemd (when it started us) that the daemon is ready.
pub fn notify_ready() {
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
}

/// Tells systemd the daemon is stopping.
pub fn notify_stopping() {
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("stopping");
    notify_stopping();
}
