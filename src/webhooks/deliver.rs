//! The delivery loop `serve` runs: claim due deliveries, POST each one
//! signed, settle it (delivered, retry later, or failed).
//!
//! At least once: a delivery is claimed (its attempt counted and
//! `next_attempt_at` moved past [`DeliveryConfig::lease`]) before it is
//! sent and settled after; a process that dies in between leaves it due
//! again when the lease ends, and it is sent again with the same
//! `webhook-id`, which the receiver de-duplicates on. Two `serve`
//! processes on one store never hold the same delivery at once.

use super::sign;
use crate::retry::RetryPolicy;
use crate::secrets::crypto::StoreKey;
use crate::store::{DeliveryOutcome, DueDelivery, Store, now_millis};
use std::path::PathBuf;
use std::time::Duration;

/// How often the loop looks for due deliveries (events come from other
/// processes too, the workers, so it polls).
pub const POLL: Duration = Duration::from_secs(1);
/// The longest a receiver may take to answer one delivery.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts of one delivery before it is `failed`.
pub const MAX_ATTEMPTS: u32 = 8;
/// The wait before the first retry; each next one is [`RETRY_MULTIPLIER`]
/// times longer, up to [`RETRY_MAX_INTERVAL`], with ±30 % jitter (the
/// `retry` module's schedule): 10 s, 40 s, 2.7 min, 11 min, 43 min, then
/// hourly, about 3.5 h from the first attempt to the last.
pub const RETRY_INITIAL: Duration = Duration::from_secs(10);
pub const RETRY_MULTIPLIER: f64 = 4.0;
pub const RETRY_MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// Deliveries claimed (and sent concurrently) per pass.
pub const BATCH: usize = 16;
/// How long events and their settled deliveries stay in the store (for
/// inspection); pending ones stay until settled.
pub const RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
/// How often old events are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How the loop behaves; [`DeliveryConfig::default`] uses the constants.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub poll: Duration,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub retry: RetryPolicy,
    pub batch: usize,
    /// Where the store key is read from (else `$PANELWRIGHT_KEY`): it
    /// decrypts the signing secrets.
    pub key_file: Option<PathBuf>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            poll: POLL,
            timeout: REQUEST_TIMEOUT,
            max_attempts: MAX_ATTEMPTS,
            retry: retry_policy(RETRY_INITIAL),
            batch: BATCH,
            key_file: None,
        }
    }
}

/// The retry schedule starting at `initial` (`serve --webhook-retry-initial`).
pub fn retry_policy(initial: Duration) -> RetryPolicy {
    RetryPolicy {
        initial,
        max_interval: RETRY_MAX_INTERVAL,
        multiplier: RETRY_MULTIPLIER,
        ..RetryPolicy::default()
    }
}

impl DeliveryConfig {
    /// How long a claim holds a delivery: the request's timeout and then
    /// some, so that only a sender that died lets it go.
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(1)
    }
}

/// Runs until `stop` turns true (or its sender is gone); a pass in flight
/// ends first (each request is bounded by the timeout).
pub async fn run(
    store: Store,
    config: DeliveryConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let client = match client(&config) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: cannot build the HTTP client; no deliveries");
            return;
        }
    };
    let mut key: Option<StoreKey> = None;
    let mut warned = false;
    let mut pruned_at: Option<tokio::time::Instant> = None;
    loop {
        if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            pruned_at = Some(tokio::time::Instant::now());
            prune(&store).await;
        }
        if key.is_none() {
            match StoreKey::load(config.key_file.as_deref()) {
                Ok(k) => key = Some(k),
                Err(e) if !warned => {
                    warned = true;
                    tracing::warn!(error = %e, "webhooks: no store key, deliveries wait for one");
                }
                Err(_) => {}
            }
        }
        let full = match &key {
            Some(k) => pass(&store, &client, k, &config).await,
            None => false,
        };
        if *stop.borrow() {
            return;
        }
        if full {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(config.poll) => {}
            changed = stop.changed() => if changed.is_err() || *stop.borrow() { return },
        }
    }
}

async fn prune(store: &Store) {
    let before = now_millis() - RETENTION.as_millis() as i64;
    match store.prune_webhook_events(before).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(events = n, "webhooks: pruned old events"),
        Err(e) => tracing::warn!(error = %e, "webhooks: cannot prune old events"),
    }
}

