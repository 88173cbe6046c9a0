//! RMM data over HTTP: `POST /api/v1/import` (the document `store import`
//! reads), companies, vendor accounts, vendor customers, products, SKU
//! mappings and agreement lines. Every write
//! goes through the import's own parse and checks (`Store::import_text`):
//! a PUT is a one-item import document, so there is one validator.

use crate::access::Role;
use crate::store::{AuditEntry, ImportCounts, ImportFormat, StoreError, rejected_item};
use crate::views::companies::{
    self, AgreementList, AgreementView, CompanyDetail, CompanyList, VendorCustomerList,
    VendorCustomerView,
};
use crate::views::vendor_accounts::{
    self, ProductList, ProductView, SkuMappingList, SkuMappingView, VendorAccountList,
    VendorAccountView,
};
use crate::web::AppState;
use crate::web::auth::Caller;
use crate::web::extract::{ApiJson, ApiQuery, IMPORT_BODY_LIMIT, body_bytes, is_json};
use crate::web::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How errors name a request's body (`body:LINE:COL: ITEM: …`).
const BODY: &str = "body";

pub(crate) fn router() -> OpenApiRouter<AppState> {
    let import = OpenApiRouter::new()
        .routes(routes!(import))
        .layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT));
    OpenApiRouter::new()
        .merge(import)
        .routes(routes!(list_companies))
        .routes(routes!(get_company, put_company))
        .routes(routes!(list_vendor_accounts))
        .routes(routes!(get_vendor_account, put_vendor_account))
        .routes(routes!(list_vendor_customers))
        .routes(routes!(map_vendor_customer))
        .routes(routes!(list_products))
        .routes(routes!(put_product))
        .routes(routes!(list_sku_mappings))
        .routes(routes!(put_sku_mapping))
        .routes(routes!(list_agreements))
        .routes(routes!(put_agreement))
}

/// What an import wrote, counted by kind of item.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ImportResult {
    pub companies: usize,
    pub sites: usize,
    pub machines: usize,
    pub vendor_accounts: usize,
    pub schedules: usize,
    pub products: usize,
    pub sku_mappings: usize,
    pub price_plans: usize,
    pub agreement_lines: usize,
}

impl From<ImportCounts> for ImportResult {
    fn from(c: ImportCounts) -> Self {
        Self {
            companies: c.companies,
            sites: c.sites,
            machines: c.machines,
            vendor_accounts: c.vendor_accounts,
            schedules: c.schedules,
            products: c.billing.products,
            sku_mappings: c.billing.sku_mappings,
            price_plans: c.billing.price_plans,
            agreement_lines: c.billing.agreement_lines,
        }
    }
}

/// The job kinds a schedule may name: those this build's workers run (as
/// `store import` checks them).
fn known_kinds() -> Vec<String> {
    crate::jobs::Registry::standard(Default::default())
        .kinds()
        .iter()
        .map(|k| k.to_string())
        .collect()
}

/// An import refused: a 400 naming the item at fault (`prefix` is taken off
/// it for a one-item PUT), any other store fault as the one mapping says.
fn refused(e: StoreError, prefix: &str) -> ApiError {
    if let StoreError::Invalid(message) = &e {
        let field = rejected_item(message, BODY).and_then(|item| {
            let field = item.strip_prefix(prefix).unwrap_or(&item);
            let field = field.trim_start_matches('.');
            (!field.is_empty() && item != prefix.trim_end_matches('.')).then(|| field.to_string())
        });
        return ApiError::BadInput {
            field,
            detail: message.clone(),
        };
    }
    e.into()
}

/// Imports the RMM document `store import` reads, as TOML
/// (`application/toml`) or JSON, with the same checks; admin only (it
/// changes vendor accounts). Price plans name files on the server and are
/// refused here.
#[utoipa::path(post, path = "/import", tag = "rmm",
    request_body(description = "The document of `store import` (docs/store.md)",
        content((String = "application/toml"), (Object = "application/json"))),
    responses(
        (status = 200, description = "Imported; the counts", body = ImportResult),
        (status = 400, description = "Invalid document; `field` names the item", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an admin token", body = Problem),
        (status = 413, description = "Over the import limit (8 MiB)", body = Problem),
        (status = 415, description = "Neither TOML nor JSON", body = Problem),
    ))]
