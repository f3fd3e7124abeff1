//! The town-hall counter's tamper-evident journal: every certification and refusal, as
//! append-only, hash-chained JSON lines.
//!
//! # Files
//! Under `<state>/journal/` (directory 0700, files 0600):
//! - `journal.jsonl`: the current file, one entry per line, each line written with a single
//!   `write_all` (line and newline) to a file opened with `O_APPEND`, then `sync_data`;
//! - `journal-<first seq>-<last seq>.jsonl`: rotated files, the numbers zero-padded to 20
//!   digits so that lexical order is chain order;
//! - `seal`: `{"seq": <last seq>, "hash": "<hash of the last line>"}`, rewritten atomically
//!   (temporary file, rename) after each append: without it an edit of the very last line,
//!   or the removal of the last lines, would leave a valid chain;
//! - `lock`: held (`flock`) by the one [`Journal`] writing to the directory.
//!
//! # Lines
//! `{"seq":n,"time":t,"prev":"<hex>","kind":"<kind>","data":{…}}`, fields in that order:
//! `seq` counts from 1 and continues across rotations; `time` is in unix seconds; `prev` is
//! the lowercase hex SHA-256 of the previous line's exact bytes (without its newline), 64
//! zeros for the very first line; `kind` is 1 to 64 of `a-z 0-9 . _ -` (so that no CSV
//! field of an export starts a spreadsheet formula); `data` is a JSON object.
//!
//! Secrets never enter: [`Journal::append`] refuses `data` holding, at any depth, a key named
//! (ASCII case aside) `can`, `pin`, `mrz`, `photo`, `dg2`, `face` or `image`. A hash of DG2
//! under another name, such as `dg2_sha256`, is allowed: it proves which photo was shown
//! without keeping it.
//!
//! # Opening and appending
//! [`Journal::open`] reads the current file's last line (or, right after a rotation, the
//! last rotated file's) and checks it against the seal, so that appending never covers a
//! truncation or an edit of the last line. A torn last line (a power cut mid-write) is
//! refused, not repaired: someone must look at it. A write that fails is cut back off.
//!
//! # Rotation
//! [`Journal::rotate`] renames `journal.jsonl` to `journal-<first>-<last>.jsonl` and appends
//! to the new file a `rotation` entry, `{"previous_file": "<name>"}`, whose `prev` is the
//! hash of the old file's last line: the chain goes on. A crash between the rename and that
//! entry leaves a chain without the rotation entry, still valid.
//!
//! # What [`verify`] reports
//! It reads the rotated files in order, then the current one, and reports the first problem
//! with its file and 1-based line. Walking the chain, with K the last good line and L the
//! next one (expected number `K.seq + 1`):
//! - L does not parse, or a file does not end with a newline: [`JournalError::Malformed`];
//! - L has the expected number but its `prev` is not K's hash: one of them was changed.
//!   L was, if L's own successor (or, for the last line, the seal) no longer matches L;
//!   otherwise K was ([`JournalError::Edited`]);
//! - L has another number but links to K, and its successor or the seal disowns it: L's
//!   number was changed (`Edited`);
//! - L's number occurs twice in the journal, or goes back: L is a forged copy
//!   ([`JournalError::Inserted`]);
//! - L skips ahead while the expected number is further on: [`JournalError::Reordered`] (at
//!   the first line out of place);
//! - L skips ahead, the expected number is nowhere, and L does not link to K:
//!   [`JournalError::Removed`]; if L links to K and nothing disowns it, L was forged
//!   (`Inserted`);
//! - then the seal: one it records past the last line means [`JournalError::Truncated`]; the
//!   same number with another hash means the last line was `Edited`. A seal one entry
//!   behind (a crash, or a reader, between an append and its seal) is accepted.
//!
//! The chain has no key: it shows edits made by hand, not a rewrite of every following line
//! and of the seal by someone who knows the format. Copying the seal elsewhere (e.g. in the
//! certification records sent to the IdP) anchors it.
//!
//! # Concurrency
//! A [`Journal`] is `Send`, not shared: the daemon keeps it behind a `Mutex`, each append
//! done under the lock. A second [`Journal::open`] on the same directory, from any process,
//! fails with [`JournalError::Busy`]. [`verify`] and [`export`] only read and may run
//! while the daemon writes (not during the instant of a rotation).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sesame_protocol::{days_from_civil, rfc3339};
use sha2::{Digest, Sha256};

use crate::state::StateDir;

/// The current file's name.
pub const CURRENT: &str = "journal.jsonl";
const SEAL: &str = "seal";
const LOCK: &str = "lock";
/// Keys that `data` may not hold at any depth (compared ignoring ASCII case).
pub const FORBIDDEN_KEYS: [&str; 7] = ["can", "pin", "mrz", "photo", "dg2", "face", "image"];

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Its number, from 1, continuing across rotations.
    pub seq: u64,
    /// When, in unix seconds.
    pub time: i64,
    /// The hex SHA-256 of the previous line (64 zeros for the first).
    pub prev: String,
    /// What happened (`certification`, `refusal`, `rotation`…).
    pub kind: String,
    /// The facts: a JSON object.
    pub data: serde_json::Value,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Seal {
    seq: u64,
    hash: String,
}

