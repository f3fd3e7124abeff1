//! `sesame-card`: the Sésame virtual card.
//!
//! `sesame-card run --vpcd 127.0.0.1:35963` plugs a card into pcscd through the
//! vsmartcard vpcd driver, so that every PC/SC program sees a reader with a card in it.
//! For now the card is [`MinimalCard`] (it answers SELECT of the eMRTD application); the
//! full eMRTD card, `pki init` and `personalize` arrive with the virtual-card issue.

use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sesame_emulator::vpcd::{DEFAULT_PORT, VpcdLink};
use sesame_emulator::{CardHandler, EmrtdCard, MinimalCard, sample};

#[derive(Parser)]
#[command(name = "sesame-card", version, about = "The Sésame virtual card")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Test PKI: a country signing CA and a document signer (names say TEST).
    Pki {
        #[command(subcommand)]
        command: PkiCmd,
    },
    /// Personalise a card from a profile: every file, signed by the test PKI's document
    /// signer, and fresh chip keys, written to OUT.
    Personalize {
        /// The profile (see emulator/profiles/).
        #[arg(long)]
        profile: std::path::PathBuf,
        /// The test PKI directory made by `sesame-card pki init`.
        #[arg(long)]
        pki: std::path::PathBuf,
        /// Where to write the card.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Connect a card to pcscd's vpcd driver and serve it until interrupted.
    Run {
        /// A card made by `personalize` (default: the built-in sample card).
        card: Option<std::path::PathBuf>,
        /// Where vpcd listens.
        #[arg(long, default_value_t = format!("127.0.0.1:{DEFAULT_PORT}"))]
        vpcd: String,
        /// Give up after this many seconds without reaching vpcd (0: keep trying).
        #[arg(long, default_value_t = 0)]
        connect_timeout: u64,
        /// Serve the minimal card (SELECT only) instead of the sample identity card.
        #[arg(long)]
        minimal: bool,
        /// Log each APDU: header, lengths and status word (never data: commands carry
        /// passwords and keys, responses personal data).
        #[arg(short, long)]
        verbose: bool,
        /// Fault: leave the field when the Nth APDU arrives (it is not answered).
        #[arg(long, value_name = "N")]
        remove_at: Option<usize>,
        /// Fault: corrupt the MAC of the Nth response.
        #[arg(long, value_name = "N")]
        corrupt_mac_at: Option<usize>,
        /// Fault: answer every APDU this many milliseconds late.
        #[arg(long, value_name = "MS")]
        delay_ms: Option<u64>,
        /// Fault: answer the Nth APDU with this status word alone (e.g. 5:6A82).
        #[arg(long, value_name = "N:SW")]
        status_word_at: Option<String>,
        /// Start with this many CAN tries left (0: the CAN is blocked).
        #[arg(long, value_name = "N")]
        can_tries: Option<u8>,
    },
}