async fn import(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Json<ImportResult>, ApiError> {
    caller.require(Role::Admin)?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let format = if is_json(&content_type) {
        ImportFormat::Json
    } else if content_type.split(';').next().unwrap_or_default().trim() == "application/toml" {
        ImportFormat::Toml
    } else {
        return Err(ApiError::UnsupportedMediaType(
            "the document must be TOML (application/toml) or JSON (application/json)".into(),
        ));
    };
    let bytes = body_bytes(request, &state, IMPORT_BODY_LIMIT).await?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::BadInput {
        field: None,
        detail: "the document is not UTF-8".into(),
    })?;
    let counts = state
        .store
        .import_text(BODY, text, format, &state.secrets_dir, known_kinds())
        .await
        .map_err(|e| refused(e, ""))?;
    let result = ImportResult::from(counts);
    let mut audit = caller.audit("rmm.import", None);
    audit.after = Some(json!(result));
    state.store.record_audit(audit).await?;
    Ok(Json(result))
}

/// Every company (without its items).
#[utoipa::path(get, path = "/companies", tag = "rmm",
    responses(
        (status = 200, description = "The companies, by external id", body = CompanyList),
        (status = 401, description = "No valid token", body = Problem),
    ))]
async fn list_companies(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<CompanyList>, ApiError> {
    Ok(Json(companies::list(&state.store).await?))
}

/// One company with its sites, machines, vendor customers and credentials
/// (metadata only).
#[utoipa::path(get, path = "/companies/{external_id}", tag = "rmm",
    params(("external_id" = String, Path, description = "The RMM's id of the company")),
    responses(
        (status = 200, description = "The company", body = CompanyDetail),
        (status = 401, description = "No valid token", body = Problem),
        (status = 404, description = "No such company", body = Problem),
    ))]
async fn get_company(
    State(state): State<AppState>,
    _caller: Caller,
    Path(external_id): Path<String>,
) -> Result<Json<CompanyDetail>, ApiError> {
    Ok(Json(companies::detail(&state.store, &external_id).await?))
}

/// The body of a one-item PUT: an object whose keys `named` (key, value)
/// must, when given, be what the URL names (filled in when left out).
fn one_item(body: Value, named: &[(&str, &str)]) -> Result<Value, ApiError> {
    let Value::Object(mut item) = body else {
        return Err(ApiError::BadInput {
            field: None,
            detail: "the body must be a JSON object".into(),
        });
    };
    for (key, value) in named {
        match item.get(*key) {
            None => {
                item.insert(key.to_string(), Value::String(value.to_string()));
            }
            Some(Value::String(given)) if given == value => {}
            Some(_) => {
                return Err(ApiError::bad_input(
                    *key,
                    format!("must be `{value}`, as the URL names it (or left out)"),
                ));
            }
        }
    }
    Ok(Value::Object(item))
}

/// Writes the audit row of an upsert; 201 when there was nothing before.
async fn audited_upsert(
    state: &AppState,
    mut audit: AuditEntry,
    before: Option<Value>,
    after: Value,
) -> Result<StatusCode, ApiError> {
    let status = if before.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    audit.before = before;
    audit.after = Some(after);
    state.store.record_audit(audit).await?;
    Ok(status)
}

/// Imports `{section: [item]}` as `store import` would.
async fn import_one(state: &AppState, section: &str, item: Value) -> Result<(), ApiError> {
    let text = json!({ section: [item] }).to_string();
    state
        .store
        .import_text(
            BODY,
            text,
            ImportFormat::Json,
            &state.secrets_dir,
            Vec::new(),
        )
        .await
        .map_err(|e| refused(e, &format!("{section}[0]")))?;
    Ok(())
}

