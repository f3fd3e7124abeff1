//! The counter page: one page, two states (sign-in, then the counter), server-rendered in
//! French or English, driven by `assets/counter.js`. Built for eight hours a day at a
//! desk: every action has a key (Tab order follows the work: reader, CAN or MRZ, read,
//! the two confirmations, certify; refuse with its reason), the photo is large with its
//! alternative text, and verdicts are words, not colours.

use sesame_idp::Lang;

use crate::counter::esc;

/// The page; `agent` is the signed-in agent's name and session token.
pub(crate) fn render(lang: Lang, station: &str, agent: Option<(&str, &str)>) -> String {
    let t = |fr: &'static str, en: &'static str| lang.pick(fr, en);
    let card_fields = |prefix: &str| {
        format!(
            "<p id=\"{prefix}-reader-choice\"><label for=\"{prefix}-reader\">{reader}</label>\n\
             <select id=\"{prefix}-reader\" name=\"reader\" class=\"reader-select\"><option value=\"\">{auto}</option></select></p>\n\
             <p><label for=\"{prefix}-can\">{can}</label></p>\n\
             <p><input id=\"{prefix}-can\" name=\"can\" type=\"text\" inputmode=\"numeric\" autocomplete=\"off\" maxlength=\"6\" \
             aria-describedby=\"{prefix}-can-hint\"></p>\n<p id=\"{prefix}-can-hint\" class=\"hint\">{can_hint}</p>\n",
            reader = t("Lecteur", "Reader"),
            auto = t("Celui où se trouve la carte", "The one with the card"),
            can = t(
                "Numéro d'accès (CAN, 6 chiffres)",
                "Card access number (CAN, 6 digits)"
            ),
            can_hint = t(
                "Ou laissez-le vide et saisissez ou scannez la bande MRZ ci-dessous.",
                "Or leave it empty and type or scan the MRZ below.",
            ),
        )
    };
    let body = match agent {
        None => format!(
            "<p>{intro}</p>\n<form id=\"sign-in\" method=\"post\" action=\"/counter/sign-in\">\n{fields}\
             <p><button type=\"submit\">{button}</button></p>\n</form>\n\
             <p id=\"status\" role=\"status\"></p>\n<p id=\"problem\" class=\"error\" role=\"alert\"></p>",
            intro = t(
                "Identifiez-vous avec votre propre carte d'identité : posez-la sur le lecteur et tapez son CAN.",
                "Sign in with your own identity card: place it on the reader and type its CAN.",
            ),
            fields = card_fields("agent"),
            button = t("Me connecter", "Sign in"),
        ),
        Some((name, token)) => format!(
            "<p>{signed_in} <strong>{name}</strong>. <button id=\"sign-out\" type=\"button\" class=\"secondary\">{sign_out}</button></p>\n\
             <section aria-labelledby=\"read-h\"><h2 id=\"read-h\">{read_h}</h2>\n\
             <p id=\"readers\" role=\"status\"></p>\n\
             <form id=\"read\" method=\"post\" action=\"/counter/read\" data-token=\"{token}\">\n\
             <input type=\"hidden\" name=\"token\" value=\"{token}\">\n{fields}\
             <p><label for=\"citizen-mrz\">{mrz}</label></p>\n\
             <p><textarea id=\"citizen-mrz\" name=\"mrz\" rows=\"3\" cols=\"44\" autocomplete=\"off\" spellcheck=\"false\"></textarea></p>\n\
             <p><button type=\"submit\">{read}</button></p>\n</form>\n\
             <p id=\"status\" role=\"status\"></p>\n<p id=\"problem\" class=\"error\" role=\"alert\"></p></section>\n\
             <section id=\"case\" aria-labelledby=\"case-h\" hidden><h2 id=\"case-h\" tabindex=\"-1\">{case_h}</h2>\n\
             <div class=\"case\"><img id=\"photo\" alt=\"{photo_alt}\">\n\
             <dl id=\"identity\"></dl></div>\n<p id=\"verdict\"></p>\n\
             <form id=\"decision\" method=\"post\">\n<input type=\"hidden\" name=\"token\" value=\"{token}\">\n\
             <fieldset><legend>{checks}</legend>\n\
             <p><input type=\"checkbox\" id=\"face-matches\" name=\"face_matches\" value=\"yes\"> <label for=\"face-matches\">{face}</label></p>\n\
             <p><input type=\"checkbox\" id=\"document-valid\" name=\"document_valid\" value=\"yes\"> <label for=\"document-valid\">{valid}</label></p>\n\
             </fieldset>\n<p><button id=\"certify\" type=\"submit\" name=\"decision\" value=\"certified\">{certify}</button></p>\n\
             <p><label for=\"reason\">{reason}</label></p>\n<p><input id=\"reason\" name=\"reason\" type=\"text\" maxlength=\"500\"></p>\n\
             <p><button id=\"refuse\" type=\"submit\" name=\"decision\" value=\"refused\" class=\"secondary\">{refuse}</button></p>\n</form>\n\
             <p id=\"decision-status\" role=\"status\"></p></section>",
            signed_in = t("Agent :", "Agent:"),
            name = esc(name),
            token = esc(token),
            sign_out = t("Me déconnecter", "Sign out"),
            read_h = t("Lire la carte du citoyen", "Read the citizen's card"),
            fields = card_fields("citizen"),
            mrz = t(
                "MRZ (bande en bas de la carte)",
                "MRZ (the lines at the bottom of the card)"
            ),
            read = t("Lire la carte", "Read the card"),
            case_h = t("Vérification", "Verification"),
            photo_alt = t(
                "Photo lue dans la puce de la carte",
                "Photo read from the card's chip"
            ),
            checks = t("Avant de certifier", "Before certifying"),
            face = t(
                "La personne présente correspond à la photo",
                "The person in front of me matches the photo"
            ),
            valid = t("Le document est valide", "The document is valid"),
            certify = t("Certifier l'identité", "Certify the identity"),
            reason = t("Motif du refus", "Reason for refusal"),
            refuse = t("Refuser", "Refuse"),
        ),
    };
    format!(
        "<!doctype html>\n<html lang=\"{code}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} — Sésame</title>\n<link rel=\"stylesheet\" href=\"/static/sesame.css\">\n\
         </head>\n<body class=\"counter\">\n<main>\n<h1>{title}</h1>\n<p class=\"station\">{station}</p>\n{body}\n</main>\n\
         <script src=\"/static/counter.js\"></script>\n</body>\n</html>\n",
        code = lang.code(),
        title = t(
            "Guichet — certification d'identité",
            "Counter — identity certification"
        ),
        station = esc(station),
    )
}
