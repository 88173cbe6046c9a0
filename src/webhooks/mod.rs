//! Webhooks: what an RMM learns without polling. A subscription (URL and
//! event names, made through `POST /api/v1/webhooks`) receives a signed
//! JSON POST for each event it wants, at least once.
//!
//! - The events are written by the store's triggers in the transaction of
//!   the change that causes them (see `store::schema`, version 7): an outbox.
//! - [`sign`]: the signing secret and the Standard Webhooks signature.
//! - [`deliver`]: the loop `serve` runs: claims due deliveries, POSTs them,
//!   retries with backoff, gives up after [`deliver::MAX_ATTEMPTS`].

pub mod deliver;
pub mod sign;

use crate::text::text_enum;

/// What a subscription may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Event {
    /// A job reached a finished status (succeeded, failed, dead, cancelled,
    /// needs-attention).
    JobEnded,
    /// A job finished as `needs-attention`: a person must act.
    JobNeedsAttention,
    /// A report run found a change at a vendor (a service change row).
    ServiceChangeDetected,
    /// A vendor console's probe failed after an ok run (or at its first run).
    ProbeIncidentOpened,
    /// The next ok probe run after an incident.
    ProbeIncidentClosed,
}

text_enum!(Event, "webhook event", {
    JobEnded => "job.ended",
    JobNeedsAttention => "job.needs_attention",
    ServiceChangeDetected => "service_change.detected",
    ProbeIncidentOpened => "probe.incident_opened",
    ProbeIncidentClosed => "probe.incident_closed",
});

/// The body of a delivery: the event's name, when it happened (RFC 3339,
/// UTC) and its payload, as the store's trigger wrote it. The same bytes at
/// every attempt.
pub fn body(event: &str, created_at: crate::store::Millis, payload: &serde_json::Value) -> String {
    let timestamp = jiff::Timestamp::from_millisecond(created_at)
        .map(|t| t.to_string())
        .unwrap_or_default();
    serde_json::json!({ "type": event, "timestamp": timestamp, "data": payload }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_the_contract_s() {
        let names: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(
            names,
            [
                "job.ended",
                "job.needs_attention",
                "service_change.detected",
                "probe.incident_opened",
                "probe.incident_closed"
            ]
        );
        assert!("job.finished".parse::<Event>().is_err());
    }

    /// Every event a trigger writes is one a subscription may ask for.
    #[test]
    fn the_schema_s_triggers_write_only_known_events() {
        let schema = include_str!("../store/schema.rs");
        for line in schema.lines() {
            if let Some(rest) = line.trim().strip_prefix("VALUES ('")
                && let Some(name) = rest.split('\'').next()
            {
                assert!(name.parse::<Event>().is_ok(), "{name}");
            }
        }
        for e in Event::ALL {
            assert!(schema.contains(&format!("'{e}'")), "no trigger writes {e}");
        }
    }

    #[test]
    fn a_body_is_the_same_bytes_every_time() {
        let p = serde_json::json!({"id": 4, "status": "succeeded"});
        let a = body("job.ended", 1_700_000_000_000, &p);
        assert_eq!(a, body("job.ended", 1_700_000_000_000, &p));
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        assert_eq!(v["type"], "job.ended");
        assert_eq!(v["timestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(v["data"]["id"], 4);
    }
}
