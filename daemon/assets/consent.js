// Sésame consent page: sends the CAN, follows the card reading (server-sent events),
// and returns to the identity provider when the daemon has the answer.
// Everything shown comes from the daemon in the page's language; the CAN never leaves
// this page except in the POST to the daemon itself.
"use strict";
(function () {
  const form = document.getElementById("consent");
  const finish = document.getElementById("finish");
  if (!form || !finish) return;
  const session = form.dataset.session;
  const token = form.elements.token.value;
  const can = document.getElementById("can");
  const error = document.getElementById("can-error");
  const button = document.getElementById("continue");
  const readers = document.getElementById("readers");
  const choice = document.getElementById("reader-choice");
  const select = document.getElementById("reader");
  const area = document.getElementById("progress-area");
  const bar = document.getElementById("progress");
  const text = document.getElementById("progress-text");
  const lang = document.documentElement.lang;
  const say = (fr, en) => (lang === "fr" ? fr : en);

  function busy(on) {
    can.disabled = on;
    button.disabled = on;
    select.disabled = on;
    area.hidden = !on;
  }

  function fail(message) {
    busy(false);
    error.textContent = message;
    can.setAttribute("aria-invalid", "true");
    can.value = "";
    can.focus();
  }

  const events = new EventSource(
    "/v1/sessions/" + encodeURIComponent(session) + "/events?token=" + encodeURIComponent(token)
  );
  events.addEventListener("readers", (e) => {
    const data = JSON.parse(e.data);
    readers.textContent = data.text;
    const current = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const reader of data.readers) {
      const option = new Option(reader.name, reader.name, false, reader.name === current);
      select.add(option);
    }
    choice.hidden = data.readers.length < 2;
  });
  events.addEventListener("progress", (e) => {
    const data = JSON.parse(e.data);
    area.hidden = false;
    bar.value = data.percent;
    text.textContent = data.text;
  });
  events.addEventListener("retry", (e) => {
    text.textContent = "";
    bar.value = 0;
    fail(JSON.parse(e.data).message);
  });
  events.addEventListener("done", (e) => {
    const data = JSON.parse(e.data);
    events.close();
    bar.value = 100;
    text.textContent = data.ok
      ? say("Carte lue. Retour au site…", "Card read. Returning to the site…")
      : say("La lecture n'a pas abouti. Retour au site…", "The reading did not succeed. Returning to the site…");
    const action = document.createElement("input");
    action.type = "hidden";
    action.name = "action";
    action.value = "return";
    finish.appendChild(action);
    finish.submit();
  });

  can.addEventListener("input", () => {
    can.removeAttribute("aria-invalid");
    error.textContent = "";
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!/^[0-9]{6}$/.test(can.value)) {
      fail(say("Le CAN compte exactement 6 chiffres.", "The CAN is exactly 6 digits."));
      return;
    }
    error.textContent = "";
    // Read the form before disabling it: disabled fields are not part of a form's data.
    const body = new URLSearchParams(new FormData(form));
    busy(true);
    text.textContent = say("Envoi…", "Sending…");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body,
        credentials: "same-origin",
      });
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        text.textContent = "";
        fail(data.message || say("La demande a échoué.", "The request failed."));
      }
    } catch (_) {
      text.textContent = "";
      fail(say("Sésame ne répond plus.", "Sésame does not answer any more."));
    }
  });
})();
