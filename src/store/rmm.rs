//! RMM data: companies, sites, machines, vendors, vendor accounts and vendor
//! customers; the import from a TOML or JSON file.
//!
//! The import parses in two phases: serde `Raw*` shapes (unknown keys
//! rejected, every field optional) become validated `*In` values, with
//! errors naming the file and the item (`companies[2].sites[0].machines[1]`),
//! before anything touches the database. Then one IMMEDIATE transaction
//! upserts it all.

use super::{
    Company, DbResult, ImportCounts, Machine, MappingStatus, Millis, StoreError, VendorAccount,
    VendorCustomer,
};
use crate::money::{Currency, Decimal, Money};
use crate::secrets::SecretRef;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bytes in one GiB: RMMs report storage in binary gigabytes.
const GIB: f64 = (1u64 << 30) as f64;

// --- phase 1: raw shapes ---------------------------------------------------------

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    companies: Vec<RawCompany>,
    #[serde(default)]
    vendor_accounts: Vec<RawVendorAccount>,
    #[serde(default)]
    schedules: Vec<RawSchedule>,
    #[serde(default)]
    products: Vec<super::billing::RawProduct>,
    #[serde(default)]
    sku_mappings: Vec<super::billing::RawSkuMapping>,
    #[serde(default)]
    price_plans: Vec<super::billing::RawPricePlan>,
    #[serde(default)]
    agreements: Vec<super::billing::RawAgreement>,
}

