//! `/metrics`: the store's figures in the Prometheus text format
//! (OpenMetrics 1.0, written by `prometheus-client`), for a Prometheus that
//! scrapes with an API token (`authorization: credentials_file:` in its
//! scrape config; any role will do).
//!
//! Everything is read through the store's read-only metrics connection
//! ([`MetricsReader`]): a scrape takes no write lock, does not queue behind
//! API writes on the `Store`'s connection, and checks the token without
//! marking it used. Gauges are the store as it is now; histograms are
//! cumulative from the serve process's start (seeded with the latest
//! attempts and probe runs, see `store::metrics`).

use crate::access::token_hash;
use crate::store::{MetricsRead, MetricsReader, now_millis};
use crate::web::AppState;
use crate::web::problem::{ApiError, Problem};
use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The content type of the exposition (`prometheus_client::encoding::text`).
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Seconds: a job attempt, from claim to end.
const ATTEMPT_BUCKETS: [f64; 11] = [
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];
/// Seconds: one playbook step.
const STEP_BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Seconds: a probe run (log in and look).
const PROBE_BUCKETS: [f64; 9] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(metrics))
        .layer(Extension(Arc::new(Exporter::default())))
}

/// The store's figures for Prometheus.
#[utoipa::path(get, path = "/metrics", tag = "metrics",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The figures, in the OpenMetrics text format",
            content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "No valid API token", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "The store cannot be read right now", body = Problem,
            content_type = "application/problem+json"),
    ))]
async fn metrics(
    State(state): State<AppState>,
    Extension(exporter): Extension<Arc<Exporter>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reader = exporter.reader(&state).await?;
    authorize(reader, &headers).await?;
    let text = exporter.scrape(reader).await?;
    Ok(([(header::CONTENT_TYPE, OPENMETRICS)], text).into_response())
}

/// Any live API token may scrape; it is looked up read-only.
async fn authorize(reader: &MetricsReader, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthenticated(
                "no credentials: send an API token as `Authorization: Bearer <token>`".into(),
            )
        })?;
    match reader.token(token_hash(token)).await? {
        None => Err(ApiError::Unauthenticated("unknown API token".into())),
        Some(t) if t.revoked => Err(ApiError::Unauthenticated(format!(
            "the API token `{}` was revoked",
            t.name
        ))),
        Some(t) if t.expires_at.is_some_and(|at| at <= now_millis()) => Err(
            ApiError::Unauthenticated(format!("the API token `{}` has expired", t.name)),
        ),
        Some(_) => Ok(()),
    }
}

/// The reader (opened at the first scrape) and the metric families, kept
/// between scrapes since the histograms accumulate.
#[derive(Default)]
struct Exporter {
    reader: tokio::sync::OnceCell<MetricsReader>,
    /// One scrape at a time: each read's new attempts are observed once, in order.
    families: tokio::sync::Mutex<Families>,
}

impl Exporter {
    async fn reader(&self, state: &AppState) -> Result<&MetricsReader, ApiError> {
        Ok(self
            .reader
            .get_or_try_init(|| state.store.metrics_reader())
            .await?)
    }