/// A company as the audit log keeps it: its data, sites and machines.
fn company_record(c: &CompanyDetail) -> Value {
    json!({ "company": c.company, "sites": c.sites, "machines": c.machines })
}

/// The company as it is in the store, or `None`.
async fn company_now(state: &AppState, id: &str) -> Result<Option<CompanyDetail>, ApiError> {
    match companies::detail(&state.store, id).await {
        Ok(c) => Ok(Some(c)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Creates or updates a company, its sites and machines (the fields of a
/// `companies` item of the import document; a field left out keeps its
/// stored value); operator.
#[utoipa::path(put, path = "/companies/{external_id}", tag = "rmm",
    params(("external_id" = String, Path, description = "The RMM's id of the company")),
    request_body(content = Object, description = "A `companies` item of the import document (docs/store.md)"),
    responses(
        (status = 200, description = "Updated", body = CompanyDetail),
        (status = 201, description = "Created", body = CompanyDetail),
        (status = 400, description = "Invalid; `field` names the part", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an operator token", body = Problem),
    ))]
async fn put_company(
    State(state): State<AppState>,
    caller: Caller,
    Path(external_id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<CompanyDetail>), ApiError> {
    let (status, after) = upsert_company(&state, &caller, &external_id, body, None).await?;
    Ok((status, Json(after)))
}

/// A machine's serial number corrected from `from` to `to` (the serial is
/// the import's upsert key, so an import item cannot change it).
#[derive(Debug, Clone)]
pub(crate) struct SerialCorrection {
    pub from: String,
    pub to: String,
}

/// Creates or updates a company from a `companies` item of the import
/// document (the external id filled in from the URL), through the import's
/// own checks; operator; one audit row `company.upsert` with the company,
/// its sites and machines before and after. `PUT /api/v1/companies/…` and
/// the console's forms share it. A `correction` of a machine's serial is
/// made after the item is imported (the item names the machine by its old
/// serial), in the same audited change.
pub(crate) async fn upsert_company(
    state: &AppState,
    caller: &Caller,
    external_id: &str,
    body: Value,
    correction: Option<SerialCorrection>,
) -> Result<(StatusCode, CompanyDetail), ApiError> {
    caller.require(Role::Operator)?;
    let item = one_item(body, &[("external_id", external_id)])?;
    let before = company_now(state, external_id).await?;
    if let (Some(fix), Some(now)) = (&correction, &before) {
        let taken = now.all_machines().any(|m| m.serial_number == fix.to);
        if taken && fix.from != fix.to {
            return Err(ApiError::bad_input(
                "serial_number",
                format!(
                    "serial_number {:?} is another machine's in this company",
                    fix.to
                ),
            ));
        }
    }
    import_one(state, "companies", item).await?;
    if let Some(fix) = correction
        && fix.from != fix.to
    {
        let company = state.store.company(external_id).await?;
        state
            .store
            .correct_machine_serial(company.id, fix.from, fix.to)
            .await
            .map_err(|e| match e {
                StoreError::Invalid(detail) => ApiError::bad_input("serial_number", detail),
                other => other.into(),
            })?;
    }
    let after = companies::detail(&state.store, external_id).await?;
    let audit = caller.audit("company.upsert", format!("company:{external_id}"));
    let before = before.as_ref().map(company_record);
    let status = audited_upsert(state, audit, before, company_record(&after)).await?;
    Ok((status, after))
}

/// Every vendor account: where its console is and the references to its
/// secrets (never a value).
#[utoipa::path(get, path = "/vendor-accounts", tag = "rmm",
    responses(
        (status = 200, description = "The vendor accounts, by name", body = VendorAccountList),
        (status = 401, description = "No valid token", body = Problem),
    ))]
async fn list_vendor_accounts(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<VendorAccountList>, ApiError> {
    Ok(Json(vendor_accounts::list(&state.store).await?))
}

/// One vendor account.
#[utoipa::path(get, path = "/vendor-accounts/{name}", tag = "rmm",
    params(("name" = String, Path, description = "The account's name")),
    responses(
        (status = 200, description = "The vendor account", body = VendorAccountView),
        (status = 401, description = "No valid token", body = Problem),
        (status = 404, description = "No such vendor account", body = Problem),
    ))]
async fn get_vendor_account(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<VendorAccountView>, ApiError> {
    Ok(Json(vendor_accounts::get(&state.store, &name).await?))
}

/// Creates or updates a vendor account (a `vendor_accounts` item of the
/// import document: `vendor`, `base_url` (http or https), `max_sessions`,
/// `secrets` as references checked as at import); admin.
#[utoipa::path(put, path = "/vendor-accounts/{name}", tag = "rmm",
    params(("name" = String, Path, description = "The account's name")),
    request_body(content = Object, description = "A `vendor_accounts` item of the import document (docs/store.md)"),
    responses(
        (status = 200, description = "Updated", body = VendorAccountView),
        (status = 201, description = "Created", body = VendorAccountView),
        (status = 400, description = "Invalid; `field` names the part", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an admin token", body = Problem),
    ))]
async fn put_vendor_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<VendorAccountView>), ApiError> {
    caller.require(Role::Admin)?;
    let item = one_item(body, &[("name", &name)])?;
    let before = match vendor_accounts::get(&state.store, &name).await {
        Ok(a) => Some(a),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    import_one(&state, "vendor_accounts", item).await?;
    let after = vendor_accounts::get(&state.store, &name).await?;
    // References name where a secret is; they are not secrets.
    let audit = caller.audit("vendor_account.upsert", format!("vendor_account:{name}"));
    let before = before.as_ref().map(|b| json!(b));
    let status = audited_upsert(&state, audit, before, json!(after)).await?;
    Ok((status, Json(after)))
}

/// Every customer found at the vendors, with its mapping.
#[utoipa::path(get, path = "/vendor-customers", tag = "rmm",
    responses(
        (status = 200, description = "By vendor account and vendor ref", body = VendorCustomerList),
        (status = 401, description = "No valid token", body = Problem),
    ))]
