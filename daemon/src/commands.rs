//! The daemon's commands: `serve`, `demo`, `doctor`, `trust`, `key`.

use std::path::{Path, PathBuf};
use std::process::Command;

use sesame_daemon::config::{Config, Mode, TrustedIdp};
use sesame_daemon::state::StateDir;
use sesame_daemon::{Prepared, server, tls};

use crate::CliError;

/// Logs to journald when systemd gave us its journal (`JOURNAL_STREAM`), else to stderr.
/// The level is `SESAME_LOG` (`error`, `warn`, `info`, `debug`), `info` by default.
/// Nothing logged ever holds a CAN, a PIN, an MRZ or a key.
pub(crate) fn init_logging() {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::prelude::*;
    let level = std::env::var("SESAME_LOG")
        .ok()
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let registry = tracing_subscriber::registry().with(level);
    if std::env::var_os("JOURNAL_STREAM").is_some()
        && let Ok(journald) = tracing_journald::layer()
    {
        let _ = registry.with(journald).try_init();
        return;
    }
    let _ = registry
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_target(false),
        )
        .try_init();
}

/// A ten-cell bar for the `n`th step of a read (13 steps for a CNIe-like card).
pub(crate) fn progress_bar(n: usize) -> String {
    let filled = (n * 10 / 13).min(10);
    format!("[{}{}]", "#".repeat(filled), " ".repeat(10 - filled))
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Other(format!("cannot start the runtime: {e}")))
}

pub(crate) fn serve(
    config_path: Option<&Path>,
    state_dir: Option<&Path>,
    mode: Option<Mode>,
    port: Option<u16>,
) -> Result<(), CliError> {
    let (mut config, found) = Config::load(config_path)?;
    if let Some(mode) = mode {
        config.mode = mode;
    }
    if let Some(port) = port {
        config.port = port;
    }
    match &found {
        Some(path) => {
            tracing::info!(config = %path.display(), idps = config.idps.len(), "configuration loaded")
        }
        None => tracing::warn!(
            "no configuration file: no identity provider is trusted yet (see `sesamed doctor`)"
        ),
    }
    if config.mode == Mode::Counter {
        tracing::info!(
            station = config.counter.station,
            agents = config.counter.agents.len(),
            "counter mode: the counter page is https://127.0.0.1:{}/counter",
            config.port
        );
        if config.counter.agents.is_empty() || config.csca_dir.is_none() {
            tracing::warn!(
                "counter mode needs [[counter.agent]] entries and csca_dir: no agent can sign in until they are configured"
            );
        }
    }
    let state = StateDir::locate(state_dir)?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let prepared = Prepared::new(config, &state)?;
        prepared.daemon.hub.watch_pcscd();
        prepared.serve(server::shutdown_signal()).await
    })?;
    Ok(())
}

/// The demo card's reader name.
const DEMO_READER: &str = "Sésame virtual card (demo)";

