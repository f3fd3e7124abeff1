//! Recording a counter decision: the certification record (`docs/counter.md`) signed with
//! the counter's key, appended to the journal, and delivered to the IdP's certification
//! endpoint. The journal entry is written first: a record the IdP never received is
//! still on file (with its delivery status), never the other way round.

use sesame_verifier::certification::{
    self, CertificationPayload, Checks, PassiveAuthenticationVerdict,
};

use crate::counter::{Agent, Case};
use crate::web::Daemon;

/// What the agent decided.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Certified (true) or refused.
    pub certified: bool,
    /// "The person matches the photo".
    pub face_matches: bool,
    /// "The document is valid".
    pub document_valid: bool,
    /// The refusal's reason.
    pub reason: Option<String>,
}

/// Signs, journals and delivers the record; answers what the page shows
/// (`{"decision", "delivered", "message", "jti"}`).
///
/// # Errors
/// When the record cannot be signed or journaled (nothing is delivered then).
pub async fn record(
    daemon: &Daemon,
    agent: &Agent,
    case: &Case,
    decision: Decision,
) -> Result<serde_json::Value, String> {
    let counter = daemon.counter.as_ref().ok_or("not a counter")?;
    let settings = &daemon.config.counter;
    let now = sesame_protocol::unix_now();
    let jti = certification::new_jti(&mut sesame_protocol::random::SystemRandom)
        .map_err(|e| e.to_string())?;
    let payload = CertificationPayload {
        iss: certification::counter_issuer(&counter.key),
        aud: settings.audience.clone().unwrap_or_default(),
        iat: now,
        jti: jti.clone(),
        decision: if decision.certified {
            certification::Decision::Certified
        } else {
            certification::Decision::Refused
        },
        reason: decision.reason.clone(),
        agent: certification::Agent {
            id: agent.id.clone(),
            name: agent.name.clone(),
        },
        station: settings.station.clone(),
        document: case.document.clone(),
        checks: Checks {
            face_matches: decision.face_matches,
            document_valid: decision.document_valid,
            passive_authentication: match case.passive_authentication {
                "verified" => PassiveAuthenticationVerdict::Verified,
                "failed" => PassiveAuthenticationVerdict::Failed,
                _ => PassiveAuthenticationVerdict::NotChecked,
            },
            chip_authentication: case.chip_authentication,
        },
        dg2_sha256: case.dg2_sha256.clone(),
    };
    let jws = certification::issue_certification(payload.clone(), &counter.key)
        .map_err(|e| e.to_string())?;
    let verb = if decision.certified {
        "certified"
    } else {
        "refused"
    };
    // The journal holds the record's facts (never the photo, the CAN or the MRZ), and
    // the record's own hash, so an auditor can match it with the IdP's copy.
    let mut facts = serde_json::to_value(&payload).map_err(|e| e.to_string())?;
    facts["record_sha256"] = serde_json::Value::String(certification::dg2_sha256(jws.as_bytes()));
    counter.journal(
        if decision.certified {
            "certification"
        } else {
            "refusal"
        },
        facts,
    )?;
    tracing::info!(
        agent = agent.name,
        decision = verb,
        jti,
        "counter: decision recorded"
    );
    let delivered = match settings.certification_endpoint.as_deref() {
        None => None,
        Some(url) => Some(crate::deliver::post(url, "application/jose", &jws).await),
    };
    let (delivered, message) = match (&delivered, decision.certified) {
        (None, _) => (
            false,
            "Recorded in the journal (no certification endpoint configured).".to_owned(),
        ),
        (Some(Ok((201, _))), true) => {
            (true, "Identity certified; the IdP confirmed it.".to_owned())
        }
        (Some(Ok((201, _))), false) => (true, "Refusal recorded; the IdP confirmed it.".to_owned()),
        (Some(Ok((status, body))), _) => (
            false,
            format!(
                "Recorded in the journal, but the IdP refused the record ({status}): {}",
                body.chars().take(200).collect::<String>()
            ),
        ),
        (Some(Err(e)), _) => (
            false,
            format!("Recorded in the journal, but not delivered: {e}"),
        ),
    };
    if let Err(e) = counter.journal(
        "delivery",
        serde_json::json!({ "jti": jti, "delivered": delivered, "result": message }),
    ) {
        tracing::warn!("counter: the delivery could not be journaled: {e}");
    }
    Ok(serde_json::json!({
        "decision": verb,
        "jti": jti,
        "delivered": delivered,
        "message": message,
    }))
}
