//! `panelwright jobs`, `panelwright job ID`, `panelwright cancel ID`.

use super::exit;
use super::table::{Align, Table};
use crate::store::{JobFilter, JobStatus, Millis};
use std::path::Path;

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
    let filter = JobFilter {
        status: args.status,
        kind: args.kind,
        company: args.company,
        vendor_account: args.vendor_account,
        limit: Some(args.limit),
        before: None,
    };
    match store.jobs(filter).await {
        Ok(jobs) => {
            let mut table = Table::new(&[
                ("id", Align::Right),
                ("kind", Align::Left),
                ("status", Align::Left),
                ("tries", Align::Right),
                ("company", Align::Left),
                ("updated", Align::Left),
                ("error", Align::Left),
            ]);
            for j in jobs {
                let error = match (&j.error_class, &j.error_message) {
                    (Some(c), Some(m)) => format!("[{c}] {}", m.lines().next().unwrap_or_default()),
                    _ => String::new(),
                };
                table.row(vec![
                    j.id.to_string(),
                    j.kind,
                    j.status.to_string(),
                    format!("{}/{}", j.attempts, j.max_attempts),
                    j.company.unwrap_or_else(|| "-".into()),
                    when(j.updated_at),
                    error,
                ]);
            }
            print!("{}", table.render());
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::INTERNAL
        }
    }
}

pub async fn show(id: i64, path: &Path) -> u8 {
    let Some(store) = super::open_store(path).await else {
        return exit::INTERNAL;
    };
    let job = match store.job(id).await {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID;
        }
    };
    println!("job {} ({}): {}", job.id, job.kind, job.status);
    println!(
        "  company:         {}",
        job.company.as_deref().unwrap_or("-")
    );
    println!(
        "  vendor account:  {}",
        job.vendor_account.as_deref().unwrap_or("-")
    );
    let summary = store.job_summary(id).await.ok().flatten();
    println!(
        "  playbook:        {}",
        playbook_used(&job, summary.as_ref())
    );
    println!("  params:          {}", job.params);
    println!("  attempts:        {}/{}", job.attempts, job.max_attempts);
    println!("  priority:        {}", job.priority);
    println!("  created:         {}", when(job.created_at));
    println!("  run at:          {}", when(job.run_at));
    if let Some(k) = &job.idempotency_key {
        println!("  idempotency key: {k}");
    }
    if let Some(f) = job.finished_at {
        println!("  finished:        {}", when(f));
    }
    if let (Some(c), Some(m)) = (&job.error_class, &job.error_message) {
        println!("  error:           [{c}] {m}");
    }
    if let Some(summary) = &summary {
        println!("summary:");
        for (key, value) in summary_lines(summary) {
            println!("  {key}: {value}");
        }
    }
    if let Ok(events) = store.events(id).await {
        println!("events:");
        let mut table = Table::new(&[
            ("at", Align::Left),
            ("event", Align::Left),
            ("message", Align::Left),
        ])
        .indent("  ");
        for e in events {
            table.row(vec![when(e.at), e.kind.to_string(), e.message]);
        }
        print!("{}", table.render());
    }
    // Most kinds capture no credentials: no empty table for them.
    if let Ok(creds) = store.credentials(None, Some(id), true).await
        && !creds.is_empty()
    {
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
        for c in creds {
            let shown = if c.secret {
                "********"
            } else {
                "(stored encrypted)"
            };
            let state = if c.is_current() {
                "current"
            } else {
                "superseded"
            };
            table.row(vec![
                format!("#{}", c.id),
                c.name,
                c.kind.to_string(),
                state.into(),
                shown.into(),
            ]);
        }
        print!("{}", table.render());
    }
    if let Ok(arts) = store.artifacts(id).await {
        if !arts.is_empty() {
            println!("artifacts:");
        }
        let mut table = Table::new(&[("kind", Align::Left), ("path", Align::Left)]).indent("  ");
        for (kind, p) in arts {
            table.row(vec![kind, p.display().to_string()]);
        }
        if !table.is_empty() {
            print!("{}", table.render());
        }
    }
    exit::OK
}

/// The playbook a job ran, as its run named it, and the file it asked
/// for; `none` for a kind that drives no browser.
fn playbook_used(job: &crate::store::Job, summary: Option<&serde_json::Value>) -> String {
    let registry = crate::jobs::Registry::standard(Default::default());
    if registry
        .get(&job.kind)
        .is_some_and(|h| h.needs() == crate::jobs::Needs::Nothing)
    {
        return "none (this kind drives no browser)".into();
    }
    let file = match &job.playbook {
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
            exit::INVALID
        }
    }
}
