//! `sesamed`: the Sésame daemon and its command line.
//!
//! So far: `sesamed readers` lists the PC/SC readers, whether a card is present and its
//! ATR (`--json` for machines, `--watch` to follow reader and card events).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sesame_daemon::pcsc_reader::{PcscError, PcscService, ReaderEvent, hex};

#[derive(Parser)]
#[command(
    name = "sesamed",
    version,
    about = "Sésame: log in with your chip identity card"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List the smart-card readers, whether a card is in each, and its ATR.
    Readers {
        /// Print JSON (one array; with --watch, one event object per line).
        #[arg(long)]
        json: bool,
        /// Keep running and print reader and card events as they happen.
        #[arg(long)]
        watch: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Readers { json, watch: false } => list_readers(json),
        Cmd::Readers { json, watch: true } => watch_readers(json),
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
fn hint(e: &PcscError) -> &'static str {
    match e {
        PcscError::NoService => {
            " Start it with `sudo systemctl start pcscd` (Debian/Ubuntu package: pcscd)."
        }
        PcscError::NoReaders => " Plug in a reader, or start the virtual card (see the README).",
        _ => "",
    }
}

/// 1: nothing to list; 2: the service is missing; 3: anything else.
const fn exit_code(e: &PcscError) -> u8 {
    match e {
        PcscError::NoReaders => 1,
        PcscError::NoService => 2,
        _ => 3,
    }
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
