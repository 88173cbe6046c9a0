//! `panelwright token`: API tokens for `serve` (`Authorization: Bearer`).
//! A token is printed once, at creation; the store keeps its SHA-256.

use super::audit::ListFormat;
use super::exit;
use super::table::{Align, Table};
use crate::access::{Role, Scope};
use crate::auth::{Actor, accounts};
use crate::store::TokenRef;
use secrecy::ExposeSecret as _;
use std::path::Path;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (store it in the RMM's secret store).
    Create(CreateArgs),
    /// List tokens: prefix, role, scopes, created, expires, revoked, last used (never the token).
    List {
        /// table or json.
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
    /// Revoke a token (by id) or every live token of a name: it stops working at once.
    Revoke {
        /// The token's id (from `token list`) or its name.
        token: String,
    },
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
    let Some(store) = super::open_store(store_path).await else {
        return exit::INTERNAL;
    };
    match cmd {
        TokenCommand::Create(args) => create(args, &store).await,
        TokenCommand::List { format } => list(&store, format).await,
        TokenCommand::Revoke { token } => revoke(&token, &store).await,
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

fn cli() -> Actor {
    Actor {
        name: cli_actor(),
        address: None,
    }
}

async fn create(args: CreateArgs, store: &crate::store::Store) -> u8 {
    let request = accounts::TokenRequest {
        name: args.name,
        role: args.role,
        scopes: args.scopes,
        expires: args.expires,
    };
    match accounts::create_token(store, &cli(), request).await {
        Ok((stored, generated)) => {
            eprintln!(
                "token `{}` ({}) created; it is shown once, here:",
                stored.name, stored.role
            );
            println!("{}", generated.value.expose_secret());
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            super::user::exit_for(&e)
        }
    }
}

async fn list(store: &crate::store::Store, format: ListFormat) -> u8 {
    let list = match crate::views::access::tokens(store).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INTERNAL;
        }
    };
    if format == ListFormat::Json {
        println!("{}", serde_json::to_string_pretty(&list).expect("JSON"));
        return exit::OK;
    }
    let mut t = Table::new(&[
        ("ID", Align::Right),
        ("NAME", Align::Left),
        ("PREFIX", Align::Left),
        ("ROLE", Align::Left),
        ("SCOPES", Align::Left),
        ("CREATED", Align::Left),
        ("EXPIRES", Align::Left),
        ("REVOKED", Align::Left),
        ("LAST USED", Align::Left),
    ]);
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    for tok in list.tokens {
        let scopes: Vec<&str> = tok.scopes.iter().map(|s| s.as_str()).collect();
        t.row(vec![
            tok.id.to_string(),
            tok.name,
            tok.prefix,
            tok.role.to_string(),
            if scopes.is_empty() {
                "-".into()
            } else {
                scopes.join(",")
            },
            tok.created_at,
            or_dash(tok.expires_at),
            or_dash(tok.revoked_at),
            or_dash(tok.last_used_at),
        ]);
    }
    print!("{}", t.render());
    exit::OK
}

async fn revoke(which: &str, store: &crate::store::Store) -> u8 {
    let which = match which.parse::<i64>() {
        Ok(id) => TokenRef::Id(id),
        Err(_) => TokenRef::Name(which.to_string()),
    };
    match accounts::revoke_token(store, &cli(), which).await {
        Ok(revoked) => {
            for t in revoked {
                eprintln!("token `{}` (#{}) revoked", t.after.name, t.after.id);
            }
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            super::user::exit_for(&e)
        }
    }
}
