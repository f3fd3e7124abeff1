//! Single-use, expiring nonces. The identity provider issues one per login and the
//! verifier consumes it: a second use of the same assertion is a replay.
//!
//! [`InMemoryNonceStore`] suits a single IdP process. An IdP running several instances
//! implements [`NonceStore`] on its shared store (a database row with a unique key, or
//! Redis `SET nonce … NX EX ttl` to issue and an atomic `GETDEL` to consume): what matters
//! is that `consume` is atomic, so two instances can never both accept the same nonce.

use std::collections::HashMap;
use std::sync::Mutex;

/// What consuming a nonce found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// Issued, unused, not expired: now used.
    Fresh,
    /// Never issued (or forgotten).
    Unknown,
    /// Already used.
    Replayed,
    /// Issued but expired.
    Expired,
}

/// Where an identity provider keeps its nonces.
pub trait NonceStore: Send + Sync {
    /// Records a new nonce, valid until `expires` (Unix seconds).
    fn issue(&self, nonce: &str, expires: i64);
    /// Marks the nonce used and says what it was; must be atomic.
    fn consume(&self, nonce: &str, now: i64) -> NonceCheck;
}

/// A nonce store in memory, for a single IdP process.
#[derive(Debug, Default)]
pub struct InMemoryNonceStore {
    nonces: Mutex<HashMap<String, (i64, bool)>>,
}

impl InMemoryNonceStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl NonceStore for InMemoryNonceStore {
    fn issue(&self, nonce: &str, expires: i64) {
        if let Ok(mut nonces) = self.nonces.lock() {
            nonces.insert(nonce.to_owned(), (expires, false));
        }
    }

    fn consume(&self, nonce: &str, now: i64) -> NonceCheck {
        let Ok(mut nonces) = self.nonces.lock() else {
            return NonceCheck::Unknown;
        };
        // Forget what expired long ago, so the store does not grow without bound.
        nonces.retain(|_, (expires, _)| expires.saturating_add(3600) > now);
        match nonces.get_mut(nonce) {
            None => NonceCheck::Unknown,
            Some((_, used @ true)) => {
                *used = true;
                NonceCheck::Replayed
            }
            Some((expires, _)) if *expires < now => NonceCheck::Expired,
            Some((_, used)) => {
                *used = true;
                NonceCheck::Fresh
            }
        }
    }
}
