//! `panelwright demo` and `panelwright demo-vendor`. (Filled in once the demo vendor lands.)

use crate::secrets::Redactor;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {}

#[derive(Debug, clap::Args)]
pub struct DemoVendorArgs {}

pub async fn run(_args: DemoArgs, _redactor: Redactor) -> u8 {
    1
}

pub async fn serve(_args: DemoVendorArgs) -> u8 {
    1
}
