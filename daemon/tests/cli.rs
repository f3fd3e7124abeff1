//! `sesamed` as a user and systemd run it: socket activation with `sd_notify` and a
//! graceful stop, `trust install`/`uninstall` against a real NSS database (certutil),
//! `key show`/`rotate`, and `doctor`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SESAMED: &str = env!("CARGO_BIN_EXE_sesamed");

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sesame-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `tool` runs; under CI a missing tool fails the test.
fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is needed under CI"
        );
        eprintln!("skipped: {tool} not found");
    }
    found
}

fn sesamed(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(SESAMED)
        .env("HOME", home)
        .env_remove("STATE_DIRECTORY")
        .env_remove("XDG_STATE_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SESAME_CONFIG")
        .args(args)
        .output()
        .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn socket_activation_notifies_systemd_answers_and_stops_gracefully() {
    if !have("systemd-socket-activate") || !have("curl") {
        return;
    }
    let dir = TempDir::new("activation");
    let notify_path = dir.0.join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let port = free_port();
    std::fs::write(
        dir.0.join("sesamed.toml"),
        "[[idp]]\norigin = \"https://idp.example\"\nname = \"Example\"\n",
    )
    .unwrap();
    // The local authority exists before the first start, for curl to trust it.
    let made = Command::new(SESAMED)
        .arg("--state-dir")
        .arg(dir.0.join("state"))
        .args(["trust", "show"])
        .output()
        .unwrap();
    assert!(made.status.success());
    let mut daemon = Command::new("systemd-socket-activate")
        .args(["-E", "NOTIFY_SOCKET", "-E", "SESAME_LOG", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .arg(SESAMED)
        .arg("--config")
        .arg(dir.0.join("sesamed.toml"))
        .arg("--state-dir")
        .arg(dir.0.join("state"))
        .arg("serve")
        .env("NOTIFY_SOCKET", &notify_path)
        .env("SESAME_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The socket exists before the daemon runs: the first connection starts it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "systemd-socket-activate never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert"])
        .arg(dir.0.join("state/tls/ca.pem"))
        .arg(format!("https://127.0.0.1:{port}/v1/status"))
        .output()
        .unwrap();
    let mut buffer = [0_u8; 256];
    let n = notify.recv(&mut buffer).unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).contains("READY=1"));
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let body = String::from_utf8(status.stdout).unwrap();
    assert!(body.contains("\"protocol\":1"), "{body}");
    // A request for another host is refused even through the activated socket.
    let rebinding = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
        .arg(dir.0.join("state/tls/ca.pem"))
        .args(["-H", "Host: evil.example"])
        .arg(format!("https://127.0.0.1:{port}/"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&rebinding.stdout), "421");
    // SIGTERM: STOPPING=1, then a clean exit.
    Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    let n = notify.recv(&mut buffer).unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).contains("STOPPING=1"));
    let exit = daemon.wait().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut daemon.stderr.take().unwrap(), &mut log).unwrap();
    assert!(exit.success(), "{exit:?}\n{log}");
    assert!(log.contains("activated=true"), "{log}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.0.join("state/tls/ca.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the CA key is private");
}

