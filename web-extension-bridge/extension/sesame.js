// sesame.js: the page API of the Sésame extension. Include it on your login page:
//
//   const available = await Sesame.available();            // is the extension there?
//   const assertion = await Sesame.authenticate({ nonce, claims: ["given_name", "family_name"],
//                                                 onProgress: (p) => show(p.percent, p.text) });
//   // POST `assertion` to your server, which verifies it (sesame-verifier) with your
//   // origin as the audience and the nonce you issued.
//
// authenticate() rejects with an Error whose `code` is one of: access_denied, wrong_can,
// card_error, timeout, unsupported_document, untrusted_origin, busy, bad_request,
// daemon_unavailable, bridge_unavailable, no_extension.
"use strict";
(function (global) {
  let counter = 0;
  function post(message) {
    window.postMessage({ sesame: 1, direction: "to-extension", ...message }, window.location.origin);
  }
  function listen(id, onMessage) {
    const handler = (event) => {
      const data = event.data;
      if (event.source !== window || !data || data.sesame !== 1 || data.direction !== "to-page") return;
      if (data.id !== undefined && data.id !== id && data.type !== "progress") return;
      onMessage(data, () => window.removeEventListener("message", handler));
    };
    window.addEventListener("message", handler);
  }
  const Sesame = {
    available(timeoutMs = 500) {
      return new Promise((resolve) => {
        const id = "ping-" + ++counter;
        const timer = setTimeout(() => resolve(false), timeoutMs);
        listen(id, (data, stop) => {
          if (data.type === "pong") {
            clearTimeout(timer);
            stop();
            resolve(true);
          }
        });
        post({ type: "ping", id });
      });
    },
    authenticate({ nonce, claims = [], onProgress } = {}) {
      return new Promise((resolve, reject) => {
        const id = "auth-" + ++counter;
        listen(id, (data, stop) => {
          if (data.type === "progress") {
            if (onProgress) onProgress({ percent: data.percent, text: data.text });
            return;
          }
          if (data.type === "result") {
            stop();
            resolve(data.assertion);
          } else if (data.type === "error") {
            stop();
            const error = new Error(data.message || data.code);
            error.code = data.code;
            reject(error);
          }
        });
        post({ type: "authenticate", id, nonce, claims });
      });
    },
    cancel() {
      post({ type: "cancel", id: "cancel-" + ++counter });
    },
  };
  global.Sesame = Sesame;
})(window);
