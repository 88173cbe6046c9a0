//! Billing data in the import file: products, the vendor SKUs mapped to
//! them, price plans and agreement lines. Validated in full before the
//! import's transaction; references to what the store already holds (a
//! company, a product, a plan, a vendor account not in the file) are checked
//! inside it, so a file with any error imports nothing.

use super::locate::FileText;
use super::rmm::{Given, given, given_text, optional, set_given};
use super::{DbResult, Millis, StoreError};
use crate::billing::{Aggregation, BillingCycle, Combine};
use crate::money::{Currency, Decimal, Money};
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::BTreeSet;
use std::path::Path;

// --- phase 1: raw shapes ---------------------------------------------------------

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProduct {
    code: Option<String>,
    #[serde(default, deserialize_with = "given")]
    name: Given<String>,
    service: Option<String>,
    metric: Option<String>,
    #[serde(default, deserialize_with = "given")]
    aggregation: Given<String>,
    #[serde(default, deserialize_with = "given")]
    combine: Given<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSkuMapping {
    vendor_account: Option<String>,
    sku: Option<String>,
    product: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPricePlan {
    name: Option<String>,
    /// The plan's TOML file, relative to the import file's folder and inside it.
    file: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAgreement {
    company: Option<String>,
    product: Option<String>,
    quantity: Option<super::rmm::RawNumber>,
    unit_price: Option<super::rmm::RawNumber>,
    unit_cost: Option<super::rmm::RawNumber>,
    currency: Option<String>,
    #[serde(default, deserialize_with = "given")]
    price_plan: Given<String>,
    #[serde(default, deserialize_with = "given")]
    cost_plan: Given<String>,
    #[serde(default, deserialize_with = "given")]
    billing_cycle: Given<String>,
    effective_from: Option<RawDate>,
    #[serde(default, deserialize_with = "given")]
    effective_to: Given<RawDate>,
}

/// A date as text (`"2026-10-01"`), or TOML's own date (`2026-10-01`).
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub(super) enum RawDate {
    Text(String),
    Toml(toml::value::Datetime),
}

impl RawDate {
    fn text(self) -> String {
        match self {
            RawDate::Text(t) => t,
            RawDate::Toml(d) => d.to_string(),
        }
    }
}

/// The billing parts of the import file, as written.
#[derive(Default)]
pub(super) struct RawBilling {
    pub products: Vec<RawProduct>,
    pub sku_mappings: Vec<RawSkuMapping>,
    pub price_plans: Vec<RawPricePlan>,
    pub agreements: Vec<RawAgreement>,
}

// --- phase 2: validated ------------------------------------------------------------

/// Fields with a default (`name`, `aggregation`, `combine`) take it in a
/// new row; in a stored one, a field the file leaves out stays as it is.
pub(super) struct ProductIn {
    code: String,
    name: String,
    service: String,
    metric: String,
    aggregation: Aggregation,
    combine: Combine,
    /// Which of `name`, `aggregation`, `combine` the file gives.
    given: [bool; 3],
}

/// An item's path (`agreements[3]`), to name one of its fields in an error
/// found in the transaction, once the store is consulted.
struct Located(String);

impl Located {
    fn at(&self, file: &FileText, field: &str) -> String {
        file.at(&format!("{}.{field}", self.0))
    }
}

pub(super) struct SkuMappingIn {
    at: Located,
    vendor_account: String,
    sku: String,
    product: String,
}

pub(super) struct PricePlanIn {
    name: String,
    currency: Currency,
    source: String,
}

pub(super) struct AgreementIn {
    at: Located,
    company: String,
    product: String,
    quantity: Decimal,
    currency: Currency,
    unit_price: Money,
    unit_cost: Money,
    price_plan: Given<String>,
    cost_plan: Given<String>,
    billing_cycle: BillingCycle,
    effective_from: jiff::civil::Date,
    effective_to: Given<jiff::civil::Date>,
    /// Whether the file gives `billing_cycle` (else a stored line keeps its own).
    cycle_given: bool,
}

#[derive(Default)]
pub(super) struct BillingIn {
    products: Vec<ProductIn>,
    sku_mappings: Vec<SkuMappingIn>,
    price_plans: Vec<PricePlanIn>,
    agreements: Vec<AgreementIn>,
}

/// Where errors point: the file, and the line of an item path in it.
pub(super) trait Place {
    /// `file:line:col: path`, or `file: path` when the path is not found.
    fn at(&self, path: &str) -> String;
    /// The folder plan files are relative to.
    fn dir(&self) -> &Path;
}

fn err(place: &dyn Place, path: &str, message: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("{}: {message}", place.at(path)))
}

fn required(
    place: &dyn Place,
    item: &str,
    field: &str,
    v: Option<String>,
) -> Result<String, StoreError> {
    let path = format!("{item}.{field}");
    match v.map(|v| v.trim().to_string()) {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => Err(err(place, &path, "is empty")),
        None => Err(err(place, &path, "is missing")),
    }
}

fn parse_enum<T: std::str::FromStr<Err = crate::text::ParseTextError>>(
    place: &dyn Place,
    path: &str,
    text: Option<String>,
    default: T,
) -> Result<T, StoreError> {
    match optional(text) {
        None => Ok(default),
        Some(t) => t.parse().map_err(|e: crate::text::ParseTextError| {
            err(place, path, format!("`{t}` is not one of {}", e.expected))
        }),
    }
}

/// A decimal as written (text, or a whole number; never a float, which
/// would have lost digits before we saw it).
fn decimal(
    place: &dyn Place,
    path: &str,
    n: &super::rmm::RawNumber,
) -> Result<Decimal, StoreError> {
    use super::rmm::RawNumber;
    match n {
        RawNumber::Int(i) => Ok(Decimal::from(*i)),
        RawNumber::Text(t) => Decimal::parse(t.trim()).map_err(|e| err(place, path, e)),
        RawNumber::Float(_) => Err(err(
            place,
            path,
            "write the number as text (\"12.50\"): a float may already have lost digits",
        )),
    }
}

fn date(place: &dyn Place, path: &str, text: &str) -> Result<jiff::civil::Date, StoreError> {
    text.parse::<jiff::civil::Date>().map_err(|_| {
        err(
            place,
            path,
            format!("`{text}` is not a date like 2026-10-01"),
        )
    })
}

/// The plan's name and currency, checked by the pricing module.
fn check_plan(
    place: &dyn Place,
    path: &str,
    origin: &str,
    source: &str,
) -> Result<(String, Currency), StoreError> {
    let plan = crate::pricing::Plan::from_toml(source, origin)
        .map_err(|e| err(place, path, format!("the plan is not valid: {e}")))?;
    Ok((plan.name().to_string(), plan.currency()))
}

pub(super) fn validate(place: &dyn Place, raw: RawBilling) -> Result<BillingIn, StoreError> {
    let mut out = BillingIn::default();
    let mut codes = BTreeSet::new();
    for (i, p) in raw.products.into_iter().enumerate() {
        let item = format!("products[{i}]");
        let code = required(place, &item, "code", p.code)?;
        if !codes.insert(code.clone()) {
            return Err(err(
                place,
                &format!("{item}.code"),
                format!("`{code}` appears twice"),
            ));
        }
        let metric = required(place, &item, "metric", p.metric)?;
        // Storage held at two vendors is held twice; people move, once.
        let combine_default = if metric == "storage" {
            Combine::Sum
        } else {
            Combine::Max
        };
        let given = [
            p.name.is_some(),
            p.aggregation.is_some(),
            p.combine.is_some(),
        ];
        out.products.push(ProductIn {
            given,
            name: optional(p.name.flatten()).unwrap_or_else(|| code.clone()),
            service: required(place, &item, "service", p.service)?,
            aggregation: parse_enum(
                place,
                &format!("{item}.aggregation"),
                p.aggregation.flatten(),
                Aggregation::Latest,
            )?,
            combine: parse_enum(
                place,
                &format!("{item}.combine"),
                p.combine.flatten(),
                combine_default,
            )?,
            code,
            metric,
        });
    }
    let mut mapped = BTreeSet::new();
    for (i, m) in raw.sku_mappings.into_iter().enumerate() {
        let item = format!("sku_mappings[{i}]");
        let vendor_account = required(place, &item, "vendor_account", m.vendor_account)?;
        let sku = required(place, &item, "sku", m.sku)?;
        if !mapped.insert((vendor_account.clone(), sku.clone())) {
            return Err(err(
                place,
                &format!("{item}.sku"),
                format!("`{sku}` of `{vendor_account}` is mapped twice"),
            ));
        }
        out.sku_mappings.push(SkuMappingIn {
            at: Located(item.clone()),
            product: required(place, &item, "product", m.product)?,
            vendor_account,
            sku,
        });
    }
    let mut plan_names = BTreeSet::new();
    for (i, p) in raw.price_plans.into_iter().enumerate() {
        let item = format!("price_plans[{i}]");
        let name = required(place, &item, "name", p.name)?;
        let file = required(place, &item, "file", p.file)?;
        let path = format!("{item}.file");
        let resolved = crate::paths::confine(place.dir(), Path::new(&file))
            .map_err(|e| err(place, &path, e))?;
        let source = std::fs::read_to_string(&resolved)
            .map_err(|e| err(place, &path, format!("cannot read `{file}`: {e}")))?;
        let (plan_name, currency) = check_plan(place, &path, &file, &source)?;
        if plan_name != name {
            return Err(err(
                place,
                &format!("{item}.name"),
                format!("`{name}` but the file's plan is named `{plan_name}`"),
            ));
        }
        if !plan_names.insert(name.clone()) {
            return Err(err(
                place,
                &format!("{item}.name"),
                format!("`{name}` appears twice"),
            ));
        }
        out.price_plans.push(PricePlanIn {
            name,
            currency,
            source,
        });
    }
    let mut lines = BTreeSet::new();
    for (i, a) in raw.agreements.into_iter().enumerate() {
        let item = format!("agreements[{i}]");
        let field = |f: &str| format!("{item}.{f}");
        let company = required(place, &item, "company", a.company)?;
        let product = required(place, &item, "product", a.product)?;
        let currency_text = required(place, &item, "currency", a.currency)?;
        let currency =
            Currency::from_code(&currency_text).map_err(|e| err(place, &field("currency"), e))?;
        let quantity = match &a.quantity {
            Some(n) => decimal(place, &field("quantity"), n)?,
            None => return Err(err(place, &field("quantity"), "is missing")),
        };
        if quantity.is_negative() {
            return Err(err(
                place,
                &field("quantity"),
                format!("{quantity} is negative"),
            ));
        }
        let money = |name: &str, n: &Option<super::rmm::RawNumber>| -> Result<Money, StoreError> {
            let path = field(name);
            let value = match n {
                Some(n) => decimal(place, &path, n)?,
                None => return Err(err(place, &path, "is missing")),
            };
            if value.is_negative() {
                return Err(err(place, &path, format!("{value} is negative")));
            }
            Money::from_decimal(&value, currency).map_err(|e| err(place, &path, e))
        };
        let unit_price = money("unit_price", &a.unit_price)?;
        let unit_cost = money("unit_cost", &a.unit_cost)?;
        let from_text = required(
            place,
            &item,
            "effective_from",
            a.effective_from.map(RawDate::text),
        )?;
        let effective_from = date(place, &field("effective_from"), &from_text)?;
        let effective_to = match given_text(a.effective_to.map(|d| d.map(RawDate::text))) {
            Some(Some(t)) => Some(Some(date(place, &field("effective_to"), &t)?)),
            other => other.map(|_| None),
        };
        if let Some(Some(to)) = effective_to
            && to < effective_from
        {
            return Err(err(
                place,
                &field("effective_to"),
                format!("{to} is before effective_from {effective_from}"),
            ));
        }
        if !lines.insert((company.clone(), product.clone(), effective_from)) {
            return Err(err(
                place,
                &item,
                format!("`{company}` has `{product}` from {effective_from} twice"),
            ));
        }
        out.agreements.push(AgreementIn {
            at: Located(item.clone()),
            cycle_given: a.billing_cycle.is_some(),
            billing_cycle: parse_enum(
                place,
                &field("billing_cycle"),
                a.billing_cycle.flatten(),
                BillingCycle::Monthly,
            )?,
            price_plan: given_text(a.price_plan),
            cost_plan: given_text(a.cost_plan),
            company,
            product,
            quantity,
            currency,
            unit_price,
            unit_cost,
            effective_from,
            effective_to,
        });
    }
    // A plan named in the file must price in the line's currency.
    for (i, a) in out.agreements.iter().enumerate() {
        for (field, name) in [("price_plan", &a.price_plan), ("cost_plan", &a.cost_plan)] {
            if let Some(Some(name)) = name
                && let Some(plan) = out.price_plans.iter().find(|p| &p.name == name)
                && plan.currency != a.currency
            {
                return Err(err(
                    place,
                    &format!("agreements[{i}].{field}"),
                    format!(
                        "plan `{name}` prices in {} but the line is in {}",
                        plan.currency, a.currency
                    ),
                ));
            }
        }
    }
    Ok(out)
}

// --- writes --------------------------------------------------------------------------

/// What the billing part of an import wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BillingCounts {
    pub products: usize,
    pub sku_mappings: usize,
    pub price_plans: usize,
    pub agreement_lines: usize,
}

fn lookup(tx: &Transaction<'_>, sql: &str, key: &str) -> DbResult<Option<i64>> {
    Ok(tx.query_row(sql, [key], |r| r.get(0)).optional()?)
}

/// Upserts it all inside the import's transaction; a reference to nothing
/// is an error (the caller's transaction then rolls back).
pub(super) fn import(
    tx: &Transaction<'_>,
    data: &BillingIn,
    file: &FileText,
    now: Millis,
) -> DbResult<BillingCounts> {
    let mut counts = BillingCounts::default();
    for p in &data.products {
        let [name, aggregation, combine] = p.given;
        let update = set_given(&[
            ("name", name),
            ("service", true),
            ("metric", true),
            ("aggregation", aggregation),
            ("combine", combine),
            ("updated_at", true),
        ]);
        tx.execute(
            &format!(
                "INSERT INTO products (code, name, service, metric, aggregation, combine,
                                       updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (code) DO UPDATE SET {update}"
            ),
            params![
                p.code,
                p.name,
                p.service,
                p.metric,
                p.aggregation.as_str(),
                p.combine.as_str(),
                now
            ],
        )?;
        counts.products += 1;
    }
    for m in &data.sku_mappings {
        let account = lookup(
            tx,
            "SELECT id FROM vendor_accounts WHERE name = ?1",
            &m.vendor_account,
        )?
        .ok_or_else(|| {
            StoreError::Invalid(format!(
                "{}: no vendor account `{}` in the file or the store",
                m.at.at(file, "vendor_account"),
                m.vendor_account
            ))
        })?;
        let product = lookup(tx, "SELECT id FROM products WHERE code = ?1", &m.product)?
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "{}: no product `{}` in the file or the store",
                    m.at.at(file, "product"),
                    m.product
                ))
            })?;
        tx.execute(
            "INSERT INTO sku_mappings (vendor_account_id, vendor_sku, product_id, updated_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (vendor_account_id, vendor_sku) DO UPDATE SET
                 product_id = excluded.product_id, updated_at = excluded.updated_at",
            params![account, m.sku, product, now],
        )?;
        counts.sku_mappings += 1;
    }
    for p in &data.price_plans {
        tx.execute(
            "INSERT INTO price_plans (name, currency, source, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET currency = excluded.currency,
                 source = excluded.source, updated_at = excluded.updated_at",
            params![p.name, p.currency.code(), p.source, now],
        )?;
        counts.price_plans += 1;
    }
    // Two lines of the file naming one company two ways (external id and
    // name) would silently overwrite each other.
    let mut keys = BTreeSet::new();
    for a in &data.agreements {
        let company = lookup(
            tx,
            "SELECT id FROM companies WHERE external_id = ?1
             UNION ALL SELECT id FROM companies WHERE name = ?1 LIMIT 1",
            &a.company,
        )?
        .ok_or_else(|| {
            StoreError::Invalid(format!(
                "{}: no company `{}` (by external id or name) in the file or the store",
                a.at.at(file, "company"),
                a.company
            ))
        })?;
        let product = lookup(tx, "SELECT id FROM products WHERE code = ?1", &a.product)?
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "{}: no product `{}` in the file or the store",
                    a.at.at(file, "product"),
                    a.product
                ))
            })?;
        let plan_id = |field: &str, name: &Given<String>| -> DbResult<Option<i64>> {
            let Some(Some(name)) = name else {
                return Ok(None);
            };
            let found: Option<(i64, String)> = tx
                .query_row(
                    "SELECT id, currency FROM price_plans WHERE name = ?1",
                    [name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((id, currency)) = found else {
                return Err(StoreError::Invalid(format!(
                    "{}: no price plan `{name}` in the file or the store",
                    a.at.at(file, field)
                ))
                .into());
            };
            if currency != a.currency.code() {
                return Err(StoreError::Invalid(format!(
                    "{}: plan `{name}` prices in {currency} but the line is in {}",
                    a.at.at(file, field),
                    a.currency
                ))
                .into());
            }
            Ok(Some(id))
        };
        if !keys.insert((company, product, a.effective_from)) {
            return Err(StoreError::Invalid(format!(
                "{}: `{}` is a company an earlier line already gives `{}` from {}",
                a.at.at(file, "company"),
                a.company,
                a.product,
                a.effective_from
            ))
            .into());
        }
        let price_plan = plan_id("price_plan", &a.price_plan)?;
        let cost_plan = plan_id("cost_plan", &a.cost_plan)?;
        let update = set_given(&[
            ("quantity", true),
            ("currency", true),
            ("unit_price_minor", true),
            ("unit_cost_minor", true),
            ("price_plan_id", a.price_plan.is_some()),
            ("cost_plan_id", a.cost_plan.is_some()),
            ("billing_cycle", a.cycle_given),
            ("effective_to", a.effective_to.is_some()),
            ("updated_at", true),
        ]);
        tx.execute(
            &format!(
                "INSERT INTO agreement_lines (company_id, product_id, quantity, currency,
                     unit_price_minor, unit_cost_minor, price_plan_id, cost_plan_id,
                     billing_cycle, effective_from, effective_to, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (company_id, product_id, effective_from) DO UPDATE SET {update}"
            ),
            params![
                company,
                product,
                a.quantity.to_string(),
                a.currency.code(),
                a.unit_price.minor(),
                a.unit_cost.minor(),
                price_plan,
                cost_plan,
                a.billing_cycle.as_str(),
                a.effective_from.to_string(),
                a.effective_to.flatten().map(|d| d.to_string()),
                now
            ],
        )?;
        counts.agreement_lines += 1;
    }
    Ok(counts)
}

