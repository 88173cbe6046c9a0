//! Reports: usage, service changes, availability and the billing
//! reconciliation (the views `report …` renders, as JSON), an operator's
//! decision on a reconciliation line, and the usage export streamed as
//! `export usage` writes it.
//!
//! Query parameters are read by hand (not with serde's `Query`) so that a
//! bad or unknown one is a problem naming it.

use crate::access::Role;
use crate::billing::recon::Resolution;
use crate::month::Month;
use crate::store::{Resolved, Store, UsageExportError, UsageExportFilter};
use crate::views::availability::{AccountAvailability, AvailabilityQuery};
use crate::views::changes::{ChangeView, ChangesQuery};
use crate::views::recon::{BillingQuery, BillingReport, BillingViewError};
use crate::views::usage::{ExportFormat, UsageExportWriter, UsageQuery, UsageReport};
use crate::web::AppState;
use crate::web::auth::Caller;
use crate::web::extract::ApiJson;
use crate::web::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};
use tokio::sync::mpsc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(usage))
        .routes(routes!(changes))
        .routes(routes!(availability))
        .routes(routes!(billing))
        .routes(routes!(resolve))
        .routes(routes!(export_usage))
}

/// A request's query parameters, each given at most once, none unknown.
struct Params(BTreeMap<String, String>);

impl Params {
    fn read(query: Option<String>, known: &[&str]) -> Result<Self, ApiError> {
        let mut params = BTreeMap::new();
        let query = query.unwrap_or_default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if !known.contains(&name.as_ref()) {
                return Err(ApiError::bad_input(
                    name.as_ref(),
                    format!(
                        "unknown query parameter `{name}` (expected one of: {})",
                        known.join(", ")
                    ),
                ));
            }
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(ApiError::bad_input(
                    name.as_ref(),
                    format!("query parameter `{name}` is given twice"),
                ));
            }
        }
        Ok(Self(params))
    }

    fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    fn parse<T: FromStr>(&self, name: &str) -> Result<Option<T>, ApiError>
    where
        T::Err: std::fmt::Display,
    {
        self.0
            .get(name)
            .map(|v| v.parse::<T>())
            .transpose()
            .map_err(|e| ApiError::bad_input(name, format!("{name}: {e}")))
    }

    fn required<T: FromStr>(&self, name: &str) -> Result<T, ApiError>
    where
        T::Err: std::fmt::Display,
    {
        self.parse(name)?.ok_or_else(|| {
            ApiError::bad_input(name, format!("query parameter `{name}` is required"))
        })
    }
}

/// Stored usage per company, vendor account, vendor customer, SKU, metric and period.
#[utoipa::path(get, path = "/reports/usage", tag = "reports",
    params(
        ("company" = Option<String>, Query, description = "A company's external id or exact name"),
        ("vendor_account" = Option<String>, Query, description = "A vendor account's name"),
        ("period" = Option<String>, Query, description = "A month, YYYY-MM"),
    ),
    responses(
        (status = 200, description = "The usage records", body = UsageReport),
        (status = 400, description = "A bad query parameter", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 404, description = "Unknown company or vendor account", body = Problem),
    ))]
async fn usage(
    State(state): State<AppState>,
    _caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<UsageReport>, ApiError> {
    let p = Params::read(query, &["company", "vendor_account", "period"])?;
    let query = UsageQuery {
        company: p.text("company"),
        vendor_account: p.text("vendor_account"),
        period: p.parse::<Month>("period")?,
    };
    Ok(Json(crate::views::usage::usage(&state.store, query).await?))
}

/// A `since` as `report changes --since` reads it.
struct Since(crate::store::Millis);

impl FromStr for Since {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        crate::views::changes::parse_since(text).map(Since)
    }
}

/// Service changes the report jobs found, oldest first, and who made each.
#[utoipa::path(get, path = "/reports/changes", tag = "reports",
    params(
        ("since" = Option<String>, Query,
            description = "Detected at or after: a date (2026-10-01), a UTC time or a span back from now (7d); default 7d"),
        ("company" = Option<String>, Query, description = "A company's external id or exact name"),
        ("vendor_account" = Option<String>, Query, description = "A vendor account's name"),
    ),
    responses(
        (status = 200, description = "The changes", body = Vec<ChangeView>),
        (status = 400, description = "A bad query parameter", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 404, description = "Unknown company or vendor account", body = Problem),
    ))]
