//! The systemd units under `systemd/` pass `systemd-analyze verify` without a warning, and
//! the sysusers.d entry creates the `sesame` user.
//!
//! Each unit directory (`systemd/system`, `systemd/user`) is copied to a temporary
//! directory with `/usr/bin/sesamed` replaced by the binary Cargo just built: `verify`
//! checks that `ExecStart=` names an executable file. The units of one directory are
//! verified in one call, so `Requires=sesamed.socket` resolves to the copy beside it.
//!
//! Runs as root in a container with no systemd as PID 1: `systemd-analyze verify` only
//! loads unit files, it does not talk to a service manager. `--user` needs
//! `$XDG_RUNTIME_DIR` (without it: "Failed to lookup RuntimeDirectory path") but no user
//! manager, so the user units are verified as user units with a temporary one.
//!
//! `systemd-analyze` (Debian package `systemd`) missing: the tests fail when `CI` is set,
//! and print "skipped" otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the .deb installs the daemon, as the units name it.
const INSTALLED_BINARY: &str = "/usr/bin/sesamed";

/// File name endings of systemd unit files.
const UNIT_SUFFIXES: [&str; 8] = [
    ".service", ".socket", ".target", ".timer", ".path", ".mount", ".slice", ".scope",
];

fn systemd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the daemon crate is in the workspace")
        .join("systemd")
}

/// A directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let path =
            std::env::temp_dir().join(format!("sesame-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `program` runs at all; if it does not, fails under CI and says "skipped"
/// otherwise (the caller then returns).
fn available(program: &str) -> bool {
    match Command::new(program).arg("--version").output() {
        Ok(_) => true,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{program} cannot run ({e}): install the Debian package `systemd`"
            );
            println!("skipped: {program} cannot run ({e}); install the Debian package `systemd`");
            false
        }
    }
}

/// The unit files directly in `dir`, sorted by name.
fn unit_files(dir: &Path) -> Vec<PathBuf> {
    let mut units: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.is_file()
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| UNIT_SUFFIXES.iter().any(|s| n.ends_with(s)))
        })
        .collect();
    units.sort();
    units
}

/// Every directory under `systemd/` that holds unit files, with the unit files in it.
fn unit_directories() -> Vec<(PathBuf, Vec<PathBuf>)> {
    let mut found = Vec::new();
    let mut pending = vec![systemd_dir()];
    while let Some(dir) = pending.pop() {
        let units = unit_files(&dir);
        if !units.is_empty() {
            found.push((dir.clone(), units));
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            }
        }
    }
    found.sort();
    found
}

/// `path` written as the first word of an `ExecStart=` line.
fn unit_file_word(path: &str) -> String {
    // `%` starts a specifier in unit files; a word with blanks must be quoted.
    let escaped = path.replace('%', "%%");
    if escaped.chars().any(char::is_whitespace) {
        format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        escaped
    }
}

/// Runs `systemd-analyze verify` on the units of `dir` (a copy of them) and returns the
/// problems: a non-zero exit, and every output line that names one of the unit files.
fn verify(dir: &Path, units: &[PathBuf], user: bool) -> Vec<String> {
    let copy = TempDir::new("units");
    let runtime = TempDir::new("runtime");
    let binary = unit_file_word(env!("CARGO_BIN_EXE_sesamed"));
    let mut copies = Vec::new();
    for unit in units {
        let text = std::fs::read_to_string(unit).unwrap();
        let target = copy.0.join(unit.file_name().unwrap());
        std::fs::write(&target, text.replace(INSTALLED_BINARY, &binary)).unwrap();
        copies.push(target);
    }
    let mut command = Command::new("systemd-analyze");
    if user {
        command.arg("--user").env("XDG_RUNTIME_DIR", &runtime.0);
    }
    let output = command
        .args(["verify", "--man=no"])
        .args(&copies)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mode = if user { "--user " } else { "" };
    println!(
        "systemd-analyze {mode}verify --man=no {}: {}",
        dir.display(),
        output.status
    );
    for line in stdout.lines().chain(stderr.lines()) {
        println!("  {line}");
    }
    let names: Vec<String> = units
        .iter()
        .map(|u| u.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut problems: Vec<String> = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|line| names.iter().any(|name| line.contains(name.as_str())))
        .map(|line| format!("{}: {line}", dir.display()))
        .collect();
    if !output.status.success() {
        problems.push(format!(
            "{}: systemd-analyze {mode}verify exited with {}",
            dir.display(),
            output.status
        ));
    }
    problems
}

#[test]
fn every_unit_file_verifies_cleanly() {
    if !available("systemd-analyze") {
        return;
    }
    let directories = unit_directories();
    let names: Vec<String> = directories
        .iter()
        .map(|(dir, _)| dir.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["system", "user"],
        "unit files are expected in systemd/system and systemd/user only"
    );
    let mut problems = Vec::new();
    for (dir, units) in &directories {
        let user = dir.file_name().is_some_and(|n| n == "user");
        problems.extend(verify(dir, units, user));
    }
    assert!(
        problems.is_empty(),
        "systemd-analyze verify found problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_sysusers_entry_creates_the_sesame_user() {
    if !available("systemd-sysusers") {
        return;
    }
    let root = TempDir::new("sysusers");
    std::fs::create_dir(root.0.join("etc")).unwrap();
    let entry = systemd_dir().join("sysusers.d/sesame.conf");
    let output = Command::new("systemd-sysusers")
        .arg("--root")
        .arg(&root.0)
        .arg(&entry)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("systemd-sysusers: {}\n{stderr}", output.status);
    assert!(output.status.success(), "systemd-sysusers failed: {stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("sesame.conf"))
        .collect();
    assert!(warnings.is_empty(), "systemd-sysusers warned: {warnings:?}");
    let passwd = std::fs::read_to_string(root.0.join("etc/passwd")).unwrap();
    let sesame = passwd
        .lines()
        .find(|l| l.starts_with("sesame:"))
        .unwrap_or_else(|| panic!("no sesame user in {passwd}"));
    let fields: Vec<&str> = sesame.split(':').collect();
    assert!(
        fields[2].parse::<u32>().unwrap() < 1000,
        "not a system user: {sesame}"
    );
    assert_eq!(fields[6], "/usr/sbin/nologin", "{sesame}");
    let group = std::fs::read_to_string(root.0.join("etc/group")).unwrap();
    assert!(group.lines().any(|l| l.starts_with("sesame:")), "{group}");
}