/// What an intact journal holds (numbers and times are 0 when it is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many entries.
    pub entries: u64,
    /// How many files (rotated ones and the current one).
    pub files: usize,
    /// The first entry's number.
    pub first_seq: u64,
    /// The last entry's number.
    pub last_seq: u64,
    /// The first entry's time.
    pub first_time: i64,
    /// The last entry's time.
    pub last_time: i64,
}

/// Why the journal could not be written, read or trusted.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The export could not be written.
    #[error("writing the export: {0}")]
    Output(std::io::Error),
    /// Another [`Journal`] has the directory.
    #[error("the journal is in use by another process")]
    Busy,
    /// `data` holds a key that may never be journaled.
    #[error("the journal refuses a field named `{0}` (no CAN, PIN, MRZ or photo goes in it)")]
    Forbidden(String),
    /// An entry that is not well formed (its kind or data).
    #[error("not a journal entry: {0}")]
    Invalid(String),
    /// A line was changed.
    #[error(
        "the journal was tampered with: line {line} of {file} was changed ({witness} no longer matches it)"
    )]
    Edited {
        /// The file.
        file: String,
        /// The line, from 1.
        line: usize,
        /// What shows it: the next line, or the seal.
        witness: String,
    },
    /// Entries are missing.
    #[error(
        "the journal was tampered with: entry {missing_seq} was removed (it should come before line {line} of {file})"
    )]
    Removed {
        /// The file.
        file: String,
        /// The line after the gap, from 1.
        line: usize,
        /// The first missing number.
        missing_seq: u64,
    },
    /// A line that does not belong to the chain.
    #[error(
        "the journal was tampered with: line {line} of {file} was inserted (it does not belong to the chain)"
    )]
    Inserted {
        /// The file.
        file: String,
        /// The line, from 1.
        line: usize,
    },
    /// Lines out of order.
    #[error(
        "the journal was tampered with: lines were reordered (line {line} of {file} is out of place)"
    )]
    Reordered {
        /// The file.
        file: String,
        /// The first line out of place, from 1.
        line: usize,
    },
    /// The last lines are gone.
    #[error(
        "the journal was tampered with: it was truncated (the seal records entry {sealed_seq}, the last entry is {last_seq})"
    )]
    Truncated {
        /// The last number the seal records.
        sealed_seq: u64,
        /// The last number found (0: none).
        last_seq: u64,
    },
    /// A line that is not a journal entry.
    #[error("line {line} of {file} is not a journal entry ({reason})")]
    Malformed {
        /// The file.
        file: String,
        /// The line, from 1.
        line: usize,
        /// Why.
        reason: String,
    },
    /// The seal is missing, unreadable or inconsistent.
    #[error("the journal's seal {0}")]
    Seal(String),
}

/// The export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// `seq,time,time_utc,kind,data` (RFC 4180, CRLF line ends).
    Csv,
    /// An array of the entries, each exactly its journal line (so its hash can be checked).
    Json,
}

/// The journal's directory in the state directory.
#[must_use]
pub fn dir_in(state: &StateDir) -> PathBuf {
    state.file("journal")
}

/// The current time in unix seconds.
#[must_use]
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

type Hash = [u8; 32];

fn sha256(line: &[u8]) -> Hash {
    Sha256::digest(line).into()
}

