//! `panelwright companies [EXTERNAL_ID]`: the companies, or one company with
//! its sites, machines, vendor customers and credentials (metadata only) —
//! the views (`views::companies`) the API serves and the console shows.

use super::table::{Align, Table};
use super::{exit, store_exit};
use crate::views::companies::{self as view, CompanyDetail, MachineView};
use std::path::Path;

/// How `companies` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct CompaniesArgs {
    /// One company (its RMM external id or exact name): sites, machines,
    /// vendor customers, credentials (metadata).
    pub company: Option<String>,
    /// table (for people) or json (the API's company views).
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub async fn run(args: CompaniesArgs, path: &Path) -> u8 {
    let Some(store) = super::open_store(path).await else {
        return exit::INTERNAL;
    };
    let printed = match &args.company {
        None => view::list(&store).await.map(|list| match args.format {
            Format::Json => json(&list),
            Format::Table => {
                let mut t = Table::new(&[
                    ("external id", Align::Left),
                    ("name", Align::Left),
                    ("contact", Align::Left),
                ]);
                for c in &list.companies {
                    let contact = [c.contact_name.as_deref(), c.contact_email.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · ");
                    t.row(vec![c.external_id.clone(), c.name.clone(), contact]);
                }
                t.render()
            }
        }),
        Some(id) => view::detail(&store, id).await.map(|d| match args.format {
            Format::Json => json(&d),
            Format::Table => detail_text(&d),
        }),
    };
    match printed {
        Ok(text) => {
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            store_exit(&e)
        }
    }
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).expect("a view serialises")
}

/// GiB with up to one decimal, as the console shows storage.
fn gib(bytes: i64) -> String {
    let tenths = bytes * 10 / (1 << 30);
    if tenths % 10 == 0 {
        format!("{}", tenths / 10)
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

fn detail_text(d: &CompanyDetail) -> String {
    let c = &d.company;
    let mut out = format!("company {} ({})\n", c.external_id, c.name);
    let machines: Vec<(&str, &MachineView)> = d
        .sites
        .iter()
        .flat_map(|s| s.machines.iter().map(move |m| (s.name.as_str(), m)))
        .chain(d.machines.iter().map(|m| ("-", m)))
        .collect();
    let sites: Vec<&str> = d.sites.iter().map(|s| s.name.as_str()).collect();
    out.push_str(&format!(
        "  sites: {}\n",
        if sites.is_empty() {
            "-".to_string()
        } else {
            sites.join(", ")
        }
    ));
    if !machines.is_empty() {
        let mut t = Table::new(&[
            ("hostname", Align::Left),
            ("serial", Align::Left),
            ("site", Align::Left),
            ("total GiB", Align::Right),
            ("free GiB", Align::Right),
            ("os", Align::Left),
        ])
        .indent("  ");
        for (site, m) in machines {
            t.row(vec![
                m.hostname.clone(),
                m.serial_number.clone(),
                site.to_string(),
                gib(m.storage_total_bytes),
                gib(m.storage_free_bytes),
                m.os.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        out.push_str(&t.render());
    }
    if !d.vendor_customers.is_empty() {
        let mut t = Table::new(&[
            ("vendor account", Align::Left),
            ("vendor ref", Align::Left),
            ("customer", Align::Left),
            ("status", Align::Left),
        ])
        .indent("  ");
        for v in &d.vendor_customers {
            t.row(vec![
                v.vendor_account.clone(),
                v.vendor_ref.clone(),
                v.name.clone(),
                v.status.to_string(),
            ]);
        }
        out.push_str(&t.render());
    }
    for cred in &d.credentials {
        out.push_str(&format!(
            "  credential #{} {} ({}){}\n",
            cred.id,
            cred.name,
            cred.kind,
            if cred.secret { ": ********" } else { "" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_in_gib() {
        assert_eq!(gib(512 << 30), "512");
        assert_eq!(gib((3 << 30) / 2), "1.5");
        assert_eq!(gib(0), "0");
    }
}
