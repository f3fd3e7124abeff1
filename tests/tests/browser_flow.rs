//! The whole login in a real browser, driven by the keyboard alone: headless Chromium
//! opens the reference IdP, goes to the daemon's consent page over real TLS, types the
//! CAN, and the virtual card answers through pcscd + vpcd; the IdP shows the verified
//! name. Also: a wrong CAN is said on the consent page and can be retried, cancel
//! returns `access_denied`, a card pulled out mid-read returns `card_error`, axe-core
//! finds nothing on the consent page in French and English, and no CAN reaches the logs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sesame_daemon::config::{Config, TrustedIdp};
use sesame_daemon::state::StateDir;
use sesame_emulator::EmrtdCard;
use sesame_emulator::faults::{Faults, FaultyCard};
use sesame_emulator::sample::{SAMPLE_CAN, SAMPLE_CSCA, sample_card};
use sesame_emulator::testing::{PluggedCard, pcscd, plug};
use sesame_tests::cdp::{Browser, LaunchOptions, Page, axe_source_path};

const WRONG_CAN: &str = "654321";
const WAIT: Duration = Duration::from_secs(30);

/// Everything the daemon and the IdP log, without timestamps (a CAN must not hide in one).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Stack {
    idp: String,
    spki: String,
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
fn start_stack(reader: &str) -> Stack {
    let dir = std::env::temp_dir().join(format!("sesame-browser-flow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("csca")).unwrap();
    std::fs::write(dir.join("csca/sample.der"), SAMPLE_CSCA).unwrap();
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
    let config = Config {
        port: 0,
        developer_mode: true,
        csca_dir: Some(dir.join("csca")),
        job_timeout_secs: 30,
        readers: vec![reader.to_owned()],
        idps: vec![TrustedIdp {
            origin: idp.clone(),
            name: "Test IdP".into(),
            name_fr: Some("IdP de test".into()),
        }],
        ..Config::default()
    };
    let state = StateDir::locate(Some(&dir.join("state"))).unwrap();
    let _guard = runtime.enter();
    let prepared = sesame_daemon::Prepared::new(config, &state).unwrap();
    prepared.daemon.hub.watch_pcscd();
    let spki = prepared.identity.spki_sha256.clone();
    let mut trust = sesame_protocol::pa::TrustStore::new();
    trust.add_der(SAMPLE_CSCA).unwrap();
    let idp_state = Arc::new(sesame_idp::Idp::new(sesame_idp::IdpConfig {
        origin: idp.clone(),
        daemon: format!("https://127.0.0.1:{}", prepared.port()),
        trust,
        clock_skew: 60,
    }));
    runtime.spawn(async move {
        axum::serve(idp_listener, sesame_idp::router(idp_state))
            .await
            .unwrap();
    });
    runtime.spawn(async move {
        prepared.serve(std::future::pending()).await.unwrap();
    });
    Stack {
        idp,
        spki,
        _runtime: runtime,
        _state: TempDir(dir),
    }
}

fn browser(spki: &str) -> Option<Browser> {
    let options = LaunchOptions {
        args: vec![format!("--ignore-certificate-errors-spki-list={spki}")],
        ..LaunchOptions::default()
    };
    match Browser::launch(options) {
        Ok(browser) => Some(browser),
        Err(sesame_tests::cdp::CdpError::NotFound(e)) => {
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

fn set_language(page: &Page, lang: &str) {
    page.call(
        "Emulation.setUserAgentOverride",
        serde_json::json!({ "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chromium headless", "acceptLanguage": lang }),
    )
    .unwrap();
}

/// Presses Tab until the focused element's description contains `needle`.
fn tab_to(page: &Page, needle: &str) {
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
fn open_consent_page(page: &Page, idp: &str) {
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

fn type_can_and_submit(page: &Page, can: &str) {
    let focused = page.focused_description().unwrap();
    assert!(
        focused.contains("#can"),
        "the CAN field has the focus, not {focused}"
    );
    page.type_text(can).unwrap();
    page.press_key("Enter").unwrap();
}

fn idp_result(page: &Page, idp: &str) -> String {
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

fn vpcd_reader_name(port: u16) -> String {
    let ports: Vec<u16> = std::env::var("SESAME_TEST_VPCD_PORTS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    let index = ports.iter().position(|p| *p == port).unwrap();
    // scripts/lib/common.sh names the vpcd driver "Sesame vpcd"; pcscd adds "00 0<slot>".
    format!("Sesame vpcd 00 {index:02}")
}

#[test]
fn a_citizen_logs_in_with_the_keyboard_through_pcscd() {
    let Some(pcscd) = pcscd() else { return };
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .without_time()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let slot = pcscd.slot();
    let mut card: PluggedCard = plug(slot.port, EmrtdCard::new(sample_card()));
    let stack = start_stack(&vpcd_reader_name(slot.port));
    let Some(browser) = browser(&stack.spki) else {
        return;
    };
    let page = browser.new_page().unwrap();

    // Accessibility of the consent page, measured in both languages.
    let axe = axe_source_path();
    assert!(
        axe.is_some() || std::env::var_os("CI").is_none(),
        "axe-core is needed under CI: npm ci --prefix tests/js --no-audit --no-fund"
    );
    for lang in ["fr-FR,fr", "en-GB,en"] {
        set_language(&page, lang);
        open_consent_page(&page, &stack.idp);
        if let Some(axe) = &axe {
            let violations = page.run_axe(axe).unwrap();
            assert!(
                violations.is_empty(),
                "axe on the consent page ({lang}): {violations:#?}"
            );
        }
    }

    // English from here. A wrong CAN is said on the page, and the user tries again.
    let started = Instant::now();
    type_can_and_submit(&page, WRONG_CAN);
    page.wait_for(
        "document.getElementById('can-error').textContent.length > 0",
        WAIT,
    )
    .unwrap();
    let error = page
        .eval_string("document.getElementById('can-error').textContent")
        .unwrap();
    assert!(error.contains("does not open the card"), "{error}");
    type_can_and_submit(&page, SAMPLE_CAN);
    let text = idp_result(&page, &stack.idp);
    assert!(text.contains("Identity verified"), "{text}");
    assert!(text.contains("ERIKSSON"), "{text}");
    eprintln!("login with one wrong CAN: {:?}", started.elapsed());

    // The whole flow again, timed (one figure; docs/performance.md has the benchmark).
    let started = Instant::now();
    open_consent_page(&page, &stack.idp);
    type_can_and_submit(&page, SAMPLE_CAN);
    assert!(idp_result(&page, &stack.idp).contains("ERIKSSON"));
    eprintln!("whole browser flow: {:?}", started.elapsed());

    // Cancel, by keyboard: the IdP hears access_denied.
    open_consent_page(&page, &stack.idp);
    tab_to(&page, "#cancel");
    page.press_key("Enter").unwrap();
    let text = idp_result(&page, &stack.idp);
    assert!(text.contains("You cancelled the login"), "{text}");

    // The card is pulled out in the middle of the read: card_error, and the daemon goes on.
    card.remove();
    let faulty = FaultyCard::new(
        EmrtdCard::new(sample_card()),
        Faults {
            remove_at: Some(9),
            ..Faults::default()
        },
    );
    card = plug(slot.port, faulty);
    open_consent_page(&page, &stack.idp);
    type_can_and_submit(&page, SAMPLE_CAN);
    let text = idp_result(&page, &stack.idp);
    assert!(text.contains("could not be read to the end"), "{text}");
    card.remove();

    // A good card again: the daemon still serves.
    let _card = plug(slot.port, EmrtdCard::new(sample_card()));
    open_consent_page(&page, &stack.idp);
    type_can_and_submit(&page, SAMPLE_CAN);
    let text = idp_result(&page, &stack.idp);
    assert!(
        text.contains("ERIKSSON"),
        "after a card was pulled out: {text}"
    );

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("consent page shown"),
        "the logs were captured: {logs}"
    );
    for secret in [SAMPLE_CAN, WRONG_CAN] {
        assert!(!logs.contains(secret), "a CAN reached the logs:\n{logs}");
    }
}
