//! Benchmark: a town-hall counter's card-to-screen time. An agent is signed in; a
//! CNIe-like card with a 16 KB face (`emulator/profiles/face-large.jpg`, DG2 ≈ 16 KB) is
//! read again and again through pcscd + vpcd: from the key press on "Read the card" to
//! the photo decoded and shown beside the identity. N reads (default 11; `SESAME_BENCH_N`).
//! Needs the test pcscd: `scripts/bench-daemon.sh` runs it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use sesame_daemon::config::CounterAgent;
use sesame_emulator::EmrtdCard;
use sesame_emulator::personalize::{Profile, personalize};
use sesame_emulator::pki::TestPki;
use sesame_emulator::sample::{SAMPLE_CAN, sample_card};
use sesame_emulator::testing::{pcscd, plug};
use sesame_protocol::random::SystemRandom;
use sesame_tests::stack::{
    WAIT, browser, set_language, sign_in_agent, start_counter_stack, vpcd_reader_name,
    wait_for_card_state,
};

fn main() {
    let Some(pcscd) = pcscd() else { return };
    let n: usize = std::env::var("SESAME_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);
    let slot = pcscd.slot();
    let reader = vpcd_reader_name(slot.port);
    let pki = TestPki::generate(
        sesame_protocol::ec::Curve::BrainpoolP256r1,
        &mut SystemRandom,
    )
    .unwrap();
    let profiles = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../emulator/profiles");
    let mut profile = Profile::load(&profiles.join("cnie.toml")).unwrap();
    profile.face = Some(profiles.join("face-large.jpg"));
    let citizen = personalize(&profile, &pki, &mut SystemRandom)
        .unwrap()
        .contents;
    let dg2_len = citizen.files[&0x02].len();
    let stack = start_counter_stack(
        &reader,
        vec![CounterAgent {
            document_number: "D23145890".into(),
            name: "Agent Bench".into(),
        }],
        std::slice::from_ref(&pki.csca.certificate),
    );
    let card = plug(slot.port, EmrtdCard::new(sample_card()));
    let Some(browser) = browser(&stack.spki) else {
        return;
    };
    let page = browser.new_page().unwrap();
    set_language(&page, "en");
    sign_in_agent(&page, &stack.daemon, SAMPLE_CAN);
    card.remove();
    wait_for_card_state(&reader, false);
    let _card = plug(slot.port, EmrtdCard::new(citizen));
    page.wait_for(
        "/Card detected/.test(document.getElementById('readers').textContent)",
        WAIT,
    )
    .unwrap();
    let can = profile.can.clone();
    let mut times = Vec::new();
    let mut server = Vec::new();
    let mut apdus = 0;
    for i in 0..=n {
        page.eval("document.getElementById('case').hidden = true; document.getElementById('photo').removeAttribute('src'); document.getElementById('citizen-can').focus()")
            .unwrap();
        page.type_text(&can).unwrap();
        let start = Instant::now();
        page.press_key("Enter").unwrap();
        page.wait_for(
            "!document.getElementById('case').hidden && document.getElementById('photo').complete && document.getElementById('photo').naturalWidth > 0",
            WAIT,
        )
        .unwrap();
        let elapsed = start.elapsed().as_secs_f64() * 1000.0;
        if i > 0 {
            // The first read warms the browser and the TLS session up.
            times.push(elapsed);
            server.push(
                page.eval("Number(document.getElementById('case').dataset.readMs)")
                    .unwrap()
                    .as_f64()
                    .unwrap_or(0.0),
            );
            apdus = page
                .eval("Number(document.getElementById('case').dataset.apdus)")
                .unwrap()
                .as_u64()
                .unwrap_or(0);
        }
    }
    times.sort_by(f64::total_cmp);
    server.sort_by(f64::total_cmp);
    println!(
        "counter card-to-screen (DG2 {dg2_len} bytes, {apdus} APDUs, pcscd + vpcd): median {:.0} ms (card read in the daemon: median {:.0} ms), n={n}",
        times[times.len() / 2],
        server[server.len() / 2]
    );
}