async fn changes(
    State(state): State<AppState>,
    _caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<ChangeView>>, ApiError> {
    let p = Params::read(query, &["since", "company", "vendor_account"])?;
    let since = match p.parse::<Since>("since")? {
        Some(Since(ms)) => ms,
        None => crate::views::changes::parse_since(crate::views::changes::DEFAULT_SINCE)
            .map_err(ApiError::Internal)?,
    };
    let query = ChangesQuery {
        since,
        company: p.text("company"),
        vendor_account: p.text("vendor_account"),
    };
    Ok(Json(
        crate::views::changes::changes(&state.store, query).await?,
    ))
}

/// Availability of each vendor console in a month, from our probe runs.
#[utoipa::path(get, path = "/reports/availability", tag = "reports",
    params(
        ("period" = String, Query, description = "The month, YYYY-MM"),
        ("vendor_account" = Option<String>, Query, description = "Only this vendor account"),
        ("company" = Option<String>, Query, description = "Only the accounts serving this company"),
    ),
    responses(
        (status = 200, description = "Per vendor account", body = Vec<AccountAvailability>),
        (status = 400, description = "A bad or missing query parameter", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 404, description = "Unknown company", body = Problem),
    ))]
async fn availability(
    State(state): State<AppState>,
    _caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<AccountAvailability>>, ApiError> {
    let p = Params::read(query, &["period", "vendor_account", "company"])?;
    let query = AvailabilityQuery {
        period: p.required::<Month>("period")?,
        vendor_account: p.text("vendor_account"),
        company: p.text("company"),
    };
    Ok(Json(
        crate::views::availability::availability(&state.store, query).await?,
    ))
}

/// The latest billing reconciliation of a month, per company.
#[utoipa::path(get, path = "/reports/billing", tag = "reports",
    params(
        ("period" = String, Query, description = "The month, YYYY-MM"),
        ("company" = Option<String>, Query, description = "Only this company's lines"),
    ),
    responses(
        (status = 200, description = "The reconciliation", body = BillingReport),
        (status = 400, description = "A bad or missing query parameter", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 404, description = "No reconciliation of that month, or unknown company", body = Problem),
    ))]
async fn billing(
    State(state): State<AppState>,
    _caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<BillingReport>, ApiError> {
    let p = Params::read(query, &["period", "company"])?;
    let query = BillingQuery {
        period: p.required::<Month>("period")?,
        company: p.text("company"),
    };
    Ok(Json(billing_report(&state, query).await?))
}

/// The billing view of `query`, its faults as the API answers them (the
/// API and the console).
pub(crate) async fn billing_report(
    state: &AppState,
    query: BillingQuery,
) -> Result<BillingReport, ApiError> {
    match crate::views::recon::billing(&state.store, query).await {
        Ok(report) => Ok(report),
        Err(BillingViewError::Store(e)) => Err(e.into()),
        Err(totals) => Err(ApiError::Internal(totals.to_string())),
    }
}

/// An operator's decision on a reconciliation line (as `recon resolve`).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// `accept` (the difference is right: act on it) or `dismiss` (known and fine).
    #[schema(value_type = String, example = "accept")]
    pub action: Resolution,
    /// Why (kept with the decision and in the audit log).
    #[serde(default)]
    pub note: String,
}

/// Records a decision on a reconciliation line; audited as `recon.resolve`.
#[utoipa::path(post, path = "/recon/lines/{id}/resolve", tag = "reports",
    params(("id" = i64, Path, description = "The line's id")),
    request_body = ResolveRequest,
    responses(
        (status = 200, description = "The decision before and after", body = Resolved),
        (status = 400, description = "A bad body", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Needs the operator role", body = Problem),
        (status = 404, description = "No such line", body = Problem),
    ))]
async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolveRequest>,
) -> Result<Json<Resolved>, ApiError> {
    caller.require(Role::Operator)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_input("id", format!("line id `{id}` is not a number")))?;
    Ok(Json(resolve_line(&state, &caller, id, body).await?))
}

/// Records `caller`'s decision on line `id`, audited as `recon.resolve`:
/// the one code path of the API and the console.
pub(crate) async fn resolve_line(
    state: &AppState,
    caller: &Caller,
    id: i64,
    body: ResolveRequest,
) -> Result<Resolved, ApiError> {
    caller.require(Role::Operator)?;
    let mut audit = caller.audit("recon.resolve", format!("recon_line:{id}"));
    audit.reason = Some(body.note.clone()).filter(|n| !n.is_empty());
    Ok(state
        .store
        .resolve_recon_line(id, body.action, body.note, Some(audit))
        .await?)
}

/// Chunks of an export in flight: bytes, the end, or why it stopped. The
/// end is said, not inferred from the channel closing: an export task that
/// died must not look like a complete export.
enum Chunk {
    Data(Bytes),
    Done,
    Failed(UsageExportError<io::Error>),
}

/// How many chunks (each up to the writer's 64 KiB buffer) wait for a slow
/// reader: what bounds an export's memory.
const EXPORT_CHUNKS: usize = 4;

/// The export writer's output: each buffer-full goes to the response body;
/// a reader gone is a closed pipe, which ends the export.
struct ChannelWriter(mpsc::Sender<Chunk>);

impl io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // On the store's blocking thread: waiting here is what slows the
        // export down to the reader's pace.
        self.0
            .blocking_send(Chunk::Data(Bytes::copy_from_slice(buf)))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The response body of an export: the chunks as they come; a failure