fn to_hex(hash: &Hash) -> String {
    hash.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn from_hex(text: &str) -> Option<Hash> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    let mut hash = [0_u8; 32];
    if bytes.len() != 64 {
        return None;
    }
    for (out, pair) in hash.iter_mut().zip(bytes.chunks_exact(2)) {
        *out = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(hash)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn forbidden(value: &serde_json::Value) -> Option<&str> {
    match value {
        serde_json::Value::Object(map) => map.iter().find_map(|(key, v)| {
            if FORBIDDEN_KEYS.iter().any(|f| key.eq_ignore_ascii_case(f)) {
                Some(key.as_str())
            } else {
                forbidden(v)
            }
        }),
        serde_json::Value::Array(items) => items.iter().find_map(forbidden),
        _ => None,
    }
}

/// A line as [`verify`] keeps it.
struct Rec {
    file: usize,
    line: usize,
    seq: u64,
    time: i64,
    prev: Hash,
    hash: Hash,
}

fn parse_line(bytes: &[u8]) -> Result<(Entry, Hash), String> {
    let entry: Entry = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let prev = from_hex(&entry.prev).ok_or("`prev` is not 64 lowercase hex digits")?;
    Ok((entry, prev))
}

/// The rotated files in chain order, then the current one if it exists.
fn files(dir: &Path) -> Result<Vec<String>, JournalError> {
    let mut names = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(io(dir)(e)),
    };
    for entry in entries {
        let name = entry
            .map_err(io(dir))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        let numbers = name
            .strip_prefix("journal-")
            .and_then(|n| n.strip_suffix(".jsonl"));
        let rotated = numbers.is_some_and(|n| {
            n.len() == 41
                && (n.bytes().enumerate())
                    .all(|(i, b)| (i == 20 && b == b'-') || b.is_ascii_digit())
        });
        if rotated {
            names.push(name);
        }
    }
    names.sort();
    if dir.join(CURRENT).exists() {
        names.push(CURRENT.to_owned());
    }
    Ok(names)
}

/// Calls `each` with every line of every file (1-based line numbers); a file that does not
/// end with a newline is [`JournalError::Malformed`] at its last line.
fn for_each_line(
    dir: &Path,
    names: &[String],
    mut each: impl FnMut(usize, usize, &[u8]) -> Result<(), JournalError>,
) -> Result<(), JournalError> {
    for (index, name) in names.iter().enumerate() {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let Some(body) = bytes.strip_suffix(b"\n") else {
            if bytes.is_empty() {
                continue;
            }
            return Err(JournalError::Malformed {
                file: name.clone(),
                line: bytes.split(|&b| b == b'\n').count(),
                reason: "the last line is incomplete (an interrupted write?)".into(),
            });
        };
        for (n, line) in body.split(|&b| b == b'\n').enumerate() {
            each(index, n + 1, line)?;
        }
    }
    Ok(())
}

fn read_seal(dir: &Path) -> Result<Option<(u64, Hash)>, JournalError> {
    let path = dir.join(SEAL);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&path)(e)),
    };
    let seal: Seal =
        serde_json::from_slice(&bytes).map_err(|_| JournalError::Seal("is unreadable".into()))?;
    let hash = from_hex(&seal.hash).ok_or_else(|| JournalError::Seal("is unreadable".into()))?;
    Ok(Some((seal.seq, hash)))
}

/// Checks the seal against the last line: `(seq, hash, prev, file, line)`.
fn check_seal(
    seal: Option<(u64, Hash)>,
    last: Option<(u64, Hash, Hash, &str, usize)>,
) -> Result<(), JournalError> {
    match (seal, last) {
        (None, None) => Ok(()),
        (Some((sealed, _)), None) if sealed > 0 => Err(JournalError::Truncated {
            sealed_seq: sealed,
            last_seq: 0,
        }),
        (Some(_), None) => Ok(()),
        // The very first append, before its seal.
        (None, Some((1, ..))) => Ok(()),
        (None, Some(_)) => Err(JournalError::Seal("is missing".into())),
        (Some((sealed, sealed_hash)), Some((seq, hash, prev, file, line))) => {
            if sealed > seq {
                Err(JournalError::Truncated {
                    sealed_seq: sealed,
                    last_seq: seq,
                })
            } else if sealed == seq && sealed_hash != hash {
                Err(JournalError::Edited {
                    file: file.to_owned(),
                    line,
                    witness: "the seal".into(),
                })
            } else if sealed == seq || (sealed.checked_add(1) == Some(seq) && sealed_hash == prev) {
                Ok(())
            } else {
                Err(JournalError::Seal(format!(
                    "records entry {sealed}, which does not match the journal's end (entry {seq})"
                )))
            }
        }
    }
}

/// Walks the chain (see the module documentation for the rules).
fn check_chain(
    names: &[String],
    recs: &[Rec],
    seal: Option<(u64, Hash)>,
) -> Result<(), JournalError> {
    let mut counts: HashMap<u64, u32> = HashMap::new();
    for r in recs {
        *counts.entry(r.seq).or_default() += 1;
    }
    let at = |r: &Rec| (names[r.file].clone(), r.line);
    let describe = |r: &Rec, before: &Rec| {
        if r.file == before.file {
            format!("line {}", r.line)
        } else {
            format!("line {} of {}", r.line, names[r.file])
        }
    };
    // What shows that line i is not what was hashed: its successor, or the seal.
    let disowned = |i: usize| -> Option<String> {
        let r = &recs[i];
        match recs.get(i + 1) {
            Some(next) => (next.prev != r.hash).then(|| describe(next, r)),
            None => seal
                .filter(|&(seq, hash)| {
                    hash != r.hash && !(seq.checked_add(1) == Some(r.seq) && hash == r.prev)
                })
                .map(|_| "the seal".to_owned()),
        }
    };
    let edited = |r: &Rec, witness: String| {
        let (file, line) = at(r);
        JournalError::Edited {
            file,
            line,
            witness,
        }
    };
    let inserted = |r: &Rec| {
        let (file, line) = at(r);
        JournalError::Inserted { file, line }
    };
    let (mut last_seq, mut last_hash) = (0_u64, [0_u8; 32]);
    for (i, r) in recs.iter().enumerate() {
        let expected = last_seq.saturating_add(1);
        let links = r.prev == last_hash;
        if r.seq == expected && !links {
            return Err(match (i.checked_sub(1), disowned(i)) {
                (_, Some(witness)) => edited(r, witness),
                (Some(k), None) => edited(&recs[k], describe(r, &recs[k])),
                (None, None) => edited(r, "the start of the chain".into()),
            });
        }
        if r.seq != expected {
            if links && let Some(witness) = disowned(i) {
                return Err(edited(r, witness));
            }
            if r.seq < expected || counts.get(&r.seq).is_some_and(|&n| n > 1) {
                return Err(inserted(r));
            }
            if counts.contains_key(&expected) {
                let (file, line) = at(r);
                return Err(JournalError::Reordered { file, line });
            }
            if links {
                return Err(inserted(r));
            }
            let (file, line) = at(r);
            return Err(JournalError::Removed {
                file,
                line,
                missing_seq: expected,
            });
        }
        (last_seq, last_hash) = (r.seq, r.hash);
    }
    Ok(())
}

