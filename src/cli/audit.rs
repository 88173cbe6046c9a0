//! `panelwright audit`: the audit log, newest first (the view
//! `GET /api/v1/audit` serves), as a table or JSON.

use super::exit;
use super::table::{Align, Table};
use crate::views::audit::{AuditCursor, AuditFilter, AuditPage, parse_since};
use std::path::Path;

/// How a list command prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ListFormat {
    #[default]
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Rows since a duration ago (`7d`, `12h`) or a time (`2026-12-01`, RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// Only this actor: `user:NAME`, `token:NAME`, `cli:UNIX-USER`.
    #[arg(long)]
    pub actor: Option<String>,
    /// Only this action, e.g. `user.add`, `credential.reveal`.
    #[arg(long)]
    pub action: Option<String>,
    /// Only rows about this target, e.g. `user:vera`, `recon_line:12`.
    #[arg(long)]
    pub target: Option<String>,
    /// Rows per page (1 to 500).
    #[arg(long, default_value_t = crate::views::audit::DEFAULT_PAGE, value_parser = parse_limit)]
    pub limit: usize,
    /// The `next_cursor` a previous page printed: the next, older page.
    #[arg(long, value_parser = |s: &str| s.parse::<AuditCursor>())]
    pub cursor: Option<AuditCursor>,
    /// table or json (the API's document).
    #[arg(long, value_enum, default_value_t)]
    pub format: ListFormat,
}

fn parse_limit(s: &str) -> Result<usize, String> {
    use crate::views::audit::MAX_PAGE;
    s.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_PAGE).contains(n))
        .ok_or_else(|| format!("a number from 1 to {MAX_PAGE}"))
}

pub async fn run(args: AuditArgs, store_path: &Path) -> u8 {
    let since = match args
        .since
        .as_deref()
        .map(|s| parse_since(s, crate::store::now_millis()))
    {
        Some(Err(e)) => {
            eprintln!("error: --since: {e}");
            return exit::INVALID;
        }
        Some(Ok(t)) => Some(t),
        None => None,
    };
    let Some(store) = super::open_store(store_path).await else {
        return exit::INTERNAL;
    };
    let filter = AuditFilter {
        since,
        actor: args.actor,
        action: args.action,
        target: args.target,
        cursor: args.cursor,
        limit: Some(args.limit),
    };
    let page = match crate::views::audit::audit_page(&store, filter).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INTERNAL;
        }
    };
    match args.format {
        ListFormat::Json => println!("{}", serde_json::to_string_pretty(&page).expect("JSON")),
        ListFormat::Table => print!("{}", table(&page)),
    }
    exit::OK
}

fn table(page: &AuditPage) -> String {
    let mut t = Table::new(&[
        ("ID", Align::Right),
        ("AT", Align::Left),
        ("ACTOR", Align::Left),
        ("ADDRESS", Align::Left),
        ("ACTION", Align::Left),
        ("TARGET", Align::Left),
        ("CHANGE", Align::Left),
    ]);
    let json = |v: &Option<serde_json::Value>| v.as_ref().map_or("-".into(), |v| v.to_string());
    for row in &page.entries {
        let mut change = format!("{} → {}", json(&row.before), json(&row.after));
        if let Some(reason) = &row.reason {
            change.push_str(&format!(" (reason: {reason})"));
        }
        t.row(vec![
            row.id.to_string(),
            row.at.clone(),
            row.actor.clone(),
            row.address.clone().unwrap_or_else(|| "-".into()),
            row.action.clone(),
            row.target.clone().unwrap_or_else(|| "-".into()),
            change,
        ]);
    }
    let mut out = if t.is_empty() {
        "no audit rows\n".to_string()
    } else {
        t.render()
    };
    if let Some(next) = &page.next_cursor {
        out.push_str(&format!("more: --cursor {next}\n"));
    }
    out
}
