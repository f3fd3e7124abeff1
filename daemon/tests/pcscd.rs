//! Through the real pcscd: a virtual card plugged into the vsmartcard vpcd driver, seen
//! and driven by Sésame's PC/SC layer exactly as a hardware reader would be.
//!
//! Each test holds a vpcd slot (reader) while it runs, and hands it back empty (pcscd
//! has seen the card leave); cards have distinct ATRs so that each test finds its own
//! reader.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command as Process;
use std::time::{Duration, Instant};

use sesame_apdu::{Command, StatusWord, Transport, TransportError, exchange};
use sesame_daemon::pcsc_reader::{PcscService, ReaderEvent, ReaderInfo};
use sesame_emulator::testing::{PluggedCard, Slot, pcscd, plug};
use sesame_emulator::{CardHandler, EmrtdCard, MinimalCard, sample};
use sesame_protocol::kdf::Password;
use sesame_protocol::lds::DataGroup;
use sesame_protocol::pa::TrustStore;
use sesame_protocol::random::SystemRandom;
use sesame_protocol::reader::{ReadRequest, read_document};
use sesame_protocol::{EMRTD_AID, SelectError, select_application};

/// A card in a vpcd reader for one test. Dropping it pulls the card out and waits until
/// pcscd has seen the reader empty, then frees the slot for the next test.
struct TestCard {
    reader: ReaderInfo,
    service: PcscService,
    plugged: Option<PluggedCard>,
    _slot: Slot,
}

impl TestCard {
    /// Takes a slot, plugs a [`MinimalCard`] with `id` in it, waits for pcscd to see it.
    fn plug(id: u8) -> Option<Self> {
        let slot = pcscd()?.slot();
        let card = MinimalCard::with_id(id);
        let atr = card.atr();
        let plugged = plug(slot.port, card);
        let service = PcscService::establish().unwrap();
        let reader = wait_for_card(&service, &atr);
        Some(Self {
            reader,
            service,
            plugged: Some(plugged),
            _slot: slot,
        })
    }

    /// Pulls the card out and waits until pcscd reports the reader empty.
    fn remove(&mut self) {
        if let Some(plugged) = self.plugged.take() {
            plugged.remove();
            let mut watcher = self.service.watcher().unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                let readers = self.service.readers().unwrap();
                if readers
                    .iter()
                    .any(|r| r.name == self.reader.name && !r.card_present)
                {
                    return;
                }
                let _ = watcher.next_events(Duration::from_millis(200));
            }
            panic!(
                "pcscd still shows a card in {} after removal",
                self.reader.name
            );
        }
    }
}

impl Drop for TestCard {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.remove();
        }
    }
}

/// The PC/SC layer sees the vpcd reader, the card's ATR, and the card's answer to a
/// SELECT of the eMRTD application sent through pcscd.
#[test]
fn select_through_pcscd() {
    let Some(test) = TestCard::plug(1) else {
        return;
    };
    assert!(test.reader.name.contains("vpcd"), "{}", test.reader.name);
    assert_eq!(test.reader.extended_length, Some(true));

    let mut card = test.service.connect(&test.reader.name).unwrap();
    assert_eq!(card.atr(), MinimalCard::with_id(1).atr().as_slice());
    select_application(&mut card, &EMRTD_AID).unwrap();
    let err = select_application(&mut card, &[0xA0, 0, 0, 0, 0x63, 0x50, 0x4B]).unwrap_err();
    assert!(
        matches!(err, SelectError::Refused(StatusWord::FileNotFound)),
        "{err:?}"
    );
}

/// Extended-length APDUs pass through pcscd and vpcd both ways: 1000 bytes of command
/// data and a 4000-byte response in one exchange each.
#[test]
fn extended_length_through_pcscd() {
    let Some(test) = TestCard::plug(2) else {
        return;
    };
    let mut card = test.service.connect(&test.reader.name).unwrap();
    assert!(card.capabilities().extended_length);
    let response = exchange(&mut card, &Command::new(0, 0xCA, 0x01, 0x00).with_le(4000)).unwrap();
    assert_eq!(response.sw, StatusWord::Success);
    assert_eq!(response.data.len(), 4000);
    let long = Command::new(0, 0xCA, 0x01, 0x00)
        .with_data(vec![0x11; 1000])
        .with_le(2);
    let raw = card.transmit(&long.to_bytes().unwrap()).unwrap();
    assert_eq!(raw, [0x5A, 0x5A, 0x90, 0x00]);
}

