//! The IdP's pages: plain HTML, one `<main>`, headings in order, errors announced with
//! `role="alert"`, every control a real link or button (keyboard and screen-reader
//! usable), French or English. Everything that comes from outside is escaped.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use sesame_verifier::certification::{Decision, PassiveAuthenticationVerdict};
use sesame_verifier::{Assurance, VerifiedIdentity, VerifyError};

use crate::ReceivedCertification;

/// The language of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Français (the default).
    Fr,
    /// English.
    En,
}

impl Lang {
    /// `?lang=` when given, else the first of `fr`/`en` in `Accept-Language`, else French.
    #[must_use]
    pub fn choose(query: Option<&str>, accept_language: Option<&str>) -> Self {
        let pick = |tag: &str| {
            let primary = tag.trim().split([';', '-']).next().unwrap_or_default();
            if primary.eq_ignore_ascii_case("en") {
                Some(Self::En)
            } else if primary.eq_ignore_ascii_case("fr") {
                Some(Self::Fr)
            } else {
                None
            }
        };
        query
            .and_then(pick)
            .or_else(|| accept_language.and_then(|list| list.split(',').find_map(pick)))
            .unwrap_or(Self::Fr)
    }

    /// The BCP 47 code (`fr`, `en`).
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::Fr => "fr",
            Self::En => "en",
        }
    }

    /// The French or the English text.
    #[must_use]
    pub const fn pick(self, fr: &'static str, en: &'static str) -> &'static str {
        match self {
            Self::Fr => fr,
            Self::En => en,
        }
    }
}

/// What went wrong, for the error page.
pub(crate) enum Problem<'a> {
    NoRandomness,
    Busy,
    NoLogin,
    LoginExpired,
    StateMismatch,
    NoAssertion,
    Daemon { code: &'a str, description: &'a str },
    Refused(&'a VerifyError),
}

/// HTML-escapes text for element content and quoted attributes.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub(crate) const fn no_store() -> [(HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

fn page(lang: Lang, title: &str, body: &str) -> String {
    let other = match lang {
        Lang::Fr => r#"<a href="/?lang=en" lang="en" hreflang="en">English</a>"#,
        Lang::En => r#"<a href="/?lang=fr" lang="fr" hreflang="fr">Français</a>"#,
    };
    format!(
        "<!doctype html>\n<html lang=\"{code}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} — Sésame IdP</title>\n\
         <style>body{{font:1.1rem/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}\
         a,button{{font-size:1.1rem}}:focus{{outline:3px solid #000091;outline-offset:2px}}\
         dt{{font-weight:bold}}.scroll{{overflow-x:auto}}table{{border-collapse:collapse}}\
         caption{{text-align:left;font-weight:bold;padding:.5rem 0}}\
         th,td{{border:1px solid #555;padding:.25rem .5rem;text-align:left;vertical-align:top}}</style>\n</head>\n<body>\n\
         <header><nav aria-label=\"{lang_label}\">{other}</nav></header>\n\
         <main>\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        code = lang.code(),
        title = escape(title),
        lang_label = lang.pick("Langue", "Language"),
    )
}

pub(crate) fn home(lang: Lang) -> String {
    page(
        lang,
        lang.pick("Fournisseur d'identité de démonstration", "Demonstration identity provider"),
        &format!(
            "<p>{}</p>\n<form method=\"get\" action=\"/login\">\
             <input type=\"hidden\" name=\"lang\" value=\"{}\">\
             <button type=\"submit\">{}</button></form>\n<p>{}</p>",
            lang.pick(
                "Connectez-vous en posant votre carte d'identité sur le lecteur : Sésame la lit sur cet ordinateur et nous transmet votre identité, signée par l'État qui l'a émise.",
                "Log in by placing your ID card on the reader: Sésame reads it on this computer and passes us your identity, signed by the state that issued it.",
            ),
            lang.code(),
            lang.pick("Se connecter avec ma carte d'identité", "Log in with my ID card"),
            lang.pick(
                "Il faut que Sésame soit lancé sur cet ordinateur (sesamed). Avec l'extension Sésame du navigateur, vous pouvez aussi <a href=\"/extension\">vous connecter sans quitter cette page</a>.",
                "Sésame must be running on this computer (sesamed). With the Sésame browser extension, you can also <a href=\"/extension\">log in without leaving this page</a>.",
            ),
        ),
    )
}

