//! Readers and card jobs: one worker thread per reader owns that reader's connection and
//! runs one card job at a time; the others wait in its queue until their deadline.
//!
//! A watcher thread follows pcscd (plug-and-play notifications, cards in and out) and
//! keeps [`ReaderHub::snapshot`] current; every change is published on a
//! [`tokio::sync::watch`] channel that the consent page streams. A reader unplugged
//! mid-job, a card removed, pcscd stopping: each ends the job with a [`JobError`] and the
//! hub goes on (it reconnects to pcscd when it comes back).
//!
//! `sesamed demo` adds an in-process virtual card as a reader of its own.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sesame_apdu::{Capabilities, Transport, TransportError};
use sesame_emulator::CardHandler;
use sesame_protocol::kdf::Password;
use sesame_protocol::lds::DataGroup;
use sesame_protocol::pa::TrustStore;
use sesame_protocol::reader::{Document, DocumentError, ReadRequest, ReadStep, read_document};

use crate::pcsc_reader::{PcscError, PcscService, ReaderEvent, ReaderWatcher};

/// Jobs that may wait for one reader.
const QUEUE_DEPTH: usize = 8;
/// How often a job waiting for a card looks again.
const CARD_POLL: Duration = Duration::from_millis(100);

/// A reader as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReaderStatus {
    /// The reader's name.
    pub name: String,
    /// Whether a card is in it (or on it).
    pub card_present: bool,
    /// Whether a job is running on it.
    pub busy: bool,
}

/// The readers, as published to the pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReadersView {
    /// Whether pcscd answers (always true when only the virtual card is used).
    pub service: bool,
    /// The readers, by name.
    pub readers: Vec<ReaderStatus>,
}

/// What a job is doing, for the progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobProgress {
    /// Waiting for its turn on the reader, or for a card.
    WaitingForCard,
    /// A step of the read.
    Step(ReadStep),
}

/// Why a job ended without a document.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The user or the daemon cancelled it.
    #[error("the operation was cancelled")]
    Cancelled,
    /// No card came, or the job waited too long for the reader.
    #[error("no card was presented in time")]
    Timeout,
    /// No reader by that name, or it was unplugged.
    #[error("the card reader is no longer available")]
    ReaderGone,
    /// Too many jobs wait for that reader.
    #[error("the card reader is busy")]
    Busy,
    /// The smart-card service is not running.
    #[error("the smart-card service (pcscd) is not running")]
    NoService,
    /// Talking to the reader failed before the read.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The read failed (wrong CAN, card removed, a failed check…).
    #[error(transparent)]
    Document(#[from] DocumentError),
}

impl From<PcscError> for JobError {
    fn from(e: PcscError) -> Self {
        match e {
            PcscError::NoService => Self::NoService,
            PcscError::Cancelled => Self::Cancelled,
            PcscError::NoReaders | PcscError::UnknownReader(_) => Self::ReaderGone,
            other => Self::Transport(TransportError::Communication(other.to_string())),
        }
    }
}

/// A read to run on a reader.
pub struct CardJob {
    /// The password (the CAN): zeroized when the job is dropped.
    pub password: Password,
    /// Data groups to read besides DG1.
    pub data_groups: Vec<DataGroup>,
    /// The Active Authentication challenge, bound to the request.
    pub active_authentication: Option<[u8; 8]>,
    /// When the job gives up (waiting included).
    pub deadline: Instant,
    /// Set to stop the job between two APDUs.
    pub cancel: Arc<AtomicBool>,
    /// Hears of the job's progress.
    pub progress: Box<dyn FnMut(JobProgress) + Send>,
    /// Receives the outcome.
    pub done: tokio::sync::oneshot::Sender<Result<Document, JobError>>,
}

impl std::fmt::Debug for CardJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardJob")
            .field("data_groups", &self.data_groups)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

struct ReaderHandle {
    queue: SyncSender<CardJob>,
    status: ReaderStatus,
}

struct HubState {
    readers: BTreeMap<String, ReaderHandle>,
    service: bool,
}

