//! Where the terminal's random numbers come from: the operating system in production, a
//! fixed sequence in tests that replay the specifications' worked examples.

/// The randomness could not be obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system's random number generator failed")]
pub struct RandomError;

/// A source of cryptographically secure random bytes.
pub trait RandomSource {
    /// Fills `buf` with random bytes.
    ///
    /// # Errors
    /// When no randomness is available.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RandomError>;
}

/// The operating system's generator (`getrandom`).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRandom;

impl RandomSource for SystemRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(buf).map_err(|_| RandomError)
    }
}

/// Plays back fixed bytes, in order: the nonces and ephemeral keys of a worked example.
/// Running out is an error, so a test notices when the protocol asks for more.
#[derive(Debug, Clone, Default)]
pub struct FixedRandom {
    bytes: Vec<u8>,
}

impl FixedRandom {
    /// Plays back the concatenation of `chunks`.
    #[must_use]
    pub fn new(chunks: &[&[u8]]) -> Self {
        Self {
            bytes: chunks.concat(),
        }
    }
}

impl RandomSource for FixedRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RandomError> {
        if self.bytes.len() < buf.len() {
            return Err(RandomError);
        }
        let rest = self.bytes.split_off(buf.len());
        buf.copy_from_slice(&self.bytes);
        self.bytes = rest;
        Ok(())
    }
}
