//! `panelwright store init|import` and `panelwright key generate`.

use super::exit;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Create the store file (if missing, or empty) and apply migrations.
    Init,
    /// Load companies, sites, machines, vendor accounts, schedules, products, SKU mappings,
    /// price plans and agreement lines from a TOML or JSON file (upsert: a key an item leaves
    /// out keeps its stored value); `file:` secret references must point inside --secrets-dir.
    Import {
        /// The file (see docs/store.md for its shape).
        file: PathBuf,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// Write a new random encryption key to FILE (mode 0600); refuses to overwrite.
    Generate {
        /// Where to write the key.
        file: PathBuf,
    },
}

pub async fn run(cmd: StoreCommand, path: &Path, secrets_dir: &Path) -> u8 {
    // `init` (only) may make an existing empty file a store.
    let opened = match cmd {
        StoreCommand::Init => crate::store::Store::init(path).await,
        _ => crate::store::Store::open(path).await,
    };
    let store = match opened {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INTERNAL;
        }
    };
    match cmd {
        StoreCommand::Init => {
            println!("store ready: {}", path.display());
            exit::OK
        }
        StoreCommand::Import { file } => {
            // A schedule naming a kind no worker of this build runs would
            // never run: refused at import, like `submit` refuses it.
            let kinds = crate::jobs::Registry::standard(Default::default())
                .kinds()
                .iter()
                .map(|k| k.to_string())
                .collect();
            match store.import_checked(&file, secrets_dir, kinds).await {
                Ok(c) => {
                    println!("imported {}: {}", file.display(), counted(&c));
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

/// What an import wrote, every kind of item counted: a billing file
/// printed "0 companies, 0 sites…" and nothing of what it did hold.
fn counted(c: &crate::store::ImportCounts) -> String {
    [
        (c.companies, "companies"),
        (c.sites, "sites"),
        (c.machines, "machines"),
        (c.vendor_accounts, "vendor accounts"),
        (c.schedules, "schedules"),
        (c.billing.products, "products"),
        (c.billing.sku_mappings, "SKU mappings"),
        (c.billing.price_plans, "price plans"),
        (c.billing.agreement_lines, "agreement lines"),
    ]
    .iter()
    .map(|(n, what)| format!("{n} {what}"))
    .collect::<Vec<_>>()
    .join(", ")
}

pub fn key(cmd: KeyCommand) -> u8 {
    let KeyCommand::Generate { file } = cmd;
    if file.exists() {
        eprintln!("error: {} exists; not overwriting a key", file.display());
        return exit::INVALID;
    }
    let (_, hex) = crate::secrets::crypto::StoreKey::generate();
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file)?;
        f.write_all(hex.as_bytes())?;
        f.write_all(b"\n")
    };
    match write() {
        Ok(()) => {
            println!(
                "new key written to {} (keep it out of the store and out of backups of the store)",
                file.display()
            );
            exit::OK
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", file.display());
            exit::INTERNAL
        }
    }
}
