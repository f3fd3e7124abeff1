//! The town-hall counter in a real browser, driven by the keyboard: the agent signs in
//! with their own card (a wrong CAN first), the citizen's passport (BAC with the MRZ
//! typed, a JPEG 2000 face) is read through pcscd + vpcd, the page shows the chip photo
//! at its own size beside the identity and the verdict in words, axe-core finds nothing,
//! the agent certifies, and the IdP lists a verified certification. Then a passport that
//! leaves the reader in the middle of its DG2: a clean error, and the counter reads the
//! next card and records a refusal, which the IdP lists too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use sesame_apdu::{Capabilities, Transport, TransportError};
use sesame_daemon::config::CounterAgent;
use sesame_emulator::faults::{Faults, FaultyCard};
use sesame_emulator::personalize::{Profile, personalize};
use sesame_emulator::pki::TestPki;
use sesame_emulator::sample::{SAMPLE_CAN, sample_card};
use sesame_emulator::testing::{pcscd, plug};
use sesame_emulator::{CardContents, EmrtdCard, InProcessCard};
use sesame_protocol::kdf::Password;
use sesame_protocol::lds::{DataGroup, Dg1, LdsFile};
use sesame_protocol::random::SystemRandom;
use sesame_protocol::reader::{ReadRequest, ReadStep, read_document};
use sesame_tests::cdp::{Page, axe_source_path};
use sesame_tests::stack::{
    WAIT, browser, set_language, sign_in_agent, start_counter_stack, tab_to, vpcd_reader_name,
    wait_for_card_state,
};

/// Counts the APDUs a card answers, where the step callback can read the count while the
/// read holds the transport (which `sesame_apdu::CountingTransport` does not allow).
struct Counting<T> {
    inner: T,
    count: Arc<Mutex<usize>>,
}

impl<T: Transport> Transport for Counting<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        *self.count.lock().unwrap() += 1;
        self.inner.transmit(command)
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}

fn mrz_text(card: &CardContents) -> String {
    let dg1 = Dg1::parse(&card.files[&0x01]).unwrap();
    dg1.mrz.lines().collect::<Vec<_>>().join("\n")
}

/// The number of the APDU that reads DG2 when the counter reads `card` (DG11, DG2).
fn dg2_apdu(card: &CardContents, mrz: &str) -> usize {
    let count = Arc::new(Mutex::new(0));
    let mut transport = Counting {
        inner: InProcessCard::new(EmrtdCard::new(card.clone())),
        count: count.clone(),
    };
    let parsed = sesame_protocol::lds::Mrz::parse(mrz).unwrap();
    let request = ReadRequest {
        password: Password::mrz(&parsed.key_seed_input()),
        data_groups: vec![DataGroup::Dg11, DataGroup::Dg2],
        active_authentication: None,
        trust: None,
        now: sesame_protocol::unix_now(),
    };
    let mut at = None;
    let mut on_step = |step| {
        if step == ReadStep::ReadFile(LdsFile::Dg(DataGroup::Dg2)) {
            at = Some(*count.lock().unwrap() + 1);
        }
    };
    read_document(&mut transport, &request, &mut SystemRandom, &mut on_step).unwrap();
    at.unwrap()
}

fn read_citizen(page: &Page, mrz: &str) {
    page.wait_for(
        "document.activeElement && document.activeElement.id === 'citizen-can'",
        WAIT,
    )
    .unwrap();
    tab_to(page, "#citizen-mrz");
    page.type_text(mrz).unwrap();
    tab_to(page, "Read the card");
    page.press_key("Enter").unwrap();
}

fn text_of(page: &Page, id: &str) -> String {
    page.eval_string(&format!("document.getElementById('{id}').textContent"))
        .unwrap()
}