/// Checks the whole journal in `dir` (see the module documentation).
///
/// # Errors
/// The first problem found, or an unreadable file.
pub fn verify(dir: &Path) -> Result<VerifyReport, JournalError> {
    let names = files(dir)?;
    let mut recs = Vec::new();
    let read = for_each_line(dir, &names, |file, line, bytes| {
        let (entry, prev) = parse_line(bytes).map_err(|reason| JournalError::Malformed {
            file: names[file].clone(),
            line,
            reason,
        })?;
        recs.push(Rec {
            file,
            line,
            seq: entry.seq,
            time: entry.time,
            prev,
            hash: sha256(bytes),
        });
        Ok(())
    });
    // A problem before a malformed line comes first.
    let seal = if read.is_ok() { read_seal(dir)? } else { None };
    check_chain(&names, &recs, seal)?;
    read?;
    let last = recs
        .last()
        .map(|r| (r.seq, r.hash, r.prev, names[r.file].as_str(), r.line));
    check_seal(seal, last)?;
    Ok(VerifyReport {
        entries: recs.len() as u64,
        files: names.len(),
        first_seq: recs.first().map_or(0, |r| r.seq),
        last_seq: recs.last().map_or(0, |r| r.seq),
        first_time: recs.first().map_or(0, |r| r.time),
        last_time: recs.last().map_or(0, |r| r.time),
    })
}

/// The journal, open for appending.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    file: File,
    size: u64,
    first_seq: Option<u64>,
    last_seq: u64,
    last_hash: Hash,
    _lock: File,
}

fn private_file(path: &Path, append: bool) -> Result<File, JournalError> {
    let file = OpenOptions::new()
        .create(true)
        .append(append)
        .write(!append)
        .truncate(!append)
        .read(append)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(io(path))?;
    Ok(file)
}

/// The first line of `file` (rewound), and its last complete line.
fn ends(file: &mut File, path: &Path, name: &str) -> Result<(Vec<u8>, Vec<u8>), JournalError> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(io(path))?;
    let Some(body) = bytes.strip_suffix(b"\n") else {
        return Err(JournalError::Malformed {
            file: name.to_owned(),
            line: bytes.split(|&b| b == b'\n').count(),
            reason: "the last line is incomplete (an interrupted write?)".into(),
        });
    };
    let first = body.split(|&b| b == b'\n').next().unwrap_or_default();
    let last = body.rsplit(|&b| b == b'\n').next().unwrap_or_default();
    Ok((first.to_vec(), last.to_vec()))
}

