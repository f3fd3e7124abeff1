//! The daemon's state directory: its assertion-signing key and its local TLS authority.
//!
//! Location, first match wins: `--state-dir`; `$STATE_DIRECTORY` (set by systemd's
//! `StateDirectory=`); `$XDG_STATE_HOME/sesame`; `~/.local/state/sesame`. The directory is
//! made 0700 and every key file 0600, written to a temporary name and renamed, so a crash
//! never leaves half a key.
//!
//! | file | what |
//! |---|---|
//! | `assertion-key` | the P-256 key that signs assertions (32 bytes, raw scalar) |
//! | `counter-key` | counter mode: the P-256 key that signs certification records |
//! | `journal/` | counter mode: the hash-chained journal |
//! | `tls/ca.pem`, `tls/ca.key` | the local certificate authority (trusted by `sesamed trust install`) |
//! | `tls/server.pem`, `tls/server.key` | the server certificate for 127.0.0.1, ::1 and localhost |

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use p256::ecdsa::SigningKey;
use zeroize::Zeroizing;

/// Why the state directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// No location: neither `$STATE_DIRECTORY`, `$XDG_STATE_HOME` nor `$HOME` is set.
    #[error("no state directory: set $HOME or pass --state-dir")]
    NoLocation,
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A key file holds no valid key.
    #[error("{0} does not hold a valid key (remove it, or run `sesamed key rotate`)")]
    BadKey(PathBuf),
    /// The system gave no randomness.
    #[error("the system's random number generator failed")]
    Randomness,
    /// The TLS certificates could not be made or loaded.
    #[error("TLS certificate: {0}")]
    Tls(String),
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    path: PathBuf,
}

impl StateDir {
    /// The default location (see the module documentation).
    ///
    /// # Errors
    /// [`StateError::NoLocation`].
    pub fn locate(explicit: Option<&Path>) -> Result<Self, StateError> {
        let path = if let Some(path) = explicit {
            path.to_path_buf()
        } else if let Some(dir) = std::env::var_os("STATE_DIRECTORY") {
            // systemd may pass several, colon-separated: ours is the first.
            let first = dir
                .to_string_lossy()
                .split(':')
                .next()
                .unwrap_or_default()
                .to_owned();
            PathBuf::from(first)
        } else if let Some(dir) = std::env::var_os("XDG_STATE_HOME").map(PathBuf::from)
            && dir.is_absolute()
        {
            dir.join("sesame")
        } else {
            let home = std::env::var_os("HOME").ok_or(StateError::NoLocation)?;
            PathBuf::from(home).join(".local/state/sesame")
        };
        Ok(Self { path })
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A file in it.
    #[must_use]
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Makes the directory (and `tls/`) with mode 0700 if they do not exist.
    ///
    /// # Errors
    /// [`StateError::Io`].
    pub fn ensure(&self) -> Result<(), StateError> {
        for dir in [self.path.clone(), self.path.join("tls")] {
            std::fs::create_dir_all(&dir).map_err(|source| StateError::Io {
                path: dir.clone(),
                source,
            })?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(
                |source| StateError::Io {
                    path: dir.clone(),
                    source,
                },
            )?;
        }
        Ok(())
    }

    /// Writes `bytes` to `name` atomically with `mode`.
    ///
    /// # Errors
    /// [`StateError::Io`].
    pub fn write(&self, name: &str, bytes: &[u8], mode: u32) -> Result<(), StateError> {
        let path = self.file(name);
        let temporary = self.file(&format!("{name}.tmp"));
        let io = |source| StateError::Io {
            path: path.clone(),
            source,
        };
        let _ = std::fs::remove_file(&temporary);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temporary)
            .map_err(io)?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        std::fs::rename(&temporary, &path).map_err(io)
    }

    /// Reads `name`; `None` when it does not exist.
    ///
    /// # Errors
    /// [`StateError::Io`] for anything but a missing file.
    pub fn read(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StateError> {
        let path = self.file(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Io { path, source }),
        }
    }

    /// The assertion-signing key, made on first use.
    ///
    /// # Errors
    /// An unreadable or invalid key file; no randomness.
    pub fn signing_key(&self) -> Result<SigningKey, StateError> {
        self.key(ASSERTION_KEY)
    }

    /// Makes a new assertion-signing key, replacing the old one.
    ///
    /// # Errors
    /// No randomness; the file cannot be written.
    pub fn rotate_signing_key(&self) -> Result<SigningKey, StateError> {
        self.rotate_key(ASSERTION_KEY)
    }

    /// The P-256 key in `name` (`assertion-key`, `counter-key`), made on first use.
    ///
    /// # Errors
    /// An unreadable or invalid key file; no randomness.
    pub fn key(&self, name: &str) -> Result<SigningKey, StateError> {
        match self.read(name)? {
            Some(bytes) => {
                SigningKey::from_slice(&bytes).map_err(|_| StateError::BadKey(self.file(name)))
            }
            None => self.rotate_key(name),
        }
    }

    /// Makes a new P-256 key in `name`, replacing the old one.
    ///
    /// # Errors
    /// No randomness; the file cannot be written.
    pub fn rotate_key(&self, name: &str) -> Result<SigningKey, StateError> {
        self.ensure()?;
        let key = loop {
            let mut scalar = Zeroizing::new([0_u8; 32]);
            getrandom::fill(scalar.as_mut_slice()).map_err(|_| StateError::Randomness)?;
            if let Ok(key) = SigningKey::from_slice(scalar.as_slice()) {
                break key;
            }
        };
        self.write(name, &Zeroizing::new(key.to_bytes().to_vec()), 0o600)?;
        Ok(key)
    }
}

/// The assertion key's file name.
pub const ASSERTION_KEY: &str = "assertion-key";
/// The counter's certification key's file name (counter mode; the IdP registers its
/// `sesamed key show --counter`).
pub const COUNTER_KEY: &str = "counter-key";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_private_and_stable() {
        let dir = std::env::temp_dir().join(format!("sesame-state-{}", std::process::id()));
        let state = StateDir::locate(Some(&dir)).unwrap();
        let first = state.signing_key().unwrap();
        let again = state.signing_key().unwrap();
        assert_eq!(first.to_bytes(), again.to_bytes());
        let mode = std::fs::metadata(state.file(ASSERTION_KEY))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let rotated = state.rotate_signing_key().unwrap();
        assert_ne!(rotated.to_bytes(), first.to_bytes());
        std::fs::write(state.file(ASSERTION_KEY), b"short").unwrap();
        assert!(matches!(state.signing_key(), Err(StateError::BadKey(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