#[test]
fn an_agent_certifies_a_citizen_and_the_idp_lists_it() {
    let Some(pcscd) = pcscd() else { return };
    let slot = pcscd.slot();
    let reader = vpcd_reader_name(slot.port);
    let pki = TestPki::generate(
        sesame_protocol::ec::Curve::BrainpoolP256r1,
        &mut SystemRandom,
    )
    .unwrap();
    let profile = Profile::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../emulator/profiles/passport.toml"),
    )
    .unwrap();
    let passport = personalize(&profile, &pki, &mut SystemRandom)
        .unwrap()
        .contents;
    let mrz = mrz_text(&passport);
    let dg2_at = dg2_apdu(&passport, &mrz);
    let expected = sesame_daemon::photo::from_dg2(&passport.files[&0x02]).unwrap();

    let stack = start_counter_stack(
        &reader,
        vec![CounterAgent {
            document_number: "D23145890".into(),
            name: "Agent Test".into(),
        }],
        std::slice::from_ref(&pki.csca.certificate),
    );
    let mut card = plug(slot.port, EmrtdCard::new(sample_card()));
    let Some(browser) = browser(&stack.spki) else {
        return;
    };
    let page = browser.new_page().unwrap();
    set_language(&page, "en-GB,en");

    // The agent signs in with their own card: a wrong CAN first.
    page.navigate(&format!("{}/counter", stack.daemon)).unwrap();
    page.wait_for(
        "document.activeElement && document.activeElement.id === 'agent-can'",
        WAIT,
    )
    .unwrap();
    page.type_text("918273").unwrap();
    page.press_key("Enter").unwrap();
    page.wait_for(
        "document.getElementById('problem').textContent.length > 0",
        WAIT,
    )
    .unwrap();
    assert!(text_of(&page, "problem").contains("does not open the card"));
    page.type_text(SAMPLE_CAN).unwrap();
    page.press_key("Enter").unwrap();
    page.wait_for("document.getElementById('read') !== null", WAIT)
        .unwrap_or_else(|e| panic!("not signed in: {e}: {:?}", page.content_text()));
    assert!(page.content_text().unwrap().contains("Agent Test"));

    // The citizen's passport, read with its MRZ typed.
    card.remove();
    wait_for_card_state(&reader, false);
    card = plug(slot.port, EmrtdCard::new(passport.clone()));
    page.wait_for(
        "/Card detected/.test(document.getElementById('readers').textContent)",
        WAIT,
    )
    .unwrap();
    read_citizen(&page, &mrz);
    page.wait_for("!document.getElementById('case').hidden && document.getElementById('photo').complete && document.getElementById('photo').naturalWidth > 0", WAIT)
        .unwrap_or_else(|e| panic!("no case: {e}: {:?}", page.content_text()));
    let natural = page
        .eval("[document.getElementById('photo').naturalWidth, document.getElementById('photo').naturalHeight]")
        .unwrap();
    assert_eq!(
        natural,
        serde_json::json!([expected.width, expected.height]),
        "the photo at the chip's size"
    );
    let text = page.content_text().unwrap();
    assert!(text.contains("L898902C3"), "{text}");
    assert!(
        text.contains("Issuing state's signature: verified."),
        "{text}"
    );
    if let Some(axe) = axe_source_path() {
        let violations = page.run_axe(&axe).unwrap();
        assert!(
            violations.is_empty(),
            "axe on the counter page: {violations:#?}"
        );
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "axe-core is needed under CI"
        );
    }

    // Certify, by keyboard.
    tab_to(&page, "#face-matches");
    page.press_key("Space").unwrap();
    tab_to(&page, "#document-valid");
    page.press_key("Space").unwrap();
    tab_to(&page, "#certify");
    page.press_key("Enter").unwrap();
    page.wait_for("document.getElementById('case').hidden", WAIT)
        .unwrap_or_else(|e| panic!("not certified: {e}: {:?}", page.content_text()));
    let status = text_of(&page, "status");
    assert!(status.contains("the IdP confirmed it"), "{status}");
    let received = stack.idp_state.certifications();
    assert_eq!(received.len(), 1);
    let record = &received[0].certification.payload;
    assert_eq!(record.document.document_number, "L898902C3");
    assert_eq!(record.agent.name, "Agent Test");
    assert!(record.checks.face_matches && record.checks.document_valid);

    // A passport that leaves the reader while its DG2 is read.
    card.remove();
    wait_for_card_state(&reader, false);
    card = plug(
        slot.port,
        FaultyCard::new(
            EmrtdCard::new(passport.clone()),
            Faults {
                remove_at: Some(dg2_at),
                ..Faults::default()
            },
        ),
    );
    page.wait_for(
        "/Card detected/.test(document.getElementById('readers').textContent)",
        WAIT,
    )
    .unwrap();
    read_citizen(&page, &mrz);
    page.wait_for(
        "document.getElementById('problem').textContent.length > 0",
        WAIT,
    )
    .unwrap();
    assert!(
        page.eval("document.getElementById('case').hidden").unwrap() == serde_json::json!(true)
    );

    // The counter is ready for the next card: this one is refused, with a reason.
    card.remove();
    wait_for_card_state(&reader, false);
    let _card = plug(slot.port, EmrtdCard::new(passport));
    page.wait_for(
        "/Card detected/.test(document.getElementById('readers').textContent)",
        WAIT,
    )
    .unwrap();
    read_citizen(&page, &mrz);
    page.wait_for("!document.getElementById('case').hidden", WAIT)
        .unwrap_or_else(|e| {
            panic!(
                "no case after the pulled card: {e}: {:?}",
                page.content_text()
            )
        });
    tab_to(&page, "#reason");
    page.type_text("The person does not match the photo")
        .unwrap();
    tab_to(&page, "#refuse");
    page.press_key("Enter").unwrap();
    page.wait_for("document.getElementById('case').hidden", WAIT)
        .unwrap();
    let received = stack.idp_state.certifications();
    assert_eq!(received.len(), 2);
    let refusal = &received[0].certification.payload;
    assert_eq!(
        refusal.reason.as_deref(),
        Some("The person does not match the photo")
    );

    // The counter page in French passes axe-core too.
    if let Some(axe) = axe_source_path() {
        set_language(&page, "fr-FR,fr");
        page.navigate(&format!("{}/counter", stack.daemon)).unwrap();
        page.wait_for(
            "document.documentElement.lang === 'fr' && document.getElementById('read') !== null",
            WAIT,
        )
        .unwrap();
        let violations = page.run_axe(&axe).unwrap();
        assert!(
            violations.is_empty(),
            "axe on the French counter page: {violations:#?}"
        );
    }

    // The journal: intact, every decision in it, no secret, no photo.
    let journal = stack.state_dir.join("journal");
    let report = sesame_daemon::journal::verify(&journal).unwrap();
    assert!(report.entries >= 5, "{report:?}");
    let mut text = String::new();
    for entry in std::fs::read_dir(&journal).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            text.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    for kind in ["agent_sign_in", "certification", "refusal", "delivery"] {
        assert!(
            text.contains(&format!("\"kind\":\"{kind}\"")),
            "{kind} missing:\n{text}"
        );
    }
    for secret in mrz.lines().chain([SAMPLE_CAN, "918273"]) {
        assert!(!text.contains(secret), "{secret:?} in the journal");
    }
    assert!(
        !text.contains("/9j/") && !text.contains("jP  "),
        "no image in the journal"
    );
}

