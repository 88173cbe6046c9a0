//! `panelwright export usage`: a filtered subset of the usage history for
//! another system (a PSA, a second RMM), as CSV, one JSON array, or NDJSON.
//! Columns, order and exit codes are documented in `docs/export.md`.
//!
//! Rows are written as the store steps through them, through one buffer:
//! memory does not grow with the export. With `--output` the rows go to a
//! temporary file next to it, renamed into place once complete, so a
//! system picking the file up never reads half an export.

use super::exit;
use crate::store::{Store, UsageExportError, UsageExportFilter};
pub use crate::views::usage::ExportFormat;
use crate::views::usage::UsageExportWriter;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Subcommand)]
pub enum ExportCommand {
    /// Usage records (one per vendor customer, SKU, metric and period) with
    /// their company, vendor and vendor customer, for another system.
    Usage(UsageArgs),
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
            super::store_exit(&e)
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
    let writer = UsageExportWriter::new(format, output);
    let (writer, _rows) = store
        .export_usage(filter, writer, |w, row| w.row(row))
        .await?;
    let output = writer.finish().map_err(UsageExportError::Sink)?;
    output.complete().map_err(UsageExportError::Sink)
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

impl Output {
    /// Flushes standard output, or puts the `--output` file in place.
    fn complete(self) -> io::Result<()> {
        match self {
            Output::Stdout(mut s) => s.flush(),
            Output::File { file, path } => {
                file.as_file().sync_all()?;
                file.persist(&path).map(drop).map_err(|e| e.error)
            }
        }
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
