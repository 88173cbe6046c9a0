//! `panelwright credentials list|show`: captured credentials, masked unless
//! `--reveal`; every reveal is recorded.

use super::exit;
use super::jobs::when;
use crate::secrets::crypto::StoreKey;
use secrecy::ExposeSecret;
use std::path::Path;

#[derive(Debug, clap::Subcommand)]
pub enum CredentialsCommand {
    /// List credentials (never their values).
    List {
        /// Company external id or name.
        #[arg(long)]
        company: Option<String>,
        #[arg(long)]
        job: Option<i64>,
    },
    /// Show one credential; its value only with --reveal (recorded in the job's events).
    Show {
        id: i64,
        #[arg(long)]
        reveal: bool,
        /// Who reveals it, for the record (default: $USER).
        #[arg(long, env = "USER", default_value = "unknown")]
        who: String,
    },
}

pub async fn run(cmd: CredentialsCommand, path: &Path, key_file: Option<&Path>) -> u8 {
    let Some(store) = super::open_store(path).await else {
        return exit::INTERNAL;
    };
    match cmd {
        CredentialsCommand::List { company, job } => {
            let company_id = match company {
                Some(c) => match store.company(&c).await {
                    Ok(c) => Some(c.id),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return exit::INVALID;
                    }
                },
                None => None,
            };
            match store.credentials(company_id, job).await {
                Ok(list) => {
                    println!(
                        "{:>5}  {:<28} {:<12} {:>8} {:>6}  captured",
                        "id", "name", "kind", "company", "job"
                    );
                    for c in list {
                        println!(
                            "{:>5}  {:<28} {:<12} {:>8} {:>6}  {}",
                            c.id,
                            c.name,
                            c.kind,
                            c.company_id.map_or("-".into(), |i| i.to_string()),
                            c.job_id.map_or("-".into(), |i| i.to_string()),
                            when(c.captured_at)
                        );
                    }
                    exit::OK
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::INTERNAL
                }
            }
        }
        CredentialsCommand::Show { id, reveal, who } => {
            let key = match StoreKey::load(key_file) {
                Ok(k) => k,
                Err(e) => {
                    eprintln!("error: {e}");
                    return exit::PERMANENT;
                }
            };
            if !reveal {
                match store.credentials(None, None).await {
                    Ok(list) => match list.into_iter().find(|c| c.id == id) {
                        Some(c) => {
                            println!(
                                "#{} {} ({}) captured {}: ******** (--reveal to show)",
                                c.id,
                                c.name,
                                c.kind,
                                when(c.captured_at)
                            );
                            return exit::OK;
                        }
                        None => {
                            eprintln!("error: credential {id} not found");
                            return exit::INVALID;
                        }
                    },
                    Err(e) => {
                        eprintln!("error: {e}");
                        return exit::INTERNAL;
                    }
                }
            }
            match store.reveal_credential(&key, id, &who).await {
                Ok((c, value)) => {
                    println!(
                        "#{} {} ({}): {}",
                        c.id,
                        c.name,
                        c.kind,
                        value.expose_secret()
                    );
                    exit::OK
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::INVALID
                }
            }
        }
    }
}
