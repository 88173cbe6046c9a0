//! What people and programs see, built once: each view is a typed
//! `Serialize` value loaded from the store and assembled here; the CLI
//! renders it as a table, CSV or JSON, the API serves it, the console
//! shows it. Nothing else assembles them.

pub mod jobs;