/// Chooses the `nth` reader (1 = the first) in the citizen form's reader list, by keyboard.
fn choose_reader(page: &Page, nth: usize) {
    page.wait_for(
        &format!("document.getElementById('citizen-reader').options.length > {nth}"),
        WAIT,
    )
    .unwrap();
    page.eval("document.getElementById('citizen-can').focus()")
        .unwrap();
    page.press_key("Shift+Tab").unwrap();
    assert!(
        page.focused_description()
            .unwrap()
            .contains("citizen-reader")
    );
    for _ in 0..nth {
        page.press_key("ArrowDown").unwrap();
    }
    page.press_key("Tab").unwrap();
}

#[test]
fn a_busy_counter_serves_two_readers_at_once() {
    let Some(pcscd) = pcscd() else { return };
    let first = pcscd.slot();
    let second = pcscd.slot();
    let mut readers = [vpcd_reader_name(first.port), vpcd_reader_name(second.port)];
    readers.sort();
    let pki = TestPki::generate(
        sesame_protocol::ec::Curve::BrainpoolP256r1,
        &mut SystemRandom,
    )
    .unwrap();
    let profiles = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../emulator/profiles");
    let cnie = Profile::load(&profiles.join("cnie.toml")).unwrap();
    let citizen = personalize(&cnie, &pki, &mut SystemRandom)
        .unwrap()
        .contents;
    // One station with both readers ("Sesame vpcd" matches both).
    let stack = start_counter_stack(
        "Sesame vpcd",
        vec![CounterAgent {
            document_number: "D23145890".into(),
            name: "Agent Test".into(),
        }],
        std::slice::from_ref(&pki.csca.certificate),
    );
    let agent_card = plug(first.port, EmrtdCard::new(sample_card()));
    let Some(browser) = browser(&stack.spki) else {
        return;
    };
    let one = browser.new_page().unwrap();
    set_language(&one, "en");
    sign_in_agent(&one, &stack.daemon, SAMPLE_CAN);
    agent_card.remove();
    wait_for_card_state(&readers[0], false);
    // Two citizens, one card on each reader.
    let _a = plug(first.port, EmrtdCard::new(citizen.clone()));
    let _b = plug(second.port, EmrtdCard::new(citizen));
    wait_for_card_state(&readers[0], true);
    wait_for_card_state(&readers[1], true);
    let two = browser.new_page().unwrap();
    set_language(&two, "en");
    two.navigate(&format!("{}/counter", stack.daemon)).unwrap();
    for (page, nth) in [(&one, 1), (&two, 2)] {
        page.wait_for("document.getElementById('read') !== null", WAIT)
            .unwrap();
        choose_reader(page, nth);
        page.type_text(&cnie.can).unwrap();
        page.press_key("Enter").unwrap();
    }
    for page in [&one, &two] {
        page.wait_for("!document.getElementById('case').hidden", WAIT)
            .unwrap_or_else(|e| panic!("no case: {e}: {:?}", page.content_text()));
    }
    // Both wait for their decision at once: one certified, one refused.
    tab_to(&one, "#face-matches");
    one.press_key("Space").unwrap();
    tab_to(&one, "#document-valid");
    one.press_key("Space").unwrap();
    tab_to(&one, "#certify");
    one.press_key("Enter").unwrap();
    tab_to(&two, "#reason");
    two.type_text("Document damaged").unwrap();
    tab_to(&two, "#refuse");
    two.press_key("Enter").unwrap();
    for page in [&one, &two] {
        page.wait_for("document.getElementById('case').hidden", WAIT)
            .unwrap();
    }
    let received = stack.idp_state.certifications();
    assert_eq!(received.len(), 2);
}
