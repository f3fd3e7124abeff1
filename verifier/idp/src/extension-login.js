// The reference IdP's extension login: asks the Sésame extension for an assertion bound
// to this login's nonce, then posts it with `state` to /callback like the redirect flow.
"use strict";
(() => {
  const form = document.getElementById("login");
  const start = document.getElementById("start");
  const status = document.getElementById("status");
  const problem = document.getElementById("problem");
  start.addEventListener("click", async () => {
    problem.textContent = "";
    if (!(await Sesame.available())) {
      problem.textContent = form.dataset.noExtension;
      return;
    }
    start.disabled = true;
    try {
      const assertion = await Sesame.authenticate({
        nonce: form.dataset.nonce,
        claims: form.dataset.claims.split(" "),
        onProgress: (p) => { status.textContent = p.text; },
      });
      form.elements.assertion.value = assertion;
      form.submit();
    } catch (error) {
      start.disabled = false;
      problem.textContent = (error.code ? error.code + ": " : "") + error.message;
    }
  });
})();
