//! `panelwright check FILE...`: validation without a browser.

use super::exit;
use crate::playbook::Playbook;
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
            Ok(p) => println!(
                "ok: {} ({}, {} steps, {} flows)",
                file.display(),
                p.name,
                p.steps.len(),
                p.flows.len()
            ),
            Err(errors) => {
                failed += 1;
                eprintln!("{errors}");
                eprintln!("{}: {} error(s)", file.display(), errors.0.len());
            }
        }
    }
    if failed > 0 { exit::INVALID } else { exit::OK }
}
