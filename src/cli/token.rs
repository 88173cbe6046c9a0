//! `panelwright token`: API tokens for `serve` (`Authorization: Bearer`).
//! A token is printed once, at creation; the store keeps its SHA-256.

use super::exit;
use crate::access::{GeneratedToken, Role, Scope};
use crate::store::{AuditEntry, NewApiToken, now_millis};
use secrecy::ExposeSecret as _;
use std::path::Path;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (store it in the RMM's secret store).
    Create(CreateArgs),
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// What the token is for, e.g. `rmm` (shown in the audit log as `token:NAME`).
    pub name: String,
    /// viewer, operator or admin.
    #[arg(long, value_parser = |s: &str| s.parse::<Role>().map_err(|e| e.to_string()))]
    pub role: Role,
    /// An extra right (repeatable): `reveal` lets an admin token read secret values.
    #[arg(long = "scope", value_parser = |s: &str| s.parse::<Scope>().map_err(|e| e.to_string()))]
    pub scopes: Vec<Scope>,
    /// The token stops working after this long, e.g. `90d` (default: never).
    #[arg(long, value_parser = |s: &str| humantime::parse_duration(s).map_err(|e| e.to_string()))]
    pub expires: Option<std::time::Duration>,
}

pub async fn run(cmd: TokenCommand, store_path: &Path) -> u8 {
    match cmd {
        TokenCommand::Create(args) => create(args, store_path).await,
    }
}

/// The CLI's actor in the audit log: `cli:` and the Unix user.
pub(crate) fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into())
    )
}

async fn create(args: CreateArgs, store_path: &Path) -> u8 {
    if args.scopes.contains(&Scope::Reveal) && args.role != Role::Admin {
        eprintln!("error: --scope reveal needs --role admin");
        return exit::INVALID;
    }
    let Some(store) = super::open_store(store_path).await else {
        return exit::INTERNAL;
    };
    let generated = GeneratedToken::generate();
    let expires_at = args
        .expires
        .map(|d| now_millis().saturating_add(d.as_millis() as i64));
    let token = NewApiToken {
        name: args.name,
        role: args.role,
        scopes: args.scopes,
        hash: generated.hash,
        prefix: generated.prefix,
        created_by: cli_actor(),
        expires_at,
    };
    let stored = match store.create_api_token(token).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INTERNAL;
        }
    };
    let audit = AuditEntry {
        actor: cli_actor(),
        action: "token.create".into(),
        target: Some(format!("token:{}", stored.name)),
        after: Some(serde_json::json!({
            "id": stored.id,
            "name": stored.name,
            "role": stored.role,
            "scopes": stored.scopes,
            "expires_at": stored.expires_at,
        })),
        ..AuditEntry::default()
    };
    if let Err(e) = store.record_audit(audit).await {
        eprintln!("error: {e}");
        return exit::INTERNAL;
    }
    eprintln!(
        "token `{}` ({}) created; it is shown once, here:",
        stored.name, stored.role
    );
    println!("{}", generated.value.expose_secret());
    exit::OK
}
