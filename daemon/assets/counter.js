// Sésame counter page: agent sign-in with their own card, the citizen's card read with
// its photo, then certify or refuse. Readers are followed live (server-sent events).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const lang = document.documentElement.lang;
  const say = (fr, en) => (lang === "fr" ? fr : en);
  const status = $("status");
  const problem = $("problem");

  // Readers, live.
  const events = new EventSource("/counter/events");
  events.addEventListener("readers", (e) => {
    const data = JSON.parse(e.data);
    if ($("readers")) $("readers").textContent = data.text;
    for (const select of document.querySelectorAll(".reader-select")) {
      const current = select.value;
      while (select.options.length > 1) select.remove(1);
      for (const reader of data.readers) select.add(new Option(reader.name, reader.name, false, reader.name === current));
    }
  });

  async function post(url, form, extra) {
    const body = new URLSearchParams(new FormData(form));
    if (extra) for (const [k, v] of Object.entries(extra)) body.set(k, v);
    const response = await fetch(url, { method: "POST", body, credentials: "same-origin" });
    const data = await response.json().catch(() => ({ message: say("Réponse illisible.", "Unreadable answer.") }));
    return { ok: response.ok, status: response.status, data };
  }

  function busy(form, on) {
    for (const element of form.elements) element.disabled = on;
  }

  // Sign-in with the agent's own card.
  const signIn = $("sign-in");
  if (signIn) {
    $("agent-can").focus();
    signIn.addEventListener("submit", async (e) => {
      e.preventDefault();
      problem.textContent = "";
      status.textContent = say("Lecture de votre carte…", "Reading your card…");
      const request = post(signIn.action, signIn);
      busy(signIn, true);
      const { ok, data } = await request;
      if (ok) {
        location.reload();
        return;
      }
      busy(signIn, false);
      status.textContent = "";
      problem.textContent = data.message;
      $("agent-can").value = "";
      $("agent-can").focus();
    });
  }

  const signOut = $("sign-out");
  if (signOut) {
    signOut.addEventListener("click", async () => {
      await fetch("/counter/sign-out", { method: "POST", credentials: "same-origin" });
      location.reload();
    });
  }

  const read = $("read");
  if (!read) return;
  const caseSection = $("case");
  const decision = $("decision");
  const labels = {
    family_name: say("Nom", "Family name"),
    given_name: say("Prénoms", "Given names"),
    birthdate: say("Date de naissance", "Date of birth"),
    document_number: say("Numéro du document", "Document number"),
    expiry_date: say("Date d'expiration", "Expiry date"),
    nationality: say("Nationalité", "Nationality"),
    issuing_state: say("État émetteur", "Issuing state"),
  };
  let currentCase = null;
  $("citizen-can").focus();

  read.addEventListener("submit", async (e) => {
    e.preventDefault();
    problem.textContent = "";
    status.textContent = say("Lecture de la carte et de la photo… gardez la carte immobile.", "Reading the card and its photo… keep the card still.");
    const request = post(read.action, read);
    busy(read, true);
    const { ok, data } = await request;
    busy(read, false);
    $("citizen-can").value = "";
    $("citizen-mrz").value = "";
    if (!ok) {
      status.textContent = "";
      problem.textContent = data.message;
      $("citizen-can").focus();
      return;
    }
    currentCase = data.case;
    caseSection.dataset.readMs = data.read_ms;
    caseSection.dataset.apdus = data.apdus;
    const photo = $("photo");
    photo.src = data.photo.url;
    photo.width = data.photo.width;
    photo.height = data.photo.height;
    const identity = $("identity");
    identity.replaceChildren();
    for (const [key, label] of Object.entries(labels)) {
      if (!data.claims[key]) continue;
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      dd.textContent = data.claims[key];
      dd.dataset.claim = key;
      identity.append(dt, dd);
    }
    const verdicts = {
      verified: say("Signature de l'État émetteur : vérifiée.", "Issuing state's signature: verified."),
      failed: say("Signature de l'État émetteur : ÉCHEC — ne pas certifier.", "Issuing state's signature: FAILED — do not certify."),
      not_checked: say("Signature de l'État émetteur : non vérifiée (aucune autorité configurée).", "Issuing state's signature: not checked (no authority configured)."),
    };
    $("verdict").textContent = verdicts[data.passive_authentication] +
      (data.chip_authentication ? say(" Puce authentique.", " Genuine chip.") : "");
    $("verdict").dataset.verdict = data.passive_authentication;
    $("face-matches").checked = false;
    $("document-valid").checked = false;
    $("reason").value = "";
    $("decision-status").textContent = "";
    caseSection.hidden = false;
    status.textContent = say("Carte lue. Comparez la photo avec la personne.", "Card read. Compare the photo with the person.");
    $("case-h").focus();
  });

  decision.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!currentCase) return;
    const choice = e.submitter ? e.submitter.value : "certified";
    const request = post(`/counter/cases/${encodeURIComponent(currentCase)}/decision`, decision, { decision: choice });
    busy(decision, true);
    const { ok, data } = await request;
    busy(decision, false);
    if (!ok) {
      $("decision-status").textContent = data.message;
      return;
    }
    currentCase = null;
    caseSection.hidden = true;
    status.textContent = data.message;
    $("citizen-can").focus();
  });
})();