/// A schedule: `kind` jobs for `vendor_account`, `every` N (`"5m"`) or by
/// `cron`, enqueued by the worker itself.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    name: Option<String>,
    kind: Option<String>,
    vendor_account: Option<String>,
    #[serde(default, deserialize_with = "given")]
    company: Given<String>,
    #[serde(default, deserialize_with = "given")]
    playbook: Given<String>,
    #[serde(default)]
    params: Option<serde_json::Value>,
    every: Option<String>,
    cron: Option<String>,
    enabled: Option<bool>,
    max_attempts: Option<u32>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompany {
    external_id: Option<String>,
    name: Option<String>,
    #[serde(default, deserialize_with = "given")]
    contact_name: Given<String>,
    #[serde(default, deserialize_with = "given")]
    contact_email: Given<String>,
    #[serde(default, deserialize_with = "given")]
    account_id: Given<String>,
    #[serde(default, deserialize_with = "given")]
    credit_limit: Given<RawNumber>,
    #[serde(default)]
    sites: Vec<RawSite>,
    /// Machines not at any site.
    #[serde(default)]
    machines: Vec<RawMachine>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    name: Option<String>,
    #[serde(default)]
    machines: Vec<RawMachine>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMachine {
    hostname: Option<String>,
    serial_number: Option<String>,
    storage_total_gb: Option<RawNumber>,
    storage_free_gb: Option<RawNumber>,
    #[serde(default, deserialize_with = "given")]
    os: Given<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVendorAccount {
    name: Option<String>,
    vendor: Option<String>,
    base_url: Option<String>,
    max_sessions: Option<RawNumber>,
    /// Absent: the stored references stay; given: they are replaced.
    #[serde(default, deserialize_with = "unique_keys")]
    secrets: Option<BTreeMap<String, String>>,
}

/// A field an import file may leave out: `None` (absent) keeps what the
/// store holds, `Some(None)` (an empty string, or `null` in JSON) clears
/// it, `Some(Some(v))` sets it. A re-import that names a company and one
/// new machine must not wipe its contact (docs/store.md).
pub(super) type Given<T> = Option<Option<T>>;

/// Deserializes a [`Given`] field that is present (`null` included).
pub(super) fn given<'de, D, T>(deserializer: D) -> Result<Given<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A given text, trimmed; empty clears.
pub(super) fn given_text(value: Given<String>) -> Given<String> {
    value.map(optional)
}

/// `column = excluded.column` for each column an item gives, so that an
/// upsert leaves the columns it does not give as they are.
pub(super) fn set_given(columns: &[(&str, bool)]) -> String {
    columns
        .iter()
        .filter(|(_, given)| *given)
        .map(|(column, _)| format!("{column} = excluded.{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A number as written: integer, float or text (validated in phase 2 so the
/// error can name the item).
#[derive(Clone)]
pub(super) enum RawNumber {
    Int(i64),
    Float(f64),
    Text(String),
}

/// By hand rather than `untagged`: an integer too large for 64 bits then
/// says so, not "invalid type: integer as i128, expected any value".
impl<'de> Deserialize<'de> for RawNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Number;
        impl serde::de::Visitor<'_> for Number {
            type Value = RawNumber;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number, or a number as text")
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<RawNumber, E> {
                Ok(RawNumber::Int(n))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<RawNumber, E> {
                i64::try_from(n)
                    .map(RawNumber::Int)
                    .map_err(|_| too_large())
            }
            fn visit_i128<E: serde::de::Error>(self, n: i128) -> Result<RawNumber, E> {
                i64::try_from(n)
                    .map(RawNumber::Int)
                    .map_err(|_| too_large())
            }
            fn visit_u128<E: serde::de::Error>(self, n: u128) -> Result<RawNumber, E> {
                i64::try_from(n)
                    .map(RawNumber::Int)
                    .map_err(|_| too_large())
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<RawNumber, E> {
                Ok(RawNumber::Float(n))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<RawNumber, E> {
                Ok(RawNumber::Text(text.to_string()))
            }
        }
        fn too_large<E: serde::de::Error>() -> E {
            E::custom(format_args!(
                "the number is too large (at most {})",
                i64::MAX
            ))
        }
        deserializer.deserialize_any(Number)
    }
}

// --- phase 2: validated -----------------------------------------------------------

pub(super) struct ImportData {
    companies: Vec<CompanyIn>,
    vendor_accounts: Vec<VendorAccountIn>,
    schedules: Vec<super::schedules::ScheduleIn>,
    billing: super::billing::BillingIn,
    /// The file, to name the line of an item an error in the transaction is about.
    file: Option<super::locate::FileText>,
}

struct CompanyIn {
    external_id: String,
    name: String,
    contact_name: Given<String>,
    contact_email: Given<String>,
    account_id: Given<String>,
    credit_limit_minor: Given<i64>,
    sites: Vec<SiteIn>,
    /// Machines with no site.
    machines: Vec<MachineIn>,
}

struct SiteIn {
    name: String,
    machines: Vec<MachineIn>,
}

struct MachineIn {
    hostname: String,
    serial_number: String,
    storage_total: i64,
    storage_free: i64,
    os: Given<String>,
}

struct VendorAccountIn {
    name: String,
    vendor: String,
    base_url: String,
    secret_refs: Option<BTreeMap<String, String>>,
    max_sessions: Option<u32>,
}

/// Collects an item path and makes errors that name the file and the item.
struct Ctx<'a> {
    file: &'a str,
    /// The file's name and text, to find the line of an item.
    file_text: &'a super::locate::FileText,
    /// The file's folder: plan files are inside it.
    dir: &'a Path,
    /// Where `file:` secret references must point.
    secrets_dir: &'a Path,
    /// The job kinds a schedule may name (empty: any).
    kinds: &'a [String],
}

impl Ctx<'_> {
    fn err(&self, item: &str, message: impl std::fmt::Display) -> StoreError {
        StoreError::Invalid(format!(
            "{}: {message}",
            super::billing::Place::at(self, item)
        ))
    }

    fn required(
        &self,
        item: &str,
        field: &str,
        value: Option<String>,
    ) -> Result<String, StoreError> {
        match value.map(|v| v.trim().to_string()) {
            Some(v) if !v.is_empty() => Ok(v),
            Some(_) => Err(self.err(item, format!("{field} is empty"))),
            None => Err(self.err(item, format!("{field} is missing"))),
        }
    }
}

impl super::billing::Place for Ctx<'_> {
    fn at(&self, path: &str) -> String {
        self.file_text.at(path)
    }

    fn dir(&self) -> &Path {
        self.dir
    }
}

pub(super) fn optional(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Phase 1: the file's raw shape, by extension. An error names the line,
/// the column and the item (`vendor_accounts[0].max_sessions`) and what
/// was expected, but never quotes the file's text: a line there might hold
/// a password typed in by mistake.
fn parse_file(shown: &str, text: &str, extension: Option<&str>) -> Result<RawFile, StoreError> {
    let refused = |(line, column): (usize, usize), path: String, message: &str| {
        // The parser's path up to the part it could name (`?` is a key it
        // had not read yet).
        let mut path = path.as_str();
        while let Some(known) = path.strip_suffix(".?") {
            path = known;
        }
        let item = match path {
            "" | "." | "?" => String::new(),
            path => format!(" {path}:"),
        };
        StoreError::Invalid(format!(
            "{shown}:{line}:{column}:{item} {}",
            without_values(message.trim())
        ))
    };
    match extension {
        Some("toml") => {
            let at = |e: &toml::de::Error| {
                super::locate::line_col(text, e.span().map_or(0, |s| s.start))
            };
            let document = toml::Deserializer::parse(text)
                .map_err(|e| refused(at(&e), String::new(), e.message()))?;
            serde_path_to_error::deserialize(document).map_err(|e| {
                let path = e.path().to_string();
                let e = e.into_inner();
                refused(at(&e), path, e.message())
            })
        }
        Some("json") => {
            let mut document = serde_json::Deserializer::from_str(text);
            let at = |e: &serde_json::Error| (e.line(), e.column());
            let raw = serde_path_to_error::deserialize(&mut document).map_err(|e| {
                let path = e.path().to_string();
                let e = e.into_inner();
                refused(at(&e), path, &json_message(&e))
            })?;
            document
                .end()
                .map_err(|e| refused(at(&e), String::new(), &json_message(&e)))?;
            Ok(raw)
        }
        _ => Err(StoreError::Invalid(format!(
            "{shown}: unknown format; the file name must end in .toml or .json"
        ))),
    }
}

/// serde_json's message without the position it appends (given apart).
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&position).unwrap_or(&text).to_string()
}

/// A parser's message with any string value it quotes left out (`invalid
/// type: string "hunter2", expected a map` → `invalid type: a string,
/// expected a map`); names of keys (in backquotes) stay.
fn without_values(message: &str) -> String {
    static QUOTED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"string "(?:[^"\\]|\\.)*""#).expect("valid regex")
    });
    QUOTED.replace_all(message, "a string").into_owned()
}

/// A map in which a key given twice is an error naming it: serde_json
/// would keep the last one silently (TOML's parser refuses it itself).
fn unique_keys<'de, D>(deserializer: D) -> Result<Option<BTreeMap<String, String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct UniqueKeys;
    impl<'de> serde::de::Visitor<'de> for UniqueKeys {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a table of names to references")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((key, value)) = map.next_entry::<String, String>()? {
                if out.contains_key(&key) {
                    return Err(serde::de::Error::custom(format_args!(
                        "duplicate key `{key}`: each name may be given once"
                    )));
                }
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(UniqueKeys).map(Some)
}

/// Reads and validates an import file (TOML or JSON by extension); `file:`
/// secret references must point inside `secrets_dir`.
pub(super) fn read_import(
    file: &Path,
    secrets_dir: &Path,
    kinds: &[String],
) -> Result<ImportData, StoreError> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file)
        .map_err(|e| StoreError::Invalid(format!("cannot read {shown}: {e}")))?;
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let dir = file.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let document = ImportDocument {
        shown: &shown,
        text,
        extension: extension.as_deref(),
        plans_dir: Some(dir),
    };
    read_document(document, secrets_dir, kinds)
}