async fn list_vendor_customers(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<VendorCustomerList>, ApiError> {
    let vendor_customers = companies::vendor_customers(&state.store).await?;
    Ok(Json(VendorCustomerList { vendor_customers }))
}

/// How a vendor customer is mapped: to `company`, or `exclude`d (neither:
/// unmapped).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingRequest {
    /// The company's external id.
    #[serde(default)]
    pub company: Option<String>,
    /// Not a customer of ours (left out of reconciliation).
    #[serde(default)]
    pub exclude: bool,
}

/// Maps a vendor customer to a company, or excludes it; operator.
#[utoipa::path(put, path = "/vendor-customers/{id}/mapping", tag = "rmm",
    params(("id" = i64, Path, description = "The vendor customer's id")),
    request_body = MappingRequest,
    responses(
        (status = 200, description = "The customer as mapped now", body = VendorCustomerView),
        (status = 400, description = "Both a company and exclude", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an operator token", body = Problem),
        (status = 404, description = "No such customer or company", body = Problem),
    ))]
async fn map_vendor_customer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<MappingRequest>,
) -> Result<Json<VendorCustomerView>, ApiError> {
    Ok(Json(map_customer(&state, &caller, id, request).await?))
}

/// Maps vendor customer `id` as `request` says, audited as
/// `vendor_customer.map`: the one code path of the API and the console.
pub(crate) async fn map_customer(
    state: &AppState,
    caller: &Caller,
    id: i64,
    request: MappingRequest,
) -> Result<VendorCustomerView, ApiError> {
    caller.require(Role::Operator)?;
    if request.company.is_some() && request.exclude {
        return Err(ApiError::bad_input(
            "exclude",
            "a customer is mapped to a company or excluded, not both",
        ));
    }
    let company_id = match &request.company {
        Some(key) => match state.store.company(key).await {
            Ok(c) if c.external_id == *key => Some(c.id),
            Ok(_) | Err(StoreError::NotFound(_)) => {
                return Err(ApiError::bad_input(
                    "company",
                    format!("no company with external id {key:?}"),
                ));
            }
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let (before, _) = state
        .store
        .set_vendor_customer_mapping(id, company_id, request.exclude)
        .await?;
    let after = companies::vendor_customers(&state.store)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("vendor customer {id} not found")))?;
    let mut audit = caller.audit("vendor_customer.map", format!("vendor_customer:{id}"));
    audit.before = Some(json!({
        "company_id": before.company_id,
        "status": before.status.as_str(),
    }));
    audit.after = Some(json!({ "company": after.company, "status": after.status.as_str() }));
    state.store.record_audit(audit).await?;
    Ok(after)
}