/// A card pulled out between two APDUs: the next exchange is a typed "card removed"
/// error, not a hang or a panic, and the watcher reports insertion and removal.
#[test]
fn card_removal_is_reported() {
    let Some(service) = pcscd().map(|_| PcscService::establish().unwrap()) else {
        return;
    };
    let mut watcher = service.watcher().unwrap();
    // The first call reports the readers (and cards) already there.
    let initial = watcher.next_events(Duration::ZERO).unwrap();
    assert!(
        initial
            .iter()
            .any(|e| matches!(e, ReaderEvent::ReaderAdded { .. })),
        "{initial:?}"
    );

    let mut test = TestCard::plug(3).unwrap();
    let atr = MinimalCard::with_id(3).atr();
    let name = test.reader.name.clone();
    let inserted = wait_for_event(
        &mut watcher,
        |e| matches!(e, ReaderEvent::CardInserted { reader, atr: a } if *reader == name && *a == atr),
    );
    assert!(inserted, "no card-inserted event for {name}");

    let mut card = test.service.connect(&name).unwrap();
    select_application(&mut card, &EMRTD_AID).unwrap();
    test.remove();
    let removed = wait_for_event(
        &mut watcher,
        |e| matches!(e, ReaderEvent::CardRemoved { reader } if *reader == name),
    );
    assert!(removed, "no card-removed event for {name}");
    let err = exchange(
        &mut card,
        &Command::new(0, 0xA4, 0x04, 0x0C).with_data(EMRTD_AID),
    )
    .unwrap_err();
    assert!(err.is_card_gone(), "{err:?}");
    assert!(
        matches!(err, TransportError::CardRemoved | TransportError::NoCard),
        "{err:?}"
    );
}

/// `sesamed readers` lists the virtual reader with the card's ATR, in words and in JSON.
#[test]
fn sesamed_readers_lists_the_virtual_card() {
    let Some(test) = TestCard::plug(4) else {
        return;
    };
    let atr_spaced: Vec<String> = MinimalCard::with_id(4)
        .atr()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();

    let out = Process::new(env!("CARGO_BIN_EXE_sesamed"))
        .arg("readers")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&test.reader.name))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        line,
        format!(
            "{}: card present, ATR {}, extended length",
            test.reader.name,
            atr_spaced.join(" ")
        )
    );

    let out = Process::new(env!("CARGO_BIN_EXE_sesamed"))
        .args(["readers", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == test.reader.name.as_str())
        .unwrap();
    assert_eq!(entry["card_present"], true);
    assert_eq!(entry["atr"], atr_spaced.concat());
}

/// Waits until a reader holds a card with exactly `atr`; returns that reader. It waits
/// in `SCardGetStatusChange` (through a watcher), as a real client does: pcscd polls
/// vpcd for card changes while a client waits for them.
fn wait_for_card(service: &PcscService, atr: &[u8]) -> ReaderInfo {
    let mut watcher = service.watcher().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(r) = service
            .readers()
            .unwrap()
            .into_iter()
            .find(|r| r.card_present && r.atr == atr)
        {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "no reader shows a card with the expected ATR"
        );
        let _ = watcher.next_events(Duration::from_millis(200)).unwrap();
    }
}

fn wait_for_event(
    watcher: &mut sesame_daemon::pcsc_reader::ReaderWatcher,
    wanted: impl Fn(&ReaderEvent) -> bool,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if watcher
            .next_events(Duration::from_millis(500))
            .unwrap()
            .iter()
            .any(&wanted)
        {
            return true;
        }
    }
    false
}

