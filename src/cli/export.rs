//! `panelwright export usage`: a filtered subset of the usage history for
//! another system (a PSA, a second RMM), as CSV, one JSON array, or NDJSON.
//! Columns, order and exit codes are documented in `docs/export.md`.
//!
//! Rows are written as the store steps through them, through one buffer:
//! memory does not grow with the export. With `--output` the rows go to a
//! temporary file next to it, renamed into place once complete, so a
//! system picking the file up never reads half an export.

use super::exit;
use crate::store::{
    Store, StoreFault, USAGE_EXPORT_COLUMNS, UsageExportError, UsageExportFilter, UsageExportRow,
};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Bytes buffered before a write to the output: few system calls, and a
/// reader downstream (`| head`) still sees the first rows early.
const OUTPUT_BUFFER: usize = 64 * 1024;

#[derive(Debug, clap::Subcommand)]
pub enum ExportCommand {
    /// Usage records (one per vendor customer, SKU, metric and period) with
    /// their company, vendor and vendor customer, for another system.
    Usage(UsageArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated, header row first (RFC 4180 quoting).
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

#[derive(Debug, clap::Args)]
pub struct UsageArgs {
    /// Only this company's records (external id or exact name).
    #[arg(long)]
    pub company: Option<String>,
    /// Only this vendor's records (vendor name, or one vendor account's name).
    #[arg(long)]
    pub vendor: Option<String>,
    /// Only this SKU (exact).
    #[arg(long)]
    pub sku: Option<String>,
    /// Only this metric (exact).
    #[arg(long)]
    pub metric: Option<String>,
    /// First period, inclusive: YYYY-MM.
    #[arg(long)]
    pub from: Option<crate::month::Month>,
    /// Last period, inclusive: YYYY-MM.
    #[arg(long)]
    pub to: Option<crate::month::Month>,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Write to this file (replaced once the export is complete) instead of
    /// standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

pub async fn run(cmd: ExportCommand, store: &Path) -> u8 {
    match cmd {
        ExportCommand::Usage(args) => usage(args, store).await,
    }
}

async fn usage(args: UsageArgs, path: &Path) -> u8 {
    let filter = UsageExportFilter {
        company: args.company,
        vendor: args.vendor,
        sku: args.sku,
        metric: args.metric,
        from: args.from,
        to: args.to,
    };
    // The whole command line is checked before the store is opened.
    if let Err(e) = filter.check() {
        eprintln!("error: {e}");
        return exit::INVALID;
    }
    let output = match Output::open(args.output.as_deref()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID;
        }
    };
    let Some(store) = super::open_store(path).await else {
        return exit::INTERNAL;
    };
    match export(&store, filter, args.format, output).await {
        Ok(()) => exit::OK,
        // The reader went away (`| head`): nothing more is wanted. Not an
        // error, as for any Unix tool that stops writing.
        Err(UsageExportError::Sink(e)) if e.kind() == io::ErrorKind::BrokenPipe => exit::OK,
        Err(UsageExportError::Sink(e)) => {
            eprintln!("error: writing the export: {e}");
            exit::INTERNAL
        }
        Err(UsageExportError::Store(e)) => {
            eprintln!("error: {e}");
            match e.fault() {
                StoreFault::NotFound | StoreFault::Invalid => exit::INVALID,
                _ => exit::INTERNAL,
            }
        }
    }
}

async fn export(
    store: &Store,
    filter: UsageExportFilter,
    format: ExportFormat,
    output: Output,
) -> Result<(), UsageExportError<io::Error>> {
    // SIGPIPE is ignored (see main.rs): an export stopped by its reader
    // sees its write fail with BrokenPipe, a normal end (exit 0).
    let writer = RowWriter::new(format, output);
    let (writer, _rows) = store
        .export_usage(filter, writer, |w, row| w.row(row))
        .await?;
    writer.finish().map_err(UsageExportError::Sink)
}

/// Where the export goes: standard output, or a temporary file beside the
/// `--output` path until it is complete.
enum Output {
    Stdout(io::Stdout),
    File {
        file: tempfile::NamedTempFile,
        path: PathBuf,
    },
}

impl Output {
    fn open(path: Option<&Path>) -> Result<Self, String> {
        let Some(path) = path else {
            return Ok(Self::Stdout(io::stdout()));
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let file = tempfile::Builder::new()
            .prefix(".panelwright-export-")
            .tempfile_in(dir)
            .map_err(|e| format!("cannot write into {}: {e}", dir.display()))?;
        Ok(Self::File {
            file,
            path: path.to_path_buf(),
        })
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Stdout(s) => s.write(buf),
            Self::File { file, .. } => file.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Stdout(s) => s.flush(),
            Self::File { file, .. } => file.flush(),
        }
    }
}

/// Writes rows in one format as they come, through one buffer. Nothing is
/// written before the first row or [`RowWriter::finish`]: a filter the store
/// refuses leaves the output empty.
struct RowWriter {
    encoder: Encoder,
    rows: u64,
}

enum Encoder {
    /// csv's own buffer sits in front of `out`; it flushes into it whole.
    /// Boxed: the writer is large, and there is one.
    Csv(Box<csv::Writer<BufWriter<Output>>>),
    Json(BufWriter<Output>),
    Ndjson(BufWriter<Output>),
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

impl RowWriter {
    fn new(format: ExportFormat, output: Output) -> Self {
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

    fn row(&mut self, row: &UsageExportRow<'_>) -> io::Result<()> {
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
    /// export: a CSV header, `[]`), flushes, and puts an `--output` file in
    /// place.
    fn finish(mut self) -> io::Result<()> {
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
        match out.into_inner().map_err(|e| e.into_error())? {
            Output::Stdout(mut s) => s.flush(),
            Output::File { file, path } => {
                file.as_file().sync_all()?;
                file.persist(&path).map(drop).map_err(|e| e.error)
            }
        }
    }
}