/// An import document: a file's text (`store import`) or a request's body
/// (`POST /api/v1/import`, the PUT routes).
pub(super) struct ImportDocument<'a> {
    /// How errors name it: the file, or `body`.
    pub shown: &'a str,
    pub text: String,
    /// `toml` or `json`.
    pub extension: Option<&'a str>,
    /// The folder price plan files are read from; `None` (a request body):
    /// a document naming plan files is refused, since a caller over HTTP
    /// must not make the server read its files.
    pub plans_dir: Option<&'a Path>,
}

/// Parses and validates a document with the checks of `store import`.
pub(super) fn read_document(
    document: ImportDocument<'_>,
    secrets_dir: &Path,
    kinds: &[String],
) -> Result<ImportData, StoreError> {
    let ImportDocument {
        shown,
        text,
        extension,
        plans_dir,
    } = document;
    let raw = parse_file(shown, &text, extension)?;
    let json = extension == Some("json");
    let file_text = super::locate::FileText {
        file: shown.to_string(),
        json,
        text,
    };
    let dir = match plans_dir {
        Some(dir) => dir,
        None if raw.price_plans.is_empty() => Path::new("."),
        None => {
            return Err(StoreError::Invalid(format!(
                "{}: price plans name files on the server; import them with `panelwright store import`",
                file_text.at("price_plans")
            )));
        }
    };
    let mut data = validate(
        &Ctx {
            file: shown,
            file_text: &file_text,
            dir,
            secrets_dir,
            kinds,
        },
        raw,
    )?;
    data.file = Some(file_text);
    Ok(data)
}

/// The item an import error names (`vendor_accounts[0].secrets."password"`),
/// read back from a message made by [`super::locate::FileText::at`] or
/// `parse_file` for a document shown as `shown`: `shown:LINE:COL: ITEM: …`
/// or `shown: ITEM: …`. The API puts it in the problem's `field`.
pub fn rejected_item(message: &str, shown: &str) -> Option<String> {
    let rest = message.strip_prefix(shown)?.strip_prefix(':')?;
    // Skip `LINE:COL:` when present.
    let mut rest = rest;
    for _ in 0..2 {
        match rest.split_once(':') {
            Some((n, after)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                rest = after
            }
            _ => break,
        }
    }
    let (item, _) = rest.trim_start().split_once(": ")?;
    let is_item = item.starts_with(|c: char| c.is_ascii_alphabetic())
        && !item.contains(' ')
        && item.contains(['[', '.', '_'])
        || ITEMS.contains(&item);
    is_item.then(|| item.to_string())
}

/// The top-level keys of an import document.
const ITEMS: &[&str] = &[
    "companies",
    "vendor_accounts",
    "schedules",
    "products",
    "sku_mappings",
    "price_plans",
    "agreements",
];