/// The readers and their workers.
#[derive(Clone)]
pub struct ReaderHub {
    state: Arc<Mutex<HubState>>,
    view: tokio::sync::watch::Sender<ReadersView>,
    trust: Option<Arc<TrustStore>>,
    allowed: Arc<Vec<String>>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for ReaderHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderHub")
            .field("view", &*self.view.borrow())
            .finish_non_exhaustive()
    }
}

impl ReaderHub {
    /// A hub with no readers yet; `trust` gives the daemon's own Passive Authentication
    /// verdict; only PC/SC readers whose names start with one of `allowed` are used
    /// (all when it is empty).
    #[must_use]
    pub fn new(trust: Option<TrustStore>, allowed: Vec<String>) -> Self {
        let (view, _) = tokio::sync::watch::channel(ReadersView::default());
        Self {
            state: Arc::new(Mutex::new(HubState {
                readers: BTreeMap::new(),
                service: false,
            })),
            view,
            trust: trust.map(Arc::new),
            allowed: Arc::new(allowed),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The readers now.
    #[must_use]
    pub fn snapshot(&self) -> ReadersView {
        self.view.borrow().clone()
    }

    /// Changes to the readers.
    #[must_use]
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<ReadersView> {
        self.view.subscribe()
    }

    fn publish(&self, state: &HubState) {
        let view = ReadersView {
            service: state.service,
            readers: state.readers.values().map(|r| r.status.clone()).collect(),
        };
        self.view.send_if_modified(|current| {
            let changed = *current != view;
            *current = view;
            changed
        });
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut ReaderStatus)) {
        let mut state = self.lock();
        if let Some(reader) = state.readers.get_mut(name) {
            change(&mut reader.status);
        }
        self.publish(&state);
    }

    fn card_present(&self, name: &str) -> Option<bool> {
        self.lock().readers.get(name).map(|r| r.status.card_present)
    }

    fn add_reader(&self, name: &str, card: Option<Box<dyn CardHandler>>) {
        if card.is_none()
            && !self.allowed.is_empty()
            && !self
                .allowed
                .iter()
                .any(|prefix| name.starts_with(prefix.as_str()))
        {
            tracing::debug!(
                reader = name,
                "reader not in the configuration's list: ignored"
            );
            return;
        }
        let mut state = self.lock();
        if state.readers.contains_key(name) {
            return;
        }
        let (queue, jobs) = std::sync::mpsc::sync_channel(QUEUE_DEPTH);
        let virtual_card = card.is_some();
        state.readers.insert(
            name.to_owned(),
            ReaderHandle {
                queue,
                status: ReaderStatus {
                    name: name.to_owned(),
                    card_present: virtual_card,
                    busy: false,
                },
            },
        );
        self.publish(&state);
        drop(state);
        let hub = self.clone();
        let reader = name.to_owned();
        let spawned = std::thread::Builder::new()
            .name(format!("reader {name}"))
            .spawn(move || hub.worker(&reader, &jobs, card));
        if let Err(e) = spawned {
            tracing::error!(reader = name, "cannot start the reader's worker: {e}");
            self.lock().readers.remove(name);
        }
    }

    fn remove_reader(&self, name: &str) {
        let mut state = self.lock();
        // Dropping the queue's sender ends the worker once its current job is over.
        state.readers.remove(name);
        self.publish(&state);
    }

    /// Adds an in-process virtual card as a reader named `name` (for `sesamed demo`).
    pub fn add_virtual_card(&self, name: &str, card: Box<dyn CardHandler>) {
        {
            let mut state = self.lock();
            state.service = true;
        }
        self.add_reader(name, Some(card));
    }

    /// Starts the thread that follows pcscd's readers.
    pub fn watch_pcscd(&self) {
        let hub = self.clone();
        let spawned = std::thread::Builder::new()
            .name("pcscd watcher".into())
            .spawn(move || hub.watch_loop());
        if let Err(e) = spawned {
            tracing::error!("cannot start the reader watcher: {e}");
        }
    }

    /// Stops the watcher and the workers (after their current job).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    fn watch_loop(&self) {
        let mut said_missing = false;
        while !self.stop.load(Ordering::SeqCst) {
            let mut watcher = match ReaderWatcher::new() {
                Ok(watcher) => watcher,
                Err(e) => {
                    if !said_missing {
                        tracing::warn!("pcscd: {e}; retrying every 2 s");
                        said_missing = true;
                    }
                    self.set_service(false);
                    std::thread::sleep(Duration::from_secs(2));
                    continue;
                }
            };
            said_missing = false;
            self.set_service(true);
            let service = PcscService::establish().ok();
            loop {
                if self.stop.load(Ordering::SeqCst) {
                    return;
                }
                match watcher.next_events(Duration::from_millis(500)) {
                    Ok(events) if events.is_empty() => {
                        if let Some(service) = &service {
                            self.reconcile(service);
                        }
                    }
                    Ok(events) => {
                        for event in events {
                            self.apply(event);
                        }
                    }
                    Err(e) => {
                        tracing::warn!("pcscd: {e}");
                        self.set_service(false);
                        std::thread::sleep(Duration::from_secs(1));
                        break;
                    }
                }
            }
        }
    }