/// `sesamed probe` finds the eMRTD application on the virtual card through pcscd.
#[test]
fn sesamed_probe_finds_the_emrtd_application() {
    let Some(test) = TestCard::plug(5) else {
        return;
    };
    let out = Process::new(env!("CARGO_BIN_EXE_sesamed"))
        .args([
            "probe",
            "--json",
            "--repeat",
            "5",
            "--reader",
            &test.reader.name,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["emrtd_application"], true);
    assert_eq!(report["select_status"], "9000");
    assert_eq!(report["extended_length"], true);
    assert_eq!(report["round_trips"], 5);
}

/// The whole read through the real pcscd: the sample identity card in a vpcd reader,
/// PACE with the CAN, Chip Authentication, Passive Authentication against its test CSCA.
#[test]
fn read_document_through_pcscd() {
    let Some(pcscd) = pcscd() else { return };
    let slot = pcscd.slot();
    let card = EmrtdCard::new(sample::sample_card()).with_atr_id(0x12);
    let atr = card.atr();
    let plugged = plug(slot.port, card);
    let service = PcscService::establish().unwrap();
    let reader = wait_for_card(&service, &atr);
    let mut trust = TrustStore::new();
    trust.add_der(sample::SAMPLE_CSCA).unwrap();
    let now = sesame_protocol::unix_now();
    let request = ReadRequest {
        password: Password::can(sample::SAMPLE_CAN),
        data_groups: vec![DataGroup::Dg11],
        active_authentication: None,
        trust: Some(&trust),
        now,
    };
    {
        let mut pcsc_card = service.connect(&reader.name).unwrap();
        let document =
            read_document(&mut pcsc_card, &request, &mut SystemRandom, &mut |_| {}).unwrap();
        assert_eq!(document.mrz.primary_identifier(), "ERIKSSON");
        assert!(document.chip_authentication.is_some());
        assert!(document.passive_authentication.as_ref().unwrap().is_ok());
    }

    // `sesamed read`, the CAN on standard input: the identity, verified.
    let dir = std::env::temp_dir().join(format!("sesame-csca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("csca.der"), sample::SAMPLE_CSCA).unwrap();
    let mut child = Process::new(env!("CARGO_BIN_EXE_sesamed"))
        .args(["read", "--json", "--reader", &reader.name, "--csca"])
        .arg(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"123456\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["family_name"], "ERIKSSON");
    assert_eq!(report["chip_authentication"], true);
    assert!(
        report["passive_authentication"]
            .as_str()
            .unwrap()
            .starts_with("verified"),
        "{report}"
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("123456"), "the CAN must never be printed");

    // A wrong CAN: one readable line, its own exit code.
    let mut child = Process::new(env!("CARGO_BIN_EXE_sesamed"))
        .args(["read", "--reader", &reader.name])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"654321\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.lines().any(|l| l.starts_with("sesamed: wrong CAN")),
        "{err}"
    );
    assert!(!err.contains("654321"));
    plugged.remove();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each sample profile, personalised with a fresh test PKI, read through pcscd + vpcd:
/// the CNIe-like card with its CAN (PACE, CA, PA), the passport with its MRZ (BAC, CA, AA,
/// PA) and their faces.
#[test]
fn profiles_read_through_pcscd() {
    use sesame_emulator::personalize::{Profile, personalize};
    use sesame_emulator::pki::TestPki;
    use sesame_protocol::ec::Curve;
    let Some(pcscd) = pcscd() else { return };
    for (name, curve) in [
        ("cnie.toml", Curve::BrainpoolP256r1),
        ("passport.toml", Curve::NistP256),
    ] {
        let slot = pcscd.slot();
        let pki = TestPki::generate(curve, &mut SystemRandom).unwrap();
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../emulator/profiles")
            .join(name);
        let profile = Profile::load(&path).unwrap();
        let contents = personalize(&profile, &pki, &mut SystemRandom)
            .unwrap()
            .contents;
        let password = match &contents.mrz_information {
            Some(mrz) if contents.card_access.is_none() => Password::mrz(mrz),
            _ => Password::can(&profile.can),
        };
        let card =
            EmrtdCard::new(contents).with_atr_id(if name == "cnie.toml" { 0x10 } else { 0x11 });
        let mut atr = card.atr();
        let plugged = plug(slot.port, card);
        let service = PcscService::establish().unwrap();
        let reader = wait_for_card(&service, &atr);
        let mut trust = TrustStore::new();
        trust.add_der(&pki.csca.certificate).unwrap();
        let now = sesame_protocol::unix_now();
        let request = ReadRequest {
            password,
            data_groups: vec![DataGroup::Dg2, DataGroup::Dg11],
            active_authentication: Some([8, 7, 6, 5, 4, 3, 2, 1]),
            trust: Some(&trust),
            now,
        };
        let document = {
            let mut pcsc_card = service.connect(&reader.name).unwrap();
            read_document(&mut pcsc_card, &request, &mut SystemRandom, &mut |_| {}).unwrap()
        };
        assert!(document.chip_authentication.is_some(), "{name}");
        assert!(
            document.passive_authentication.as_ref().unwrap().is_ok(),
            "{name}: {:?}",
            document.passive_authentication
        );
        assert_eq!(document.faces.len(), 1, "{name}");
        assert_eq!(
            document.active_authentication.is_some(),
            name == "passport.toml"
        );
        plugged.remove();
        // Let pcscd see the reader empty before the slot is reused.
        let mut watcher = service.watcher().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while service
            .readers()
            .unwrap()
            .iter()
            .any(|r| r.name == reader.name && r.card_present)
            && Instant::now() < deadline
        {
            let _ = watcher.next_events(Duration::from_millis(200));
        }
        atr.clear();
        drop(slot);
    }
}

/// With no pcscd to talk to, `sesamed readers` says so in one readable line and exits
/// non-zero. (Pointing the client at a socket that does not exist is how a stopped
/// pcscd looks to it.)
#[test]
fn sesamed_readers_without_pcscd() {
    let dir = std::env::temp_dir().join(format!("sesame-no-pcscd-{}", std::process::id()));
    let out = Process::new(env!("CARGO_BIN_EXE_sesamed"))
        .arg("readers")
        .env("PCSCLITE_CSOCK_NAME", dir.join("pcscd.comm"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("sesamed: the smart-card service (pcscd) is not running."),
        "{err}"
    );
}