/// The extension login page: a button, a live status line, and the form the script fills
/// and posts to `/callback`.
pub(crate) fn extension_login(lang: Lang, state: &str, nonce: &str, claims: &str) -> String {
    page(
        lang,
        lang.pick(
            "Connexion avec l'extension Sésame",
            "Log in with the Sésame extension",
        ),
        &format!(
            "<p>{intro}</p>\n\
             <form id=\"login\" method=\"post\" action=\"/callback\" data-nonce=\"{nonce}\" data-claims=\"{claims}\" \
             data-no-extension=\"{no_extension}\">\
             <input type=\"hidden\" name=\"state\" value=\"{state}\">\
             <input type=\"hidden\" name=\"assertion\" value=\"\">\
             <button id=\"start\" type=\"button\">{button}</button></form>\n\
             <p id=\"status\" role=\"status\"></p>\n<p id=\"problem\" role=\"alert\"></p>\n\
             <script src=\"/static/sesame.js\"></script>\n<script src=\"/static/extension-login.js\"></script>",
            intro = lang.pick(
                "Sésame s'ouvre dans un nouvel onglet : tapez-y le CAN de votre carte, posez-la sur le lecteur, et revenez ici.",
                "Sésame opens in a new tab: type your card's CAN there, place the card on the reader, and come back here.",
            ),
            button = lang.pick("Se connecter avec ma carte d'identité", "Log in with my ID card"),
            no_extension = lang.pick(
                "L'extension Sésame n'est pas installée dans ce navigateur.",
                "The Sésame extension is not installed in this browser.",
            ),
            state = escape(state),
            nonce = escape(nonce),
            claims = escape(claims),
        ),
    )
}

/// The label of a claim (`docs/protocol.md` §3.3) in `lang`.
#[must_use]
pub fn claim_label(lang: Lang, name: &str) -> &'static str {
    match name {
        "family_name" => lang.pick("Nom", "Family name"),
        "given_name" => lang.pick("Prénoms", "Given names"),
        "birthdate" => lang.pick("Date de naissance", "Date of birth"),
        "sex" => lang.pick("Sexe", "Sex"),
        "nationality" => lang.pick("Nationalité", "Nationality"),
        "document_number" => lang.pick("Numéro du document", "Document number"),
        "document_type" => lang.pick("Type de document", "Document type"),
        "issuing_state" => lang.pick("État émetteur", "Issuing state"),
        _ => lang.pick("Date d'expiration", "Expiry date"),
    }
}

pub(crate) fn identity(lang: Lang, identity: &VerifiedIdentity) -> Response {
    let c = &identity.claims;
    let fields = [
        ("family_name", &c.family_name),
        ("given_name", &c.given_name),
        ("birthdate", &c.birthdate),
        ("sex", &c.sex),
        ("nationality", &c.nationality),
        ("document_number", &c.document_number),
        ("document_type", &c.document_type),
        ("issuing_state", &c.issuing_state),
        ("expiry_date", &c.expiry_date),
    ];
    let mut list = String::from("<dl>\n");
    for (name, value) in fields {
        if let Some(value) = value {
            list.push_str(&format!(
                "<dt>{}</dt><dd data-claim=\"{name}\">{}</dd>\n",
                claim_label(lang, name),
                escape(value)
            ));
        }
    }
    list.push_str("</dl>");
    let assurance = match identity.assurance {
        Assurance::ChipAuthenticated => lang.pick(
            "Puce authentifiée : les données sont signées par l'État émetteur et la puce a prouvé qu'elle est authentique.",
            "Chip authenticated: the data is signed by the issuing state and the chip proved it is genuine.",
        ),
        Assurance::ChipSigned => lang.pick(
            "Données signées : elles sont signées par l'État émetteur, mais rien ne prouve que la puce n'est pas une copie.",
            "Chip signed: the data is signed by the issuing state, but nothing proves the chip is not a copy.",
        ),
    };
    let body = format!(
        "<p role=\"status\">{}</p>\n{list}\n<p data-assurance=\"{}\">{assurance}</p>\n<p>{} {}</p>\n<p><a href=\"/?lang={}\">{}</a></p>",
        lang.pick(
            "Votre identité a été vérifiée.",
            "Your identity was verified."
        ),
        match identity.assurance {
            Assurance::ChipAuthenticated => "chip-authenticated",
            Assurance::ChipSigned => "chip-signed",
        },
        lang.pick("Signataire du document :", "Document signer:"),
        escape(&identity.issuer),
        lang.code(),
        lang.pick("Recommencer", "Start again"),
    );
    (
        StatusCode::OK,
        no_store(),
        Html(page(
            lang,
            lang.pick("Identité vérifiée", "Identity verified"),
            &body,
        )),
    )
        .into_response()
}

