//! The login stack for browser tests and benchmarks: the daemon (reading one vpcd
//! reader of the test pcscd) and the reference IdP on loopback, headless Chromium
//! trusting the daemon's certificate, and the keyboard steps of a login.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sesame_daemon::config::{Config, TrustedIdp};
use sesame_daemon::state::StateDir;
use sesame_emulator::sample::SAMPLE_CSCA;

use crate::cdp::{Browser, LaunchOptions, Page};

pub const WAIT: Duration = Duration::from_secs(30);

/// Everything the daemon and the IdP log, without timestamps (a CAN must not hide in one).
#[derive(Clone, Default)]
pub struct Logs(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        // Also on stderr, which the test harness shows when the test fails.
        std::io::Write::write_all(&mut std::io::stderr(), bytes)?;
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct Stack {
    pub idp: String,
    pub spki: String,
    /// The daemon's base URL (`https://127.0.0.1:PORT`).
    pub daemon: String,
    /// The IdP itself (to read what it received).
    pub idp_state: Arc<sesame_idp::Idp>,
    /// The daemon's bridge socket (for `sesame-bridge --socket`).
    pub bridge_socket: std::path::PathBuf,
    /// The daemon's state directory.
    pub state_dir: std::path::PathBuf,
    _runtime: tokio::runtime::Runtime,
    _state: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The daemon (reading only `reader`) and the reference IdP, on loopback.
pub fn start_stack(reader: &str) -> Stack {
    start(reader, None)
}

/// A town-hall station: the daemon in counter mode (reading only `reader`, with these
/// agents, trusting these extra CSCAs besides the sample card's) and the reference IdP,
/// which registers the station's counter key and receives its certifications.
pub fn start_counter_stack(
    reader: &str,
    agents: Vec<sesame_daemon::config::CounterAgent>,
    cscas: &[Vec<u8>],
) -> Stack {
    start(reader, Some((agents, cscas)))
}

fn start(
    reader: &str,
    counter: Option<(Vec<sesame_daemon::config::CounterAgent>, &[Vec<u8>])>,
) -> Stack {
    let dir = std::env::temp_dir().join(format!("sesame-browser-flow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("csca")).unwrap();
    std::fs::write(dir.join("csca/sample.der"), SAMPLE_CSCA).unwrap();
    let mut trust = sesame_protocol::pa::TrustStore::new();
    trust.add_der(SAMPLE_CSCA).unwrap();
    for (i, csca) in counter
        .as_ref()
        .map(|(_, c)| *c)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        std::fs::write(dir.join(format!("csca/extra-{i}.der")), csca).unwrap();
        trust.add_der(csca).unwrap();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let idp_listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let idp = format!(
        "http://localhost:{}",
        idp_listener.local_addr().unwrap().port()
    );
    let state = StateDir::locate(Some(&dir.join("state"))).unwrap();
    let mut config = Config {
        port: 0,
        developer_mode: true,
        csca_dir: Some(dir.join("csca")),
        job_timeout_secs: 30,
        readers: vec![reader.to_owned()],
        bridge_socket: Some(dir.join("run/bridge.sock")),
        idps: vec![TrustedIdp {
            origin: idp.clone(),
            name: "Test IdP".into(),
            name_fr: Some("IdP de test".into()),
        }],
        ..Config::default()
    };
    let mut counters = Vec::new();
    if let Some((agents, _)) = counter {
        config.mode = sesame_daemon::config::Mode::Counter;
        config.counter = sesame_daemon::config::CounterConfig {
            station: "Mairie de Test, guichet 1".into(),
            audience: Some(idp.clone()),
            certification_endpoint: Some(format!("{idp}/certifications")),
            agents,
        };
        let key = state.key(sesame_daemon::state::COUNTER_KEY).unwrap();
        counters.push(sesame_verifier::TrustedCounter::new(
            &sesame_verifier::certification::counter_issuer(&key),
            "Mairie de Test",
        ));
    }
    let _guard = runtime.enter();
    let prepared = sesame_daemon::Prepared::new(config, &state).unwrap();
    prepared.daemon.hub.watch_pcscd();
    let spki = prepared.identity.spki_sha256.clone();
    let daemon = format!("https://127.0.0.1:{}", prepared.port());
    let idp_state = Arc::new(sesame_idp::Idp::new(sesame_idp::IdpConfig {
        origin: idp.clone(),
        daemon: daemon.clone(),
        trust,
        clock_skew: 60,
        counters,
    }));
    let served = idp_state.clone();
    runtime.spawn(async move {
        axum::serve(idp_listener, sesame_idp::router(served))
            .await
            .unwrap();
    });
    runtime.spawn(async move {
        prepared.serve(std::future::pending()).await.unwrap();
    });
    Stack {
        idp,
        spki,
        daemon,
        idp_state,
        bridge_socket: dir.join("run/bridge.sock"),
        state_dir: dir.join("state"),
        _runtime: runtime,
        _state: TempDir(dir),
    }
}

pub fn browser(spki: &str) -> Option<Browser> {
    launch(vec![format!(
        "--ignore-certificate-errors-spki-list={spki}"
    )])
}

/// Chromium with `args`, or `None` (after saying so) when it is not installed outside CI.
fn launch(args: Vec<String>) -> Option<Browser> {
    let options = LaunchOptions {
        args,
        ..LaunchOptions::default()
    };
    match Browser::launch(options) {
        Ok(browser) => Some(browser),
        Err(crate::cdp::CdpError::NotFound(e)) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromium is needed under CI: {e}"
            );
            eprintln!("skipped: chromium not found ({e})");
            None
        }
        Err(e) => panic!("chromium: {e}"),
    }
}

pub fn set_language(page: &Page, lang: &str) {
    page.call(
        "Emulation.setUserAgentOverride",
        serde_json::json!({ "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chromium headless", "acceptLanguage": lang }),
    )
    .unwrap();
}

/// Presses Tab until the focused element's description contains `needle`.
pub fn tab_to(page: &Page, needle: &str) {
    for _ in 0..25 {
        page.press_key("Tab").unwrap();
        if page.focused_description().unwrap().contains(needle) {
            return;
        }
    }
    panic!(
        "Tab never reached {needle:?}; the page says: {}",
        page.content_text().unwrap_or_default()
    );
}

/// From the IdP's home page to the consent page, by keyboard.
pub fn open_consent_page(page: &Page, idp: &str) {
    page.navigate(&format!("{idp}/")).unwrap();
    tab_to(page, "button");
    page.press_key("Enter").unwrap();
    page.wait_for(
        "location.pathname === '/v1/authorize' && document.getElementById('readers') \
         && /Carte détectée|Card detected/.test(document.getElementById('readers').textContent)",
        WAIT,
    )
    .unwrap_or_else(|e| {
        panic!(
            "no consent page with the card: {e}; url {:?}, text {:?}",
            page.url(),
            page.content_text()
        )
    });
}

pub fn type_can_and_submit(page: &Page, can: &str) {
    let focused = page.focused_description().unwrap();
    assert!(
        focused.contains("#can"),
        "the CAN field has the focus, not {focused}"
    );
    page.type_text(can).unwrap();
    page.press_key("Enter").unwrap();
}

pub fn idp_result(page: &Page, idp: &str) -> String {
    let port = idp.rsplit(':').next().unwrap();
    page.wait_for(
        &format!(
            "location.port === '{port}' && location.pathname === '/callback' && document.readyState === 'complete'"
        ),
        WAIT,
    )
    .unwrap_or_else(|e| panic!("never back at the IdP: {e}; url {:?}, text {:?}", page.url(), page.content_text()));
    page.content_text().unwrap()
}

pub fn vpcd_reader_name(port: u16) -> String {
    let ports: Vec<u16> = std::env::var("SESAME_TEST_VPCD_PORTS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    let index = ports.iter().position(|p| *p == port).unwrap();
    // scripts/lib/common.sh names the vpcd driver "Sesame vpcd"; pcscd adds "00 0<slot>".
    format!("Sesame vpcd 00 {index:02}")
}

/// The extension's source directory.
#[must_use]
pub fn extension_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web-extension-bridge/extension")
}

/// Chromium with the Sésame extension loaded, trusting the daemon's certificate.
pub fn browser_with_extension(spki: &str) -> Option<Browser> {
    let extension = extension_dir().canonicalize().unwrap();
    launch(vec![
        format!("--ignore-certificate-errors-spki-list={spki}"),
        format!("--disable-extensions-except={}", extension.display()),
        format!("--load-extension={}", extension.display()),
    ])
}

/// Waits until pcscd says whether a card is in `reader`. A card taken out and another put
/// in within one of pcscd's polls would look to pcscd like no change at all (a person
/// cannot swap cards that fast); tests wait for the "out" before the next "in".
pub fn wait_for_card_state(reader: &str, present: bool) {
    let service = sesame_daemon::pcsc_reader::PcscService::establish().unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let now = service
            .readers()
            .unwrap_or_default()
            .into_iter()
            .find(|r| r.name == reader)
            .is_some_and(|r| r.card_present);
        if now == present {
            // Let pcscd's own poll of the reader see it too before anything else happens.
            std::thread::sleep(Duration::from_secs(1));
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pcscd never saw the card {} {reader}",
            if present { "in" } else { "out of" }
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Opens the counter page and signs the agent in with the card on the reader (its CAN
/// typed, Enter), by keyboard; returns once the counter's read form is there.
pub fn sign_in_agent(page: &Page, daemon: &str, can: &str) {
    page.navigate(&format!("{daemon}/counter")).unwrap();
    page.wait_for(
        "document.activeElement && document.activeElement.id === 'agent-can'",
        WAIT,
    )
    .unwrap();
    page.type_text(can).unwrap();
    page.press_key("Enter").unwrap();
    page.wait_for("document.getElementById('read') !== null", WAIT)
        .unwrap_or_else(|e| panic!("not signed in: {e}: {:?}", page.content_text()));
}