fn validate(ctx: &Ctx<'_>, mut raw: RawFile) -> Result<ImportData, StoreError> {
    let billing = super::billing::validate(
        ctx,
        super::billing::RawBilling {
            products: std::mem::take(&mut raw.products),
            sku_mappings: std::mem::take(&mut raw.sku_mappings),
            price_plans: std::mem::take(&mut raw.price_plans),
            agreements: std::mem::take(&mut raw.agreements),
        },
    )?;
    let mut companies = Vec::new();
    let mut external_ids = BTreeSet::new();
    for (ci, c) in raw.companies.into_iter().enumerate() {
        let item = format!("companies[{ci}]");
        let external_id = ctx.required(&item, "external_id", c.external_id)?;
        if !external_ids.insert(external_id.clone()) {
            return Err(ctx.err(&item, format!("external_id {external_id:?} appears twice")));
        }
        let name = ctx.required(&item, "name", c.name)?;
        let contact_email = given_text(c.contact_email);
        if let Some(Some(email)) = &contact_email
            && !email.contains('@')
        {
            return Err(ctx.err(
                &item,
                format!("contact_email {email:?} is not an e-mail address"),
            ));
        }
        let credit_limit_minor = match c.credit_limit {
            Some(Some(RawNumber::Text(t))) if t.trim().is_empty() => Some(None),
            Some(Some(n)) => Some(Some(
                money_minor(&n).map_err(|m| ctx.err(&item, format!("credit_limit {m}")))?,
            )),
            other => other.map(|_| None),
        };
        let mut serials = BTreeSet::new();
        let mut site_names = BTreeSet::new();
        let mut sites = Vec::new();
        for (si, s) in c.sites.into_iter().enumerate() {
            let site_item = format!("{item}.sites[{si}]");
            let site_name = ctx.required(&site_item, "name", s.name)?;
            if !site_names.insert(site_name.clone()) {
                return Err(ctx.err(&site_item, format!("site {site_name:?} appears twice")));
            }
            let machines = s
                .machines
                .into_iter()
                .enumerate()
                .map(|(mi, m)| {
                    machine(ctx, &format!("{site_item}.machines[{mi}]"), m, &mut serials)
                })
                .collect::<Result<_, _>>()?;
            sites.push(SiteIn {
                name: site_name,
                machines,
            });
        }
        let machines = c
            .machines
            .into_iter()
            .enumerate()
            .map(|(mi, m)| machine(ctx, &format!("{item}.machines[{mi}]"), m, &mut serials))
            .collect::<Result<_, _>>()?;
        companies.push(CompanyIn {
            external_id,
            name,
            contact_name: given_text(c.contact_name),
            contact_email,
            account_id: given_text(c.account_id),
            credit_limit_minor,
            sites,
            machines,
        });
    }

    let mut vendor_accounts = Vec::new();
    let mut account_names = BTreeSet::new();
    for (ai, a) in raw.vendor_accounts.into_iter().enumerate() {
        let item = format!("vendor_accounts[{ai}]");
        let name = ctx.required(&item, "name", a.name)?;
        if !account_names.insert(name.clone()) {
            return Err(ctx.err(&item, format!("name {name:?} appears twice")));
        }
        let vendor = ctx.required(&item, "vendor", a.vendor)?;
        let base_url = ctx.required(&item, "base_url", a.base_url)?;
        if let Err(why) = crate::paths::vendor_url(&base_url) {
            let shown = crate::paths::url_shown(&base_url);
            return Err(ctx.err(&item, format!("base_url {shown:?} {why}")));
        }
        let max_sessions = match a.max_sessions {
            None => None,
            Some(RawNumber::Int(n)) if n >= 1 => {
                Some(u32::try_from(n).map_err(|_| ctx.err(&item, "max_sessions is too large"))?)
            }
            Some(_) => return Err(ctx.err(&item, "max_sessions must be a whole number ≥ 1")),
        };
        for (key, reference) in a.secrets.iter().flatten() {
            if key.trim().is_empty() {
                return Err(ctx.err(&item, "a secret has an empty name"));
            }
            let at = format!("{item}.secrets.\"{key}\"");
            // The value is never echoed: it may be a password typed by mistake.
            let Some(parsed) = SecretRef::parse(reference) else {
                return Err(ctx.err(
                    &at,
                    "must be a reference (env:VAR or file:PATH), not a value; \
                     secret values are never stored in the store",
                ));
            };
            // A reference may name where a secret is, never an arbitrary
            // file: the worker would type its content into the vendor's form.
            parsed
                .check(key, reference, ctx.secrets_dir)
                .map_err(|m| ctx.err(&at, format!("vendor account `{name}`: {m}")))?;
        }
        vendor_accounts.push(VendorAccountIn {
            name,
            vendor,
            base_url,
            secret_refs: a.secrets,
            max_sessions,
        });
    }
    let mut schedules = Vec::new();
    let mut schedule_names = BTreeSet::new();
    for (i, r) in raw.schedules.into_iter().enumerate() {
        let item = format!("schedules[{i}]");
        let name = ctx.required(&item, "name", r.name)?;
        if !schedule_names.insert(name.clone()) {
            return Err(ctx.err(&item, format!("name {name:?} appears twice")));
        }
        let kind = ctx.required(&item, "kind", r.kind)?;
        if !ctx.kinds.is_empty() && !ctx.kinds.contains(&kind) {
            return Err(ctx.err(
                &item,
                format!(
                    "unknown job kind `{kind}` (known: {})",
                    ctx.kinds.join(", ")
                ),
            ));
        }
        let vendor_account = ctx.required(&item, "vendor_account", r.vendor_account)?;
        let every = crate::schedule::Every::parse(r.every.as_deref(), r.cron.as_deref())
            .map_err(|m| ctx.err(&item, m))?;
        if r.params.as_ref().is_some_and(|p| !p.is_object()) {
            return Err(ctx.err(&item, "params must be a table"));
        }
        // `max_attempts` is kept inside the params: given alone, it
        // replaces them too.
        let params = match (r.params, r.max_attempts) {
            (None, None) => None,
            (params, _) => Some(params.unwrap_or_else(|| serde_json::json!({}))),
        };
        if r.max_attempts == Some(0) {
            return Err(ctx.err(&item, "max_attempts must be ≥ 1"));
        }
        schedules.push(super::schedules::ScheduleIn {
            item: format!("{}: {item}", ctx.file),
            name,
            kind,
            vendor_account,
            company: given_text(r.company),
            playbook: given_text(r.playbook),
            params,
            every_seconds: match every {
                crate::schedule::Every::Seconds(n) => Some(n),
                crate::schedule::Every::Cron(_) => None,
            },
            cron: r
                .cron
                .map(|c| c.trim().to_string())
                .filter(|_| r.every.is_none()),
            enabled: r.enabled,
            max_attempts: r.max_attempts,
        });
    }
    Ok(ImportData {
        companies,
        vendor_accounts,
        schedules,
        billing,
        file: None,
    })
}