// --- reads (the API's views) -------------------------------------------------------

/// A product as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRow {
    pub code: String,
    pub name: String,
    pub service: String,
    pub metric: String,
    pub aggregation: Aggregation,
    pub combine: Combine,
}

/// A vendor account's SKU and the product it bills as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuMappingRow {
    pub vendor_account: String,
    pub sku: String,
    pub product: String,
}

/// An agreement line as stored, with names for its ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementRow {
    pub id: i64,
    /// The company's external id.
    pub company: String,
    /// The product's code.
    pub product: String,
    pub quantity: String,
    pub unit_price: Money,
    pub unit_cost: Money,
    pub price_plan: Option<String>,
    pub cost_plan: Option<String>,
    pub billing_cycle: BillingCycle,
    pub effective_from: String,
    pub effective_to: Option<String>,
}

/// A stored word read back as its enum (a CHECK keeps the column to them).
fn stored<T: std::str::FromStr>(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = r.get(i)?;
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(super) fn products(conn: &mut rusqlite::Connection) -> DbResult<Vec<ProductRow>> {
    let mut stmt = conn.prepare(
        "SELECT code, name, service, metric, aggregation, combine FROM products ORDER BY code",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(ProductRow {
                code: r.get(0)?,
                name: r.get(1)?,
                service: r.get(2)?,
                metric: r.get(3)?,
                aggregation: stored(r, 4)?,
                combine: stored(r, 5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn sku_mappings(conn: &mut rusqlite::Connection) -> DbResult<Vec<SkuMappingRow>> {
    let mut stmt = conn.prepare(
        "SELECT a.name, m.vendor_sku, p.code
         FROM sku_mappings m
         JOIN vendor_accounts a ON a.id = m.vendor_account_id
         JOIN products p ON p.id = m.product_id
         ORDER BY a.name, m.vendor_sku",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(SkuMappingRow {
                vendor_account: r.get(0)?,
                sku: r.get(1)?,
                product: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Agreement lines, of one company (external id) when given.
pub(super) fn agreements(
    conn: &mut rusqlite::Connection,
    company: Option<&str>,
) -> DbResult<Vec<AgreementRow>> {
    let mut stmt = conn.prepare(
        "SELECT l.id, c.external_id, p.code, l.quantity, l.currency, l.unit_price_minor,
                l.unit_cost_minor, pp.name, cp.name, l.billing_cycle, l.effective_from,
                l.effective_to
         FROM agreement_lines l
         JOIN companies c ON c.id = l.company_id
         JOIN products p ON p.id = l.product_id
         LEFT JOIN price_plans pp ON pp.id = l.price_plan_id
         LEFT JOIN price_plans cp ON cp.id = l.cost_plan_id
         WHERE ?1 IS NULL OR c.external_id = ?1
         ORDER BY c.external_id, p.code, l.effective_from",
    )?;
    let rows = stmt
        .query_map([company], |r| {
            let currency: Currency = stored(r, 4)?;
            Ok(AgreementRow {
                id: r.get(0)?,
                company: r.get(1)?,
                product: r.get(2)?,
                quantity: r.get(3)?,
                unit_price: Money::from_minor(r.get(5)?, currency),
                unit_cost: Money::from_minor(r.get(6)?, currency),
                price_plan: r.get(7)?,
                cost_plan: r.get(8)?,
                billing_cycle: stored(r, 9)?,
                effective_from: r.get(10)?,
                effective_to: r.get(11)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// What the store holds.
pub(super) fn counts(conn: &mut rusqlite::Connection) -> DbResult<BillingCounts> {
    let count = |table: &str| -> DbResult<usize> {
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        Ok(n as usize)
    };
    Ok(BillingCounts {
        products: count("products")?,
        sku_mappings: count("sku_mappings")?,
        price_plans: count("price_plans")?,
        agreement_lines: count("agreement_lines")?,
    })
}
