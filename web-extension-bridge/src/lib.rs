//! # sesame-bridge
//!
//! The native-messaging host that lets the Sésame browser extension ask `sesamed` for an
//! assertion without a redirect (`docs/protocol.md` §5).
//!
//! ```text
//! page ──postMessage──▶ content script ──runtime message──▶ background (origin from the sender)
//!   ──native messaging (this crate's binary, frames)──▶ sesame-bridge ──JSON lines──▶ sesamed
//!                                                              (Unix socket, 0600)
//! ```
//!
//! This library holds what both ends share: the native-messaging [`framing`] with its
//! limits, the [`Request`]s the extension sends and the [`Reply`]s it gets, and where the
//! daemon's socket is ([`socket_path`]). The daemon speaks the same types on its socket,
//! one JSON object per line.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The smallest native-messaging frame worth parsing (`{}`).
pub const MIN_FRAME: usize = 2;
/// The largest frame the bridge accepts from the browser: 64 KiB.
pub const MAX_FRAME: usize = 64 * 1024;
/// The native-messaging host's name (the host manifest's `name`).
pub const HOST_NAME: &str = "fr.sesame.bridge";
/// The extension's ID in Chromium and Chrome: fixed by the `key` of
/// `extension/manifest.json` (the first 32 hex digits of the SHA-256 of that public key,
/// digits mapped to `a`-`p`).
pub const CHROMIUM_EXTENSION_ID: &str = "npnjfbnaodokenehlcmabohdbbimncok";
/// The extension's ID in Firefox (`browser_specific_settings.gecko.id`).
pub const FIREFOX_EXTENSION_ID: &str = "bridge@sesame.example";

/// A browser family, for its host manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    /// Chromium, Chrome, Edge, Brave…: `allowed_origins`.
    Chromium,
    /// Firefox: `allowed_extensions`.
    Firefox,
}

/// The native-messaging host manifest for `browser`, naming the bridge at `bridge`.
#[must_use]
pub fn host_manifest(bridge: &std::path::Path, browser: Browser) -> serde_json::Value {
    let mut manifest = serde_json::json!({
        "name": HOST_NAME,
        "description": "Sésame: proves your identity with your chip identity card (sesamed)",
        "path": bridge,
        "type": "stdio",
    });
    match browser {
        Browser::Chromium => {
            manifest["allowed_origins"] =
                serde_json::json!([format!("chrome-extension://{CHROMIUM_EXTENSION_ID}/")]);
        }
        Browser::Firefox => {
            manifest["allowed_extensions"] = serde_json::json!([FIREFOX_EXTENSION_ID]);
        }
    }
    manifest
}

/// What the extension asks (one native-messaging frame, JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Is the daemon there, which readers does it see?
    Status {},
    /// An assertion for `origin` (the page's origin as the browser reports it) bound to
    /// `nonce`, with `claims` (all when empty).
    Authenticate {
        /// The asking page's origin, taken by the extension from the message's sender.
        origin: String,
        /// The IdP's nonce (22 to 128 base64url characters).
        nonce: String,
        /// The claims asked for (`docs/protocol.md` §3.3).
        #[serde(default)]
        claims: Vec<String>,
        /// The browser's language (`fr`, `en`…), for the consent page.
        #[serde(default)]
        lang: Option<String>,
    },
    /// Stop the pending authentication.
    Cancel {},
}

/// What the extension hears back (one frame each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reply {
    /// The answer to [`Request::Status`].
    Status {
        /// The daemon's version.
        version: String,
        /// Reader names, and whether a card is in each.
        readers: Vec<ReaderState>,
    },
    /// The consent page to open (the user reads what is asked and types the CAN there).
    Consent {
        /// `https://127.0.0.1:24729/v1/bridge/…`: a capability, single use.
        url: String,
    },
    /// The card is being read.
    Progress {
        /// 0 to 100.
        percent: u8,
        /// The step, in the consent page's language.
        text: String,
    },
    /// The assertion (`docs/protocol.md` §3).
    Result {
        /// A compact JWS.
        assertion: String,
    },
    /// Nothing: the code says why (`docs/protocol.md` §1.2 and §5).
    Error {
        /// A stable code.
        code: String,
        /// An English sentence.
        message: String,
    },
}

