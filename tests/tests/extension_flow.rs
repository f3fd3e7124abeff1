//! The login without a redirect, through the browser extension: headless Chromium with
//! the unpacked extension loaded and `sesame-bridge` registered as its native-messaging
//! host (in the test profile's `NativeMessagingHosts/`), the reference IdP's
//! `/extension` page calling the page API, the consent page the extension opens, the
//! virtual card through pcscd + vpcd, and the IdP verifying the assertion with its own
//! origin as the audience. A page on an origin the daemon does not trust is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sesame_emulator::EmrtdCard;
use sesame_emulator::sample::{SAMPLE_CAN, sample_card};
use sesame_emulator::testing::{pcscd, plug};
use sesame_tests::cdp::{Browser, Page};
use sesame_tests::stack::{
    WAIT, browser_with_extension, idp_result, start_stack, tab_to, type_can_and_submit,
    vpcd_reader_name,
};

/// `target/<profile>/sesame-bridge`, built with the workspace.
fn bridge_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bridge = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("sesame-bridge");
    assert!(
        bridge.exists(),
        "{} is missing: build the workspace (cargo build -p sesame-bridge)",
        bridge.display()
    );
    bridge
}

/// Registers the bridge as the profile's native-messaging host, through a wrapper that
/// names the test daemon's socket.
fn register_bridge(browser: &Browser, socket: &std::path::Path) {
    let hosts = browser.profile_dir().join("NativeMessagingHosts");
    std::fs::create_dir_all(&hosts).unwrap();
    let wrapper = hosts.join("sesame-bridge.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec '{}' --socket '{}' \"$@\"\n",
            bridge_binary().display(),
            socket.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let manifest = sesame_bridge::host_manifest(&wrapper, sesame_bridge::Browser::Chromium);
    std::fs::write(
        hosts.join(format!("{}.json", sesame_bridge::HOST_NAME)),
        manifest.to_string(),
    )
    .unwrap();
}

/// The consent tab the extension opened.
fn consent_tab(browser: &Browser) -> Page {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some((id, _)) = browser
            .page_targets()
            .unwrap()
            .into_iter()
            .find(|(_, url)| url.contains("/v1/bridge/"))
        {
            return browser.attach(&id).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the extension opened no consent tab"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn open_extension_page(page: &Page, url: &str) {
    page.navigate(url).unwrap();
    // The content script answers the page API once the extension runs.
    page.wait_for("typeof Sesame === 'object'", WAIT).unwrap();
    let available = page
        .eval("Sesame.available(2000)")
        .unwrap_or(serde_json::Value::Bool(false));
    assert_eq!(
        available,
        serde_json::Value::Bool(true),
        "the extension is not there"
    );
}

#[test]
fn a_page_logs_in_through_the_extension_and_an_untrusted_origin_is_refused() {
    let Some(pcscd) = pcscd() else { return };
    let slot = pcscd.slot();
    let _card = plug(slot.port, EmrtdCard::new(sample_card()));
    let stack = start_stack(&vpcd_reader_name(slot.port));
    let Some(browser) = browser_with_extension(&stack.spki) else {
        return;
    };
    register_bridge(&browser, &stack.bridge_socket);
    let page = browser.new_page().unwrap();

    // A trusted IdP: keyboard only, from its button to the verified identity.
    open_extension_page(&page, &format!("{}/extension?lang=en", stack.idp));
    tab_to(&page, "#start");
    page.press_key("Enter").unwrap();
    let consent = consent_tab(&browser);
    consent
        .wait_for(
            "document.getElementById('can') && /Card detected|Carte détectée/.test(document.getElementById('readers').textContent)",
            WAIT,
        )
        .unwrap_or_else(|e| panic!("consent page: {e}: {:?}", consent.content_text()));
    let asks = consent.content_text().unwrap();
    assert!(
        asks.contains(&stack.idp),
        "the consent page names the asking origin: {asks}"
    );
    type_can_and_submit(&consent, SAMPLE_CAN);
    let text = idp_result(&page, &stack.idp);
    assert!(text.contains("ERIKSSON"), "{text}");
    assert!(text.contains("Identity verified"), "{text}");
    // The extension closed the consent tab.
    let deadline = Instant::now() + WAIT;
    while browser
        .page_targets()
        .unwrap()
        .iter()
        .any(|(_, url)| url.contains("/v1/bridge/"))
    {
        assert!(Instant::now() < deadline, "the consent tab stayed open");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The same page served on another origin (127.0.0.1 is not localhost): refused.
    let other = stack.idp.replace("localhost", "127.0.0.1");
    open_extension_page(&page, &format!("{other}/extension?lang=en"));
    tab_to(&page, "#start");
    page.press_key("Enter").unwrap();
    let problem = page
        .wait_for(
            "document.getElementById('problem').textContent || false",
            WAIT,
        )
        .unwrap();
    assert!(
        problem
            .as_str()
            .unwrap_or_default()
            .starts_with("untrusted_origin"),
        "{problem}"
    );
    assert!(
        !browser
            .page_targets()
            .unwrap()
            .iter()
            .any(|(_, url)| url.contains("/v1/bridge/")),
        "no consent page for an untrusted origin"
    );
}
