//! The CDP client against headless Chromium: a form reached and submitted with the
//! keyboard only, and axe-core audits of an accessible page and of one with an unlabelled
//! input. Without chromium (or axe-core) the tests print "skipped", unless `CI` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

use sesame_tests::cdp::{Browser, CdpError, LaunchOptions, axe_source_path};

const GOOD: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Greeting</title></head>
<body><main><h1>Greeting</h1>
<form id="form">
  <label for="name">Your name</label> <input id="name" name="name" type="text">
  <button type="submit">Greet</button>
</form>
<p id="result" role="status"></p>
<script>
  document.getElementById('form').addEventListener('submit', e => {
    e.preventDefault();
    document.getElementById('result').textContent =
      'Hello, ' + document.getElementById('name').value + '!';
  });
</script>
</main></body></html>"#;

const BAD: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unlabelled</title></head>
<body><main><h1>Unlabelled</h1><input id="nameless" type="text"></main></body></html>"#;

/// Serves `GOOD` at `/` and `BAD` at `/bad` on 127.0.0.1; returns the base URL.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let (status, body) = match path {
                "/" => ("200 OK", GOOD),
                "/bad" => ("200 OK", BAD),
                _ => ("404 Not Found", ""),
            };
            let _ = write!(
                &stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

/// A headless Chromium, or `None` (test skipped) when there is none outside CI.
fn launch() -> Option<Browser> {
    match Browser::launch(LaunchOptions::default()) {
        Err(CdpError::NotFound(e)) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromium is needed under CI: {e}"
            );
            eprintln!("skipped: chromium not found ({e})");
            None
        }
        other => Some(other.unwrap()),
    }
}

/// The axe-core script, or `None` (audit skipped) when not installed outside CI.
fn axe() -> Option<std::path::PathBuf> {
    let path = axe_source_path();
    if path.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "axe-core is needed under CI: npm ci --prefix tests/js"
        );
        eprintln!("skipped: axe-core not installed (npm ci --prefix tests/js)");
    }
    path
}

#[test]
fn a_form_is_filled_and_submitted_with_the_keyboard_and_passes_axe() {
    let Some(browser) = launch() else { return };
    let base = serve();
    let page = browser.new_page().unwrap();
    page.navigate(&format!("{base}/")).unwrap();
    assert_eq!(page.url().unwrap(), format!("{base}/"));
    assert_eq!(page.focused_description().unwrap(), "body");

    // Tab order: the input, then the button, and back with Shift+Tab.
    page.press_key("Tab").unwrap();
    assert_eq!(
        page.focused_description().unwrap(),
        r#"input#name[name=name] "Your name""#
    );
    page.press_key("Tab").unwrap();
    assert_eq!(page.focused_description().unwrap(), r#"button "Greet""#);
    page.press_key("Shift+Tab").unwrap();
    assert_eq!(
        page.focused_description().unwrap(),
        r#"input#name[name=name] "Your name""#
    );

    // Enter in the text field submits the form.
    page.type_text("Ada").unwrap();
    page.press_key("Enter").unwrap();
    let result = page
        .wait_for(
            "document.getElementById('result').textContent",
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(result, "Hello, Ada!");
    assert!(page.content_text().unwrap().contains("Hello, Ada!"));

    // Space on the focused button submits it too.
    page.eval("document.getElementById('result').textContent = ''")
        .unwrap();
    page.press_key("Backspace").unwrap();
    page.press_key("Backspace").unwrap();
    page.press_key("a").unwrap();
    page.press_key("Tab").unwrap();
    page.press_key("Space").unwrap();
    let result = page
        .wait_for(
            "document.getElementById('result').textContent",
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(result, "Hello, Aa!");

    // Events that arrive before a response are kept for `wait_for_event`.
    page.eval("console.log('logged')").unwrap();
    let event = page
        .wait_for_event("Runtime.consoleAPICalled", Duration::from_secs(5))
        .unwrap();
    assert_eq!(event["args"][0]["value"], "logged");

    let png = std::env::temp_dir().join(format!("sesame-cdp-smoke-{}.png", std::process::id()));
    page.screenshot_png(&png).unwrap();
    let bytes = std::fs::read(&png).unwrap();
    std::fs::remove_file(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));

    // A JavaScript exception is an error carrying its text.
    let err = page.eval("null.x").unwrap_err().to_string();
    assert!(err.contains("TypeError"), "{err}");

    if let Some(axe) = axe() {
        let violations = page.run_axe(&axe).unwrap();
        assert!(violations.is_empty(), "{violations:#?}");
    }
}

#[test]
fn axe_reports_an_unlabelled_input() {
    let Some(browser) = launch() else { return };
    let Some(axe) = axe() else { return };
    let base = serve();
    let page = browser.new_page().unwrap();
    page.navigate(&format!("{base}/")).unwrap();
    page.navigate(&format!("{base}/bad")).unwrap();
    assert_eq!(page.eval("document.title").unwrap(), "Unlabelled");
    // A refused connection is an error, not a hang.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = page
        .navigate(&format!("http://{closed}/"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("ERR_CONNECTION_REFUSED"), "{err}");
    page.navigate(&format!("{base}/bad")).unwrap();
    let violations = page.run_axe(&axe).unwrap();
    let label = violations.iter().find(|v| v.id == "label");
    let label = label.unwrap_or_else(|| panic!("no `label` violation in {violations:#?}"));
    assert_eq!(label.nodes, ["#nameless"]);
    assert_eq!(label.impact.as_deref(), Some("critical"));
}

#[test]
fn a_browser_that_exits_at_once_is_a_launch_error() {
    let opts = LaunchOptions {
        executable: "false".into(),
        ..LaunchOptions::default()
    };
    match Browser::launch(opts) {
        Err(CdpError::Launch(e)) => assert!(e.contains("exited"), "{e}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("`false` is no browser"),
    }
}
