//! Benchmark: the identity provider's cost of one login. Reads the sample identity card
//! once (in process), signs the assertion as the daemon does, then verifies it repeatedly
//! (JWS, nonce, Passive Authentication, claims). Prints one JSON object: the assertion's
//! size in bytes, and the median and minimum verification time.
//!
//! `cargo run --release -p sesame-verifier --example verify_bench -- 200`

use std::time::Instant;

use p256::ecdsa::SigningKey;
use sesame_emulator::{EmrtdCard, InProcessCard, sample};
use sesame_protocol::kdf::Password;
use sesame_protocol::lds::DataGroup;
use sesame_protocol::pa::TrustStore;
use sesame_protocol::random::SystemRandom;
use sesame_protocol::reader::{ReadRequest, read_document};
use sesame_verifier::{InMemoryNonceStore, Verifier, VerifierConfig, issue, payload_from_document};

const IDP: &str = "https://idp.example";

fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100)
        .max(1);
    let now = sesame_protocol::unix_now();
    let mut card = InProcessCard::new(EmrtdCard::new(sample::sample_card()));
    let request = ReadRequest {
        password: Password::can(sample::SAMPLE_CAN),
        data_groups: vec![DataGroup::Dg11],
        active_authentication: None,
        trust: None,
        now,
    };
    let document = read_document(&mut card, &request, &mut SystemRandom, &mut |_| {})?;
    let key = SigningKey::from_slice(&[0x24; 32])?;

    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for run in 0..runs {
        let nonce = format!("bench-nonce-{run:012}-0000000");
        let assertion = issue(payload_from_document(&document, IDP, &nonce, now), &key)?;
        size = assertion.len();
        let mut trust = TrustStore::new();
        trust
            .add_der(sample::SAMPLE_CSCA)
            .map_err(anyhow::Error::msg)?;
        let verifier = Verifier::new(
            VerifierConfig {
                client_id: IDP.into(),
                trust,
                clock_skew: 60,
            },
            Box::new(InMemoryNonceStore::new()),
        );
        verifier.nonces().issue(&nonce, now + 600);
        let start = Instant::now();
        verifier.verify(&assertion, &nonce, now)?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"runs\": {runs}, \"assertion_bytes\": {size}, \"median_ms\": {:.2}, \"min_ms\": {:.2}}}",
        times.get(runs / 2).copied().unwrap_or(0.0),
        times.first().copied().unwrap_or(0.0)
    );
    Ok(())
}