/// Every product, by code.
#[utoipa::path(get, path = "/products", tag = "billing",
    responses(
        (status = 200, description = "The products", body = ProductList),
        (status = 401, description = "No valid token", body = Problem),
    ))]
async fn list_products(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<ProductList>, ApiError> {
    Ok(Json(vendor_accounts::products(&state.store).await?))
}

async fn product(state: &AppState, code: &str) -> Result<Option<ProductView>, ApiError> {
    let all = vendor_accounts::products(&state.store).await?.products;
    Ok(all.into_iter().find(|p| p.code == code))
}

/// Creates or updates a product (a `products` item of the import
/// document); operator.
#[utoipa::path(put, path = "/products/{code}", tag = "billing",
    params(("code" = String, Path, description = "The product's code")),
    request_body(content = Object, description = "A `products` item of the import document (docs/store.md)"),
    responses(
        (status = 200, description = "Updated", body = ProductView),
        (status = 201, description = "Created", body = ProductView),
        (status = 400, description = "Invalid; `field` names the part", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an operator token", body = Problem),
    ))]
async fn put_product(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<ProductView>), ApiError> {
    caller.require(Role::Operator)?;
    let item = one_item(body, &[("code", &code)])?;
    let before = product(&state, &code).await?;
    import_one(&state, "products", item).await?;
    let after = product(&state, &code)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("product {code} not found after its upsert")))?;
    let audit = caller.audit("product.upsert", format!("product:{code}"));
    let before = before.map(|b| json!(b));
    let status = audited_upsert(&state, audit, before, json!(after)).await?;
    Ok((status, Json(after)))
}

/// Every SKU mapping, by vendor account and SKU.
#[utoipa::path(get, path = "/sku-mappings", tag = "billing",
    responses(
        (status = 200, description = "The SKU mappings", body = SkuMappingList),
        (status = 401, description = "No valid token", body = Problem),
    ))]
async fn list_sku_mappings(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<SkuMappingList>, ApiError> {
    Ok(Json(vendor_accounts::sku_mappings(&state.store).await?))
}

async fn sku_mapping(
    state: &AppState,
    account: &str,
    sku: &str,
) -> Result<Option<SkuMappingView>, ApiError> {
    let all = vendor_accounts::sku_mappings(&state.store)
        .await?
        .sku_mappings;
    Ok(all
        .into_iter()
        .find(|m| m.vendor_account == account && m.sku == sku))
}

/// Maps a vendor account's SKU to a product (`{"product": "CODE"}`);
/// operator.
#[utoipa::path(put, path = "/sku-mappings/{vendor_account}/{sku}", tag = "billing",
    params(
        ("vendor_account" = String, Path, description = "The vendor account's name"),
        ("sku" = String, Path, description = "The vendor's SKU"),
    ),
    request_body(content = Object, description = "A `sku_mappings` item of the import document (docs/store.md)"),
    responses(
        (status = 200, description = "Updated", body = SkuMappingView),
        (status = 201, description = "Created", body = SkuMappingView),
        (status = 400, description = "Invalid; `field` names the part", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an operator token", body = Problem),
    ))]
