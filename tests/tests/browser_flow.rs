//! The whole login in a real browser, driven by the keyboard alone: headless Chromium
//! opens the reference IdP, goes to the daemon's consent page over real TLS, types the
//! CAN, and the virtual card answers through pcscd + vpcd; the IdP shows the verified
//! name. Also: a wrong CAN is said on the consent page and can be retried, cancel
//! returns `access_denied`, a card pulled out mid-read returns `card_error`, axe-core
//! finds nothing on the consent page in French and English, and no CAN reaches the logs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use sesame_emulator::EmrtdCard;
use sesame_emulator::faults::{Faults, FaultyCard};
use sesame_emulator::sample::{SAMPLE_CAN, sample_card};
use sesame_emulator::testing::{PluggedCard, pcscd, plug};
use sesame_tests::cdp::axe_source_path;
use sesame_tests::stack::{
    Logs, WAIT, browser, idp_result, open_consent_page, set_language, start_stack, tab_to,
    type_can_and_submit, vpcd_reader_name, wait_for_card_state,
};

const WRONG_CAN: &str = "654321";

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
    let reader = vpcd_reader_name(slot.port);
    let stack = start_stack(&reader);
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
    wait_for_card_state(&reader, false);
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
    wait_for_card_state(&reader, false);

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
