//! `panelwright credentials list|show`: captured credentials, masked unless
//! `--reveal`; every reveal is recorded (a `credential_reveals` row, a job
//! event and an audit row `credential.reveal` by `cli:USER`, as the API's).
//! The list renders `views::credentials`.

use super::exit;
use super::jobs::when;
use crate::secrets::crypto::StoreKey;
use secrecy::ExposeSecret;
use std::path::Path;

#[derive(Debug, clap::Subcommand)]
pub enum CredentialsCommand {
    /// List the current credentials (never their values).
    List {
        /// Only this company's (external id or name).
        #[arg(long)]
        company: Option<String>,
        /// Only those captured by this job.
        #[arg(long)]
        job: Option<i64>,
        /// Also the superseded values, each with the row that replaced it.
        #[arg(long)]
        history: bool,
        /// `table` for people, `json` (the API's `CredentialList`) for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: super::billing::Format,
    },
    /// Show one credential; its value only with --reveal (recorded in the job's events).
    Show {
        /// The credential's id (from `credentials list`).
        id: i64,
        /// Print the decrypted value (recorded as a `revealed` event).
        #[arg(long)]
        reveal: bool,
        /// Who reveals it, for the record (default: $USER); the audit log's actor is `cli:WHO`.
        #[arg(long, env = "USER", default_value = "unknown")]
        who: String,
        /// Why, kept in the audit log (the API requires one; here, run by someone who holds
        /// the store key, it is recorded when given).
        #[arg(long, requires = "reveal")]
        reason: Option<String>,
    },
}

pub async fn run(cmd: CredentialsCommand, path: &Path, key_file: Option<&Path>) -> u8 {
    // A configured key that is not the store's is refused before anything
    // is listed or revealed.
    if let Some(code) = super::configured_key_mismatch(path, key_file).await {
        return code;
    }
    let Some(store) = super::open_store(path).await else {
        return exit::INTERNAL;
    };
    match cmd {
        CredentialsCommand::List {
            company,
            job,
            history,
            format,
        } => {
            let filter = crate::views::credentials::CredentialFilter {
                company,
                job,
                history,
            };
            match crate::views::credentials::list(&store, filter).await {
                Ok(list) => {
                    match format {
                        super::billing::Format::Table => {
                            print!("{}", credential_table(&list, history))
                        }
                        super::billing::Format::Json => println!(
                            "{}",
                            serde_json::to_string_pretty(&list).expect("a view serialises")
                        ),
                    }
                    exit::OK
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    super::store_exit(&e)
                }
            }
        }
        CredentialsCommand::Show {
            id,
            reveal,
            who,
            reason,
        } => {
            let key = match StoreKey::load(key_file) {
                Ok(k) => k,
                Err(e) => {
                    eprintln!("error: {e}");
                    return exit::PERMANENT;
                }
            };
            if !reveal {
                match store.credentials(None, None, true).await {
                    Ok(list) => match list.into_iter().find(|c| c.id == id) {
                        Some(c) => {
                            let state = match c.superseded_by {
                                _ if c.is_current() => "current".to_string(),
                                Some(by) => format!("superseded by #{by}"),
                                None => "superseded".to_string(),
                            };
                            println!(
                                "#{} {} ({}, {state}) captured {}: ******** (--reveal to show)",
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
            let audit = crate::store::AuditEntry {
                actor: format!("cli:{who}"),
                action: "credential.reveal".into(),
                target: Some(format!("credential:{id}")),
                reason: reason
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty()),
                ..Default::default()
            };
            match store.reveal_credential_audited(&key, id, audit).await {
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

/// The list as a table; with `history`, a column saying which row replaced
/// each superseded one.
fn credential_table(list: &crate::views::credentials::CredentialList, history: bool) -> String {
    use super::table::{Align, Table};
    use crate::views::credentials::CredentialState;
    let mut columns = vec![
        ("id", Align::Right),
        ("name", Align::Left),
        ("kind", Align::Left),
        ("company", Align::Right),
        ("job", Align::Right),
        ("captured", Align::Left),
    ];
    if history {
        columns.push(("state", Align::Left));
    }
    let mut table = Table::new(&columns);
    for c in &list.credentials {
        let mut row = vec![
            c.id.to_string(),
            c.name.clone(),
            c.kind.to_string(),
            c.company_id.map_or("-".into(), |i| i.to_string()),
            c.job_id.map_or("-".into(), |i| i.to_string()),
            when(c.captured_at),
        ];
        if history {
            row.push(match (c.state, c.superseded_by) {
                (CredentialState::Current, _) => "current".into(),
                (CredentialState::Superseded, Some(by)) => format!("superseded by #{by}"),
                (CredentialState::Superseded, None) => "superseded".into(),
            });
        }
        table.row(row);
    }
    table.render()
}