async fn put_sku_mapping(
    State(state): State<AppState>,
    caller: Caller,
    Path((account, sku)): Path<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<SkuMappingView>), ApiError> {
    let (status, after) = upsert_sku_mapping(&state, &caller, &account, &sku, body).await?;
    Ok((status, Json(after)))
}

/// Creates or updates the mapping of `account`'s `sku` (`body` is a
/// `sku_mappings` item), audited as `sku_mapping.upsert`: the one code path
/// of the API and the console. 201 when there was none before.
pub(crate) async fn upsert_sku_mapping(
    state: &AppState,
    caller: &Caller,
    account: &str,
    sku: &str,
    body: Value,
) -> Result<(StatusCode, SkuMappingView), ApiError> {
    caller.require(Role::Operator)?;
    let item = one_item(body, &[("vendor_account", account), ("sku", sku)])?;
    let before = sku_mapping(state, account, sku).await?;
    import_one(state, "sku_mappings", item).await?;
    let after = sku_mapping(state, account, sku)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("SKU {sku} not found after its upsert")))?;
    let audit = caller.audit("sku_mapping.upsert", format!("sku_mapping:{account}/{sku}"));
    let before = before.map(|b| json!(b));
    let status = audited_upsert(state, audit, before, json!(after)).await?;
    Ok((status, after))
}

/// Filter of `GET /api/v1/agreements`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AgreementQuery {
    /// Only this company's (external id).
    company: Option<String>,
}

/// Agreement lines, by company, product and start.
#[utoipa::path(get, path = "/agreements", tag = "billing", params(AgreementQuery),
    responses(
        (status = 200, description = "The agreement lines", body = AgreementList),
        (status = 400, description = "A bad filter", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
    ))]
async fn list_agreements(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<AgreementQuery>,
) -> Result<Json<AgreementList>, ApiError> {
    Ok(Json(companies::agreements(&state.store, q.company).await?))
}

async fn agreement(
    state: &AppState,
    company: &str,
    product: &str,
    from: &str,
) -> Result<Option<AgreementView>, ApiError> {
    let all = companies::agreements(&state.store, Some(company.to_string()))
        .await?
        .agreements;
    Ok(all
        .into_iter()
        .find(|a| a.product == product && a.effective_from == from))
}

/// Creates or updates the agreement line of a company, product and start
/// (an `agreements` item of the import document); operator.
#[utoipa::path(put, path = "/agreements/{company}/{product}/{effective_from}", tag = "billing",
    params(
        ("company" = String, Path, description = "The company's external id"),
        ("product" = String, Path, description = "The product's code"),
        ("effective_from" = String, Path, description = "The first day, `YYYY-MM-DD`"),
    ),
    request_body(content = Object, description = "An `agreements` item of the import document (docs/store.md)"),
    responses(
        (status = 200, description = "Updated", body = AgreementView),
        (status = 201, description = "Created", body = AgreementView),
        (status = 400, description = "Invalid; `field` names the part", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an operator token", body = Problem),
    ))]
async fn put_agreement(
    State(state): State<AppState>,
    caller: Caller,
    Path((company, product, from)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<AgreementView>), ApiError> {
    caller.require(Role::Operator)?;
    let keys = [
        ("company", company.as_str()),
        ("product", product.as_str()),
        ("effective_from", from.as_str()),
    ];
    let item = one_item(body, &keys)?;
    let before = agreement(&state, &company, &product, &from).await?;
    import_one(&state, "agreements", item).await?;
    let after = agreement(&state, &company, &product, &from)
        .await?
        .ok_or_else(|| ApiError::Internal("agreement line not found after its upsert".into()))?;
    let target = format!("agreement:{company}/{product}/{from}");
    let audit = caller.audit("agreement.upsert", target);
    let before = before.map(|b| json!(b));
    let status = audited_upsert(&state, audit, before, json!(after)).await?;
    Ok((status, Json(after)))
}
