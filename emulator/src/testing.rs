//! Support for tests that go through the real pcscd that the test command starts:
//! virtual cards plugged into its vpcd readers.
//!
//! The test command (`scripts/test.sh`) starts a private pcscd whose vpcd driver listens
//! on a few ports and exports `PCSCLITE_CSOCK_NAME` (where the PC/SC clients find that
//! pcscd) and `SESAME_TEST_VPCD_PORTS` (the ports, comma-separated). A test that needs
//! pcscd calls [`pcscd`]: under CI (`CI` set) a missing pcscd fails the test; on a
//! developer's machine without it the test says it is skipped.
//!
//! vpcd serves two readers (slots) per pcscd: its driver keeps one table of slots, so a
//! second reader.conf entry would overwrite the first. Tests take a slot with
//! [`Pcscd::slot`], which holds an exclusive file lock on it for as long as the test
//! needs it: tests share the two slots whether they run as threads of one process
//! (`cargo test`) or as processes (`cargo nextest`).
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::CardHandler;
use crate::vpcd::{CardRemover, VpcdLink};

/// The private pcscd of the test run.
#[derive(Debug, Clone)]
pub struct Pcscd {
    ports: Vec<u16>,
}

/// The pcscd started by the test command, or `None` (after saying so) when the test
/// runs outside it on a developer's machine.
///
/// # Panics
/// Under CI when the test command did not provide a pcscd: the test must run there.
#[must_use]
pub fn pcscd() -> Option<Pcscd> {
    let ports: Vec<u16> = std::env::var("SESAME_TEST_VPCD_PORTS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    if ports.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "this test needs the pcscd that scripts/test.sh starts (SESAME_TEST_VPCD_PORTS is not set)"
        );
        eprintln!("skipped: no test pcscd (run the tests with scripts/test.sh)");
        return None;
    }
    Some(Pcscd { ports })
}

impl Pcscd {
    /// Takes a free vpcd slot, waiting (up to two minutes) while other tests hold both.
    ///
    /// # Panics
    /// When no slot frees up in time.
    #[must_use]
    pub fn slot(&self) -> Slot {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            for port in &self.ports {
                let path = std::env::temp_dir().join(format!("sesame-test-vpcd-{port}.lock"));
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
                if file.try_lock().is_ok() {
                    return Slot {
                        port: *port,
                        _lock: file,
                    };
                }
            }
            assert!(
                Instant::now() < deadline,
                "no vpcd slot became free in two minutes"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One vpcd reader, held exclusively by one test until dropped.
#[derive(Debug)]
pub struct Slot {
    /// The vpcd port of the reader.
    pub port: u16,
    _lock: std::fs::File,
}

/// A virtual card in a vpcd reader, served on its own thread.
#[derive(Debug)]
pub struct PluggedCard {
    remover: Option<CardRemover>,
    thread: Option<JoinHandle<()>>,
}

/// Connects `card` to vpcd on `port` and serves it until [`PluggedCard::remove`].
///
/// # Panics
/// When vpcd cannot be reached within 10 seconds.
pub fn plug(port: u16, mut card: impl CardHandler + 'static) -> PluggedCard {
    let deadline = Instant::now() + Duration::from_secs(10);
    let link = loop {
        match VpcdLink::connect(("127.0.0.1", port)) {
            Ok(link) => break link,
            Err(e) if Instant::now() > deadline => panic!("vpcd on port {port} unreachable: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let remover = link.remover().expect("socket clone");
    let thread = std::thread::spawn(move || {
        let mut link = link;
        // An error here is the card being pulled out: nothing to report.
        let _ = link.serve(&mut card, &|| false);
    });
    PluggedCard {
        remover: Some(remover),
        thread: Some(thread),
    }
}

impl PluggedCard {
    /// Takes the card out of the reader and waits for its thread.
    pub fn remove(mut self) {
        self.take_out();
    }

    fn take_out(&mut self) {
        if let Some(remover) = self.remover.take() {
            remover.remove();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for PluggedCard {
    fn drop(&mut self) {
        self.take_out();
    }
}