fn machine(
    ctx: &Ctx<'_>,
    item: &str,
    m: RawMachine,
    serials: &mut BTreeSet<String>,
) -> Result<MachineIn, StoreError> {
    let hostname = ctx.required(item, "hostname", m.hostname)?;
    let serial_number = ctx.required(item, "serial_number", m.serial_number)?;
    if !serials.insert(serial_number.clone()) {
        return Err(ctx.err(
            item,
            format!("serial_number {serial_number:?} appears twice in this company"),
        ));
    }
    let bytes = |field: &str, n: Option<RawNumber>| -> Result<i64, StoreError> {
        let n = n.ok_or_else(|| ctx.err(item, format!("{field} is missing")))?;
        gib_to_bytes(&n).map_err(|m| ctx.err(item, format!("{field} {m}")))
    };
    let storage_total = bytes("storage_total_gb", m.storage_total_gb)?;
    let storage_free = bytes("storage_free_gb", m.storage_free_gb)?;
    if storage_free > storage_total {
        return Err(ctx.err(item, "storage_free_gb is larger than storage_total_gb"));
    }
    Ok(MachineIn {
        hostname,
        serial_number,
        storage_total,
        storage_free,
        os: given_text(m.os),
    })
}

/// GiB (integer or decimal) to bytes.
fn gib_to_bytes(n: &RawNumber) -> Result<i64, &'static str> {
    let gib = match n {
        RawNumber::Int(i) => *i as f64,
        RawNumber::Float(f) => *f,
        RawNumber::Text(_) => return Err("must be a number"),
    };
    if !gib.is_finite() {
        return Err("must be a finite number");
    }
    if gib < 0.0 {
        return Err("is negative");
    }
    let bytes = (gib * GIB).round();
    if bytes >= i64::MAX as f64 {
        return Err("is too large");
    }
    Ok(bytes as i64)
}

/// The store keeps credit limits as minor units with no currency column, so
/// they are read in a two-decimal currency; EUR until the schema records one.
pub const CREDIT_LIMIT_CURRENCY: Currency = Currency::EUR;

/// Money as decimal text (`"2500.00"`) or a whole number, to minor units
/// (cents), through the crate's one money parser. Floats are refused: they
/// cannot hold cents exactly.
fn money_minor(n: &RawNumber) -> Result<i64, String> {
    let bad = format!(
        "must be decimal text such as \"2500.00\" (at most {} decimals, not negative)",
        CREDIT_LIMIT_CURRENCY.minor_digits()
    );
    let amount = match n {
        RawNumber::Int(i) => Money::from_decimal(&Decimal::from(*i), CREDIT_LIMIT_CURRENCY),
        RawNumber::Float(_) => return Err(bad),
        RawNumber::Text(t) => Money::parse(t.trim(), CREDIT_LIMIT_CURRENCY),
    }
    .map_err(|e| match e.parse_problem() {
        _ if e.is_overflow() => "is too large".to_string(),
        Some(problem) => format!("{bad}: {problem}"),
        None => bad.clone(),
    })?;
    if amount.is_negative() {
        return Err("is negative".to_string());
    }
    Ok(amount.minor())
}

// --- writes -----------------------------------------------------------------------

