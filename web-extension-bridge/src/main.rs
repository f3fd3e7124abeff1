//! `sesame-bridge`: the native-messaging host. The browser starts it when the Sésame
//! extension connects (`chrome.runtime.connectNative("fr.sesame.bridge")`), passing the
//! extension's origin as the first argument, and talks to it in frames on stdin/stdout.
//! It forwards each request to `sesamed`'s bridge socket and each reply back, and exits
//! when the browser closes stdin (the daemon then drops the pending request).
//!
//! Malformed input never crashes it: a frame that is not a known request gets an error
//! reply; a frame with an impossible length (under 2 bytes, over 64 KiB) or a stream cut
//! in the middle of a frame gets an error reply and a clean exit (the stream cannot be
//! resynchronised). When the daemon is not running, the reply says how to start it.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use sesame_bridge::framing::{FrameError, read_frame, write_frame};
use sesame_bridge::{MAX_FRAME, Reply, Request};

type Output = Arc<Mutex<std::io::Stdout>>;

fn send(output: &Output, reply: &Reply) -> bool {
    let Ok(json) = serde_json::to_vec(reply) else {
        return false;
    };
    let Ok(mut out) = output.lock() else {
        return false;
    };
    write_frame(&mut *out, &json).is_ok()
}

fn usage() -> ExitCode {
    eprintln!(
        "sesame-bridge: the browser starts this program (native messaging); it is not run by hand.\n\
         Install its manifest with `sesamed install-bridge`. Options: --socket PATH."
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut socket = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--socket" => socket = args.next().map(PathBuf::from),
            "--help" | "-h" => return usage(),
            // The extension's origin (Chromium) or the manifest path and extension id
            // (Firefox): the browser already checked them against the manifest.
            _ => {}
        }
    }
    let Some(socket) = socket.or_else(sesame_bridge::socket_path) else {
        return usage();
    };
    let output: Output = Arc::new(Mutex::new(std::io::stdout()));
    let mut input = std::io::stdin().lock();
    let mut daemon: Option<UnixStream> = None;
    loop {
        let frame = match read_frame(&mut input) {
            Ok(Some(frame)) => frame,
            Ok(None) => return ExitCode::SUCCESS,
            Err(e @ (FrameError::TooShort(_) | FrameError::TooLong(_))) => {
                send(&output, &Reply::error("bad_frame", e.to_string()));
                return ExitCode::FAILURE;
            }
            Err(FrameError::Truncated | FrameError::Io(_)) => return ExitCode::SUCCESS,
        };
        let request: Request = match serde_json::from_slice(&frame) {
            Ok(request) => request,
            Err(e) => {
                let message = if serde_json::from_slice::<serde_json::Value>(&frame).is_ok() {
                    format!("unknown or malformed request: {e}")
                } else {
                    "the message is not JSON".to_owned()
                };
                if !send(&output, &Reply::error("bad_request", message)) {
                    return ExitCode::SUCCESS;
                }
                continue;
            }
        };
        if daemon.is_none() {
            match connect(&socket, &output) {
                Ok(stream) => daemon = Some(stream),
                Err(e) => {
                    let sent = send(
                        &output,
                        &Reply::error(
                            "daemon_unavailable",
                            format!(
                                "Sésame is not running ({e}): start it with `systemctl --user start sesamed.socket`, or `sesamed serve`"
                            ),
                        ),
                    );
                    if !sent {
                        return ExitCode::SUCCESS;
                    }
                    continue;
                }
            }
        }
        let Some(stream) = daemon.as_mut() else {
            continue;
        };
        let Ok(mut line) = serde_json::to_vec(&request) else {
            continue;
        };
        line.push(b'\n');
        if stream.write_all(&line).is_err() {
            daemon = None;
            send(
                &output,
                &Reply::error("daemon_unavailable", "Sésame stopped; start it again"),
            );
        }
    }
}

/// Connects to the daemon and relays its replies to the browser on a thread of their own.
fn connect(socket: &PathBuf, output: &Output) -> std::io::Result<UnixStream> {
    let stream = UnixStream::connect(socket)?;
    let replies = stream.try_clone()?;
    let output = output.clone();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(replies);
        let mut line = String::new();
        loop {
            line.clear();
            match std::io::Read::take(&mut lines, u64::try_from(MAX_FRAME).unwrap_or(u64::MAX))
                .read_line(&mut line)
            {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let reply = serde_json::from_str::<Reply>(line.trim_end()).unwrap_or_else(|_| {
                Reply::error("daemon_error", "the daemon answered something unexpected")
            });
            if !send(&output, &reply) {
                return;
            }
        }
    });
    Ok(stream)
}