    fn set_service(&self, up: bool) {
        let mut state = self.lock();
        if !up {
            // Every PC/SC reader is gone with pcscd; a virtual card stays.
            let gone: Vec<String> = state
                .readers
                .iter()
                .filter(|(_, r)| !r.status.name.starts_with(VIRTUAL_PREFIX))
                .map(|(name, _)| name.clone())
                .collect();
            for name in gone {
                state.readers.remove(&name);
            }
        }
        state.service = up;
        self.publish(&state);
    }

    /// Compares what the hub believes with pcscd's own view, and corrects it. Events can
    /// be missed: a card pulled out in the middle of a command and another put in before
    /// pcscd's next poll leave no "removed, inserted" pair behind.
    fn reconcile(&self, service: &PcscService) {
        let Ok(readers) = service.readers() else {
            return;
        };
        let stale: Vec<(String, bool)> = {
            let state = self.lock();
            readers
                .iter()
                .filter(|r| {
                    state
                        .readers
                        .get(&r.name)
                        .is_some_and(|h| h.status.card_present != r.card_present)
                })
                .map(|r| (r.name.clone(), r.card_present))
                .collect()
        };
        for (name, present) in stale {
            tracing::info!(reader = name, present, "card state corrected from pcscd");
            self.update(&name, |s| s.card_present = present);
        }
    }

    fn apply(&self, event: ReaderEvent) {
        tracing::info!(?event, "reader event");
        match event {
            ReaderEvent::ReaderAdded { reader } => self.add_reader(&reader, None),
            ReaderEvent::ReaderRemoved { reader } => self.remove_reader(&reader),
            ReaderEvent::CardInserted { reader, .. } => {
                self.update(&reader, |s| s.card_present = true);
            }
            ReaderEvent::CardRemoved { reader } => {
                self.update(&reader, |s| s.card_present = false);
            }
        }
    }