fn client(config: &DeliveryConfig) -> reqwest::Result<reqwest::Client> {
    crate::https::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(config.timeout)
        // A receiver that moves must be subscribed again: a signed event
        // never goes where the subscription does not say.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "panelwright/",
            env!("CARGO_PKG_VERSION"),
            " webhooks"
        ))
        .build()
}

/// One pass: claims a batch, sends it, settles each. True when the batch
/// was full (more may be due at once).
async fn pass(
    store: &Store,
    client: &reqwest::Client,
    key: &StoreKey,
    config: &DeliveryConfig,
) -> bool {
    let lease = config.lease().as_millis() as i64;
    let due = match store
        .claim_webhook_deliveries(key, lease, config.batch)
        .await
    {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "webhooks: cannot claim deliveries");
            return false;
        }
    };
    let full = due.len() == config.batch;
    let mut sending = tokio::task::JoinSet::new();
    for delivery in due {
        let (store, client, config) = (store.clone(), client.clone(), config.clone());
        sending.spawn(async move {
            let outcome = outcome(&config, delivery.attempts, send(&client, &delivery).await);
            log(&delivery, &outcome);
            if let Err(e) = store.settle_webhook_delivery(delivery.id, outcome).await {
                // Left to the lease: it will be sent again, with the same id.
                tracing::warn!(delivery = delivery.id, error = %e, "webhooks: cannot settle a delivery");
            }
        });
    }
    while sending.join_next().await.is_some() {}
    full
}

/// The `webhook-id` of a delivery: stable across its attempts.
pub fn delivery_id(id: i64) -> String {
    format!("pwd_{id}")
}

/// POSTs one delivery; `Err` is a secret-free reason (never the URL).
async fn send(client: &reqwest::Client, d: &DueDelivery) -> Result<(), String> {
    let Some(secret) = &d.secret else {
        return Err("the signing secret cannot be decrypted with this store key".into());
    };
    let id = delivery_id(d.id);
    let timestamp = now_millis() / 1000;
    let body = super::body(&d.event, d.created_at, &d.payload);
    let signature = sign::signature(secret, &id, timestamp, &body);
    let answer = client
        .post(&d.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match answer {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Err("timed out".into()),
        Err(e) if e.is_connect() => Err("cannot connect".into()),
        Err(_) => Err("request failed".into()),
    }
}

/// What an attempt's result means: delivered, retry after the policy's
/// delay, or failed once `max_attempts` are spent.
fn outcome(config: &DeliveryConfig, attempts: u32, sent: Result<(), String>) -> DeliveryOutcome {
    match sent {
        Ok(()) => DeliveryOutcome::Delivered,
        Err(error) if attempts >= config.max_attempts => DeliveryOutcome::Failed { error },
        Err(error) => DeliveryOutcome::Retry {
            at: now_millis() + config.retry.jittered_delay(attempts).as_millis() as i64,
            error,
        },
    }
}

fn log(d: &DueDelivery, outcome: &DeliveryOutcome) {
    let (id, sub, event, attempt) = (d.id, d.subscription_id, d.event.as_str(), d.attempts);
    match outcome {
        DeliveryOutcome::Delivered => {
            tracing::info!(
                delivery = id,
                subscription = sub,
                event,
                attempt,
                "webhook delivered"
            )
        }
        DeliveryOutcome::Retry { error, .. } => {
            tracing::warn!(delivery = id, subscription = sub, event, attempt, error = %error, "webhook not delivered; retrying later")
        }
        DeliveryOutcome::Failed { error } => {
            tracing::warn!(delivery = id, subscription = sub, event, attempt, error = %error, "webhook not delivered; no attempts left")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_retries_with_a_growing_delay_until_the_last_attempt() {
        let config = DeliveryConfig::default();
        let at = |n| match outcome(&config, n, Err("HTTP 500".into())) {
            DeliveryOutcome::Retry { at, .. } => at - now_millis(),
            other => panic!("{other:?}"),
        };
        let (first, third) = (at(1), at(3));
        assert!((7_000..=13_000).contains(&first), "{first}");
        assert!(third > first * 8, "{third} vs {first}");
        assert!(matches!(
            outcome(&config, MAX_ATTEMPTS, Err("HTTP 500".into())),
            DeliveryOutcome::Failed { .. }
        ));
        assert!(matches!(
            outcome(&config, MAX_ATTEMPTS, Ok(())),
            DeliveryOutcome::Delivered
        ));
    }
}
