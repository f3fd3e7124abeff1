//! `sesamed`: the Sésame daemon and its command line.
//!
//! - `sesamed serve` runs the daemon: HTTPS on loopback (port 24729), the redirect flow's
//!   consent page, the readers (systemd socket activation and `sd_notify` supported);
//! - `sesamed demo` runs the whole flow with no hardware: the daemon, an in-process
//!   virtual card and the reference IdP, in one process;
//! - `sesamed readers` lists the PC/SC readers (`--watch` follows their events);
//! - `sesamed read` reads an identity document with its CAN (asked for, or read from
//!   standard input), showing each step, and prints the identity and the Passive
//!   Authentication verdict;
//! - `sesamed probe` checks a card for the eMRTD application and times the round trip;
//! - `sesamed doctor` checks the set-up, each problem with its fix;
//! - `sesamed trust install|uninstall` adds or removes the local TLS authority in the
//!   browsers' certificate stores; `sesamed key show|rotate` manages the assertion key;
//! - `sesamed install-bridge|uninstall-bridge` registers the browser extension's
//!   native-messaging host;
//! - `sesamed journal verify|export` checks and exports a counter station's journal.

mod commands;
mod journal_cli;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sesame_apdu::{Command, Transport, TransportError, exchange};
use sesame_daemon::pcsc_reader::{PcscError, PcscService, ReaderEvent, hex};
use sesame_protocol::EMRTD_AID;