pub(crate) fn demo(
    state_dir: Option<&Path>,
    port: u16,
    idp_port: u16,
    pcscd: bool,
) -> Result<(), CliError> {
    use sesame_emulator::sample::{SAMPLE_CAN, SAMPLE_CSCA, sample_card};
    let state = StateDir::locate(state_dir)?;
    state.ensure()?;
    // The sample card's CSCA, for the daemon's own verdict and for the demo IdP.
    let csca_dir = state.file("demo-csca");
    std::fs::create_dir_all(&csca_dir)
        .and_then(|()| std::fs::write(csca_dir.join("sample-csca.der"), SAMPLE_CSCA))
        .map_err(|e| CliError::Other(format!("{}: {e}", csca_dir.display())))?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let idp_listener = tokio::net::TcpListener::bind(("127.0.0.1", idp_port))
            .await
            .map_err(|e| {
                CliError::Other(format!(
                    "cannot listen on 127.0.0.1:{idp_port} for the demo IdP: {e} (try --idp-port)"
                ))
            })?;
        let idp_port = idp_listener.local_addr().map_or(idp_port, |a| a.port());
        let idp_origin = format!("http://localhost:{idp_port}");
        let config = Config {
            port,
            developer_mode: true,
            csca_dir: Some(csca_dir),
            idps: vec![TrustedIdp {
                origin: idp_origin.clone(),
                name: "Sésame demo IdP".into(),
                name_fr: Some("IdP de démonstration Sésame".into()),
            }],
            ..Config::default()
        };
        let prepared = Prepared::new(config, &state)?;
        let hub = &prepared.daemon.hub;
        hub.add_virtual_card(
            DEMO_READER,
            Box::new(sesame_emulator::EmrtdCard::new(sample_card())),
        );
        if pcscd {
            hub.watch_pcscd();
        }
        let mut trust = sesame_protocol::pa::TrustStore::new();
        trust.add_der(SAMPLE_CSCA).map_err(CliError::Other)?;
        let daemon_url = format!("https://127.0.0.1:{}", prepared.port());
        let idp = std::sync::Arc::new(sesame_idp::Idp::new(sesame_idp::IdpConfig {
            origin: idp_origin.clone(),
            daemon: daemon_url.clone(),
            trust,
            clock_skew: 60,
            counters: Vec::new(),
        }));
        tokio::spawn(async move {
            if let Err(e) = axum::serve(idp_listener, sesame_idp::router(idp)).await {
                tracing::error!("the demo IdP stopped: {e}");
            }
        });
        println!("Sésame demo");
        println!("  open        {idp_origin}/  and choose “Log in with my ID card”");
        println!("  CAN         {SAMPLE_CAN}  (the virtual card's, already on the reader)");
        println!(
            "  extension   {idp_origin}/extension  (with the Sésame browser extension: README)"
        );
        println!("  daemon      {daemon_url}");
        println!(
            "  certificate run `sesamed trust install` once (or start Chromium with \
             --ignore-certificate-errors-spki-list={})",
            prepared.identity.spki_sha256
        );
        println!("  stop        Ctrl-C");
        prepared.serve(server::shutdown_signal()).await?;
        Ok::<(), CliError>(())
    })
}

/// `sesamed trust …`.
#[derive(clap::Subcommand)]
pub(crate) enum TrustAction {
    /// Add the local authority to Chromium's and Firefox's certificate stores (certutil).
    Install,
    /// Remove it from those stores.
    Uninstall,
    /// Print the authority's certificate (PEM) and the server key's SPKI hash.
    Show,
}

/// The NSS databases of this user: Chromium's (made if missing) and every Firefox profile's.
fn nss_databases(create: bool) -> Vec<PathBuf> {
    let Some(home) = std::env::var_os("HOME").map(PathBuf::from) else {
        return Vec::new();
    };
    let mut dbs = Vec::new();
    let chromium = home.join(".pki/nssdb");
    let exists = chromium.join("cert9.db").exists();
    let made = || {
        std::fs::create_dir_all(&chromium).is_ok()
            && Command::new("certutil")
                .args(["-N", "--empty-password", "-d"])
                .arg(format!("sql:{}", chromium.display()))
                .status()
                .is_ok_and(|s| s.success())
    };
    if exists || (create && made()) {
        dbs.push(chromium.clone());
    }
    for base in [".mozilla/firefox", "snap/firefox/common/.mozilla/firefox"] {
        if let Ok(entries) = std::fs::read_dir(home.join(base)) {
            for entry in entries.flatten() {
                if entry.path().join("cert9.db").exists() {
                    dbs.push(entry.path());
                }
            }
        }
    }
    dbs
}

fn certutil(db: &Path, args: &[&str]) -> Result<std::process::Output, CliError> {
    Command::new("certutil")
        .arg("-d")
        .arg(format!("sql:{}", db.display()))
        .args(args)
        .output()
        .map_err(|e| {
            CliError::Other(format!(
                "cannot run certutil ({e}); install it: sudo apt install libnss3-tools"
            ))
        })
}

fn nss_has_ca(db: &Path) -> bool {
    certutil(db, &["-L", "-n", tls::CA_NICKNAME]).is_ok_and(|o| o.status.success())
}

