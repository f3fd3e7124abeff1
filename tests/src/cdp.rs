//! A small synchronous Chrome DevTools Protocol client for end-to-end browser tests.
//!
//! [`Browser::launch`] starts a headless Chromium on a fresh profile and connects to its
//! DevTools websocket; [`Browser::new_page`] opens a tab as a flattened session
//! ([`Page`]). One socket, one reader: a command is sent with id N and messages are read
//! until the response N arrives; events read on the way are buffered for
//! [`Page::wait_for_event`]. Every read is bounded by a timeout.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// What went wrong talking to Chromium.
#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    /// The browser executable was not found (tests skip on this outside CI).
    #[error("browser not found: {0}")]
    NotFound(String),
    /// The browser did not start or did not open its DevTools port.
    #[error("browser launch failed: {0}")]
    Launch(String),
    /// Socket or file I/O, or the websocket itself.
    #[error("i/o: {0}")]
    Io(String),
    /// An error answer to a command, or a malformed message.
    #[error("protocol: {0}")]
    Protocol(String),
    /// A JavaScript exception in the page.
    #[error("javascript: {0}")]
    Js(String),
    /// Nothing arrived in time.
    #[error("timeout: {0}")]
    Timeout(String),
}

impl From<std::io::Error> for CdpError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e.to_string())
    }
}

/// Results of this module.
pub type Result<T> = std::result::Result<T, CdpError>;

/// How to start Chromium.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// The executable (default `chromium`, looked up on `PATH`).
    pub executable: PathBuf,
    /// Extra arguments after the fixed headless ones (`--lang=fr`, `--load-extension=…`).
    pub args: Vec<String>,
    /// `HOME` for the browser (where it finds `.pki/nssdb`), if not inherited.
    pub home: Option<PathBuf>,
    /// Bound on start-up, on each command and on each navigation (default 30 s).
    pub timeout: Duration,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        Self {
            executable: PathBuf::from("chromium"),
            args: Vec::new(),
            home: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// One violation found by axe-core.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AxeViolation {
    /// The rule, e.g. `label`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: Option<String>,
    /// What the rule asks for.
    pub help: String,
    /// CSS selectors of the offending nodes.
    pub nodes: Vec<String>,
}

/// At most this many unclaimed events are kept (the oldest go first).
const MAX_BUFFERED_EVENTS: usize = 4096;

struct Conn {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    events: VecDeque<Value>,
    timeout: Duration,
}

impl Conn {
    /// Sends `method` (on `session`, if any) and reads until its response.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .map_err(|e| CdpError::Io(format!("sending {method}: {e}")))?;
        let deadline = Instant::now() + self.timeout;
        let mut resp = self.read_until(deadline, method, |m| m["id"].as_u64() == Some(id))?;
        if let Some(err) = resp.get("error") {
            return Err(CdpError::Protocol(format!("{method}: {err}")));
        }
        Ok(resp["result"].take())
    }

    /// The params of the next `method` event on `session` whose params pass `pred`,
    /// buffered or read.
    fn wait_for_event(
        &mut self,
        session: Option<&str>,
        method: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let matches = |m: &Value| {
            m["method"] == method && m["sessionId"].as_str() == session && pred(&m["params"])
        };
        if let Some(i) = self.events.iter().position(matches) {
            return Ok(self
                .events
                .remove(i)
                .map(|mut m| m["params"].take())
                .unwrap_or_default());
        }
        let mut m = self.read_until(Instant::now() + timeout, method, matches)?;
        Ok(m["params"].take())
    }

    fn read_until(
        &mut self,
        deadline: Instant,
        what: &str,
        want: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        loop {
            let text = match self.ws.read() {
                Ok(Message::Text(t)) => t,
                Ok(Message::Close(c)) => return Err(CdpError::Io(format!("socket closed: {c:?}"))),
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if Instant::now() >= deadline {
                        return Err(CdpError::Timeout(format!("waiting for {what}")));
                    }
                    continue;
                }
                Err(e) => return Err(CdpError::Io(format!("waiting for {what}: {e}"))),
            };
            let msg: Value = serde_json::from_str(text.as_str())
                .map_err(|e| CdpError::Protocol(format!("bad message: {e}")))?;
            if want(&msg) {
                return Ok(msg);
            }
            if msg.get("method").is_some() {
                if self.events.len() >= MAX_BUFFERED_EVENTS {
                    self.events.pop_front();
                }
                self.events.push_back(msg);
            }
        }
    }
}

