//! `panelwright jobs`, `panelwright job ID`, `panelwright cancel ID`,
//! `panelwright retry ID`: they render the job views (`views::jobs`), the
//! ones the API serves.

use super::table::{Align, Table};
use super::{exit, store_exit};
use crate::store::{JobStatus, Millis};
use crate::views::jobs::{self as view, JobDetail, JobList, JobListError, JobQuery};
use std::path::Path;

/// How `jobs` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Csv,
    Json,
}

/// How `job` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DetailFormat {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct JobsArgs {
    /// Only jobs in this status: queued, running, succeeded, failed, dead,
    /// cancelled or needs-attention.
    #[arg(long, value_parser = |s: &str| s.parse::<JobStatus>().map_err(|e| e.to_string()))]
    pub status: Option<JobStatus>,
    /// Only jobs of this kind (provision, noop, …).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only jobs for this company (as submitted: external id or name).
    #[arg(long)]
    pub company: Option<String>,
    /// Only jobs for this vendor account.
    #[arg(long)]
    pub vendor_account: Option<String>,
    /// At most this many jobs, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Start after the previous page: the `next_cursor` it printed.
    #[arg(long)]
    pub cursor: Option<String>,
    /// table (for people), csv or json (one document: `jobs` and `next_cursor`).
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

/// A stored time for people (UTC, seconds).
pub(crate) fn when(ms: Millis) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

pub async fn list(args: JobsArgs, path: &Path) -> u8 {
    let Some(store) = super::open_store(path).await else {
        return exit::INTERNAL;
    };
    let query = JobQuery {
        status: args.status,
        kind: args.kind,
        company: args.company,
        vendor_account: args.vendor_account,
        limit: Some(args.limit),
        cursor: args.cursor,
    };
    let list = match view::job_list(&store, &query).await {
        Ok(list) => list,
        Err(JobListError::Invalid { field, message }) => {
            eprintln!("error: --{field}: {message}");
            return exit::INVALID;
        }
        Err(JobListError::Store(e)) => {
            eprintln!("error: {e}");
            return store_exit(&e);
        }
    };
    match args.format {
        ListFormat::Table => print!("{}", list_table(&list).render()),
        ListFormat::Json => println!("{}", json(&list)),
        ListFormat::Csv => {
            if let Err(e) = print_csv(&list) {
                eprintln!("error: {e}");
                return exit::INTERNAL;
            }
        }
    }
    if let (Some(next), ListFormat::Table) = (&list.next_cursor, args.format) {
        eprintln!("more: panelwright jobs --cursor {next}");
    }
    exit::OK
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).expect("a view serialises")
}

/// The last failure in one line: `[class] first line`.
fn error_line(j: &view::JobSummary) -> String {
    match (&j.error_class, &j.error_message) {
        (Some(c), Some(m)) => format!("[{c}] {}", m.lines().next().unwrap_or_default()),
        _ => String::new(),
    }
}

fn list_table(list: &JobList) -> Table {
    let mut table = Table::new(&[
        ("id", Align::Right),
        ("kind", Align::Left),
        ("status", Align::Left),
        ("tries", Align::Right),
        ("company", Align::Left),
        ("updated", Align::Left),
        ("error", Align::Left),
    ]);
    for j in &list.jobs {
        table.row(vec![
            j.id.to_string(),
            j.kind.clone(),
            j.status.to_string(),
            format!("{}/{}", j.attempts, j.max_attempts),
            j.company.clone().unwrap_or_else(|| "-".into()),
            when(j.updated_at),
            error_line(j),
        ]);
    }
    table
}

/// One row per job; the cursor of the next page on standard error.
fn print_csv(list: &JobList) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_writer(std::io::stdout().lock());
    out.write_record([
        "id",
        "kind",
        "status",
        "attempts",
        "max_attempts",
        "company",
        "vendor_account",
        "created_at",
        "updated_at",
        "finished_at",
        "error_class",
        "error_message",
    ])?;
    for j in &list.jobs {
        let opt = |v: Option<Millis>| v.map(when).unwrap_or_default();
        out.write_record([
            j.id.to_string(),
            j.kind.clone(),
            j.status.to_string(),
            j.attempts.to_string(),
            j.max_attempts.to_string(),
            j.company.clone().unwrap_or_default(),
            j.vendor_account.clone().unwrap_or_default(),
            when(j.created_at),
            when(j.updated_at),
            opt(j.finished_at),
            j.error_class.map(|c| c.to_string()).unwrap_or_default(),
            j.error_message.clone().unwrap_or_default(),
        ])?;
    }
    out.flush()?;
    if let Some(next) = &list.next_cursor {
        eprintln!("more: panelwright jobs --cursor {next}");
    }
    Ok(())
}

pub async fn show(id: i64, format: DetailFormat, path: &Path) -> u8 {
    let Some(store) = super::open_store(path).await else {
        return exit::INTERNAL;
    };
    let detail = match view::job_detail(&store, id).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return store_exit(&e);
        }
    };
    match format {
        DetailFormat::Json => println!("{}", json(&detail)),
        DetailFormat::Table => print_detail(&detail),
    }
    exit::OK
}

