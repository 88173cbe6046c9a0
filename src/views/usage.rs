//! Stored usage: per company, vendor account, vendor customer, SKU, metric
//! and period, as `report usage` and `GET /api/v1/reports/usage` show it;
//! and the encoding of the usage export (`export usage`,
//! `GET /api/v1/export/usage`), one writer for both so they write the same
//! bytes.

use crate::month::Month;
use crate::store::{
    Millis, Store, StoreError, USAGE_EXPORT_COLUMNS, UsageExportRow, UsageFilter, UsageRecordRow,
};
use std::io::{self, BufWriter, Write};

/// Which usage records to show; every one given must match.
#[derive(Debug, Clone, Default)]
pub struct UsageQuery {
    /// A company's external id or exact name.
    pub company: Option<String>,
    pub vendor_account: Option<String>,
    pub period: Option<Month>,
}

/// One stored usage record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct UsageLine {
    /// The company's external id; none: the vendor customer is not mapped.
    pub company: Option<String>,
    pub company_name: Option<String>,
    pub vendor_account: String,
    /// The vendor's own id of its customer.
    pub vendor_ref: String,
    /// What the vendor calls the customer.
    pub vendor_customer: String,
    pub sku: String,
    pub metric: String,
    pub period: Month,
    /// Exact decimal text, as stored (never a float).
    pub quantity: String,
    pub unit: String,
    /// Unix milliseconds.
    pub first_seen_at: Millis,
    pub updated_at: Millis,
    /// The job that first reported it.
    pub first_job_id: Option<i64>,
    /// The last job that reported it.
    pub job_id: Option<i64>,
}

/// The usage records a query selects.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UsageReport {
    /// By vendor account, vendor customer, SKU, metric, period.
    pub records: Vec<UsageLine>,
}

/// Stored usage as `query` selects it.
pub async fn usage(store: &Store, query: UsageQuery) -> Result<UsageReport, StoreError> {
    let rows = store
        .usage(UsageFilter {
            vendor_account: query.vendor_account,
            company: query.company,
            period: query.period,
        })
        .await?;
    let records = rows.into_iter().map(line).collect::<Result<Vec<_>, _>>()?;
    Ok(UsageReport { records })
}

fn line(r: UsageRecordRow) -> Result<UsageLine, StoreError> {
    let period = r.period.parse().map_err(|_| {
        StoreError::Invalid(format!(
            "the store holds the usage period `{}` that does not read back",
            r.period
        ))
    })?;
    Ok(UsageLine {
        company: r.company,
        company_name: r.company_name,
        vendor_account: r.vendor_account,
        vendor_ref: r.vendor_ref,
        vendor_customer: r.vendor_customer,
        sku: r.sku,
        metric: r.metric,
        period,
        quantity: r.quantity,
        unit: r.unit,
        first_seen_at: r.first_seen_at,
        updated_at: r.updated_at,
        first_job_id: r.first_job_id,
        job_id: r.job_id,
    })
}

/// The formats of a usage export (columns and order: `docs/export.md`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Comma-separated, header row first (RFC 4180 quoting).
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

impl ExportFormat {
    /// The media type of an export in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
            Self::Ndjson => "application/x-ndjson",
        }
    }
}

/// Bytes buffered before a write to the output: few writes, and a reader
/// downstream (`| head`, an HTTP client) still sees the first rows early.
const OUTPUT_BUFFER: usize = 64 * 1024;

/// Writes export rows in one format as they come, through one buffer, into
/// any `Write` (standard output, a file, an HTTP body). Nothing is written
/// before the first row or [`Self::finish`]: a filter the store refuses
/// leaves the output empty.
pub struct UsageExportWriter<W: Write> {
    encoder: Encoder<W>,
    rows: u64,
}

enum Encoder<W: Write> {
    /// csv's own buffer sits in front of `out`; it flushes into it whole.
    /// Boxed: the writer is large, and there is one.
    Csv(Box<csv::Writer<BufWriter<W>>>),
    Json(BufWriter<W>),
    Ndjson(BufWriter<W>),
}

/// csv wraps I/O errors: unwrap them, so a closed pipe is seen as one.
fn csv_io(e: csv::Error) -> io::Error {
    if !matches!(e.kind(), csv::ErrorKind::Io(_)) {
        return io::Error::other(e);
    }
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        _ => unreachable!("checked above"),
    }
}

impl<W: Write> UsageExportWriter<W> {
    pub fn new(format: ExportFormat, output: W) -> Self {
        let out = BufWriter::with_capacity(OUTPUT_BUFFER, output);
        let encoder = match format {
            // The header is written by `head`, not by `serialize`, so that
            // an empty export still has it.
            ExportFormat::Csv => Encoder::Csv(Box::new(
                csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(out),
            )),
            ExportFormat::Json => Encoder::Json(out),
            ExportFormat::Ndjson => Encoder::Ndjson(out),
        };
        Self { encoder, rows: 0 }
    }

    /// What comes before the first row.
    fn head(&mut self) -> io::Result<()> {
        match &mut self.encoder {
            Encoder::Csv(csv) => csv.write_record(USAGE_EXPORT_COLUMNS).map_err(csv_io),
            Encoder::Json(out) => out.write_all(b"[\n"),
            Encoder::Ndjson(_) => Ok(()),
        }
    }

    pub fn row(&mut self, row: &UsageExportRow<'_>) -> io::Result<()> {
        if self.rows == 0 {
            self.head()?;
        }
        match &mut self.encoder {
            Encoder::Csv(csv) => csv.serialize(row).map_err(csv_io)?,
            Encoder::Json(out) => {
                if self.rows > 0 {
                    out.write_all(b",\n")?;
                }
                serde_json::to_writer(&mut *out, row)?;
            }
            Encoder::Ndjson(out) => {
                serde_json::to_writer(&mut *out, row)?;
                out.write_all(b"\n")?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Writes what comes after the last row (or the whole of an empty
    /// export: a CSV header, `[]`), flushes, and gives the output back.
    pub fn finish(mut self) -> io::Result<W> {
        let empty = self.rows == 0;
        if empty && !matches!(self.encoder, Encoder::Json(_)) {
            self.head()?;
        }
        let out = match self.encoder {
            Encoder::Csv(csv) => csv.into_inner().map_err(|e| e.into_error())?,
            Encoder::Json(mut out) => {
                out.write_all(if empty { b"[]\n" } else { b"\n]\n" })?;
                out
            }
            Encoder::Ndjson(out) => out,
        };
        out.into_inner().map_err(|e| e.into_error())
    }
}
