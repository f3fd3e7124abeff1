//! Benchmark: the whole login in headless Chromium (IdP button to the IdP's verified page:
//! TLS, consent page, CAN typed, the virtual card read through pcscd + vpcd, PACE, CA,
//! PA, assertion, the IdP's verification), timed N times (default 21; `SESAME_BENCH_N`).
//! Needs the test pcscd: `scripts/bench-daemon.sh` runs it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use sesame_emulator::EmrtdCard;
use sesame_emulator::sample::{SAMPLE_CAN, sample_card};
use sesame_emulator::testing::{pcscd, plug};
use sesame_tests::stack::{
    browser, idp_result, open_consent_page, start_stack, type_can_and_submit, vpcd_reader_name,
};

fn main() {
    let Some(pcscd) = pcscd() else { return };
    let n: usize = std::env::var("SESAME_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21);
    let slot = pcscd.slot();
    let _card = plug(slot.port, EmrtdCard::new(sample_card()));
    let stack = start_stack(&vpcd_reader_name(slot.port));
    let Some(browser) = browser(&stack.spki) else {
        return;
    };
    let page = browser.new_page().unwrap();
    // One login to warm up (the first TLS handshake, the browser's caches).
    open_consent_page(&page, &stack.idp);
    type_can_and_submit(&page, SAMPLE_CAN);
    assert!(idp_result(&page, &stack.idp).contains("ERIKSSON"));
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        open_consent_page(&page, &stack.idp);
        type_can_and_submit(&page, SAMPLE_CAN);
        assert!(idp_result(&page, &stack.idp).contains("ERIKSSON"));
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let p90 = times[(times.len() * 9 / 10).min(times.len() - 1)];
    println!(
        "browser login (keyboard, pcscd + vpcd): median {median:.0} ms, p90 {p90:.0} ms, n={n}"
    );
}