/// The Chromium process and its temporary directory: killed and removed on drop.
struct Process {
    child: Child,
    dir: PathBuf,
}

impl Process {
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("chromium-stderr.log")).unwrap_or_default()
    }

    /// Waits for `DevToolsActivePort` and connects to the websocket it names.
    fn connect(&mut self, timeout: Duration) -> Result<Conn> {
        let deadline = Instant::now() + timeout;
        let port_file = self.dir.join("profile").join("DevToolsActivePort");
        let (port, path) = loop {
            let text = std::fs::read_to_string(&port_file).unwrap_or_default();
            let mut lines = text.lines();
            if let (Some(Ok(port)), Some(path)) =
                (lines.next().map(str::parse::<u16>), lines.next())
            {
                break (port, path.to_owned());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(CdpError::Launch(format!(
                    "chromium exited ({status}): {}",
                    self.stderr()
                )));
            }
            if Instant::now() >= deadline {
                return Err(CdpError::Launch(format!(
                    "no DevToolsActivePort: {}",
                    self.stderr()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let url = format!("ws://127.0.0.1:{port}{path}");
        let (ws, _) = tungstenite::client(url.as_str(), stream)
            .map_err(|e| CdpError::Launch(format!("websocket handshake with {url}: {e}")))?;
        // Short reads from here on: `read_until` checks its own deadline between them.
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(100)))?;
        Ok(Conn {
            ws,
            next_id: 0,
            events: VecDeque::new(),
            timeout,
        })
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(3);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A headless Chromium with its DevTools connection. On drop the browser is asked to
/// close, then killed, and its profile removed.
pub struct Browser {
    conn: Rc<RefCell<Conn>>,
    process: Process,
}

impl Browser {
    /// Starts Chromium on a fresh profile and connects to its DevTools websocket.
    pub fn launch(opts: LaunchOptions) -> Result<Self> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sesame-cdp-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("profile"))?;
        let stderr = std::fs::File::create(dir.join("chromium-stderr.log"))?;
        let mut cmd = Command::new(&opts.executable);
        cmd.args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(&opts.args)
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
        if let Some(home) = &opts.home {
            cmd.env("HOME", home);
        }
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                let msg = format!("{}: {e}", opts.executable.display());
                return Err(match e.kind() {
                    std::io::ErrorKind::NotFound => CdpError::NotFound(msg),
                    _ => CdpError::Launch(msg),
                });
            }
        };
        let mut process = Process { child, dir };
        let conn = process.connect(opts.timeout)?;
        Ok(Browser {
            conn: Rc::new(RefCell::new(conn)),
            process,
        })
    }

    /// Chromium's stderr so far (for failure messages).
    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// Sends a browser-level command and returns its `result`.
    pub fn call(&self, method: &str, params: Value) -> Result<Value> {
        self.conn.borrow_mut().call(None, method, params)
    }

    /// The browser's profile directory (`--user-data-dir`): native-messaging host
    /// manifests go in its `NativeMessagingHosts/`.
    #[must_use]
    pub fn profile_dir(&self) -> PathBuf {
        self.process.dir.join("profile")
    }

    /// The page targets (tabs) open now: `(targetId, url)`.
    pub fn page_targets(&self) -> Result<Vec<(String, String)>> {
        let targets = self.call("Target.getTargets", json!({}))?;
        Ok(targets["targetInfos"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter(|t| t["type"] == "page")
                    .map(|t| {
                        (
                            t["targetId"].as_str().unwrap_or_default().to_owned(),
                            t["url"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Opens an `about:blank` tab, attached as a flattened session with Page and Runtime enabled.
    pub fn new_page(&self) -> Result<Page> {
        let target = self.call("Target.createTarget", json!({ "url": "about:blank" }))?;
        let id = target["targetId"].as_str().unwrap_or_default().to_owned();
        self.attach(&id)
    }

    /// Attaches to an open tab (one the page or an extension opened).
    pub fn attach(&self, target_id: &str) -> Result<Page> {
        let attached = self.call(
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
        )?;
        let session = attached["sessionId"]
            .as_str()
            .ok_or_else(|| CdpError::Protocol(format!("no sessionId in {attached}")))?
            .to_owned();
        let page = Page {
            conn: Rc::clone(&self.conn),
            session,
        };
        page.call("Page.enable", json!({}))?;
        page.call("Runtime.enable", json!({}))?;
        page.call("Page.setLifecycleEventsEnabled", json!({ "enabled": true }))?;
        // Focus and keyboard events behave as in a foreground window.
        page.call(
            "Emulation.setFocusEmulationEnabled",
            json!({ "enabled": true }),
        )?;
        Ok(page)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(mut conn) = self.conn.try_borrow_mut() {
            conn.timeout = Duration::from_secs(2);
            let _ = conn.call(None, "Browser.close", json!({}));
        }
    }
}

/// One tab, driven through its flattened session. Valid while its [`Browser`] lives.
pub struct Page {
    conn: Rc<RefCell<Conn>>,
    session: String,
}

/// The JavaScript behind [`Page::focused_description`].
const FOCUSED_JS: &str = r#"(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return 'body';
  let s = e.tagName.toLowerCase();
  if (e.id) s += '#' + e.id;
  if (e.getAttribute('name')) s += '[name=' + e.getAttribute('name') + ']';
  const by = (e.getAttribute('aria-labelledby') || '').split(/\s+/)
    .map(id => document.getElementById(id)).filter(Boolean).map(n => n.innerText).join(' ');
  const button = e.tagName === 'INPUT' && ['submit', 'button', 'reset'].includes(e.type);
  const name = e.getAttribute('aria-label') || by || (e.labels && e.labels[0] && e.labels[0].innerText)
    || (button ? e.value : '') || (e.tagName === 'INPUT' ? '' : e.innerText)
    || e.getAttribute('title') || e.getAttribute('placeholder') || '';
  return s + ' "' + name.replace(/\s+/g, ' ').trim() + '"';
})()"#;

/// The JavaScript behind [`Page::run_axe`] (after the axe-core source).
const AXE_RUN_JS: &str = r#"axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.map(n => [].concat(n.target).flat().join(' ')),
})))"#;

impl Page {
    /// Sends a command on this page's session and returns its `result`.
    pub fn call(&self, method: &str, params: Value) -> Result<Value> {
        self.conn
            .borrow_mut()
            .call(Some(&self.session), method, params)
    }

    /// The params of the next `method` event on this page (buffered ones first).
    pub fn wait_for_event(&self, method: &str, timeout: Duration) -> Result<Value> {
        self.conn
            .borrow_mut()
            .wait_for_event(Some(&self.session), method, timeout, |_| true)
    }

    /// Navigates and waits for the new document's `load` (a same-document navigation
    /// returns at once).
    pub fn navigate(&self, url: &str) -> Result<()> {
        let r = self.call("Page.navigate", json!({ "url": url }))?;
        if let Some(err) = r.get("errorText").and_then(Value::as_str) {
            return Err(CdpError::Protocol(format!("navigating to {url}: {err}")));
        }
        if let Some(loader) = r.get("loaderId") {
            let mut conn = self.conn.borrow_mut();
            let timeout = conn.timeout;
            conn.wait_for_event(Some(&self.session), "Page.lifecycleEvent", timeout, |p| {
                p["name"] == "load" && p["loaderId"] == *loader
            })?;
        }
        Ok(())
    }

    /// Evaluates `js` (awaiting a promise) and returns its value; an exception is an error.
    pub fn eval(&self, js: &str) -> Result<Value> {
        let mut r = self.call(
            "Runtime.evaluate",
            json!({ "expression": js, "returnByValue": true, "awaitPromise": true, "userGesture": true }),
        )?;
        if let Some(ex) = r.get("exceptionDetails") {
            let text = ex["exception"]["description"]
                .as_str()
                .or(ex["text"].as_str())
                .unwrap_or_default();
            return Err(CdpError::Js(text.to_owned()));
        }
        Ok(r["result"]["value"].take())
    }

    /// Evaluates `js` every 50 ms until it is truthy, and returns that value.
    pub fn wait_for(&self, js: &str, timeout: Duration) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.eval(js) {
                Ok(v) if truthy(&v) => return Ok(v),
                Ok(v) => v.to_string(),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(CdpError::Timeout(format!("{js} (last: {last})")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Presses and releases a key: `Tab`, `Shift+Tab`, `Enter`, `Space`, `Escape`,
    /// `Backspace`, `Delete`, `ArrowDown`/`Up`/`Left`/`Right`, `Home`, `End`, `PageUp`,
    /// `PageDown`, or one ASCII letter or digit.
    pub fn press_key(&self, key: &str) -> Result<()> {
        let (modifiers, key) = match key.strip_prefix("Shift+") {
            Some(k) => (8, k),
            None => (0, key),
        };
        let (key, code, vk, text) =
            key_info(key).ok_or_else(|| CdpError::Protocol(format!("unknown key {key:?}")))?;
        let mut down = json!({
            "type": if text.is_empty() { "rawKeyDown" } else { "keyDown" },
            "modifiers": modifiers, "key": key, "code": code,
            "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk,
        });
        if !text.is_empty() {
            down["text"] = json!(text);
            down["unmodifiedText"] = json!(text);
        }
        self.call("Input.dispatchKeyEvent", down)?;
        self.call(
            "Input.dispatchKeyEvent",
            json!({ "type": "keyUp", "modifiers": modifiers, "key": key, "code": code,
                    "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk }),
        )?;
        Ok(())
    }

    /// Types `text` into the focused element (as an IME commit: `input` events, no keys).
    pub fn type_text(&self, text: &str) -> Result<()> {
        self.call("Input.insertText", json!({ "text": text }))
            .map(drop)
    }

    /// [`Page::eval`] as a string (empty if the value is not one).
    pub fn eval_string(&self, js: &str) -> Result<String> {
        Ok(self.eval(js)?.as_str().unwrap_or_default().to_owned())
    }

    /// `location.href`.
    pub fn url(&self) -> Result<String> {
        self.eval_string("location.href")
    }

    /// `document.body.innerText` (empty without a body).
    pub fn content_text(&self) -> Result<String> {
        self.eval_string("document.body ? document.body.innerText : ''")
    }

    /// The focused element as `tag#id[name=…] "accessible name"`, or `body`, e.g.
    /// `input#name[name=name] "Your name"`: handy to assert the keyboard order.
    pub fn focused_description(&self) -> Result<String> {
        self.eval_string(FOCUSED_JS)
    }

    /// Saves a PNG screenshot of the viewport.
    pub fn screenshot_png(&self, path: &Path) -> Result<()> {
        let r = self.call("Page.captureScreenshot", json!({ "format": "png" }))?;
        let png = <base64ct::Base64 as base64ct::Encoding>::decode_vec(
            r["data"].as_str().unwrap_or_default(),
        )
        .map_err(|e| CdpError::Protocol(format!("screenshot: {e}")))?;
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Injects axe-core (the file at `axe_js`) and returns the violations on the page.
    pub fn run_axe(&self, axe_js: &Path) -> Result<Vec<AxeViolation>> {
        let source = std::fs::read_to_string(axe_js)
            .map_err(|e| CdpError::Io(format!("{}: {e}", axe_js.display())))?;
        self.eval(&source)?;
        serde_json::from_value(self.eval(AXE_RUN_JS)?)
            .map_err(|e| CdpError::Protocol(format!("axe results: {e}")))
    }
}

/// The axe-core script: `$SESAME_AXE_JS`, else `tests/js/node_modules/axe-core/axe.min.js`
/// (after `npm ci --prefix tests/js`) if it exists.
pub fn axe_source_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SESAME_AXE_JS").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("js/node_modules/axe-core/axe.min.js");
    p.is_file().then_some(p)
}

/// JavaScript truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `key`, `code`, Windows virtual key code and text of a key name.
fn key_info(name: &str) -> Option<(String, String, u32, String)> {
    let (vk, text) = match name {
        "Tab" => (9, ""),
        "Enter" => (13, "\r"),
        "Space" => return Some((" ".into(), "Space".into(), 32, " ".into())),
        "Escape" => (27, ""),
        "Backspace" => (8, ""),
        "Delete" => (46, ""),
        "PageUp" => (33, ""),
        "PageDown" => (34, ""),
        "End" => (35, ""),
        "Home" => (36, ""),
        "ArrowLeft" => (37, ""),
        "ArrowUp" => (38, ""),
        "ArrowRight" => (39, ""),
        "ArrowDown" => (40, ""),
        _ => {
            let mut chars = name.chars();
            let c = chars
                .next()
                .filter(|c| c.is_ascii_alphanumeric() && chars.next().is_none())?;
            let up = c.to_ascii_uppercase();
            let code = if c.is_ascii_digit() {
                format!("Digit{c}")
            } else {
                format!("Key{up}")
            };
            return Some((c.to_string(), code, u32::from(up), c.to_string()));
        }
    };
    Some((name.to_owned(), name.to_owned(), vk, text.to_owned()))
}
