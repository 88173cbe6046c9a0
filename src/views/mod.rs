//! What people and programs see, built once: each view is a typed
//! `Serialize` value loaded from the store and assembled here; the CLI
//! renders it as a table, CSV or JSON, the API serves it, the console
//! shows it. Nothing else assembles them.

pub mod access;
pub mod audit;
pub mod availability;
pub mod changes;
pub mod companies;
pub mod credentials;
pub mod jobs;
pub mod recon;
pub mod usage;
pub mod vendor_accounts;