/// A reader in [`Reply::Status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderState {
    /// The reader's name.
    pub name: String,
    /// Whether a card is in it.
    pub card_present: bool,
}

impl Reply {
    /// An error reply.
    #[must_use]
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        Self::Error {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// Where the daemon's bridge socket is: `$SESAME_BRIDGE_SOCKET`, else
/// `$XDG_RUNTIME_DIR/sesame/bridge.sock`.
#[must_use]
pub fn socket_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SESAME_BRIDGE_SOCKET") {
        return Some(PathBuf::from(path));
    }
    let runtime = PathBuf::from(std::env::var_os("XDG_RUNTIME_DIR")?);
    runtime
        .is_absolute()
        .then(|| runtime.join("sesame").join("bridge.sock"))
}

pub mod framing {
    //! Chrome and Firefox native messaging: each message is a 32-bit length in the
    //! machine's byte order, then that many bytes of UTF-8 JSON. Frames shorter than
    //! [`MIN_FRAME`] or longer than [`MAX_FRAME`] are refused from their length, before a
    //! byte of them is read.

    use std::io::{ErrorKind, Read, Write};

    use super::{MAX_FRAME, MIN_FRAME};

    /// Why a frame could not be read.
    #[derive(Debug, thiserror::Error)]
    pub enum FrameError {
        /// The stream ended inside a frame.
        #[error("the browser closed the connection in the middle of a message")]
        Truncated,
        /// The announced length is below [`MIN_FRAME`].
        #[error("a message of {0} bytes is too short")]
        TooShort(usize),
        /// The announced length is above [`MAX_FRAME`].
        #[error("a message of {0} bytes is too long (the limit is 64 KiB)")]
        TooLong(usize),
        /// Reading failed.
        #[error("reading from the browser failed: {0}")]
        Io(#[from] std::io::Error),
    }

