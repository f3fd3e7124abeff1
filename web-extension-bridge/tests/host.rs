//! `sesame-bridge` as the browser runs it: frames on stdin, frames on stdout. Bad input
//! gets an error frame or a clean exit, never a crash; a missing daemon is said in words;
//! closing stdin ends the program; requests reach the daemon's socket as JSON lines and
//! its replies come back as frames.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};

use sesame_bridge::framing::{read_frame, write_frame};
use sesame_bridge::{MAX_FRAME, Reply};

const BRIDGE: &str = env!("CARGO_BIN_EXE_sesame-bridge");

fn frame(json: &str) -> Vec<u8> {
    let mut out = Vec::new();
    write_frame(&mut out, json.as_bytes()).unwrap();
    out
}

/// Runs the bridge with `input` on stdin (then closed); returns its replies and status.
fn run(socket: &std::path::Path, input: &[u8]) -> (Vec<Reply>, std::process::ExitStatus) {
    let mut child = Command::new(BRIDGE)
        .args(["chrome-extension://test/", "--socket"])
        .arg(socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    let mut replies = Vec::new();
    let mut stdout = output.stdout.as_slice();
    while let Some(frame) = read_frame(&mut stdout).unwrap() {
        replies.push(serde_json::from_slice(&frame).unwrap());
    }
    (replies, output.status)
}

fn code(reply: &Reply) -> &str {
    match reply {
        Reply::Error { code, .. } => code,
        other => panic!("not an error: {other:?}"),
    }
}

fn nowhere() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("sesame-no-daemon-{}.sock", std::process::id()))
}

#[test]
fn bad_messages_get_error_frames_and_the_bridge_goes_on() {
    let mut input = frame("not json");
    input.extend(frame(r#"{"cmd":"format_disk"}"#));
    input.extend(frame(r#"{"cmd":"status"}"#));
    let (replies, status) = run(&nowhere(), &input);
    assert!(status.success(), "closing stdin is a clean exit");
    assert_eq!(replies.len(), 3);
    assert_eq!(code(&replies[0]), "bad_request");
    assert_eq!(code(&replies[1]), "bad_request");
    assert_eq!(code(&replies[2]), "daemon_unavailable");
    let Reply::Error { message, .. } = &replies[2] else {
        unreachable!()
    };
    assert!(
        message.contains("systemctl --user start sesamed.socket"),
        "{message}"
    );
}

#[test]
fn impossible_lengths_end_the_bridge_with_an_error_frame() {
    for length in [0_u32, 1, u32::try_from(MAX_FRAME + 1).unwrap(), u32::MAX] {
        let (replies, status) = run(&nowhere(), &length.to_ne_bytes());
        assert!(!status.success(), "length {length}");
        assert_eq!(replies.len(), 1);
        assert_eq!(code(&replies[0]), "bad_frame");
    }
    // Cut in the middle of a frame: the browser went away; nothing to answer.
    let mut cut = frame(r#"{"cmd":"status"}"#);
    cut.truncate(8);
    let (replies, status) = run(&nowhere(), &cut);
    assert!(replies.is_empty());
    assert!(status.success());
    // Nothing at all.
    let (replies, status) = run(&nowhere(), &[]);
    assert!(replies.is_empty() && status.success());
}

#[test]
fn requests_go_to_the_daemon_and_replies_come_back() {
    let dir = std::env::temp_dir().join(format!("sesame-bridge-host-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("bridge.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    // A stand-in daemon: answers each line with a status reply naming what it got.
    let daemon = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut seen = Vec::new();
        for line in BufReader::new(stream).lines() {
            let line = line.unwrap();
            seen.push(line.clone());
            let reply = Reply::Status {
                version: line,
                readers: Vec::new(),
            };
            writeln!(writer, "{}", serde_json::to_string(&reply).unwrap()).unwrap();
        }
        seen
    });
    let mut child = Command::new(BRIDGE)
        .args(["chrome-extension://test/", "--socket"])
        .arg(&socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    stdin
        .write_all(&frame(
            r#"{"cmd":"authenticate","origin":"https://idp.example","nonce":"q6xJ0c1gk2d7m1T0dQm3Yw"}"#,
        ))
        .unwrap();
    let reply: Reply = serde_json::from_slice(&read_frame(&mut stdout).unwrap().unwrap()).unwrap();
    let Reply::Status { version, .. } = reply else {
        panic!()
    };
    assert!(version.contains(r#""cmd":"authenticate""#), "{version}");
    assert!(version.contains("https://idp.example"), "{version}");
    stdin.write_all(&frame(r#"{"cmd":"cancel"}"#)).unwrap();
    let reply: Reply = serde_json::from_slice(&read_frame(&mut stdout).unwrap().unwrap()).unwrap();
    assert!(matches!(reply, Reply::Status { .. }));
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let seen = daemon.join().unwrap();
    assert_eq!(seen.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}
