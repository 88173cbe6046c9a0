//! Webhook subscriptions and their deliveries. The events themselves are
//! written by the schema's triggers (see `schema::V7_WEBHOOKS`), in the
//! transaction of the change that causes them; here they are claimed and
//! settled.
//!
//! A subscription's signing secret is encrypted with the store key and
//! bound to its row as credentials are: the associated data names the id
//! and the URL, so a ciphertext copied onto another row, or a row edited to
//! send elsewhere, does not decrypt (and nothing is sent signed).
//!
//! Event names are text here: the `webhooks` module parses them (the store
//! only keeps them, and must not depend on the module that sends them).

use super::{DbResult, Millis, StoreError};
use crate::secrets::crypto::{NONCE_LEN, StoreKey};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use secrecy::{ExposeSecret, SecretString};

/// A subscription as listed (never its secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct WebhookSubscription {
    pub id: i64,
    pub url: String,
    /// Event names, e.g. `job.ended`.
    pub events: Vec<String>,
    pub created_by: String,
    pub created_at: Millis,
}

/// A subscription to store; `secret` is encrypted by the store with the key.
pub struct NewWebhookSubscription {
    pub url: String,
    pub events: Vec<String>,
    pub created_by: String,
    pub secret: SecretString,
}

/// A delivery claimed for sending.
pub struct DueDelivery {
    /// Stable across attempts: the receiver de-duplicates on it.
    pub id: i64,
    pub subscription_id: i64,
    pub url: String,
    /// The subscription's signing secret; `None` when this key cannot
    /// decrypt it (the delivery is then settled as a failed attempt).
    pub secret: Option<SecretString>,
    pub event: String,
    pub payload: serde_json::Value,
    /// When the event happened.
    pub created_at: Millis,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

/// How one attempt of a delivery went.
#[derive(Debug, Clone)]
pub enum DeliveryOutcome {
    Delivered,
    /// Send again from `at`; `error` is secret-free.
    Retry {
        at: Millis,
        error: String,
    },
    /// No attempts left.
    Failed {
        error: String,
    },
}

/// What a delivery looks like in the store (tests, inspection).
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub subscription_id: i64,
    pub event: String,
    pub payload: serde_json::Value,
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// Binds a secret to its row. Changing this format makes every stored
/// secret undecryptable: add a `v2` instead.
fn associated_data(id: i64, url: &str) -> Vec<u8> {
    format!("panelwright-webhook-secret:v1:{id}:{url}").into_bytes()
}

fn events_of(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

pub(super) fn create(
    conn: &mut Connection,
    key: &StoreKey,
    new: &NewWebhookSubscription,
    now: Millis,
) -> DbResult<WebhookSubscription> {
    let events = serde_json::to_string(&new.events)
        .map_err(|e| StoreError::Invalid(format!("webhook events: {e}")))?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The id is part of the associated data: the row goes in with an empty
    // secret, then gets its ciphertext, in one transaction.
    let id: i64 = tx.query_row(
        "INSERT INTO webhook_subscriptions (url, events, secret_nonce, secret_ciphertext,
                                            created_by, created_at)
         VALUES (?1, ?2, x'', x'', ?3, ?4) RETURNING id",
        params![new.url, events, new.created_by, now],
        |r| r.get(0),
    )?;
    let (nonce, ciphertext) = key.encrypt(
        new.secret.expose_secret().as_bytes(),
        &associated_data(id, &new.url),
    );
    tx.execute(
        "UPDATE webhook_subscriptions SET secret_nonce = ?2, secret_ciphertext = ?3 WHERE id = ?1",
        params![id, &nonce[..], ciphertext],
    )?;
    tx.commit()?;
    Ok(WebhookSubscription {
        id,
        url: new.url.clone(),
        events: new.events.clone(),
        created_by: new.created_by.clone(),
        created_at: now,
    })
}

const COLUMNS: &str = "id, url, events, created_by, created_at";

fn subscription_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WebhookSubscription> {
    let events: String = r.get(2)?;
    Ok(WebhookSubscription {
        id: r.get(0)?,
        url: r.get(1)?,
        events: events_of(&events),
        created_by: r.get(3)?,
        created_at: r.get(4)?,
    })
}

/// Active subscriptions, oldest first.
pub(super) fn list(conn: &mut Connection) -> DbResult<Vec<WebhookSubscription>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM webhook_subscriptions WHERE disabled_at IS NULL ORDER BY id"
    ))?;
    let rows = stmt.query_map([], subscription_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Disables an active subscription (kept for the record); its pending
/// deliveries are no longer sent. Returns it as it was.
pub(super) fn disable(
    conn: &mut Connection,
    id: i64,
    now: Millis,
) -> DbResult<WebhookSubscription> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = tx
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM webhook_subscriptions WHERE id = ?1 AND disabled_at IS NULL"
            ),
            [id],
            subscription_row,
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("no webhook subscription {id}")))?;
    tx.execute(
        "UPDATE webhook_subscriptions SET disabled_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    tx.execute(
        "UPDATE webhook_deliveries SET status = 'failed', last_error = 'subscription deleted'
          WHERE subscription_id = ?1 AND status = 'pending'",
        [id],
    )?;
    tx.commit()?;
    Ok(found)
}