/// after the first byte aborts the response (never a short "complete" one).
struct ExportBody {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Chunk>,
}

impl hyper::body::Body for ExportBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, io::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(hyper::body::Frame::data(first))));
        }
        self.rx.poll_recv(cx).map(|chunk| match chunk {
            Some(Chunk::Data(bytes)) => Some(Ok(hyper::body::Frame::data(bytes))),
            Some(Chunk::Done) => None,
            Some(Chunk::Failed(e)) => {
                tracing::error!(error = %e, "the usage export stopped part way");
                Some(Err(io::Error::other(e.to_string())))
            }
            None => {
                tracing::error!("the usage export ended without finishing");
                Some(Err(io::Error::other("the export ended without finishing")))
            }
        })
    }
}

/// Reads `format`, `company`, `vendor`, `sku`, `metric`, `from`, `to`.
fn export_request(query: Option<String>) -> Result<(ExportFormat, UsageExportFilter), ApiError> {
    let p = Params::read(
        query,
        &["format", "company", "vendor", "sku", "metric", "from", "to"],
    )?;
    let format = match p.text("format").as_deref() {
        Some("csv") => ExportFormat::Csv,
        Some("ndjson") => ExportFormat::Ndjson,
        Some("json") => ExportFormat::Json,
        Some(other) => {
            return Err(ApiError::bad_input(
                "format",
                format!("format `{other}` is not one of csv, ndjson, json"),
            ));
        }
        None => return Err(ApiError::bad_input("format", "format is required")),
    };
    let filter = UsageExportFilter {
        company: p.text("company"),
        vendor: p.text("vendor"),
        sku: p.text("sku"),
        metric: p.text("metric"),
        from: p.parse::<Month>("from")?,
        to: p.parse::<Month>("to")?,
    };
    filter
        .check()
        .map_err(|e| ApiError::bad_input("from", e.to_string()))?;
    Ok((format, filter))
}

/// The usage export, streamed as `panelwright export usage` writes it (same
/// rows, columns and bytes; `docs/export.md`), in constant memory.
#[utoipa::path(get, path = "/export/usage", tag = "reports",
    params(
        ("format" = String, Query, description = "csv, ndjson or json"),
        ("company" = Option<String>, Query, description = "A company's external id or exact name"),
        ("vendor" = Option<String>, Query, description = "A vendor's or one vendor account's name"),
        ("sku" = Option<String>, Query, description = "Exact SKU"),
        ("metric" = Option<String>, Query, description = "Exact metric"),
        ("from" = Option<String>, Query, description = "First period, YYYY-MM"),
        ("to" = Option<String>, Query, description = "Last period, YYYY-MM"),
    ),
    responses(
        (status = 200, description = "The export (text/csv, application/x-ndjson or application/json)", body = String),
        (status = 400, description = "A bad query parameter", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 404, description = "Unknown company or vendor", body = Problem),
    ))]
async fn export_usage(
    State(state): State<AppState>,
    _caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (format, filter) = export_request(query)?;
    // Its own connection: the export holds it until the reader has every
    // row, and a slow reader must not hold up other requests.
    let store = Store::open(state.store.path()).await?;
    let (tx, mut rx) = mpsc::channel(EXPORT_CHUNKS);
    let status = tx.clone();
    tokio::spawn(async move {
        let end = match export(store, format, filter, tx).await {
            Ok(()) => Chunk::Done,
            Err(e) => Chunk::Failed(e),
        };
        // The reader may be gone already: nothing more to tell.
        let _ = status.send(end).await;
    });
    // Nothing is written before the first row: a filter the store refuses
    // is still a problem document.
    let first = match rx.recv().await {
        Some(Chunk::Data(bytes)) => bytes,
        Some(Chunk::Done) => Bytes::new(),
        Some(Chunk::Failed(UsageExportError::Store(e))) => return Err(e.into()),
        Some(Chunk::Failed(UsageExportError::Sink(e))) => {
            return Err(ApiError::Internal(e.to_string()));
        }
        None => return Err(ApiError::Internal("the export ended without a word".into())),
    };
    let body = axum::body::Body::new(ExportBody {
        first: Some(first),
        rx,
    });
    Ok(([(header::CONTENT_TYPE, format.content_type())], body).into_response())
}

/// Writes the export into `tx` on blocking threads (the writer blocks when
/// the reader is slow).
async fn export(
    store: Store,
    format: ExportFormat,
    filter: UsageExportFilter,
    tx: mpsc::Sender<Chunk>,
) -> Result<(), UsageExportError<io::Error>> {
    let writer = UsageExportWriter::new(format, ChannelWriter(tx));
    let (writer, _rows) = store
        .export_usage(filter, writer, |w, row| w.row(row))
        .await?;
    tokio::task::spawn_blocking(move || writer.finish().map(drop))
        .await
        .map_err(|e| UsageExportError::Sink(io::Error::other(e)))?
        .map_err(UsageExportError::Sink)
}