impl Journal {
    /// Opens (or starts) the journal in `dir`, made 0700: learns the last entry from the
    /// current file (or, just after a rotation, the last rotated one) and checks it against
    /// the seal, so that appending never hides a truncation or an edit of the last line.
    ///
    /// # Errors
    /// [`JournalError::Busy`]; an unreadable last line; a seal that does not match.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
            .map_err(io(dir))?;
        let lock = private_file(&dir.join(LOCK), false)?;
        lock.try_lock().map_err(|_| JournalError::Busy)?;
        let current = dir.join(CURRENT);
        let mut file = private_file(&current, true)?;
        let size = file.metadata().map_err(io(&current))?.len();
        let mut first_seq = None;
        let mut tail = None;
        if size > 0 {
            let (first, last) = ends(&mut file, &current, CURRENT)?;
            first_seq = Some(parse_line(&first).map(|(e, _)| e.seq).unwrap_or(0));
            tail = Some((CURRENT.to_owned(), last));
        } else if let Some(name) = files(dir)?.into_iter().rev().find(|n| n != CURRENT) {
            let path = dir.join(&name);
            let mut old = File::open(&path).map_err(io(&path))?;
            tail = Some((name.clone(), ends(&mut old, &path, &name)?.1));
        }
        let (mut last_seq, mut last_hash) = (0, [0; 32]);
        let mut last = None;
        if let Some((name, line)) = &tail {
            let (entry, prev) = parse_line(line).map_err(|reason| JournalError::Malformed {
                file: name.clone(),
                line: std::fs::read(dir.join(name))
                    .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count()),
                reason,
            })?;
            (last_seq, last_hash) = (entry.seq, sha256(line));
            last = Some((last_seq, last_hash, prev));
        }
        if let Err(e) = check_seal(
            read_seal(dir)?,
            last.map(|(seq, hash, prev)| (seq, hash, prev, "", 0)),
        ) {
            // Name the line: the whole journal's check says which.
            verify(dir)?;
            return Err(e);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            file,
            size,
            first_seq,
            last_seq,
            last_hash,
            _lock: lock,
        })
    }

    /// Appends an entry at `time` (unix seconds) and seals it.
    ///
    /// # Errors
    /// [`JournalError::Forbidden`] for a secret's key anywhere in `data`;
    /// [`JournalError::Invalid`] for a bad kind or `data` that is not an object;
    /// [`JournalError::Io`] when the line could not be written (a partial line is undone).
    pub fn append(
        &mut self,
        kind: &str,
        data: serde_json::Value,
        time: i64,
    ) -> Result<Entry, JournalError> {
        let kind_ok = (1..=64).contains(&kind.len())
            && kind
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
            && kind.as_bytes()[0].is_ascii_alphanumeric();
        if !kind_ok {
            return Err(JournalError::Invalid(format!(
                "the kind `{kind}` is not 1 to 64 of a-z, 0-9, '.', '_', '-' starting with a letter or digit"
            )));
        }
        if !data.is_object() {
            return Err(JournalError::Invalid("data must be a JSON object".into()));
        }
        if let Some(key) = forbidden(&data) {
            return Err(JournalError::Forbidden(key.to_owned()));
        }
        let seq = (self.last_seq.checked_add(1))
            .ok_or_else(|| JournalError::Invalid("no entry number is left".into()))?;
        let entry = Entry {
            seq,
            time,
            prev: to_hex(&self.last_hash),
            kind: kind.to_owned(),
            data,
        };
        let mut line =
            serde_json::to_vec(&entry).map_err(|e| JournalError::Invalid(e.to_string()))?;
        let hash = sha256(&line);
        line.push(b'\n');
        let path = self.dir.join(CURRENT);
        if let Err(source) = self
            .file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
        {
            let _ = self.file.set_len(self.size);
            return Err(JournalError::Io { path, source });
        }
        self.size += line.len() as u64;
        self.first_seq.get_or_insert(entry.seq);
        (self.last_seq, self.last_hash) = (entry.seq, hash);
        if let Err(e) = self.seal() {
            // The entry is written; the next append seals again, and a seal one entry
            // behind is accepted.
            tracing::warn!("the journal's seal could not be written: {e}");
        }
        Ok(entry)
    }

    fn seal(&self) -> Result<(), JournalError> {
        let seal = Seal {
            seq: self.last_seq,
            hash: to_hex(&self.last_hash),
        };
        let bytes = serde_json::to_vec(&seal).map_err(|e| JournalError::Invalid(e.to_string()))?;
        let temporary = self.dir.join("seal.tmp");
        let mut file = private_file(&temporary, false)?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&temporary, self.dir.join(SEAL)))
            .map_err(io(&temporary))
    }

    /// Rotates when the current file is larger than `max_bytes`; see [`Journal::rotate`].
    ///
    /// # Errors
    /// As [`Journal::rotate`].
    pub fn rotate_if_larger(&mut self, max_bytes: u64) -> Result<Option<String>, JournalError> {
        if self.size > max_bytes {
            self.rotate()
        } else {
            Ok(None)
        }
    }

    /// Renames the current file to `journal-<first>-<last>.jsonl` and starts a new one with
    /// a `rotation` entry naming it; returns that name (`None` if the current file is
    /// empty).
    ///
    /// # Errors
    /// [`JournalError::Io`].
    pub fn rotate(&mut self) -> Result<Option<String>, JournalError> {
        let Some(first) = self.first_seq else {
            return Ok(None);
        };
        let name = format!("journal-{first:020}-{:020}.jsonl", self.last_seq);
        let (current, rotated) = (self.dir.join(CURRENT), self.dir.join(&name));
        if rotated.exists() {
            return Err(io(&rotated)(std::io::ErrorKind::AlreadyExists.into()));
        }
        std::fs::rename(&current, &rotated).map_err(io(&rotated))?;
        self.file = private_file(&current, true)?;
        (self.size, self.first_seq) = (0, None);
        let data = serde_json::json!({ "previous_file": name });
        self.append("rotation", data, unix_now())?;
        Ok(Some(name))
    }

    /// The last entry's number (0: none yet).
    #[must_use]
    pub const fn last_seq(&self) -> u64 {
        self.last_seq
    }
}