/// Claims up to `limit` due deliveries of active subscriptions: counts the
/// attempt and moves `next_attempt_at` to `now + lease`, so no other sender
/// takes them meanwhile, and a sender that dies leaves them due again then.
pub(super) fn claim(
    conn: &mut Connection,
    key: &StoreKey,
    now: Millis,
    lease: Millis,
    limit: usize,
) -> DbResult<Vec<DueDelivery>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut claimed = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            // RETURNING may not name the table by an alias: no alias here.
            "UPDATE webhook_deliveries
                SET attempts = attempts + 1, next_attempt_at = ?2
              WHERE id IN (SELECT w.id FROM webhook_deliveries AS w
                             JOIN webhook_subscriptions AS s ON s.id = w.subscription_id
                            WHERE w.status = 'pending' AND w.next_attempt_at <= ?1
                              AND s.disabled_at IS NULL
                            ORDER BY w.next_attempt_at, w.id LIMIT ?3)
             RETURNING id, subscription_id, event_id, attempts",
        )?;
        let rows = stmt.query_map(params![now, now + lease, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, u32>(3)?,
            ))
        })?;
        for row in rows {
            claimed.push(row?);
        }
    }
    let mut due = Vec::with_capacity(claimed.len());
    for (id, subscription_id, event_id, attempts) in claimed {
        due.push(load_due(&tx, key, id, subscription_id, event_id, attempts)?);
    }
    tx.commit()?;
    due.sort_by_key(|d| (d.created_at, d.id));
    Ok(due)
}

fn load_due(
    tx: &rusqlite::Transaction<'_>,
    key: &StoreKey,
    id: i64,
    subscription_id: i64,
    event_id: i64,
    attempts: u32,
) -> DbResult<DueDelivery> {
    let (url, nonce, ciphertext): (String, Vec<u8>, Vec<u8>) = tx
        .prepare_cached(
            "SELECT url, secret_nonce, secret_ciphertext FROM webhook_subscriptions WHERE id = ?1",
        )?
        .query_row([subscription_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let secret = <[u8; NONCE_LEN]>::try_from(nonce)
        .ok()
        .and_then(|n| {
            key.decrypt(&n, &ciphertext, &associated_data(subscription_id, &url))
                .ok()
        })
        .and_then(|plain| String::from_utf8(plain).ok())
        .map(SecretString::from);
    let (event, payload, created_at): (String, String, Millis) = tx
        .prepare_cached("SELECT event, payload, created_at FROM webhook_events WHERE id = ?1")?
        .query_row([event_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(DueDelivery {
        id,
        subscription_id,
        url,
        secret,
        event,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        created_at,
        attempts,
    })
}

/// Records how an attempt went (only a pending delivery changes).
pub(super) fn settle(
    conn: &mut Connection,
    id: i64,
    outcome: &DeliveryOutcome,
    now: Millis,
) -> DbResult<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE webhook_deliveries
            SET status = ?2, next_attempt_at = COALESCE(?3, next_attempt_at),
                last_error = ?4, delivered_at = ?5
          WHERE id = ?1 AND status = 'pending'",
    )?;
    match outcome {
        DeliveryOutcome::Delivered => stmt.execute(params![
            id,
            "delivered",
            None::<Millis>,
            None::<String>,
            now
        ])?,
        DeliveryOutcome::Retry { at, error } => {
            stmt.execute(params![id, "pending", at, error, None::<Millis>])?
        }
        DeliveryOutcome::Failed { error } => {
            stmt.execute(params![id, "failed", None::<Millis>, error, None::<Millis>])?
        }
    };
    Ok(())
}

/// Deletes events from before `before` that have no pending delivery left,
/// and their deliveries: the outbox keeps what is still to send and the
/// recent past. The number of events deleted.
pub(super) fn prune(conn: &mut Connection, before: Millis) -> DbResult<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "DELETE FROM webhook_deliveries WHERE event_id IN (
             SELECT e.id FROM webhook_events AS e WHERE e.created_at < ?1
                AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS d
                                 WHERE d.event_id = e.id AND d.status = 'pending'))",
        [before],
    )?;
    // Deliveries are gone first, so this holds without `foreign_keys`.
    let events = tx.execute(
        "DELETE FROM webhook_events AS e WHERE e.created_at < ?1
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS d WHERE d.event_id = e.id)",
        [before],
    )?;
    tx.commit()?;
    Ok(events)
}

