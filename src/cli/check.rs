//! `panelwright check FILE...`: validation without a browser.

use super::exit;
use crate::playbook::contract::{PlaybookKind, REPORT_OUTPUTS};
use crate::playbook::{CaptureKind, Playbook};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Playbook files to validate.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Includes must stay inside this folder [default: each playbook's folder].
    #[arg(long, value_name = "DIR")]
    pub playbooks: Option<PathBuf>,
}

pub fn run(args: CheckArgs) -> u8 {
    let mut failed = 0;
    for file in &args.files {
        let loaded = match &args.playbooks {
            Some(root) => Playbook::load_within(root, file),
            None => Playbook::load(file),
        };
        match loaded {
            Ok(p) => {
                println!(
                    "ok: {} ({}, {} steps, {} flows)",
                    file.display(),
                    p.name,
                    p.steps.len(),
                    p.flows.len()
                );
                if let Some(kind) = p.kind {
                    println!(
                        "  kind {kind}: contract ok ({})",
                        contract_summary(&p, kind)
                    );
                }
            }
            Err(errors) => {
                failed += 1;
                eprintln!("{errors}");
                eprintln!("{}: {} error(s)", file.display(), errors.0.len());
            }
        }
    }
    if failed > 0 { exit::INVALID } else { exit::OK }
}

/// What the contract of `kind` found in `playbook`: the outputs it leaves.
fn contract_summary(playbook: &Playbook, kind: PlaybookKind) -> String {
    match kind {
        PlaybookKind::Provision => format!("customer_ref {}", playbook.customer_ref()),
        PlaybookKind::Report => REPORT_OUTPUTS
            .iter()
            .filter_map(|c| {
                let info = playbook.captures.get(c.output)?;
                Some(match info.kind {
                    // CSV columns: the job checks the fields when it runs.
                    CaptureKind::Rows(None) => {
                        format!("{} [CSV: fields checked at run time]", c.output)
                    }
                    _ => c.output.to_string(),
                })
            })
            .collect::<Vec<_>>()
            .join(", "),
        PlaybookKind::Probe => "read-only".to_string(),
    }
}
