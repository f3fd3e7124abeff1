// Sésame background: one native-messaging port per login, to sesame-bridge, which talks
// to sesamed. The origin sent is the sender's, as the browser reports it; a page cannot
// claim another. One login at a time per tab; each ends within five minutes.
"use strict";
const api = globalThis.browser ?? globalThis.chrome;
const HOST = "fr.sesame.bridge";
const TIMEOUT_MS = 5 * 60 * 1000;
const pending = new Map(); // tab id -> { port, consentTab, finish }

function senderOrigin(sender) {
  if (sender.origin && sender.origin !== "null") return sender.origin;
  try {
    return new URL(sender.url).origin;
  } catch (_) {
    return null;
  }
}

function authenticate(request, sender) {
  return new Promise((resolve) => {
    const tabId = sender.tab && sender.tab.id;
    const origin = senderOrigin(sender);
    if (tabId === undefined || !origin) {
      resolve({ type: "error", code: "bad_request", message: "no tab or origin" });
      return;
    }
    if (pending.has(tabId)) {
      resolve({ type: "error", code: "busy", message: "a login is already running in this tab" });
      return;
    }
    let port;
    try {
      port = api.runtime.connectNative(HOST);
    } catch (error) {
      resolve({ type: "error", code: "bridge_unavailable", message: String(error) });
      return;
    }
    const state = { port, consentTab: null, finish: null };
    const timer = setTimeout(() => finish({ type: "error", code: "timeout", message: "no answer in time" }), TIMEOUT_MS);
    function finish(answer) {
      if (!pending.has(tabId)) return;
      pending.delete(tabId);
      clearTimeout(timer);
      try { port.disconnect(); } catch (_) { /* already closed */ }
      if (state.consentTab !== null) api.tabs.remove(state.consentTab).catch(() => {});
      resolve(answer);
    }
    state.finish = finish;
    pending.set(tabId, state);
    port.onMessage.addListener((message) => {
      switch (message.type) {
        case "consent":
          api.tabs.create({ url: message.url, openerTabId: tabId, active: true }).then((tab) => {
            state.consentTab = tab.id;
          });
          break;
        case "progress":
          api.tabs.sendMessage(tabId, message).catch(() => {});
          break;
        case "result":
          finish({ type: "result", assertion: message.assertion });
          break;
        case "error":
          finish({ type: "error", code: message.code, message: message.message });
          break;
        default:
          break;
      }
    });
    port.onDisconnect.addListener(() => {
      const error = api.runtime.lastError;
      finish({
        type: "error",
        code: "bridge_unavailable",
        message: error ? error.message : "the Sésame bridge closed",
      });
    });
    port.postMessage({ cmd: "authenticate", origin, nonce: request.nonce, claims: request.claims, lang: request.lang });
  });
}

api.runtime.onMessage.addListener((request, sender, sendResponse) => {
  if (!request || sender.id !== api.runtime.id) return false;
  if (request.type === "authenticate") {
    authenticate(request, sender).then(sendResponse);
    return true;
  }
  if (request.type === "cancel") {
    const state = sender.tab && pending.get(sender.tab.id);
    if (state) {
      try { state.port.postMessage({ cmd: "cancel" }); } catch (_) { /* closed */ }
    }
    sendResponse({ type: "cancelled" });
    return false;
  }
  return false;
});

// The consent tab closed by the user before the end: the login is cancelled.
api.tabs.onRemoved.addListener((closedTab) => {
  for (const state of pending.values()) {
    if (state.consentTab === closedTab) {
      state.consentTab = null;
      try { state.port.postMessage({ cmd: "cancel" }); } catch (_) { /* closed */ }
    }
  }
});