#[derive(Parser)]
#[command(
    name = "sesamed",
    version,
    about = "Sésame: log in with your chip identity card"
)]
struct Cli {
    /// The configuration file (default: $SESAME_CONFIG, else ~/.config/sesame/sesamed.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// The state directory (default: $STATE_DIRECTORY, else ~/.local/state/sesame).
    #[arg(long, global = true)]
    state_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the daemon (HTTPS on 127.0.0.1 and [::1], the consent page, the readers).
    Serve {
        /// Desktop (the login flow) or counter (a town-hall station).
        #[arg(long, value_enum)]
        mode: Option<sesame_daemon::config::Mode>,
        /// The port (default: the configuration's, else 24729).
        #[arg(long)]
        port: Option<u16>,
    },
    /// Try the whole login with no hardware: the daemon, a virtual card and a demo IdP.
    Demo {
        /// The daemon's port.
        #[arg(long, default_value_t = sesame_daemon::config::DEFAULT_PORT)]
        port: u16,
        /// The demo IdP's port (on localhost).
        #[arg(long, default_value_t = 8080)]
        idp_port: u16,
        /// Also offer the PC/SC readers (a real card, or `sesame-card run`).
        #[arg(long)]
        pcscd: bool,
    },
    /// List the smart-card readers, whether a card is in each, and its ATR.
    Readers {
        /// Print JSON (one array; with --watch, one event object per line).
        #[arg(long)]
        json: bool,
        /// Keep running and print reader and card events as they happen.
        #[arg(long)]
        watch: bool,
    },
    /// Read an identity document and check its signature.
    Read {
        /// The reader to use (default: the first one with a card).
        #[arg(long)]
        reader: Option<String>,
        /// A directory of trusted CSCA certificates (DER, PEM) and ICAO master lists.
        #[arg(long)]
        csca: Option<PathBuf>,
        /// The CAN. Prefer typing it at the prompt or piping it on standard input: a
        /// value given here stays in the shell's history.
        #[arg(long)]
        can: Option<String>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Connect to a card, check for the eMRTD application, measure the APDU round trip.
    Probe {
        /// The reader to use (default: the first one with a card).
        #[arg(long)]
        reader: Option<String>,
        /// How many SELECTs to time (the median is reported).
        #[arg(long, default_value_t = 20)]
        repeat: usize,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Check the set-up: configuration, keys, certificates, pcscd, readers, browsers.
    Doctor,
    /// Add or remove the daemon's local certificate authority in the browsers' stores.
    Trust {
        #[command(subcommand)]
        action: commands::TrustAction,
    },
    /// Show or replace the key that signs assertions.
    Key {
        #[command(subcommand)]
        action: commands::KeyAction,
    },
    /// Register the browser extension's native-messaging host (sesame-bridge) with
    /// Chromium, Chrome and Firefox for this user.
    InstallBridge {
        /// The sesame-bridge program (default: next to sesamed).
        #[arg(long)]
        bridge: Option<PathBuf>,
        /// Write the Chromium manifest into this directory only (e.g. a profile's
        /// `<user-data-dir>/NativeMessagingHosts`).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Remove what install-bridge wrote.
    UninstallBridge,
    /// Check or export the counter's tamper-evident journal.
    Journal {
        #[command(subcommand)]
        action: journal_cli::JournalAction,
    },
}

/// What can go wrong on the command line, each a sentence.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Pcsc(#[from] PcscError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("no reader has a card in it")]
    NoCardAnywhere,
    #[error(transparent)]
    Document(#[from] sesame_protocol::reader::DocumentError),
    #[error(transparent)]
    Trust(#[from] sesame_protocol::pa::TrustStoreError),
    #[error("no CAN was given")]
    NoCan,
    #[error(transparent)]
    Daemon(#[from] sesame_daemon::DaemonError),
    #[error(transparent)]
    Config(#[from] sesame_daemon::config::ConfigError),
    #[error(transparent)]
    State(#[from] sesame_daemon::state::StateError),
    #[error("{0}")]
    Other(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Serve { mode, port } => {
            commands::init_logging();
            commands::serve(cli.config.as_deref(), cli.state_dir.as_deref(), mode, port)
        }
        Cmd::Demo {
            port,
            idp_port,
            pcscd,
        } => {
            commands::init_logging();
            commands::demo(cli.state_dir.as_deref(), port, idp_port, pcscd)
        }
        Cmd::Readers { json, watch: false } => list_readers(json).map_err(CliError::from),
        Cmd::Readers { json, watch: true } => watch_readers(json).map_err(CliError::from),
        Cmd::Read {
            reader,
            csca,
            can,
            json,
        } => read(reader.as_deref(), csca.as_deref(), can, json),
        Cmd::Probe {
            reader,
            repeat,
            json,
        } => probe(reader.as_deref(), repeat.max(1), json),
        Cmd::Doctor => commands::doctor(cli.config.as_deref(), cli.state_dir.as_deref()),
        Cmd::Trust { action } => commands::trust(cli.state_dir.as_deref(), &action),
        Cmd::Key { action } => commands::key(cli.state_dir.as_deref(), &action),
        Cmd::InstallBridge { bridge, dir } => commands::install_bridge(bridge, dir.as_deref()),
        Cmd::UninstallBridge => commands::uninstall_bridge(),
        Cmd::Journal { action } => {
            journal_cli::journal_command(cli.state_dir.as_deref(), &action).map_err(CliError::Other)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sesamed: {e}.{}", hint(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// What the user can do about an error, as a sentence (or nothing).
fn hint(e: &CliError) -> &'static str {
    match e {
        CliError::Pcsc(PcscError::NoService) | CliError::Transport(TransportError::NoService) => {
            " Start it with `sudo systemctl start pcscd` (Debian/Ubuntu package: pcscd)."
        }
        CliError::Pcsc(PcscError::NoReaders) => {
            " Plug in a reader, or start the virtual card (see the README)."
        }
        CliError::NoCardAnywhere => " Put the card on the reader and try again.",
        CliError::Document(sesame_protocol::reader::DocumentError::Pace(
            sesame_protocol::pace::PaceError::WrongPassword { .. },
        )) => " The CAN is the six-digit number printed on the front of the card.",
        CliError::Daemon(sesame_daemon::DaemonError::Serve(_)) => {
            " Stop the other instance (`systemctl --user stop sesamed.socket sesamed`) or pick another --port."
        }
        _ => "",
    }
}

/// 1: nothing to list or no card; 2: the service is missing; 4: wrong CAN; 3: anything else.
const fn exit_code(e: &CliError) -> u8 {
    match e {
        CliError::Pcsc(PcscError::NoReaders) | CliError::NoCardAnywhere => 1,
        CliError::Pcsc(PcscError::NoService) | CliError::Transport(TransportError::NoService) => 2,
        CliError::Document(sesame_protocol::reader::DocumentError::Pace(
            sesame_protocol::pace::PaceError::WrongPassword { .. },
        )) => 4,
        _ => 3,
    }
}

/// The first reader with a card, or the named one.
fn choose_reader(service: &PcscService, reader: Option<&str>) -> Result<String, CliError> {
    match reader {
        Some(name) => Ok(name.to_owned()),
        None => service
            .readers()?
            .into_iter()
            .find(|r| r.card_present)
            .map(|r| r.name)
            .ok_or(CliError::NoCardAnywhere),
    }
}

/// What `sesamed read --json` prints: the identity and what was proven. Never the CAN.
#[derive(serde::Serialize)]
struct ReadReport {
    document_code: String,
    issuing_state: String,
    document_number: String,
    family_name: String,
    given_names: String,
    nationality: String,
    birth_date: Option<String>,
    sex: String,
    expiry_date: String,
    access_control: String,
    chip_authentication: bool,
    passive_authentication: String,
    apdus: usize,
    bytes: usize,
}

fn read(
    reader: Option<&str>,
    csca: Option<&std::path::Path>,
    can: Option<String>,
    json: bool,
) -> Result<(), CliError> {
    use sesame_protocol::reader::{AccessControl, ReadRequest, ReadStep, read_document};
    let trust = csca
        .map(sesame_protocol::pa::TrustStore::from_dir)
        .transpose()?;
    let service = PcscService::establish()?;
    let name = choose_reader(&service, reader)?;
    let can = zeroize::Zeroizing::new(match can {
        Some(can) => can,
        None if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            // Typed at a prompt that does not echo it.
            rpassword::prompt_password("Card access number (6 digits, not shown): ")
                .map_err(|_| CliError::NoCan)?
        }
        None => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|_| CliError::NoCan)?;
            line
        }
    });
    let can = can.trim();
    if can.is_empty() {
        return Err(CliError::NoCan);
    }
    let mut card = service.connect(&name)?;
    let now = sesame_protocol::unix_now();
    let request = ReadRequest {
        password: sesame_protocol::kdf::Password::can(can),
        data_groups: vec![sesame_protocol::lds::DataGroup::Dg11],
        active_authentication: None,
        trust: trust.as_ref(),
        now,
    };
    let mut done = 0_usize;
    let mut on_step = |step: ReadStep| {
        if !json {
            done += 1;
            eprintln!("{} {}", commands::progress_bar(done), step_text(step));
        }
    };
    let document = read_document(
        &mut card,
        &request,
        &mut sesame_protocol::random::SystemRandom,
        &mut on_step,
    )?;
    let mrz = &document.mrz;
    let date = |d: sesame_protocol::lds::MrzDate, year: u16| {
        format!(
            "{year:04}-{:02}-{:02}",
            d.month.unwrap_or(0),
            d.day.unwrap_or(0)
        )
    };
    let this_year = 1970 + u16::try_from(now / 31_556_952).unwrap_or(0);
    let report = ReadReport {
        document_code: mrz.document_code().to_owned(),
        issuing_state: mrz.issuing_state().to_owned(),
        document_number: mrz.document_number().to_owned(),
        // DG11's full name keeps the accents the MRZ cannot hold.
        family_name: document
            .dg11
            .as_ref()
            .and_then(|d| d.full_name.as_ref())
            .map_or_else(
                || mrz.primary_identifier().to_owned(),
                |n| n.primary_identifier.clone(),
            ),
        given_names: document
            .dg11
            .as_ref()
            .and_then(|d| d.full_name.as_ref())
            .map_or_else(
                || mrz.secondary_identifier().to_owned(),
                |n| n.secondary_identifier.clone(),
            ),
        nationality: mrz.nationality().to_owned(),
        birth_date: mrz.birth_date().map(|d| date(d, d.birth_year(this_year))),
        sex: format!("{:?}", mrz.sex()),
        expiry_date: date(mrz.expiry_date(), mrz.expiry_date().expiry_year(this_year)),
        access_control: match document.access {
            AccessControl::Pace(protocol) => format!(
                "PACE {:?} {:?} mapping, {:?}",
                protocol.key_agreement(),
                protocol.mapping(),
                protocol.cipher()
            ),
            AccessControl::Bac => "BAC".to_owned(),
        },
        chip_authentication: document.chip_authentication.is_some(),
        passive_authentication: match &document.passive_authentication {
            None => "not checked (no --csca given)".to_owned(),
            Some(Ok(pa)) => format!("verified: signed by {}", pa.csca.subject),
            Some(Err(e)) => format!("FAILED: {e}"),
        },
        apdus: document.exchange.apdus,
        bytes: document.exchange.bytes_sent + document.exchange.bytes_received,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        return Ok(());
    }
    println!(
        "name:          {} {}",
        report.given_names, report.family_name
    );
    println!(
        "born:          {}",
        report.birth_date.as_deref().unwrap_or("unknown")
    );
    println!("sex:           {}", report.sex);
    println!("nationality:   {}", report.nationality);
    println!(
        "document:      {} {} issued by {}, expires {}",
        report.document_code, report.document_number, report.issuing_state, report.expiry_date
    );
    println!(
        "chip:          {}{}",
        report.access_control,
        if report.chip_authentication {
            ", chip authenticated"
        } else {
            ""
        }
    );
    println!("signature:     {}", report.passive_authentication);
    println!(
        "exchange:      {} APDUs, {} bytes",
        report.apdus, report.bytes
    );
    Ok(())
}

/// A step of the read, in words.
fn step_text(step: sesame_protocol::reader::ReadStep) -> String {
    use sesame_protocol::pace::PaceStep;
    use sesame_protocol::reader::ReadStep;
    match step {
        ReadStep::CardAccess => "reading the card's security information".into(),
        ReadStep::Pace(PaceStep::SetAuthenticationTemplate) => {
            "opening the chip with the CAN (PACE)".into()
        }
        ReadStep::Pace(PaceStep::EncryptedNonce) => "  PACE: encrypted nonce".into(),
        ReadStep::Pace(PaceStep::Mapping) => "  PACE: mapping".into(),
        ReadStep::Pace(PaceStep::KeyAgreement) => "  PACE: key agreement".into(),
        ReadStep::Pace(PaceStep::MutualAuthentication) => "  PACE: mutual authentication".into(),
        ReadStep::Bac => "opening the chip with the MRZ (BAC)".into(),
        ReadStep::SelectApplication => "selecting the identity application".into(),
        ReadStep::ReadFile(file) => format!("reading {file}"),
        ReadStep::ChipAuthentication => "checking the chip is genuine (chip authentication)".into(),
        ReadStep::ActiveAuthentication => {
            "checking the chip is genuine (active authentication)".into()
        }
        ReadStep::PassiveAuthentication => {
            "checking the issuer's signature (passive authentication)".into()
        }
    }
}

/// The probe's findings, as printed with `--json`.
#[derive(serde::Serialize)]
struct ProbeReport {
    reader: String,
    atr: String,
    extended_length: bool,
    max_command_data: usize,
    max_response_data: usize,
    emrtd_application: bool,
    select_status: String,
    round_trips: usize,
    round_trip_median_us: u128,
}

fn probe(reader: Option<&str>, repeat: usize, json: bool) -> Result<(), CliError> {
    let service = PcscService::establish()?;
    let name = match reader {
        Some(name) => name.to_owned(),
        None => service
            .readers()?
            .into_iter()
            .find(|r| r.card_present)
            .map(|r| r.name)
            .ok_or(CliError::NoCardAnywhere)?,
    };
    let mut card = service.connect(&name)?;
    let caps = card.capabilities();
    let select = Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(EMRTD_AID);
    let mut times = Vec::with_capacity(repeat);
    let mut status = None;
    for _ in 0..repeat {
        let start = std::time::Instant::now();
        let response = exchange(&mut card, &select)?;
        times.push(start.elapsed().as_micros());
        status = Some(response.sw);
    }
    times.sort_unstable();
    let median = times.get(times.len() / 2).copied().unwrap_or(0);
    let sw = status.unwrap_or(sesame_apdu::StatusWord::NoPreciseDiagnosis);
    let report = ProbeReport {
        reader: name,
        atr: hex(card.atr(), " "),
        extended_length: caps.extended_length,
        max_command_data: caps.max_command_data,
        max_response_data: caps.max_response_data,
        emrtd_application: sw.is_success(),
        select_status: format!("{:04X}", sw.to_u16()),
        round_trips: times.len(),
        round_trip_median_us: median,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        return Ok(());
    }
    println!("reader:      {}", report.reader);
    println!("ATR:         {}", report.atr);
    println!(
        "APDUs:       {} (up to {} bytes out, {} bytes back)",
        if caps.extended_length {
            "extended length"
        } else {
            "short"
        },
        caps.max_command_data,
        caps.max_response_data
    );
    if report.emrtd_application {
        println!("eMRTD:       present (an ICAO 9303 identity document)");
    } else {
        println!("eMRTD:       not found: {sw}");
    }
    println!(
        "round trip:  {} µs (median of {})",
        median, report.round_trips
    );
    Ok(())
}

fn list_readers(json: bool) -> Result<(), PcscError> {
    let service = PcscService::establish()?;
    let readers = match service.readers() {
        Err(PcscError::NoReaders) if json => {
            println!("[]");
            return Err(PcscError::NoReaders);
        }
        other => other?,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&readers).unwrap_or_else(|_| "[]".into())
        );
        return Ok(());
    }
    for reader in readers {
        if reader.card_present {
            let extended = match reader.extended_length {
                Some(true) => ", extended length",
                Some(false) => ", short APDUs only",
                None => "",
            };
            println!(
                "{}: card present, ATR {}{extended}",
                reader.name,
                hex(&reader.atr, " ")
            );
        } else {
            println!("{}: no card", reader.name);
        }
    }
    Ok(())
}

fn watch_readers(json: bool) -> Result<(), PcscError> {
    let mut watcher = PcscService::establish()?.watcher()?;
    let mut out = std::io::stdout();
    loop {
        for event in watcher.next_events(Duration::from_secs(60))? {
            let line = if json {
                serde_json::to_string(&event).unwrap_or_default()
            } else {
                match event {
                    ReaderEvent::ReaderAdded { reader } => format!("{reader}: reader connected"),
                    ReaderEvent::ReaderRemoved { reader } => {
                        format!("{reader}: reader disconnected")
                    }
                    ReaderEvent::CardInserted { reader, atr } => {
                        format!("{reader}: card inserted, ATR {}", hex(&atr, " "))
                    }
                    ReaderEvent::CardRemoved { reader } => format!("{reader}: card removed"),
                }
            };
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                // Nobody is reading any more (e.g. `| head`): stop quietly.
                return Ok(());
            }
        }
    }
}