pub(super) fn import(
    conn: &mut Connection,
    data: &ImportData,
    now: Millis,
) -> DbResult<ImportCounts> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut counts = ImportCounts::default();
    for c in &data.companies {
        let update = set_given(&[
            ("name", true),
            ("contact_name", c.contact_name.is_some()),
            ("contact_email", c.contact_email.is_some()),
            ("account_id", c.account_id.is_some()),
            ("credit_limit_minor", c.credit_limit_minor.is_some()),
            ("updated_at", true),
        ]);
        let company_id: i64 = tx.query_row(
            &format!(
                "INSERT INTO companies (external_id, name, contact_name, contact_email, account_id,
                                        credit_limit_minor, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
                 ON CONFLICT (external_id) DO UPDATE SET {update}
                 RETURNING id"
            ),
            params![
                c.external_id,
                c.name,
                c.contact_name.clone().flatten(),
                c.contact_email.clone().flatten(),
                c.account_id.clone().flatten(),
                c.credit_limit_minor.flatten(),
                now
            ],
            |r| r.get(0),
        )?;
        counts.companies += 1;
        for s in &c.sites {
            let site_id: i64 = tx.query_row(
                "INSERT INTO sites (company_id, name) VALUES (?1, ?2)
                 ON CONFLICT (company_id, name) DO UPDATE SET name = excluded.name
                 RETURNING id",
                params![company_id, s.name],
                |r| r.get(0),
            )?;
            counts.sites += 1;
            for m in &s.machines {
                upsert_machine(&tx, company_id, Some(site_id), m, now)?;
                counts.machines += 1;
            }
        }
        for m in &c.machines {
            upsert_machine(&tx, company_id, None, m, now)?;
            counts.machines += 1;
        }
    }
    for a in &data.vendor_accounts {
        let vendor_id: i64 = tx.query_row(
            "INSERT INTO vendors (name) VALUES (?1)
             ON CONFLICT (name) DO UPDATE SET name = excluded.name
             RETURNING id",
            [&a.vendor],
            |r| r.get(0),
        )?;
        // A new account without them has no references and one session.
        let refs = serde_json::to_string(&a.secret_refs.clone().unwrap_or_default())
            .expect("strings serialise");
        let update = set_given(&[
            ("vendor_id", true),
            ("base_url", true),
            ("secret_refs", a.secret_refs.is_some()),
            ("max_sessions", a.max_sessions.is_some()),
            ("updated_at", true),
        ]);
        tx.execute(
            &format!(
                "INSERT INTO vendor_accounts (name, vendor_id, base_url, secret_refs, max_sessions,
                                              updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (name) DO UPDATE SET {update}"
            ),
            params![
                a.name,
                vendor_id,
                a.base_url,
                refs,
                a.max_sessions.unwrap_or(1),
                now
            ],
        )?;
        counts.vendor_accounts += 1;
    }
    for sch in &data.schedules {
        super::schedules::upsert(&tx, sch, now)?;
        counts.schedules += 1;
    }
    let unnamed = super::locate::FileText {
        file: "the import file".into(),
        text: String::new(),
        json: false,
    };
    let file = data.file.as_ref().unwrap_or(&unnamed);
    counts.billing = super::billing::import(&tx, &data.billing, file, now)?;
    tx.commit()?;
    Ok(counts)
}

fn upsert_machine(
    conn: &Connection,
    company_id: i64,
    site_id: Option<i64>,
    m: &MachineIn,
    now: Millis,
) -> rusqlite::Result<()> {
    let update = set_given(&[
        ("site_id", true),
        ("hostname", true),
        ("storage_total", true),
        ("storage_free", true),
        ("os", m.os.is_some()),
        ("updated_at", true),
    ]);
    conn.execute(
        &format!(
            "INSERT INTO machines (company_id, site_id, hostname, serial_number, storage_total,
                                   storage_free, os, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (company_id, serial_number) DO UPDATE SET {update}"
        ),
        params![
            company_id,
            site_id,
            m.hostname,
            m.serial_number,
            m.storage_total,
            m.storage_free,
            m.os.clone().flatten(),
            now
        ],
    )?;
    Ok(())
}

// --- reads ------------------------------------------------------------------------

fn company_from_row(r: &Row<'_>) -> rusqlite::Result<Company> {
    Ok(Company {
        id: r.get("id")?,
        external_id: r.get("external_id")?,
        name: r.get("name")?,
        contact_name: r.get("contact_name")?,
        contact_email: r.get("contact_email")?,
        account_id: r.get("account_id")?,
        credit_limit_minor: r.get("credit_limit_minor")?,
    })
}

