//! Benchmark: a full read of the sample identity card in process (PACE GM AES-256,
//! Chip Authentication, DG1, DG11, DG14, EF.SOD, Passive Authentication), repeated.
//! Prints one JSON object: APDUs and bytes per read, and the median and minimum wall time.
//!
//! `cargo run --release -p sesame-emulator --example read_bench -- 50`

use std::time::Instant;

use sesame_emulator::{EmrtdCard, InProcessCard, sample};
use sesame_protocol::kdf::Password;
use sesame_protocol::lds::DataGroup;
use sesame_protocol::pa::TrustStore;
use sesame_protocol::random::SystemRandom;
use sesame_protocol::reader::{ReadRequest, read_document};

fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30)
        .max(1);
    let mut trust = TrustStore::new();
    trust
        .add_der(sample::SAMPLE_CSCA)
        .map_err(anyhow::Error::msg)?;
    let now = sesame_protocol::unix_now();
    let request = ReadRequest {
        password: Password::can(sample::SAMPLE_CAN),
        data_groups: vec![DataGroup::Dg11],
        active_authentication: None,
        trust: Some(&trust),
        now,
    };
    let mut times = Vec::with_capacity(runs);
    let mut stats = None;
    for _ in 0..runs {
        let mut card = InProcessCard::new(EmrtdCard::new(sample::sample_card()));
        let start = Instant::now();
        let document = read_document(&mut card, &request, &mut SystemRandom, &mut |_| {})?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(
            matches!(document.passive_authentication, Some(Ok(_))),
            "passive authentication failed"
        );
        stats = Some(document.exchange);
    }
    times.sort_by(f64::total_cmp);
    let stats = stats.unwrap_or_default();
    println!(
        "{{\"runs\": {runs}, \"apdus\": {}, \"bytes_sent\": {}, \"bytes_received\": {}, \"median_ms\": {:.2}, \"min_ms\": {:.2}}}",
        stats.apdus,
        stats.bytes_sent,
        stats.bytes_received,
        times.get(runs / 2).copied().unwrap_or(0.0),
        times.first().copied().unwrap_or(0.0)
    );
    Ok(())
}
