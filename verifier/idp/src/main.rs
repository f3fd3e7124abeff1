//! `sesame-idp`: the reference identity provider (see the library's documentation).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use sesame_idp::{Idp, IdpConfig, router};
use sesame_protocol::pa::TrustStore;
use sesame_verifier::TrustedCounter;

/// The reference identity provider for Sésame logins.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The IdP's origin, which is also its `client_id`; defaults to
    /// `http://localhost:<port>` (a real IdP is `https` behind its TLS front end).
    #[arg(long)]
    origin: Option<String>,
    /// The daemon's base URL.
    #[arg(long, default_value = "https://127.0.0.1:24729")]
    daemon: String,
    /// A directory of trusted CSCA certificates (DER or PEM) and ICAO master lists, e.g.
    /// the `csca/` of `sesame-card pki init`.
    #[arg(long)]
    csca: PathBuf,
    /// Clock skew allowed on assertion and certification times, seconds.
    #[arg(long, default_value_t = 60)]
    clock_skew: i64,
    /// A town-hall counter whose certification records are accepted, as
    /// `sesame:<key thumbprint>=<name>` (repeatable).
    #[arg(long = "counter", value_name = "sesame:THUMBPRINT=NAME")]
    counters: Vec<TrustedCounter>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let trust = TrustStore::from_dir(&args.csca)
        .with_context(|| format!("reading the CSCAs in {}", args.csca.display()))?;
    let origin = args
        .origin
        .unwrap_or_else(|| format!("http://localhost:{}", args.listen.port()));
    let idp = Arc::new(Idp::new(IdpConfig {
        origin: origin.clone(),
        daemon: args.daemon,
        trust,
        clock_skew: args.clock_skew,
        counters: args.counters,
    }));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    eprintln!("sesame-idp: {origin} (listening on {})", args.listen);
    axum::serve(listener, router(idp))
        .await
        .context("serving")?;
    Ok(())
}