/// Writes the entries of the journal in `dir` whose time is in `[from, to]` (either bound
/// open when `None`) to `out`, after verifying the whole journal; returns how many.
///
/// # Errors
/// A journal that does not verify (nothing is written then); [`JournalError::Output`].
pub fn export(
    dir: &Path,
    from: Option<i64>,
    to: Option<i64>,
    format: ExportFormat,
    out: &mut impl Write,
) -> Result<usize, JournalError> {
    verify(dir)?;
    let names = files(dir)?;
    let mut count = 0;
    let header = match format {
        ExportFormat::Csv => "seq,time,time_utc,kind,data\r\n",
        ExportFormat::Json => "[",
    };
    out.write_all(header.as_bytes())
        .map_err(JournalError::Output)?;
    for_each_line(dir, &names, |file, line, bytes| {
        let (entry, _) = parse_line(bytes).map_err(|reason| JournalError::Malformed {
            file: names[file].clone(),
            line,
            reason,
        })?;
        if from.is_some_and(|f| entry.time < f) || to.is_some_and(|t| entry.time > t) {
            return Ok(());
        }
        let written = match format {
            ExportFormat::Csv => write!(
                out,
                "{},{},{},{},{}\r\n",
                entry.seq,
                entry.time,
                rfc3339(entry.time),
                csv_field(&entry.kind),
                csv_field(&entry.data.to_string())
            ),
            ExportFormat::Json => {
                let separator: &[u8] = if count == 0 { b"\n" } else { b",\n" };
                out.write_all(separator).and_then(|()| out.write_all(bytes))
            }
        };
        written.map_err(JournalError::Output)?;
        count += 1;
        Ok(())
    })?;
    if format == ExportFormat::Json {
        let end: &[u8] = if count == 0 { b"]\n" } else { b"\n]\n" };
        out.write_all(end).map_err(JournalError::Output)?;
    }
    Ok(count)
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// A bound of an export: unix seconds as is, or a UTC day `YYYY-MM-DD`, taken at its start,
/// or with `end_of_day` at its last second.
///
/// # Errors
/// A sentence when `text` is neither.
pub fn parse_time_bound(text: &str, end_of_day: bool) -> Result<i64, String> {
    if let Ok(unix) = text.parse::<i64>() {
        return Ok(unix);
    }
    let bad = || format!("`{text}` is neither a day (YYYY-MM-DD) nor a unix time");
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let number = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(d)) = (number(y, 4), number(m, 2), number(d, 2)) else {
        return Err(bad());
    };
    let length = days_from_civil(y + m / 12, m % 12 + 1, 1) - days_from_civil(y, m, 1);
    if !(1..=12).contains(&m) || d < 1 || d > length {
        return Err(format!("`{text}` is not a date"));
    }
    let day = days_from_civil(y, m, d) * 86_400;
    Ok(if end_of_day { day + 86_399 } else { day })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn fresh(name: &str) -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "sesame-journal-{}-{name}-{n}/journal",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// A journal of six entries at times 1000, 1010…
    fn six(name: &str) -> PathBuf {
        let dir = fresh(name);
        let mut journal = Journal::open(&dir).unwrap();
        for i in 1..=6 {
            let data = json!({ "n": i, "agent": "alice", "dg2_sha256": "ab" });
            journal.append("certification", data, 990 + 10 * i).unwrap();
        }
        dir
    }

    fn lines(dir: &Path) -> Vec<Vec<u8>> {
        let bytes = std::fs::read(dir.join(CURRENT)).unwrap();
        let body = bytes.strip_suffix(b"\n").unwrap();
        body.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
    }

    fn rewrite(dir: &Path, lines: &[Vec<u8>]) {
        let mut bytes = lines.join(&b'\n');
        bytes.push(b'\n');
        std::fs::write(dir.join(CURRENT), bytes).unwrap();
    }

    fn where_(e: &JournalError) -> (&'static str, usize) {
        match e {
            JournalError::Edited { line, .. } => ("edited", *line),
            JournalError::Removed { line, .. } => ("removed", *line),
            JournalError::Inserted { line, .. } => ("inserted", *line),
            JournalError::Reordered { line, .. } => ("reordered", *line),
            JournalError::Malformed { line, .. } => ("malformed", *line),
            JournalError::Truncated { .. } => ("truncated", 0),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn append_verify_reopen() {
        let dir = six("roundtrip");
        let report = verify(&dir).unwrap();
        let expected = VerifyReport {
            entries: 6,
            files: 1,
            first_seq: 1,
            last_seq: 6,
            first_time: 1000,
            last_time: 1050,
        };
        assert_eq!(report, expected);
        let first: Entry = serde_json::from_slice(&lines(&dir)[0]).unwrap();
        assert_eq!(first.prev, "0".repeat(64));
        let mut journal = Journal::open(&dir).unwrap();
        assert!(matches!(Journal::open(&dir), Err(JournalError::Busy)));
        assert_eq!(journal.append("refusal", json!({}), 2000).unwrap().seq, 7);
        assert_eq!(verify(&dir).unwrap().last_seq, 7);
    }

    #[test]
    fn rotation_keeps_the_chain() {
        let dir = six("rotation");
        let mut journal = Journal::open(&dir).unwrap();
        assert_eq!(journal.rotate_if_larger(1 << 20).unwrap(), None);
        let name = journal.rotate_if_larger(10).unwrap().unwrap();
        assert_eq!(
            name,
            "journal-00000000000000000001-00000000000000000006.jsonl"
        );
        journal
            .append("certification", json!({"n": 8}), 3000)
            .unwrap();
        drop(journal);
        let first: Entry = serde_json::from_slice(&lines(&dir)[0]).unwrap();
        assert_eq!((first.seq, first.kind.as_str()), (7, "rotation"));
        assert_eq!(first.data, json!({ "previous_file": name }));
        let mut journal = Journal::open(&dir).unwrap();
        journal.rotate().unwrap();
        assert_eq!(journal.append("x", json!({}), 1).unwrap().seq, 10);
        let report = verify(&dir).unwrap();
        assert_eq!((report.entries, report.files, report.last_seq), (10, 3, 10));
        // Changing the last line of a rotated file shows in the next file.
        let path = dir.join(&name);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("\"n\":6", "\"n\":7");
        std::fs::write(&path, text).unwrap();
        let e = verify(&dir).unwrap_err();
        assert!(matches!(&e, JournalError::Edited { file, line: 6, .. } if *file == name));
        assert!(e.to_string().contains("line 1 of journal-"), "{e}");
    }

    #[test]
    fn each_tampering_is_named() {
        type Tamper = fn(&mut Vec<Vec<u8>>);
        let cases: [(&str, Tamper, (&str, usize)); 7] = [
            (
                "edit-middle",
                |l| {
                    l[2] = String::from_utf8(l[2].clone())
                        .unwrap()
                        .replace("alice", "alicf")
                        .into_bytes()
                },
                ("edited", 3),
            ),
            (
                "edit-last",
                |l| {
                    l[5] = String::from_utf8(l[5].clone())
                        .unwrap()
                        .replace("alice", "alicf")
                        .into_bytes()
                },
                ("edited", 6),
            ),
            ("delete-middle", |l| drop(l.remove(2)), ("removed", 3)),
            ("delete-last", |l| drop(l.pop()), ("truncated", 0)),
            (
                "insert-copy",
                |l| l.insert(4, l[1].clone()),
                ("inserted", 5),
            ),
            ("swap", |l| l.swap(2, 3), ("reordered", 3)),
            ("garbage", |l| l[3] = b"not json".to_vec(), ("malformed", 4)),
        ];
        for (name, tamper, expected) in cases {
            let dir = six(name);
            let mut l = lines(&dir);
            tamper(&mut l);
            rewrite(&dir, &l);
            let e = verify(&dir).unwrap_err();
            assert_eq!(where_(&e), expected, "{name}: {e}");
            if name.ends_with("last") {
                assert!(Journal::open(&dir).is_err(), "{name}: open must refuse");
            }
        }
        let dir = six("edit-message");
        let mut l = lines(&dir);
        l[2] = String::from_utf8(l[2].clone())
            .unwrap()
            .replace("alice", "alicf")
            .into_bytes();
        rewrite(&dir, &l);
        let message = verify(&dir).unwrap_err().to_string();
        assert!(
            message.contains("line 3 of journal.jsonl was changed (line 4 no longer matches it)"),
            "{message}"
        );
    }

    #[test]
    fn crash_windows_are_accepted_torn_lines_are_not() {
        let dir = six("crash");
        // Between an append and its seal: the seal is one entry behind.
        let seal = format!(
            r#"{{"seq":5,"hash":"{}"}}"#,
            to_hex(&sha256(&lines(&dir)[4]))
        );
        std::fs::write(dir.join(SEAL), seal).unwrap();
        assert_eq!(verify(&dir).unwrap().last_seq, 6);
        // Between a rotation's rename and its first entry.
        let rotated = "journal-00000000000000000001-00000000000000000006.jsonl";
        std::fs::rename(dir.join(CURRENT), dir.join(rotated)).unwrap();
        let mut journal = Journal::open(&dir).unwrap();
        assert_eq!(journal.append("x", json!({}), 2000).unwrap().seq, 7);
        assert_eq!(verify(&dir).unwrap().files, 2);
        drop(journal);
        // A torn last line (power cut mid-write) is refused, not repaired.
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.join(CURRENT))
            .unwrap();
        file.write_all(b"{\"seq\":8").unwrap();
        let e = verify(&dir).unwrap_err();
        assert!(matches!(e, JournalError::Malformed { line: 2, .. }), "{e}");
        assert!(Journal::open(&dir).is_err());
    }

    #[test]
    fn secrets_are_refused() {
        let dir = fresh("forbidden");
        let mut journal = Journal::open(&dir).unwrap();
        for data in [
            json!({ "CAN": "123456" }),
            json!({ "document": { "number": "X", "mrz": "P<" } }),
            json!({ "reads": [{ "photo": "…" }] }),
            json!({ "Image": 1 }),
        ] {
            assert!(matches!(
                journal.append("certification", data, 1),
                Err(JournalError::Forbidden(_))
            ));
        }
        assert!(matches!(
            journal.append("certification", json!([1]), 1),
            Err(JournalError::Invalid(_))
        ));
        assert!(matches!(
            journal.append("=cmd", json!({}), 1),
            Err(JournalError::Invalid(_))
        ));
        assert_eq!(verify(&dir).unwrap().entries, 0);
        journal
            .append(
                "certification",
                json!({ "dg2_sha256": "00", "canceled": false }),
                1,
            )
            .unwrap();
        assert_eq!(verify(&dir).unwrap().entries, 1);
    }

    #[test]
    fn export_round_trips() {
        let dir = fresh("export");
        let mut journal = Journal::open(&dir).unwrap();
        let mut appended = Vec::new();
        for (day, note) in (0_i64..).zip(["plain", "a, \"quoted\" value", "é\nline"]) {
            let time = 1_700_000_000 + 86_400 * day;
            appended.push(
                journal
                    .append("refusal", json!({ "reason": note }), time)
                    .unwrap(),
            );
        }
        let mut json_out = Vec::new();
        assert_eq!(
            export(&dir, None, None, ExportFormat::Json, &mut json_out).unwrap(),
            3
        );
        let back: Vec<Entry> = serde_json::from_slice(&json_out).unwrap();
        assert_eq!(back, appended);
        let mut csv = Vec::new();
        let n = export(
            &dir,
            Some(1_700_000_000),
            Some(1_700_086_400),
            ExportFormat::Csv,
            &mut csv,
        )
        .unwrap();
        assert_eq!(n, 2);
        let csv = String::from_utf8(csv).unwrap();
        let rows: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(rows.len(), 4, "{csv}"); // header, two rows, the empty end
        assert_eq!(rows[0], "seq,time,time_utc,kind,data");
        assert_eq!(
            rows[1],
            "1,1700000000,2023-11-14T22:13:20Z,refusal,\"{\"\"reason\"\":\"\"plain\"\"}\""
        );
        assert_eq!(
            rows[2],
            r#"2,1700086400,2023-11-15T22:13:20Z,refusal,"{""reason"":""a, \""quoted\"" value""}""#
        );
        let mut empty = Vec::new();
        export(&dir, Some(0), Some(10), ExportFormat::Json, &mut empty).unwrap();
        assert_eq!(serde_json::from_slice::<Vec<Entry>>(&empty).unwrap(), []);
        // A broken journal is not exported.
        let mut l = lines(&dir);
        l.remove(1);
        rewrite(&dir, &l);
        drop(journal);
        let mut out = Vec::new();
        let e = export(&dir, None, None, ExportFormat::Csv, &mut out).unwrap_err();
        assert!(
            matches!(
                e,
                JournalError::Removed {
                    line: 2,
                    missing_seq: 2,
                    ..
                }
            ),
            "{e}"
        );
        assert!(out.is_empty());
    }

    #[test]
    fn files_are_private() {
        let dir = six("modes");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(CURRENT)), 0o600);
        assert_eq!(mode(&dir.join(SEAL)), 0o600);
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(parse_time_bound("2024-02-29", false), Ok(1_709_164_800));
        assert_eq!(parse_time_bound("2024-02-29", true), Ok(1_709_251_199));
        assert_eq!(parse_time_bound("1709164800", true), Ok(1_709_164_800));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "yesterday",
            "2024-00-10",
        ] {
            assert!(parse_time_bound(bad, false).is_err(), "{bad}");
        }
    }

    fn entries() -> impl Strategy<Value = Vec<(String, serde_json::Value, i64)>> {
        let data = prop::collection::btree_map("[a-z]{1,6}_[a-z]{1,6}", "\\PC{0,24}", 0..4)
            .prop_map(|m| json!(m));
        prop::collection::vec(("[a-z][a-z0-9_.-]{0,15}", data, any::<i64>()), 1..7)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn any_flipped_byte_is_detected(
            entries in entries(),
            at in any::<prop::sample::Index>(),
            mask in 1_u8..,
        ) {
            let dir = fresh("prop");
            let mut journal = Journal::open(&dir).unwrap();
            for (kind, data, time) in entries.clone() {
                journal.append(&kind, data, time).unwrap();
            }
            prop_assert_eq!(verify(&dir).unwrap().entries, entries.len() as u64);
            let mut bytes = std::fs::read(dir.join(CURRENT)).unwrap();
            let positions: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] != b'\n').collect();
            bytes[*at.get(&positions)] ^= mask;
            std::fs::write(dir.join(CURRENT), bytes).unwrap();
            prop_assert!(verify(&dir).is_err());
            drop(journal);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