#[derive(Subcommand)]
enum PkiCmd {
    /// Make a new test CSCA and document signer in DIR (csca.der, ds.der, and their keys
    /// csca.key, ds.key, readable by you only).
    Init {
        /// Where to write them.
        #[arg(long)]
        out: std::path::PathBuf,
        /// The curve: brainpoolP256r1, brainpoolP384r1, secp256r1 or secp384r1.
        #[arg(long, default_value = "brainpoolP256r1")]
        curve: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Pki {
            command: PkiCmd::Init { out, curve },
        } => {
            let curve = sesame_emulator::personalize::curve_named(&curve)
                .with_context(|| format!("unknown curve {curve}"))?;
            let pki = sesame_emulator::pki::TestPki::generate(
                curve,
                &mut sesame_protocol::random::SystemRandom,
            )?;
            pki.save(&out)?;
            println!("test CSCA and document signer written to {}", out.display());
            Ok(())
        }
        Cmd::Personalize { profile, pki, out } => {
            let profile = sesame_emulator::personalize::Profile::load(&profile)?;
            let pki = sesame_emulator::pki::TestPki::load(&pki)?;
            let card = sesame_emulator::personalize::personalize(
                &profile,
                &pki,
                &mut sesame_protocol::random::SystemRandom,
            )?;
            card.contents
                .save(&out)
                .with_context(|| format!("cannot write the card to {}", out.display()))?;
            println!(
                "card written to {} (CAN {})",
                out.display(),
                "*".repeat(profile.can.len())
            );
            Ok(())
        }
        Cmd::Run {
            card,
            vpcd,
            connect_timeout,
            minimal,
            verbose,
            remove_at,
            corrupt_mac_at,
            delay_ms,
            status_word_at,
            can_tries,
        } => {
            let status_word_at = match status_word_at {
                Some(spec) => {
                    let (n, sw) = spec
                        .split_once(':')
                        .context("--status-word-at expects N:SW, e.g. 5:6A82")?;
                    Some((
                        n.parse()?,
                        sesame_apdu::StatusWord::from_u16(u16::from_str_radix(sw, 16)?),
                    ))
                }
                None => None,
            };
            let faults = sesame_emulator::faults::Faults {
                remove_at,
                corrupt_mac_at,
                delay: delay_ms.map(Duration::from_millis),
                status_word_at,
            };
            let card: Box<dyn CardHandler> =
                match (minimal, card) {
                    (true, _) => Box::new(MinimalCard::new()),
                    (false, Some(dir)) => Box::new(with_tries(
                        EmrtdCard::new(sesame_emulator::CardContents::load(&dir).with_context(
                            || format!("cannot read the card in {}", dir.display()),
                        )?),
                        can_tries,
                    )),
                    (false, None) => {
                        Box::new(with_tries(EmrtdCard::new(sample::sample_card()), can_tries))
                    }
                };
            let card: Box<dyn CardHandler> = if faults == sesame_emulator::faults::Faults::default()
            {
                card
            } else {
                Box::new(sesame_emulator::faults::FaultyCard::new(card, faults))
            };
            let mut card = Logged { card, verbose };
            run(&mut card, &vpcd, connect_timeout)
        }
    }
}

fn with_tries(card: EmrtdCard, tries: Option<u8>) -> EmrtdCard {
    match tries {
        Some(tries) => card.with_can_tries(tries),
        None => card,
    }
}

/// A card whose APDUs are logged to standard error when `verbose`, redacted: the
/// header, the lengths and the status word only.
struct Logged {
    card: Box<dyn CardHandler>,
    verbose: bool,
}

impl CardHandler for Logged {
    fn atr(&self) -> Vec<u8> {
        self.card.atr()
    }

    fn reset(&mut self) {
        if self.verbose {
            eprintln!("sesame-card: reset");
        }
        self.card.reset();
    }

    fn power_off(&mut self) {
        self.card.power_off();
    }

    fn removed(&self) -> bool {
        self.card.removed()
    }

    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        let response = self.card.process(command);
        if self.verbose {
            let header: String = command.iter().take(4).map(|b| format!("{b:02X}")).collect();
            let sw: String = response
                .iter()
                .rev()
                .take(2)
                .rev()
                .map(|b| format!("{b:02X}"))
                .collect();
            eprintln!(
                "sesame-card: > {header} ({} bytes)  < {sw} ({} bytes)",
                command.len(),
                response.len()
            );
        }
        response
    }
}

/// Serves the card; when vpcd goes away (pcscd restarted), connects again.
fn run(card: &mut dyn CardHandler, vpcd: &str, connect_timeout: u64) -> anyhow::Result<()> {
    let mut waited = 0u64;
    loop {
        match VpcdLink::connect(vpcd) {
            Ok(mut link) => {
                waited = 0;
                eprintln!("sesame-card: card inserted in the vpcd reader at {vpcd}");
                link.serve(card, &|| false)
                    .with_context(|| format!("link to vpcd at {vpcd} failed"))
                    .unwrap_or_else(|e| eprintln!("sesame-card: {e:#}"));
                if card.removed() {
                    eprintln!("sesame-card: the card left the reader (fault injected)");
                    return Ok(());
                }
                eprintln!("sesame-card: vpcd closed the connection; reconnecting");
            }
            Err(e) => {
                if connect_timeout != 0 && waited >= connect_timeout {
                    return Err(e).with_context(|| {
                        format!("cannot reach vpcd at {vpcd}: is pcscd running with the vsmartcard-vpcd driver?")
                    });
                }
            }
        }
        std::thread::sleep(Duration::from_secs(1));
        waited += 1;
    }
}