    async fn scrape(&self, reader: &MetricsReader) -> Result<String, ApiError> {
        let mut families = self.families.lock().await;
        let started = Instant::now();
        let read = reader.read(now_millis()).await?;
        families.update(&read, started.elapsed());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &families.registry)
            .map_err(|e| ApiError::Internal(format!("encoding the metrics: {e}")))?;
        Ok(text)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    kind: String,
    /// `succeeded`, or the failure class.
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    kind: String,
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountLabels {
    vendor_account: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DiscrepancyLabels {
    period: String,
    kind: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

struct Families {
    registry: Registry,
    jobs: Family<JobLabels, Gauge>,
    due: Gauge,
    oldest_due_age: FloatGauge,
    attempt_duration: Histograms<AttemptLabels>,
    step_duration: Histograms<StepLabels>,
    probe_latency: Histograms<AccountLabels>,
    probe_runs: Family<AccountLabels, Gauge>,
    probe_availability: Family<AccountLabels, FloatGauge>,
    credentials: Family<KindLabels, Gauge>,
    discrepancies: Family<DiscrepancyLabels, Gauge>,
    read_seconds: FloatGauge,
}

impl Default for Families {
    fn default() -> Self {
        let f = Self {
            registry: Registry::with_prefix("panelwright"),
            jobs: Family::default(),
            due: Gauge::default(),
            oldest_due_age: FloatGauge::default(),
            attempt_duration: Family::new_with_constructor(|| Histogram::new(ATTEMPT_BUCKETS)),
            step_duration: Family::new_with_constructor(|| Histogram::new(STEP_BUCKETS)),
            probe_latency: Family::new_with_constructor(|| Histogram::new(PROBE_BUCKETS)),
            probe_runs: Family::default(),
            probe_availability: Family::default(),
            credentials: Family::default(),
            discrepancies: Family::default(),
            read_seconds: FloatGauge::default(),
        };
        f.register()
    }
}

impl Families {
    fn register(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "jobs",
            "Jobs in the store by kind and status",
            self.jobs.clone(),
        );
        r.register(
            "queue_due_jobs",
            "Queued jobs whose time has come",
            self.due.clone(),
        );
        r.register(
            "queue_oldest_due_age_seconds",
            "How long the oldest due queued job has waited since it became due (0: none)",
            self.oldest_due_age.clone(),
        );
        r.register(
            "job_attempt_duration_seconds",
            "Job attempts from claim to end, by kind and outcome (succeeded or failure class)",
            self.attempt_duration.clone(),
        );
        r.register(
            "step_duration_seconds",
            "Playbook steps of ended attempts, by job kind and action",
            self.step_duration.clone(),
        );
        r.register(
            "probe_latency_seconds",
            "Probe runs by vendor account",
            self.probe_latency.clone(),
        );
        r.register(
            "probe_runs_window",
            "Probe runs in the availability window (24 hours) by vendor account",
            self.probe_runs.clone(),
        );
        r.register(
            "probe_availability_ratio",
            "Share of successful probe runs in the availability window (24 hours)",
            self.probe_availability.clone(),
        );
        r.register(
            "credentials_current",
            "Captured credentials (current values, not history) by kind",
            self.credentials.clone(),
        );
        r.register(
            "recon_discrepancies_open",
            "Lines of the latest reconciliation of the recent periods that are not a match \
             and that no decision holds for",
            self.discrepancies.clone(),
        );
        r.register(
            "metrics_read_seconds",
            "How long this scrape's read of the store took",
            self.read_seconds.clone(),
        );
        self
    }

    /// Gauges take the read's values (labels gone from the store go away);
    /// histograms observe what ended since the previous read.
    fn update(&mut self, read: &MetricsRead, took: Duration) {
        self.jobs.clear();
        for j in &read.jobs {
            let labels = JobLabels {
                kind: j.kind.clone(),
                status: j.status.to_string(),
            };
            self.jobs.get_or_create(&labels).set(j.count as i64);
        }
        self.due.set(read.due.count as i64);
        let age = read
            .due
            .oldest_run_at
            .map_or(0.0, |at| (read.at - at).max(0) as f64 / 1000.0);
        self.oldest_due_age.set(age);
        self.observe_attempts(read);
        self.update_probes(read);
        self.credentials.clear();
        for c in &read.credentials {
            let labels = KindLabels {
                kind: c.kind.to_string(),
            };
            self.credentials.get_or_create(&labels).set(c.count as i64);
        }
        self.discrepancies.clear();
        for d in &read.discrepancies {
            let labels = DiscrepancyLabels {
                period: d.period.clone(),
                kind: d.kind.clone(),
            };
            self.discrepancies
                .get_or_create(&labels)
                .set(d.count as i64);
        }
        self.read_seconds.set(took.as_secs_f64());
    }

    fn observe_attempts(&self, read: &MetricsRead) {
        for a in &read.attempts {
            let labels = AttemptLabels {
                kind: a.kind.clone(),
                outcome: a.outcome.clone(),
            };
            self.attempt_duration
                .get_or_create(&labels)
                .observe(seconds(a.duration_ms));
            for s in &a.steps {
                let labels = StepLabels {
                    kind: a.kind.clone(),
                    action: s.action.clone(),
                };
                self.step_duration
                    .get_or_create(&labels)
                    .observe(seconds(s.duration_ms));
            }
        }
    }

    fn update_probes(&self, read: &MetricsRead) {
        for p in &read.probes {
            let labels = AccountLabels {
                vendor_account: p.vendor_account.clone(),
            };
            self.probe_latency
                .get_or_create(&labels)
                .observe(seconds(p.latency_ms));
        }
        self.probe_runs.clear();
        self.probe_availability.clear();
        for a in &read.availability {
            let labels = AccountLabels {
                vendor_account: a.vendor_account.clone(),
            };
            self.probe_runs.get_or_create(&labels).set(a.runs as i64);
            let ratio = if a.runs == 0 {
                0.0
            } else {
                a.ok as f64 / a.runs as f64
            };
            self.probe_availability.get_or_create(&labels).set(ratio);
        }
    }
}

fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}