pub(crate) fn trust(state_dir: Option<&Path>, action: &TrustAction) -> Result<(), CliError> {
    let state = StateDir::locate(state_dir)?;
    let identity = tls::load_or_create(&state)?;
    let ca = state.file(tls::CA_CERT);
    match action {
        TrustAction::Show => {
            let pem = std::fs::read_to_string(&ca)
                .map_err(|e| CliError::Other(format!("{}: {e}", ca.display())))?;
            print!("{pem}");
            println!("server SPKI SHA-256: {}", identity.spki_sha256);
            Ok(())
        }
        TrustAction::Install => {
            let dbs = nss_databases(true);
            if dbs.is_empty() {
                return Err(CliError::Other(
                    "no browser certificate store found (is certutil installed? sudo apt install libnss3-tools)"
                        .into(),
                ));
            }
            for db in dbs {
                if nss_has_ca(&db) {
                    println!("already trusted in {}", db.display());
                    continue;
                }
                let ca_arg = ca.to_string_lossy().into_owned();
                let out = certutil(
                    &db,
                    &["-A", "-t", "C,,", "-n", tls::CA_NICKNAME, "-i", &ca_arg],
                )?;
                if out.status.success() {
                    println!("trusted in {}", db.display());
                } else {
                    return Err(CliError::Other(format!(
                        "certutil failed on {}: {}",
                        db.display(),
                        String::from_utf8_lossy(&out.stderr).trim()
                    )));
                }
            }
            println!("Restart the browser for it to take effect.");
            Ok(())
        }
        TrustAction::Uninstall => {
            for db in nss_databases(false) {
                while nss_has_ca(&db) {
                    let out = certutil(&db, &["-D", "-n", tls::CA_NICKNAME])?;
                    if !out.status.success() {
                        break;
                    }
                    println!("removed from {}", db.display());
                }
            }
            Ok(())
        }
    }
}

/// `sesamed key …`.
#[derive(clap::Subcommand)]
pub(crate) enum KeyAction {
    /// Print the assertion key's `iss` (its RFC 7638 thumbprint).
    Show {
        /// The counter key instead (what the IdP registers for a counter station).
        #[arg(long)]
        counter: bool,
    },
    /// Replace the assertion key with a new one.
    Rotate {
        /// The counter key instead (the IdP must register the new one).
        #[arg(long)]
        counter: bool,
    },
}

pub(crate) fn key(state_dir: Option<&Path>, action: &KeyAction) -> Result<(), CliError> {
    let state = StateDir::locate(state_dir)?;
    let name = |counter: bool| {
        if counter {
            sesame_daemon::state::COUNTER_KEY
        } else {
            sesame_daemon::state::ASSERTION_KEY
        }
    };
    match action {
        KeyAction::Show { counter } => println!(
            "{}",
            sesame_verifier::issuer_of(&state.key(name(*counter))?)
        ),
        KeyAction::Rotate { counter } => {
            let key = state.rotate_key(name(*counter))?;
            println!("new key: {}", sesame_verifier::issuer_of(&key));
            println!("Restart the daemon (systemctl --user restart sesamed) to use it.");
        }
    }
    Ok(())
}

pub(crate) fn doctor(config_path: Option<&Path>, state_dir: Option<&Path>) -> Result<(), CliError> {
    let mut problems = 0_usize;
    let mut check = |ok: bool, what: String, fix: &str| {
        if ok {
            println!("ok    {what}");
        } else {
            problems += 1;
            println!("FAIL  {what}\n      fix: {fix}");
        }
    };
    // Configuration.
    let config = match Config::load(config_path) {
        Ok((config, Some(path))) => {
            check(true, format!("configuration {}", path.display()), "");
            config
        }
        Ok((config, None)) => {
            check(
                false,
                "no configuration file".into(),
                "copy systemd/sesamed.example.toml to ~/.config/sesame/sesamed.toml and list the identity providers you use",
            );
            config
        }
        Err(e) => {
            check(
                false,
                e.to_string(),
                "correct the file (see systemd/sesamed.example.toml)",
            );
            Config::default()
        }
    };
    check(
        !config.idps.is_empty(),
        format!("{} trusted identity provider(s)", config.idps.len()),
        "add an [[idp]] with origin and name to the configuration",
    );
    // State: key and certificates.
    match StateDir::locate(state_dir) {
        Ok(state) => {
            let key = state.signing_key();
            check(
                key.is_ok(),
                format!(
                    "assertion key in {} ({})",
                    state.path().display(),
                    key.as_ref()
                        .map_or_else(|e| e.to_string(), sesame_verifier::issuer_of)
                ),
                "run `sesamed key rotate`",
            );
            match tls::load_or_create(&state) {
                Ok(identity) => {
                    check(
                        true,
                        format!("TLS certificate (SPKI {})", identity.spki_sha256),
                        "",
                    );
                    let dbs = nss_databases(false);
                    let trusted = dbs.iter().filter(|db| nss_has_ca(db)).count();
                    check(
                        !dbs.is_empty() && trusted == dbs.len(),
                        format!(
                            "local authority trusted in {trusted} of {} browser store(s)",
                            dbs.len()
                        ),
                        "run `sesamed trust install` (needs certutil: sudo apt install libnss3-tools)",
                    );
                }
                Err(e) => check(
                    false,
                    e.to_string(),
                    "remove the state directory's tls/ folder and start again",
                ),
            }
        }
        Err(e) => check(false, e.to_string(), "set HOME or pass --state-dir"),
    }
    // pcscd and readers.
    match sesame_daemon::pcsc_reader::PcscService::establish() {
        Ok(service) => {
            check(true, "pcscd answers".into(), "");
            match service.readers() {
                Ok(readers) => {
                    for reader in &readers {
                        println!(
                            "      reader {}: {}",
                            reader.name,
                            if reader.card_present {
                                "card present"
                            } else {
                                "no card"
                            }
                        );
                    }
                    check(true, format!("{} reader(s)", readers.len()), "");
                }
                Err(e) => check(
                    false,
                    e.to_string(),
                    "plug in a reader (or run `sesame-card run`)",
                ),
            }
        }
        Err(e) => check(
            false,
            e.to_string(),
            "sudo apt install pcscd && sudo systemctl start pcscd",
        ),
    }
    // The daemon itself.
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], config.port));
    let running =
        std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_millis(500))
            .is_ok();
    check(
        running,
        format!("daemon listening on https://127.0.0.1:{}", config.port),
        "systemctl --user enable --now sesamed.socket (or run `sesamed serve`)",
    );
    if problems == 0 {
        println!("Everything looks right.");
        Ok(())
    } else {
        Err(CliError::Other(format!("{problems} problem(s) found")))
    }
}