fn print_detail(d: &JobDetail) {
    let job = &d.job;
    println!("job {} ({}): {}", job.id, job.kind, job.status);
    println!(
        "  company:         {}",
        job.company.as_deref().unwrap_or("-")
    );
    println!(
        "  vendor account:  {}",
        job.vendor_account.as_deref().unwrap_or("-")
    );
    println!("  playbook:        {}", playbook_used(d));
    println!("  params:          {}", d.params);
    println!("  attempts:        {}/{}", job.attempts, job.max_attempts);
    println!("  priority:        {}", job.priority);
    println!("  created:         {}", when(job.created_at));
    println!("  run at:          {}", when(job.run_at));
    if let Some(k) = &d.idempotency_key {
        println!("  idempotency key: {k}");
    }
    if let Some(f) = job.finished_at {
        println!("  finished:        {}", when(f));
    }
    if let (Some(c), Some(m)) = (&job.error_class, &job.error_message) {
        println!("  error:           [{c}] {m}");
    }
    if let Some(summary) = &d.summary {
        println!("summary:");
        for (key, value) in summary_lines(summary) {
            println!("  {key}: {value}");
        }
    }
    print_attempts(d);
    println!("events:");
    let mut table = Table::new(&[
        ("at", Align::Left),
        ("event", Align::Left),
        ("message", Align::Left),
    ])
    .indent("  ");
    for e in &d.events {
        table.row(vec![when(e.at), e.kind.to_string(), e.message.clone()]);
    }
    print!("{}", table.render());
    print_outputs(d);
    if !d.artifacts.is_empty() {
        println!("artifacts:");
        let mut table = Table::new(&[("kind", Align::Left), ("path", Align::Left)]).indent("  ");
        for a in &d.artifacts {
            table.row(vec![a.kind.clone(), a.path.clone()]);
        }
        print!("{}", table.render());
    }
}

/// Each attempt in a line, then its steps (path, action, branch, time, error).
fn print_attempts(d: &JobDetail) {
    if d.attempts.is_empty() {
        return;
    }
    println!("attempts:");
    for a in &d.attempts {
        let outcome = a.outcome.map_or_else(
            || {
                if a.ended_at.is_some() {
                    "lost".into()
                } else {
                    "running".to_string()
                }
            },
            |o| o.to_string(),
        );
        let failing = a
            .failing_step
            .as_ref()
            .map(|s| format!(", failed at {s}"))
            .unwrap_or_default();
        println!(
            "  #{} {} on {} at {} ({} steps{failing})",
            a.attempt,
            outcome,
            a.worker,
            when(a.started_at),
            a.trace.len()
        );
        let mut table = Table::new(&[
            ("step", Align::Left),
            ("action", Align::Left),
            ("branch", Align::Left),
            ("ms", Align::Right),
            ("error", Align::Left),
        ])
        .indent("    ");
        for s in &a.trace {
            table.row(vec![
                s.path.clone(),
                s.action.clone(),
                s.branch.map(|b| b.to_string()).unwrap_or_default(),
                s.duration_ms.to_string(),
                s.error.clone().unwrap_or_default(),
            ]);
        }
        if !table.is_empty() {
            print!("{}", table.render());
        }
    }
}

/// What the job captured, masked: most kinds capture nothing, and get no
/// empty table.
fn print_outputs(d: &JobDetail) {
    if d.outputs.is_empty() {
        return;
    }
    println!(
        "outputs (stored credentials; `panelwright credentials show ID --reveal` to read one):"
    );
    let mut table = Table::new(&[
        ("id", Align::Right),
        ("name", Align::Left),
        ("kind", Align::Left),
        ("state", Align::Left),
        ("value", Align::Left),
    ])
    .indent("  ");
    for c in &d.outputs {
        let shown = if c.secret {
            "********"
        } else {
            "(stored encrypted)"
        };
        let state = if c.current { "current" } else { "superseded" };
        table.row(vec![
            format!("#{}", c.id),
            c.name.clone(),
            c.kind.to_string(),
            state.into(),
            shown.into(),
        ]);
    }
    print!("{}", table.render());
}

/// The playbook a job ran, as its run named it, and the file it asked
/// for; `none` for a kind that drives no browser.
fn playbook_used(d: &JobDetail) -> String {
    let (job, summary) = (&d.job, d.summary.as_ref());
    let registry = crate::jobs::Registry::standard(Default::default());
    if registry
        .get(&job.kind)
        .is_some_and(|h| h.needs() == crate::jobs::Needs::Nothing)
    {
        return "none (this kind drives no browser)".into();
    }
    let file = match &d.playbook {
        Some(file) => file.clone(),
        None => format!("the vendor's default {} playbook", job.kind),
    };
    match summary
        .and_then(|s| s.get("playbook"))
        .and_then(|p| p.as_str())
    {
        Some(name) => format!("{name} ({file})"),
        None => file,
    }
}

/// A job's summary as `key: value` lines, nested objects as dotted keys
/// (`stored.changes: 3`), so every kind shows what it did.
fn summary_lines(summary: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(map) if !map.is_empty() => {
                for (key, value) in map {
                    let key = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&key, value, out);
                }
            }
            serde_json::Value::String(text) => out.push((prefix.to_string(), text.clone())),
            serde_json::Value::Null => out.push((prefix.to_string(), "-".into())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", summary, &mut out);
    out
}

pub async fn cancel(id: i64, path: &Path) -> u8 {
    let Some(store) = super::open_store(path).await else {
        return exit::INTERNAL;
    };
    match store.cancel(id).await {
        Ok(status) => {
            println!("job {id}: {status}");
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            store_exit(&e)
        }
    }
}

pub async fn retry(id: i64, path: &Path) -> u8 {
    let Some(store) = super::open_store(path).await else {
        return exit::INTERNAL;
    };
    match store.retry(id).await {
        Ok(was) => {
            println!("job {id}: queued again (was {was})");
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            store_exit(&e)
        }
    }
}