/// The daemon's error codes (`docs/protocol.md` §1.2), in words.
fn daemon_error(lang: Lang, code: &str) -> &'static str {
    match code {
        "access_denied" => lang.pick(
            "Vous avez annulé la connexion.",
            "You cancelled the login.",
        ),
        "wrong_can" => lang.pick(
            "Le code de la carte (CAN) saisi n'est pas le bon. Il est imprimé au recto de la carte, six chiffres.",
            "The card access number (CAN) entered is not the right one. It is printed on the front of the card, six digits.",
        ),
        "card_error" => lang.pick(
            "La carte n'a pas pu être lue jusqu'au bout (retirée trop tôt, ou réponse invalide). Reposez-la et recommencez.",
            "The card could not be read to the end (removed too early, or an invalid answer). Place it again and start again.",
        ),
        "timeout" => lang.pick(
            "Le délai est dépassé : aucune carte n'a été lue à temps.",
            "Time ran out: no card was read in time.",
        ),
        "unsupported_document" => lang.pick(
            "Ce document n'est pas pris en charge.",
            "This document is not supported.",
        ),
        _ => lang.pick(
            "Sésame a répondu par une erreur inconnue.",
            "Sésame answered with an unknown error.",
        ),
    }
}

/// The verifier's error codes (`docs/protocol.md` §4.1), in French.
fn refused_fr(error: &VerifyError) -> &'static str {
    match error.code() {
        "unsupported_algorithm" | "bad_signature" | "wrong_type" | "wrong_issuer" | "malformed" => {
            "la réponse de Sésame est mal formée ou sa signature ne se vérifie pas"
        }
        "wrong_audience" => "la réponse était destinée à un autre service",
        "nonce_mismatch" | "unknown_nonce" => "la réponse ne correspond pas à cette connexion",
        "replayed_nonce" => "cette réponse a déjà été utilisée",
        "expired" => "la réponse a expiré",
        "not_yet_valid" => "la réponse est datée dans le futur (horloge de cet ordinateur ?)",
        "passive_authentication" => {
            "la signature de l'État émetteur ne se vérifie pas (données modifiées, ou émetteur non reconnu)"
        }
        "claim_mismatch" => "l'identité transmise diffère de celle inscrite dans la puce",
        "active_authentication" => "la preuve d'authenticité de la puce ne se vérifie pas",
        _ => "les données de la puce sont incomplètes ou illisibles",
    }
}

pub(crate) fn error(lang: Lang, status: StatusCode, problem: Problem<'_>) -> Response {
    let (title, message, code) = match problem {
        Problem::NoRandomness | Problem::Busy => (
            lang.pick("Service indisponible", "Service unavailable"),
            lang.pick(
                "Le service ne peut pas ouvrir de connexion pour le moment. Réessayez dans un instant.",
                "The service cannot start a login right now. Try again in a moment.",
            )
            .to_owned(),
            None,
        ),
        Problem::NoLogin => (
            lang.pick("Connexion introuvable", "Login not found"),
            lang.pick(
                "Cette réponse n'appartient à aucune connexion commencée dans ce navigateur, ou elle a déjà servi. Recommencez depuis la page d'accueil.",
                "This answer belongs to no login started in this browser, or it was already used. Start again from the home page.",
            )
            .to_owned(),
            None,
        ),
        Problem::LoginExpired => (
            lang.pick("Connexion expirée", "Login expired"),
            lang.pick(
                "La connexion a pris plus de dix minutes. Recommencez.",
                "The login took more than ten minutes. Start again.",
            )
            .to_owned(),
            None,
        ),
        Problem::StateMismatch => (
            lang.pick("Réponse refusée", "Answer refused"),
            lang.pick(
                "La réponse ne correspond pas à la connexion commencée dans ce navigateur.",
                "The answer does not match the login started in this browser.",
            )
            .to_owned(),
            None,
        ),
        Problem::NoAssertion => (
            lang.pick("Réponse refusée", "Answer refused"),
            lang.pick(
                "Sésame n'a transmis ni identité ni erreur.",
                "Sésame sent neither an identity nor an error.",
            )
            .to_owned(),
            None,
        ),
        Problem::Daemon { code, description } => {
            let mut message = daemon_error(lang, code).to_owned();
            if lang == Lang::En && !description.is_empty() {
                message.push_str(&format!(" ({})", escape(description)));
            }
            (
                lang.pick("Connexion interrompue", "Login interrupted"),
                message,
                Some(escape(code)),
            )
        }
        Problem::Refused(error) => (
            lang.pick("Identité non vérifiée", "Identity not verified"),
            match lang {
                Lang::Fr => format!("Nous refusons cette réponse : {}.", refused_fr(error)),
                Lang::En => format!("We refuse this answer: {}.", escape(&error.to_string())),
            },
            Some(error.code().to_owned()),
        ),
    };
    let code = code.map_or_else(String::new, |code| {
        format!(
            "<p>{} <code data-error=\"{code}\">{code}</code></p>\n",
            lang.pick("Code :", "Code:")
        )
    });
    let body = format!(
        "<div role=\"alert\"><p>{message}</p></div>\n{code}<p><a href=\"/?lang={}\">{}</a></p>",
        lang.code(),
        lang.pick("Retour à l'accueil", "Back to the home page"),
    );
    (status, no_store(), Html(page(lang, title, &body))).into_response()
}