    /// Reads one frame; `Ok(None)` when the stream ends cleanly between frames (the
    /// browser closed the port).
    ///
    /// # Errors
    /// [`FrameError`].
    pub fn read_frame(input: &mut impl Read) -> Result<Option<Vec<u8>>, FrameError> {
        let mut length = [0_u8; 4];
        let mut got = 0;
        while got < length.len() {
            match input.read(length.get_mut(got..).unwrap_or_default()) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(FrameError::Truncated),
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let length = usize::try_from(u32::from_ne_bytes(length)).unwrap_or(usize::MAX);
        if length < MIN_FRAME {
            return Err(FrameError::TooShort(length));
        }
        if length > MAX_FRAME {
            return Err(FrameError::TooLong(length));
        }
        let mut frame = vec![0_u8; length];
        input.read_exact(&mut frame).map_err(|e| {
            if e.kind() == ErrorKind::UnexpectedEof {
                FrameError::Truncated
            } else {
                FrameError::Io(e)
            }
        })?;
        Ok(Some(frame))
    }

    /// Writes one frame and flushes.
    ///
    /// # Errors
    /// When writing fails, or `message` is longer than 4 GiB.
    pub fn write_frame(output: &mut impl Write, message: &[u8]) -> std::io::Result<()> {
        let length = u32::try_from(message.len())
            .map_err(|_| std::io::Error::new(ErrorKind::InvalidInput, "message too long"))?;
        let mut frame = Vec::with_capacity(4 + message.len());
        frame.extend_from_slice(&length.to_ne_bytes());
        frame.extend_from_slice(message);
        output.write_all(&frame)?;
        output.flush()
    }
}

/// Entry points for the fuzz targets (`fuzz/`): not part of the API.
#[doc(hidden)]
pub mod internal {
    /// Reads frames from `data` until it ends or fails, parsing each as a [`super::Request`];
    /// every frame read must round-trip through [`super::framing::write_frame`].
    pub fn fuzz_frames(data: &[u8]) {
        let mut input = data;
        while let Ok(Some(frame)) = super::framing::read_frame(&mut input) {
            assert!((super::MIN_FRAME..=super::MAX_FRAME).contains(&frame.len()));
            let _ = serde_json::from_slice::<super::Request>(&frame);
            let mut out = Vec::new();
            if super::framing::write_frame(&mut out, &frame).is_ok() {
                let mut again = out.as_slice();
                assert_eq!(
                    super::framing::read_frame(&mut again).ok().flatten(),
                    Some(frame)
                );
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::framing::{FrameError, read_frame, write_frame};
    use super::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_frame(&mut out, body).unwrap();
        out
    }

    /// A reader that hands out one byte at a time (a pipe under load).
    struct Trickle<'a>(&'a [u8]);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((byte, rest)), Some(slot)) => {
                    *slot = *byte;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn frames_round_trip_even_read_a_byte_at_a_time() {
        let mut stream = frame(br#"{"cmd":"status"}"#);
        stream.extend(frame(br#"{"cmd":"cancel"}"#));
        let mut trickle = Trickle(&stream);
        let first = read_frame(&mut trickle).unwrap().unwrap();
        assert_eq!(
            serde_json::from_slice::<Request>(&first).unwrap(),
            Request::Status {}
        );
        let second = read_frame(&mut trickle).unwrap().unwrap();
        assert_eq!(
            serde_json::from_slice::<Request>(&second).unwrap(),
            Request::Cancel {}
        );
        assert!(read_frame(&mut trickle).unwrap().is_none(), "a clean end");
    }

    #[test]
    fn bad_lengths_and_truncation_are_errors_not_panics() {
        let short = 1_u32.to_ne_bytes();
        assert!(matches!(
            read_frame(&mut &short[..]),
            Err(FrameError::TooShort(1))
        ));
        let long = u32::try_from(MAX_FRAME + 1).unwrap().to_ne_bytes();
        assert!(matches!(
            read_frame(&mut &long[..]),
            Err(FrameError::TooLong(_))
        ));
        let huge = u32::MAX.to_ne_bytes();
        assert!(matches!(
            read_frame(&mut &huge[..]),
            Err(FrameError::TooLong(_))
        ));
        let mut cut = frame(br#"{"cmd":"status"}"#);
        cut.truncate(10);
        assert!(matches!(
            read_frame(&mut cut.as_slice()),
            Err(FrameError::Truncated)
        ));
        assert!(matches!(
            read_frame(&mut &[1_u8, 0][..]),
            Err(FrameError::Truncated)
        ));
        let exactly = vec![b' '; MAX_FRAME];
        assert_eq!(
            read_frame(&mut frame(&exactly).as_slice())
                .unwrap()
                .unwrap()
                .len(),
            MAX_FRAME
        );
    }

    #[test]
    fn requests_are_strict() {
        let authenticate: Request = serde_json::from_str(
            r#"{"cmd":"authenticate","origin":"https://idp.example","nonce":"n","claims":["given_name"]}"#,
        )
        .unwrap();
        assert!(matches!(authenticate, Request::Authenticate { .. }));
        for bad in [
            r#"{"cmd":"format_disk"}"#,
            r#"{"cmd":"authenticate","nonce":"n"}"#,
            r#"{"cmd":"status","extra":1}"#,
            r#"[]"#,
            r#"not json"#,
        ] {
            assert!(serde_json::from_str::<Request>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_chromium_id_is_the_manifests_key() {
        use base64ct::{Base64, Encoding};
        use sha2::Digest;
        let manifest: serde_json::Value =
            serde_json::from_str(include_str!("../extension/manifest.json")).unwrap();
        let key = Base64::decode_vec(manifest["key"].as_str().unwrap()).unwrap();
        let id: String = sha2::Sha256::digest(&key)
            .iter()
            .take(16)
            .flat_map(|b| [b >> 4, b & 0x0F])
            .map(|nibble| char::from(b'a' + nibble))
            .collect();
        assert_eq!(id, CHROMIUM_EXTENSION_ID);
        assert_eq!(
            manifest["browser_specific_settings"]["gecko"]["id"],
            FIREFOX_EXTENSION_ID
        );
        let host = host_manifest(
            std::path::Path::new("/usr/bin/sesame-bridge"),
            Browser::Chromium,
        );
        assert_eq!(
            host["allowed_origins"][0],
            format!("chrome-extension://{CHROMIUM_EXTENSION_ID}/")
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(data: Vec<u8>) {
            internal::fuzz_frames(&data);
        }
    }
}