    /// Queues `job` on `reader` (or, when `None`, on the first reader with a card, else
    /// the first reader). The outcome arrives on the job's `done` channel.
    ///
    /// # Errors
    /// [`JobError::ReaderGone`] when there is no such reader (or none at all),
    /// [`JobError::Busy`] when its queue is full (the job is dropped).
    pub fn submit(&self, reader: Option<&str>, job: CardJob) -> Result<String, JobError> {
        let state = self.lock();
        let chosen = match reader {
            Some(name) => state.readers.get_key_value(name),
            None => state
                .readers
                .iter()
                .find(|(_, r)| r.status.card_present && !r.status.busy)
                .or_else(|| state.readers.iter().find(|(_, r)| r.status.card_present))
                .or_else(|| state.readers.iter().next()),
        };
        let Some((name, handle)) = chosen else {
            let error = if state.service {
                JobError::ReaderGone
            } else {
                JobError::NoService
            };
            return Err(error);
        };
        let name = name.clone();
        match handle.queue.try_send(job) {
            Ok(()) => Ok(name),
            Err(TrySendError::Full(_)) => Err(JobError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(JobError::ReaderGone),
        }
    }

    fn worker(&self, name: &str, jobs: &Receiver<CardJob>, card: Option<Box<dyn CardHandler>>) {
        let mut virtual_card = card.map(sesame_emulator::InProcessCard::new);
        let service = if virtual_card.is_some() {
            None
        } else {
            match PcscService::establish() {
                Ok(service) => Some(service),
                Err(e) => {
                    tracing::warn!(reader = name, "{e}");
                    None
                }
            }
        };
        while let Ok(mut job) = jobs.recv() {
            self.update(name, |s| s.busy = true);
            let outcome = self.run(name, &mut job, service.as_ref(), virtual_card.as_mut());
            match &outcome {
                Ok(document) => tracing::info!(
                    reader = name,
                    apdus = document.exchange.apdus,
                    "card job done"
                ),
                // The error's words never hold the password (PaceError says "CAN").
                Err(e) => tracing::info!(reader = name, "card job failed: {e}"),
            }
            self.update(name, |s| s.busy = false);
            let _ = job.done.send(outcome);
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
        }
    }

    fn run(
        &self,
        name: &str,
        job: &mut CardJob,
        service: Option<&PcscService>,
        virtual_card: Option<&mut sesame_emulator::InProcessCard<Box<dyn CardHandler>>>,
    ) -> Result<Document, JobError> {
        let cancelled = || job.cancel.load(Ordering::SeqCst);
        if cancelled() {
            return Err(JobError::Cancelled);
        }
        if Instant::now() >= job.deadline {
            return Err(JobError::Timeout);
        }
        let mut said_waiting = false;
        loop {
            match self.card_present(name) {
                None => return Err(JobError::ReaderGone),
                Some(true) => break,
                Some(false) if !said_waiting => {
                    (job.progress)(JobProgress::WaitingForCard);
                    said_waiting = true;
                }
                Some(false) => {}
            }
            if job.cancel.load(Ordering::SeqCst) {
                return Err(JobError::Cancelled);
            }
            if Instant::now() >= job.deadline {
                return Err(JobError::Timeout);
            }
            std::thread::sleep(CARD_POLL);
        }
        let request = ReadRequest {
            password: job.password.clone(),
            data_groups: job.data_groups.clone(),
            active_authentication: job.active_authentication,
            trust: self.trust.as_deref(),
            now: sesame_protocol::unix_now(),
        };
        let cancel = job.cancel.clone();
        let deadline = job.deadline;
        let progress = &mut job.progress;
        let mut on_step = |step| progress(JobProgress::Step(step));
        let mut rng = sesame_protocol::random::SystemRandom;
        if let Some(card) = virtual_card {
            card.card_mut().reset();
            let mut guarded = Guarded {
                inner: card,
                cancel,
                deadline,
            };
            return Ok(read_document(
                &mut guarded,
                &request,
                &mut rng,
                &mut on_step,
            )?);
        }
        let service = service.ok_or(JobError::NoService)?;
        // The watcher may report a card a moment before pcscd lets us connect to it (or
        // after it left): until the deadline, no card yet means "keep waiting".
        let card = loop {
            match service.connect(name) {
                Ok(card) => break card,
                Err(PcscError::NoCard(_) | PcscError::CardUnresponsive(_))
                    if Instant::now() + CARD_POLL < deadline
                        && !job.cancel.load(Ordering::SeqCst) =>
                {
                    std::thread::sleep(CARD_POLL);
                }
                Err(e) => return Err(e.into()),
            }
        };
        let mut guarded = Guarded {
            inner: card,
            cancel,
            deadline,
        };
        Ok(read_document(
            &mut guarded,
            &request,
            &mut rng,
            &mut on_step,
        )?)
    }
}

/// The prefix of the virtual card's reader name.
pub const VIRTUAL_PREFIX: &str = "Sésame virtual card";

/// A transport that stops between two APDUs when the job is cancelled or out of time.
struct Guarded<T> {
    inner: T,
    cancel: Arc<AtomicBool>,
    deadline: Instant,
}

impl<T: Transport> Transport for Guarded<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.cancel.load(Ordering::SeqCst) {
            return Err(TransportError::Cancelled);
        }
        if Instant::now() >= self.deadline {
            return Err(TransportError::Timeout);
        }
        self.inner.transmit(command)
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}
