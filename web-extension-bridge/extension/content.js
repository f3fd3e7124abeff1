// Sésame content script: the page's side of the bridge. A page talks to it with
// window.postMessage (see sesame.js); it passes requests to the extension's background,
// which adds the page's origin as the browser knows it, and passes the answers back.
// Only secure contexts (https, localhost) and only the top frame can ask.
"use strict";
(() => {
  const api = globalThis.browser ?? globalThis.chrome;
  if (window.top !== window || !window.isSecureContext) return;
  const reply = (message) => window.postMessage({ sesame: 1, direction: "to-page", ...message }, window.location.origin);

  window.addEventListener("message", (event) => {
    const data = event.data;
    if (event.source !== window || !data || data.sesame !== 1 || data.direction !== "to-extension") return;
    if (data.type === "ping") {
      reply({ type: "pong", id: data.id, version: api.runtime.getManifest().version });
      return;
    }
    if (data.type !== "authenticate" && data.type !== "cancel") return;
    const request = {
      type: data.type,
      id: String(data.id ?? ""),
      nonce: typeof data.nonce === "string" ? data.nonce : "",
      claims: Array.isArray(data.claims) ? data.claims.filter((c) => typeof c === "string") : [],
      lang: navigator.language,
    };
    api.runtime.sendMessage(request).then(
      (answer) => answer && reply({ ...answer, id: request.id }),
      (error) => reply({ type: "error", id: request.id, code: "extension_error", message: String(error) })
    );
  });

  // Progress while the card is read.
  api.runtime.onMessage.addListener((message) => {
    if (message && message.type === "progress") reply(message);
  });
})();