#[test]
fn trust_install_and_uninstall_use_the_users_nss_database() {
    if !have("certutil") {
        return;
    }
    let home = TempDir::new("trust");
    let out = sesamed(&home.0, &["trust", "install"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = format!("sql:{}", home.0.join(".pki/nssdb").display());
    let list = Command::new("certutil")
        .args(["-d", &db, "-L"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(listed.contains("Sésame local CA"), "{listed}");
    assert!(listed.contains("C,,"), "trusted for TLS servers: {listed}");
    // Twice is harmless.
    let again = sesamed(&home.0, &["trust", "install"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already trusted"));
    let out = sesamed(&home.0, &["trust", "uninstall"]);
    assert!(out.status.success());
    let list = Command::new("certutil")
        .args(["-d", &db, "-L"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&list.stdout).contains("Sésame local CA"));
}

#[test]
fn the_assertion_key_is_shown_and_rotated() {
    let home = TempDir::new("key");
    let first = sesamed(&home.0, &["key", "show"]);
    assert!(first.status.success());
    let first = String::from_utf8(first.stdout).unwrap();
    assert!(first.starts_with("sesame:"), "{first}");
    assert_eq!(
        String::from_utf8(sesamed(&home.0, &["key", "show"]).stdout).unwrap(),
        first
    );
    let rotated = sesamed(&home.0, &["key", "rotate"]);
    assert!(rotated.status.success());
    let now = String::from_utf8(sesamed(&home.0, &["key", "show"]).stdout).unwrap();
    assert_ne!(now, first);
    assert!(home.0.join(".local/state/sesame/assertion-key").exists());
}

#[test]
fn doctor_names_each_problem_with_its_fix() {
    let home = TempDir::new("doctor");
    let out = Command::new(SESAMED)
        .env("HOME", &home.0)
        .env("PCSCLITE_CSOCK_NAME", home.0.join("no-pcscd.comm"))
        .env_remove("STATE_DIRECTORY")
        .env_remove("XDG_STATE_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SESAME_CONFIG")
        .args(["doctor"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "problems are an error exit");
    assert!(text.contains("FAIL  no configuration file"), "{text}");
    assert!(
        text.contains("FAIL  the smart-card service (pcscd) is not running"),
        "{text}"
    );
    assert!(text.contains("fix: sudo apt install pcscd"), "{text}");
    assert!(text.contains("ok    assertion key"), "{text}");
    assert!(text.contains("ok    TLS certificate"), "{text}");
}

#[test]
fn install_bridge_writes_pinned_host_manifests_and_uninstall_removes_them() {
    let home = TempDir::new("bridge");
    let out = sesamed(&home.0, &["install-bridge", "--bridge", SESAMED]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let chromium = home
        .0
        .join(".config/chromium/NativeMessagingHosts/fr.sesame.bridge.json");
    let firefox = home
        .0
        .join(".mozilla/native-messaging-hosts/fr.sesame.bridge.json");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&chromium).unwrap()).unwrap();
    assert_eq!(manifest["name"], "fr.sesame.bridge");
    assert_eq!(manifest["type"], "stdio");
    assert_eq!(
        manifest["allowed_origins"],
        serde_json::json!([format!(
            "chrome-extension://{}/",
            sesame_bridge::CHROMIUM_EXTENSION_ID
        )])
    );
    assert!(std::path::Path::new(manifest["path"].as_str().unwrap()).is_absolute());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&firefox).unwrap()).unwrap();
    assert_eq!(
        manifest["allowed_extensions"],
        serde_json::json!(["bridge@sesame.example"])
    );
    let out = sesamed(&home.0, &["uninstall-bridge"]);
    assert!(out.status.success());
    assert!(!chromium.exists() && !firefox.exists());
}

#[test]
fn the_journal_commands_verify_export_and_name_a_tampered_line() {
    use sesame_daemon::journal::Journal;
    let home = TempDir::new("journal");
    let state = home.0.join(".local/state/sesame");
    let dir = state.join("journal");
    {
        let mut journal = Journal::open(&dir).unwrap();
        for (i, kind) in ["agent_sign_in", "certification", "delivery", "refusal"]
            .iter()
            .enumerate()
        {
            journal
                .append(
                    kind,
                    serde_json::json!({ "n": i, "station": "Mairie, guichet 1" }),
                    1_795_000_000 + i64::try_from(i).unwrap(),
                )
                .unwrap();
        }
    }
    let out = sesamed(&home.0, &["journal", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("journal intact: 4 entries"));
    let out = sesamed(&home.0, &["journal", "export", "--format", "csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(csv.contains("\"Mairie, guichet 1\"") || csv.contains("Mairie, guichet 1"));
    // Edit line 2: the verification names it and fails.
    let file = dir.join("journal.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("\"n\":1", "\"n\":7", 1)).unwrap();
    let out = sesamed(&home.0, &["journal", "verify"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("line 2") && said.contains("changed"),
        "{said}"
    );
}