/// Deliveries of one subscription (or all), oldest first.
pub(super) fn deliveries(
    conn: &mut Connection,
    subscription_id: Option<i64>,
) -> DbResult<Vec<DeliveryRow>> {
    let mut stmt = conn.prepare(
        "SELECT d.id, d.subscription_id, e.event, e.payload, d.status, d.attempts, d.last_error
           FROM webhook_deliveries AS d JOIN webhook_events AS e ON e.id = d.event_id
          WHERE ?1 IS NULL OR d.subscription_id = ?1 ORDER BY d.id",
    )?;
    let rows = stmt.query_map([subscription_id], |r| {
        let payload: String = r.get(3)?;
        Ok(DeliveryRow {
            id: r.get(0)?,
            subscription_id: r.get(1)?,
            event: r.get(2)?,
            payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
            status: r.get(4)?,
            attempts: r.get(5)?,
            last_error: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, now_millis};

    async fn store_with(events: &[&str]) -> (tempfile::TempDir, Store, StoreKey, i64) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite")).await.unwrap();
        let (key, _) = StoreKey::generate();
        let sub = store
            .create_webhook(
                &key,
                NewWebhookSubscription {
                    url: "http://127.0.0.1:9/hook".into(),
                    events: events.iter().map(|e| e.to_string()).collect(),
                    created_by: "test".into(),
                    secret: SecretString::from("whsec_c2VjcmV0"),
                },
            )
            .await
            .unwrap();
        (dir, store, key, sub.id)
    }

    fn sql(store: &Store, sql: &str) {
        let conn = Connection::open(store.path()).unwrap();
        conn.execute_batch(sql).unwrap();
    }

    #[tokio::test]
    async fn a_job_ending_writes_one_event_and_one_delivery_per_subscriber() {
        let (_dir, store, key, sub) = store_with(&["job.ended"]).await;
        sql(
            &store,
            "INSERT INTO jobs (kind, company, params) VALUES ('noop', 'C-1', '{\"password\":\"p4ss\"}');
             UPDATE jobs SET status = 'running';
             UPDATE jobs SET status = 'succeeded', finished_at = 5;",
        );
        let rows = store.webhook_deliveries(Some(sub)).await.unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].event, "job.ended");
        assert_eq!(rows[0].payload["status"], "succeeded");
        assert_eq!(rows[0].payload["company"], "C-1");
        assert!(!rows[0].payload.to_string().contains("p4ss"));
        // Claimed once: a second claim before the lease ends finds nothing.
        let due = store
            .claim_webhook_deliveries(&key, 60_000, 10)
            .await
            .unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].attempts, 1);
        assert_eq!(
            due[0]
                .secret
                .as_ref()
                .map(|s| s.expose_secret().to_string()),
            Some("whsec_c2VjcmV0".to_string())
        );
        assert!(
            store
                .claim_webhook_deliveries(&key, 60_000, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_sender_that_dies_mid_send_leaves_the_delivery_due_again_with_its_id() {
        let (_dir, store, key, _) = store_with(&["job.ended"]).await;
        sql(
            &store,
            "INSERT INTO jobs (kind) VALUES ('noop'); UPDATE jobs SET status = 'failed';",
        );
        // A lease of 0: as if it had run out before the sender settled.
        let first = store.claim_webhook_deliveries(&key, 0, 10).await.unwrap();
        let second = store.claim_webhook_deliveries(&key, 0, 10).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(second.len(), 1);
        assert_eq!(first[0].id, second[0].id);
        assert_eq!(second[0].attempts, 2);
        store
            .settle_webhook_delivery(second[0].id, DeliveryOutcome::Delivered)
            .await
            .unwrap();
        assert!(
            store
                .claim_webhook_deliveries(&key, 0, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.webhook_deliveries(None).await.unwrap()[0].status,
            "delivered"
        );
    }

    #[tokio::test]
    async fn nothing_is_written_without_a_subscriber_and_a_wrong_key_decrypts_nothing() {
        let (_dir, store, _key, _) = store_with(&["probe.incident_opened"]).await;
        sql(
            &store,
            "INSERT INTO jobs (kind) VALUES ('noop'); UPDATE jobs SET status = 'cancelled';",
        );
        assert!(store.webhook_deliveries(None).await.unwrap().is_empty());
        let (_dir2, store2, _key2, _) = store_with(&["job.ended"]).await;
        sql(
            &store2,
            "INSERT INTO jobs (kind) VALUES ('noop'); UPDATE jobs SET status = 'cancelled';",
        );
        let (wrong, _) = StoreKey::generate();
        let due = store2
            .claim_webhook_deliveries(&wrong, 1000, 10)
            .await
            .unwrap();
        assert_eq!(due.len(), 1);
        assert!(due[0].secret.is_none());
    }

    #[tokio::test]
    async fn probe_incidents_open_at_the_first_failure_and_close_at_the_next_ok_run() {
        let (_dir, store, _key, sub) =
            store_with(&["probe.incident_opened", "probe.incident_closed"]).await;
        sql(
            &store,
            "INSERT INTO vendors (name) VALUES ('v');
             INSERT INTO vendor_accounts (name, vendor_id, base_url) VALUES ('acct', 1, 'http://x');",
        );
        let now = now_millis();
        for (i, ok) in [true, false, false, true, true, false].iter().enumerate() {
            store
                .record_probe(
                    "acct",
                    crate::store::NewProbeRun {
                        job_id: None,
                        at: now + i as i64 * 1000,
                        ok: *ok,
                        latency_ms: 10,
                        failed_step: (!ok).then(|| "login/1".to_string()),
                        class: (!ok).then_some(crate::failure::FailureClass::Transient),
                        message: None,
                        steps: Vec::new(),
                    },
                )
                .await
                .unwrap();
        }
        let rows = store.webhook_deliveries(Some(sub)).await.unwrap();
        let events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(
            events,
            [
                "probe.incident_opened",
                "probe.incident_closed",
                "probe.incident_opened"
            ]
        );
        assert_eq!(rows[1].payload["failed_runs"], 2);
        assert_eq!(rows[1].payload["started_at"], now + 1000);
        assert_eq!(rows[1].payload["ended_at"], now + 3000);
        assert_eq!(rows[0].payload["vendor_account"], "acct");
    }

    #[tokio::test]
    async fn needs_attention_and_service_changes_are_events_too() {
        let (_dir, store, _key, sub) = store_with(&[
            "job.ended",
            "job.needs_attention",
            "service_change.detected",
        ])
        .await;
        sql(
            &store,
            "INSERT INTO jobs (kind) VALUES ('provision');
             UPDATE jobs SET status = 'needs-attention', error_class = 'secret-lost';
             INSERT INTO vendors (name) VALUES ('v');
             INSERT INTO vendor_accounts (name, vendor_id, base_url) VALUES ('acct', 1, 'http://x');
             INSERT INTO companies (external_id, name) VALUES ('C-1', 'Co');
             INSERT INTO vendor_customers (vendor_account_id, vendor_ref, name, company_id, status)
                  VALUES (1, 'R-1', 'Cust', 1, 'mapped');
             INSERT INTO report_runs (vendor_account_id, full, at) VALUES (1, 1, 5);
             INSERT INTO service_changes (vendor_customer_id, report_run_id, item_kind, item_key,
                                          change, before, after, detected_at)
                  VALUES (1, 1, 'seat', 'a@x.example', 'added', NULL, 'active', 6);",
        );
        // The two job triggers fire in an order SQLite chooses: sorted.
        let mut rows = store.webhook_deliveries(Some(sub)).await.unwrap();
        rows.sort_by(|a, b| a.event.cmp(&b.event));
        assert_eq!(rows[0].payload["status"], "needs-attention");
        let events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
        assert_eq!(
            events,
            [
                "job.ended",
                "job.needs_attention",
                "service_change.detected"
            ]
        );
        assert_eq!(rows[1].payload["error_class"], "secret-lost");
        let change = &rows[2].payload;
        assert_eq!(change["company"], "C-1");
        assert_eq!(change["vendor_account"], "acct");
        assert_eq!(change["vendor_customer"], "R-1");
        assert_eq!(change["change"], "added");
        assert_eq!(change["item_key"], "a@x.example");
    }

    #[tokio::test]
    async fn pruning_keeps_what_is_still_to_send() {
        let (_dir, store, key, _) = store_with(&["job.ended"]).await;
        sql(
            &store,
            "INSERT INTO jobs (kind) VALUES ('noop'), ('noop');
             UPDATE jobs SET status = 'cancelled';",
        );
        let due = store
            .claim_webhook_deliveries(&key, 60_000, 1)
            .await
            .unwrap();
        store
            .settle_webhook_delivery(due[0].id, DeliveryOutcome::Delivered)
            .await
            .unwrap();
        assert_eq!(
            store.prune_webhook_events(0).await.unwrap(),
            0,
            "all recent"
        );
        let pruned = store.prune_webhook_events(now_millis() + 1).await.unwrap();
        assert_eq!(pruned, 1);
        let left = store.webhook_deliveries(None).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].status, "pending");
    }
}