/// Where each browser family reads this user's native-messaging host manifests.
fn host_manifest_dirs() -> Vec<(PathBuf, sesame_bridge::Browser)> {
    use sesame_bridge::Browser;
    let Some(home) = std::env::var_os("HOME").map(PathBuf::from) else {
        return Vec::new();
    };
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home.join(".config"));
    vec![
        (
            config.join("chromium/NativeMessagingHosts"),
            Browser::Chromium,
        ),
        (
            config.join("google-chrome/NativeMessagingHosts"),
            Browser::Chromium,
        ),
        (
            config.join("microsoft-edge/NativeMessagingHosts"),
            Browser::Chromium,
        ),
        (
            config.join("BraveSoftware/Brave-Browser/NativeMessagingHosts"),
            Browser::Chromium,
        ),
        (
            home.join(".mozilla/native-messaging-hosts"),
            Browser::Firefox,
        ),
    ]
}

pub(crate) fn install_bridge(bridge: Option<PathBuf>, dir: Option<&Path>) -> Result<(), CliError> {
    let bridge = match bridge {
        Some(path) => path,
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|d| d.join("sesame-bridge")))
            .filter(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from("/usr/bin/sesame-bridge")),
    };
    let bridge = std::fs::canonicalize(&bridge).map_err(|e| {
        CliError::Other(format!(
            "{}: {e} (build it with `cargo build -p sesame-bridge`, or pass --bridge)",
            bridge.display()
        ))
    })?;
    let targets = match dir {
        Some(dir) => vec![(dir.to_path_buf(), sesame_bridge::Browser::Chromium)],
        None => host_manifest_dirs(),
    };
    let name = format!("{}.json", sesame_bridge::HOST_NAME);
    for (dir, browser) in targets {
        let manifest = sesame_bridge::host_manifest(&bridge, browser);
        let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join(&name), text + "\n"))
            .map_err(|e| CliError::Other(format!("{}: {e}", dir.display())))?;
        println!("wrote {}", dir.join(&name).display());
    }
    println!(
        "Now load the extension (web-extension-bridge/extension) in the browser; its ID is {} in Chromium and Chrome.",
        sesame_bridge::CHROMIUM_EXTENSION_ID
    );
    Ok(())
}

pub(crate) fn uninstall_bridge() -> Result<(), CliError> {
    let name = format!("{}.json", sesame_bridge::HOST_NAME);
    for (dir, _) in host_manifest_dirs() {
        if std::fs::remove_file(dir.join(&name)).is_ok() {
            println!("removed {}", dir.join(&name).display());
        }
    }
    Ok(())
}