fn verdict_words(lang: Lang, verdict: PassiveAuthenticationVerdict) -> &'static str {
    match verdict {
        PassiveAuthenticationVerdict::Verified => lang.pick(
            "Vérifiée : données signées par l'État émetteur",
            "Verified: data signed by the issuing state",
        ),
        PassiveAuthenticationVerdict::Failed => lang.pick(
            "Échec : la signature de l'État émetteur ne se vérifie pas",
            "Failed: the issuing state's signature does not check out",
        ),
        PassiveAuthenticationVerdict::NotChecked => lang.pick("Non vérifiée", "Not checked"),
    }
}

/// The certifications received, newest first: one `<table>` row each, everything
/// escaped.
pub(crate) fn certifications(lang: Lang, received: &[ReceivedCertification]) -> String {
    let title = lang.pick("Certifications reçues", "Certifications received");
    let intro = lang.pick(
        "Les certifications et refus signés par les guichets de mairie enregistrés, les plus récents d'abord. Chaque ligne a été vérifiée : signature par une clé de guichet enregistrée, destinataire, date, usage unique.",
        "Certifications and refusals signed by the registered town-hall counters, newest first. Each row was verified: signature by a registered counter key, audience, date, single use.",
    );
    if received.is_empty() {
        return page(
            lang,
            title,
            &format!(
                "<p>{intro}</p>\n<p role=\"status\">{}</p>",
                lang.pick(
                    "Aucune certification reçue pour le moment.",
                    "No certification received yet."
                )
            ),
        );
    }
    let columns = [
        lang.pick("Date (UTC)", "Time (UTC)"),
        lang.pick("Guichet", "Station"),
        lang.pick("Agent", "Agent"),
        lang.pick("Décision", "Decision"),
        lang.pick("Numéro du document", "Document number"),
        lang.pick("Nom", "Name"),
        lang.pick("Authentification passive", "Passive authentication"),
        lang.pick("Clé de guichet", "Counter key"),
    ];
    let mut table = format!(
        "<div class=\"scroll\" role=\"region\" aria-labelledby=\"certifications-caption\" tabindex=\"0\">\n\
         <table>\n<caption id=\"certifications-caption\">{} ({})</caption>\n<thead><tr>",
        lang.pick(
            "Certifications, les plus récentes d'abord",
            "Certifications, newest first"
        ),
        received.len(),
    );
    for column in columns {
        table.push_str(&format!("<th scope=\"col\">{column}</th>"));
    }
    table.push_str("</tr></thead>\n<tbody>\n");
    for row in received {
        let record = &row.certification.payload;
        let signed = sesame_protocol::rfc3339(record.iat);
        let decision = match (record.decision, record.reason.as_deref()) {
            (Decision::Certified, _) => lang.pick("Certifiée", "Certified").to_owned(),
            (Decision::Refused, reason) => format!(
                "{} <q data-reason>{}</q>",
                lang.pick("Refusée :", "Refused:"),
                escape(reason.unwrap_or_default())
            ),
        };
        let name = if record.document.given_name.is_empty() {
            escape(&record.document.family_name)
        } else {
            format!(
                "{}, {}",
                escape(&record.document.family_name),
                escape(&record.document.given_name)
            )
        };
        table.push_str(&format!(
            "<tr data-jti=\"{jti}\" data-decision=\"{decision_code}\">\
             <td><time datetime=\"{signed}\">{signed_text}</time></td>\
             <td>{station}</td>\
             <td>{agent} <small>({agent_id})</small></td>\
             <td>{decision}</td>\
             <td>{document_number}</td>\
             <td>{name}</td>\
             <td data-pa=\"{pa_code}\">{pa}</td>\
             <td>{counter}</td></tr>\n",
            jti = escape(&record.jti),
            decision_code = record.decision.as_str(),
            signed_text = signed.replace('T', " ").trim_end_matches('Z'),
            station = escape(&record.station),
            agent = escape(&record.agent.name),
            agent_id = escape(&record.agent.id),
            document_number = escape(&record.document.document_number),
            pa_code = record.checks.passive_authentication.as_str(),
            pa = verdict_words(lang, record.checks.passive_authentication),
            counter = escape(&row.certification.counter_name),
        ));
    }
    table.push_str("</tbody>\n</table>\n</div>");
    page(
        lang,
        title,
        &format!(
            "<p>{intro}</p>\n{table}\n<p><a href=\"/certifications.json\">{}</a></p>",
            lang.pick("La même liste en JSON", "The same list as JSON")
        ),
    )
}