pub(super) fn company(conn: &mut Connection, key: &str) -> DbResult<Company> {
    let by_id = conn
        .query_row(
            "SELECT * FROM companies WHERE external_id = ?1",
            [key],
            company_from_row,
        )
        .optional()?;
    if let Some(c) = by_id {
        return Ok(c);
    }
    let mut stmt = conn.prepare("SELECT * FROM companies WHERE name = ?1 ORDER BY id")?;
    let mut by_name = stmt
        .query_map([key], company_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    match by_name.len() {
        0 => Err(StoreError::NotFound(format!("company {key:?} not found")).into()),
        1 => Ok(by_name.remove(0)),
        n => Err(StoreError::Invalid(format!(
            "company name {key:?} is ambiguous ({n} companies); use the external id"
        ))
        .into()),
    }
}

/// Every company, by external id.
pub(super) fn companies(conn: &mut Connection) -> DbResult<Vec<Company>> {
    let mut stmt = conn.prepare("SELECT * FROM companies ORDER BY external_id")?;
    let rows = stmt
        .query_map([], company_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A company's site names, sites without machines included.
pub(super) fn sites(conn: &mut Connection, company_id: i64) -> DbResult<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM sites WHERE company_id = ?1 ORDER BY name")?;
    let rows = stmt
        .query_map([company_id], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn company_exists(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    conn.query_row("SELECT 1 FROM companies WHERE id = ?1", [id], |_| Ok(()))
        .optional()
        .map(|r| r.is_some())
}

pub(super) fn machines(
    conn: &mut Connection,
    company_id: i64,
    only: &[String],
) -> DbResult<Vec<Machine>> {
    if !company_exists(conn, company_id)? {
        return Err(StoreError::NotFound(format!("company {company_id} not found")).into());
    }
    let mut stmt = conn.prepare(
        "SELECT m.id, m.company_id, s.name AS site, m.hostname, m.serial_number,
                m.storage_total, m.storage_free, m.os
         FROM machines m LEFT JOIN sites s ON s.id = m.site_id
         WHERE m.company_id = ?1
         ORDER BY m.hostname, m.id",
    )?;
    let all = stmt
        .query_map([company_id], |r| {
            Ok(Machine {
                id: r.get("id")?,
                company_id: r.get("company_id")?,
                site: r.get("site")?,
                hostname: r.get("hostname")?,
                serial_number: r.get("serial_number")?,
                storage_total: r.get("storage_total")?,
                storage_free: r.get("storage_free")?,
                os: r.get("os")?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    if only.is_empty() {
        return Ok(all);
    }
    // Hostnames compare case-insensitively (as DNS and Windows do); serial
    // numbers exactly.
    let matches =
        |m: &Machine, key: &str| m.serial_number == key || m.hostname.eq_ignore_ascii_case(key);
    let missing: Vec<&str> = only
        .iter()
        .filter(|key| !all.iter().any(|m| matches(m, key)))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(StoreError::NotFound(format!(
            "machine {} not found in company {company_id} (by hostname or serial number)",
            missing
                .iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    Ok(all
        .into_iter()
        .filter(|m| only.iter().any(|key| matches(m, key)))
        .collect())
}

const VENDOR_ACCOUNT_SELECT: &str =
    "SELECT a.id, a.name, v.name, a.base_url, a.secret_refs, a.max_sessions
     FROM vendor_accounts a JOIN vendors v ON v.id = a.vendor_id";

fn vendor_account_from_row(r: &Row<'_>) -> rusqlite::Result<VendorAccount> {
    let refs: String = r.get(4)?;
    let secret_refs = serde_json::from_str(&refs).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(VendorAccount {
        id: r.get(0)?,
        name: r.get(1)?,
        vendor: r.get(2)?,
        base_url: r.get(3)?,
        secret_refs,
        max_sessions: r.get(5)?,
    })
}

pub(super) fn vendor_account(conn: &mut Connection, name: &str) -> DbResult<VendorAccount> {
    let found = conn
        .query_row(
            &format!("{VENDOR_ACCOUNT_SELECT} WHERE a.name = ?1"),
            [name],
            vendor_account_from_row,
        )
        .optional()?;
    Ok(found.ok_or_else(|| StoreError::NotFound(format!("vendor account {name:?} not found")))?)
}

/// Every vendor account, by name.
pub(super) fn vendor_accounts(conn: &mut Connection) -> DbResult<Vec<VendorAccount>> {
    let mut stmt = conn.prepare(&format!("{VENDOR_ACCOUNT_SELECT} ORDER BY a.name"))?;
    let rows = stmt
        .query_map([], vendor_account_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn vendor_account_id(conn: &Connection, name: &str) -> DbResult<i64> {
    let id = conn
        .query_row(
            "SELECT id FROM vendor_accounts WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()?;
    Ok(id.ok_or_else(|| StoreError::NotFound(format!("vendor account {name:?} not found")))?)
}

pub(super) fn map_vendor_customer(
    conn: &mut Connection,
    account: &str,
    vendor_ref: &str,
    name: &str,
    company_id: Option<i64>,
    now: Millis,
) -> DbResult<VendorCustomer> {
    if vendor_ref.trim().is_empty() {
        return Err(
            StoreError::Invalid("a vendor customer needs a non-empty vendor ref".into()).into(),
        );
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let account_id = vendor_account_id(&tx, account)?;
    if let Some(id) = company_id
        && !company_exists(&tx, id)?
    {
        return Err(StoreError::NotFound(format!("company {id} not found")).into());
    }
    let status = if company_id.is_some() {
        MappingStatus::Mapped
    } else {
        MappingStatus::Unmapped
    };
    // A customer someone marked `excluded` stays excluded until it is mapped
    // explicitly: a report re-discovering it must not undo the decision.
    let customer = tx.query_row(
        "INSERT INTO vendor_customers (vendor_account_id, vendor_ref, name, company_id, status,
                                       updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (vendor_account_id, vendor_ref) DO UPDATE SET
             name = excluded.name, company_id = excluded.company_id,
             status = CASE WHEN excluded.company_id IS NULL
                                AND vendor_customers.status = 'excluded'
                           THEN 'excluded' ELSE excluded.status END,
             updated_at = excluded.updated_at
         RETURNING id, vendor_ref, name, company_id, status",
        params![account_id, vendor_ref, name, company_id, status, now],
        |r| {
            Ok(VendorCustomer {
                id: r.get(0)?,
                vendor_account: account.to_string(),
                vendor_ref: r.get(1)?,
                name: r.get(2)?,
                company_id: r.get(3)?,
                status: r.get(4)?,
            })
        },
    )?;
    tx.commit()?;
    Ok(customer)
}

/// Maps vendor customer `id` to a company, or (without one) marks it
/// `excluded` when `exclude`, else `unmapped`: an operator's decision
/// (`PUT /api/v1/vendor-customers/{id}/mapping`). Returns it as it was and
/// as it is now.
pub(super) fn set_vendor_customer_mapping(
    conn: &mut Connection,
    id: i64,
    company_id: Option<i64>,
    exclude: bool,
    now: Millis,
) -> DbResult<(VendorCustomer, VendorCustomer)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let read = |tx: &Connection| {
        tx.query_row(
            "SELECT c.id, a.name, c.vendor_ref, c.name, c.company_id, c.status
             FROM vendor_customers c JOIN vendor_accounts a ON a.id = c.vendor_account_id
             WHERE c.id = ?1",
            [id],
            |r| {
                Ok(VendorCustomer {
                    id: r.get(0)?,
                    vendor_account: r.get(1)?,
                    vendor_ref: r.get(2)?,
                    name: r.get(3)?,
                    company_id: r.get(4)?,
                    status: r.get(5)?,
                })
            },
        )
        .optional()
    };
    let before = read(&tx)?
        .ok_or_else(|| StoreError::NotFound(format!("vendor customer {id} not found")))?;
    let status = match (company_id, exclude) {
        (Some(_), true) => {
            return Err(StoreError::Invalid(
                "a vendor customer is mapped to a company or excluded, not both".into(),
            )
            .into());
        }
        (Some(_), false) => MappingStatus::Mapped,
        (None, true) => MappingStatus::Excluded,
        (None, false) => MappingStatus::Unmapped,
    };
    tx.execute(
        "UPDATE vendor_customers SET company_id = ?2, status = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, company_id, status, now],
    )?;
    let after = read(&tx)?.expect("the row just updated");
    tx.commit()?;
    Ok((before, after))
}

pub(super) fn vendor_customers(
    conn: &mut Connection,
    account: Option<&str>,
) -> DbResult<Vec<VendorCustomer>> {
    if let Some(name) = account {
        vendor_account_id(conn, name)?;
    }
    let mut stmt = conn.prepare(
        "SELECT c.id, a.name, c.vendor_ref, c.name, c.company_id, c.status
         FROM vendor_customers c JOIN vendor_accounts a ON a.id = c.vendor_account_id
         WHERE ?1 IS NULL OR a.name = ?1
         ORDER BY a.name, c.vendor_ref",
    )?;
    let rows = stmt
        .query_map([account], |r| {
            Ok(VendorCustomer {
                id: r.get(0)?,
                vendor_account: r.get(1)?,
                vendor_ref: r.get(2)?,
                name: r.get(3)?,
                company_id: r.get(4)?,
                status: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_exact() {
        let t = |s: &str| money_minor(&RawNumber::Text(s.into()));
        assert_eq!(t("2500.00"), Ok(250_000));
        assert_eq!(t("2500"), Ok(250_000));
        assert_eq!(t("2500.5"), Ok(250_050));
        assert_eq!(t(" 0.07 "), Ok(7));
        assert_eq!(t("-0.00"), Ok(0));
        assert!(t("2500.005").unwrap_err().contains("at most 2 decimals"));
        assert_eq!(t("-1.00").unwrap_err(), "is negative");
        assert!(
            t("1,000.00")
                .unwrap_err()
                .contains("no thousands separators")
        );
        assert!(t("12.").is_err());
        assert!(t(".5").is_err());
        assert!(t("").is_err());
        assert!(t("+5").is_err());
        assert!(t("1e3").unwrap_err().contains("exponents"));
        assert_eq!(t("99999999999999999999").unwrap_err(), "is too large");
        assert_eq!(money_minor(&RawNumber::Int(25)), Ok(2500));
        assert_eq!(
            money_minor(&RawNumber::Int(-25)).unwrap_err(),
            "is negative"
        );
        assert_eq!(
            money_minor(&RawNumber::Int(i64::MAX)).unwrap_err(),
            "is too large"
        );
        assert!(money_minor(&RawNumber::Float(25.1)).is_err());
    }

    #[test]
    fn the_item_of_an_error_is_read_back_for_the_api() {
        let item = |m: &str| rejected_item(m, "body");
        assert_eq!(
            item("body:3:20: vendor_accounts[0].secrets.\"login.password\": vendor account `x`: outside")
                .as_deref(),
            Some("vendor_accounts[0].secrets.\"login.password\"")
        );
        assert_eq!(
            item("body: companies[1]: name is missing").as_deref(),
            Some("companies[1]")
        );
        assert_eq!(
            item("body:1:14: companies: invalid type: integer `5`, expected a sequence").as_deref(),
            Some("companies")
        );
        // No item: the message names none, or another document.
        assert_eq!(item("body:1:1: expected value"), None);
        assert_eq!(item("rmm.toml:1:1: companies[0]: x"), None);
        // Every error `validate` makes is read back.
        let text = r#"{"vendor_accounts": [{"name": "a", "vendor": "v", "base_url": "ftp://x"}]}"#;
        let document = ImportDocument {
            shown: "body",
            text: text.into(),
            extension: Some("json"),
            plans_dir: None,
        };
        let Err(StoreError::Invalid(message)) =
            read_document(document, Path::new("/nonexistent"), &[])
        else {
            panic!("an ftp base URL was accepted");
        };
        assert_eq!(
            item(&message).as_deref(),
            Some("vendor_accounts[0]"),
            "{message}"
        );
    }

    #[test]
    fn storage_in_gib() {
        assert_eq!(gib_to_bytes(&RawNumber::Int(512)), Ok(512 << 30));
        assert_eq!(gib_to_bytes(&RawNumber::Float(0.5)), Ok(1 << 29));
        assert_eq!(gib_to_bytes(&RawNumber::Int(-1)), Err("is negative"));
        assert!(gib_to_bytes(&RawNumber::Text("12".into())).is_err());
    }
}
