//! In-memory state of the demo vendor: customers, devices, sessions.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, Secret, TOTP};

use super::DemoVendorConfig;
use crate::money::Decimal;

/// The SKUs the vendor sells: (sku, product name, unit price in cents).
pub const SKUS: [(&str, &str, u64); 3] = [
    ("BK-WS", "Workstation Backup", 450),
    ("BK-SRV", "Server Backup", 1200),
    ("BK-M365", "Microsoft 365 Backup", 200),
];

/// Regions: (value, label).
pub const REGIONS: [(&str, &str); 3] = [
    ("eu-west", "EU West"),
    ("us-east", "US East"),
    ("ap-south", "Asia Pacific South"),
];

/// Operating systems: (value, label).
pub const OSES: [(&str, &str); 3] = [
    ("windows", "Windows"),
    ("linux", "Linux"),
    ("macos", "macOS"),
];

/// Usage periods offered in the period selector.
pub const PERIODS: [&str; 4] = ["2026-08", "2026-09", "2026-10", "2026-11"];
/// The default usage period.
pub const DEFAULT_PERIOD: &str = "2026-10";
/// The billing period shown in the billing widget.
pub const BILLING_PERIOD: &str = "2026-11";

/// Roles of a customer contact: (value, label).
pub const CONTACT_ROLES: [(&str, &str); 3] = [
    ("billing", "Billing"),
    ("technical", "Technical"),
    ("owner", "Account owner"),
];

/// How many digits a contact's phone number has (E.164 allows up to 15).
pub const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 6..=15;

/// The SKU of a device's storage: servers (linux) and workstations.
pub(crate) fn device_sku(os: &str) -> &'static str {
    if os == "linux" { "BK-SRV" } else { "BK-WS" }
}

/// A customer's plan at the vendor (a SKU-like code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Edition {
    /// `BK-STD`, what every new customer starts on.
    #[default]
    #[serde(rename = "BK-STD")]
    Standard,
    /// `BK-ADV`.
    #[serde(rename = "BK-ADV")]
    Advanced,
}

impl Edition {
    /// The code the console shows.
    pub fn code(self) -> &'static str {
        match self {
            Edition::Standard => "BK-STD",
            Edition::Advanced => "BK-ADV",
        }
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Edition {
    type Err = ChangeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "BK-STD" => Ok(Edition::Standard),
            "BK-ADV" => Ok(Edition::Advanced),
            other => Err(ChangeError::Invalid(format!(
                "unknown edition `{other}` (BK-STD or BK-ADV)"
            ))),
        }
    }
}

/// Whether a customer's account is in service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    #[default]
    Active,
    Suspended,
}

impl AccountStatus {
    /// The word the console shows.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Suspended => "suspended",
        }
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountStatus {
    type Err = ChangeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(AccountStatus::Active),
            "suspended" => Ok(AccountStatus::Suspended),
            other => Err(ChangeError::Invalid(format!(
                "unknown status `{other}` (active or suspended)"
            ))),
        }
    }
}

/// The console's availability (applied by the `outage` middleware).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outage {
    /// Normal service.
    #[default]
    Up,
    /// Every page answers `503` with `h1#outage`.
    Down,
    /// Every page answers after this extra delay.
    Slow(Duration),
}

/// Why an outside change (`/_admin`, [`DemoState`] methods) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("unknown customer `{0}`")]
    UnknownCustomer(String),
    #[error("unknown device `{hostname}` of customer `{customer}`")]
    UnknownDevice { customer: String, hostname: String },
    /// The input itself is wrong (the message says how).
    #[error("{0}")]
    Invalid(String),
}

impl ChangeError {
    /// The customer or device does not exist (as opposed to bad input).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ChangeError::UnknownCustomer(_) | ChangeError::UnknownDevice { .. }
        )
    }
}

/// A device enrolled from outside the console ([`DemoState::enrol_device`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    pub hostname: String,
    pub serial: String,
    pub quota_gb: u32,
    /// One of [`OSES`].
    pub os: String,
}

/// A storage-used override as the console writes it: a non-negative exact
/// decimal number of GiB (`512.25`).
pub(crate) fn parse_storage_gib(text: &str) -> Result<Decimal, ChangeError> {
    let invalid = |why: String| ChangeError::Invalid(format!("used_gb `{text}`: {why}"));
    let value = Decimal::parse(text.trim()).map_err(|e| invalid(e.to_string()))?;
    if value.is_negative() {
        return Err(invalid("negative".into()));
    }
    // The usage report shows linux devices in MiB (× 1024): that must fit too.
    if value.mantissa().checked_mul(1024).is_none() {
        return Err(invalid("too large".into()));
    }
    Ok(value)
}

/// A person the vendor writes to at a customer (the "Add billing contact" page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub id: u64,
    pub name: String,
    pub email: String,
    /// One of [`CONTACT_ROLES`].
    pub role: String,
    /// The customer's primary contact; at most one contact of a customer is.
    pub primary: bool,
    /// Digits only.
    pub phone: String,
}

/// A contact as the console's page posts it (JSON), before the checks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    pub name: String,
    pub email: String,
    pub role: String,
    #[serde(default)]
    pub primary: bool,
    pub phone: String,
}

impl NewContact {
    /// The checks the page's Save button waits for, made again here: a name,
    /// an email with one `@` between two non-empty parts, a known role, a
    /// phone of [`PHONE_DIGITS`] digits and nothing else. Trims name and email.
    pub fn validate(self) -> Result<NewContact, ChangeError> {
        let invalid = |msg: &str| Err(ChangeError::Invalid(msg.to_string()));
        let name = self.name.trim().to_string();
        let email = self.email.trim().to_string();
        if name.is_empty() {
            return invalid("name is required");
        }
        let email_ok = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.contains(char::is_whitespace)
        });
        if !email_ok {
            return invalid("email must look like name@domain");
        }
        if !CONTACT_ROLES.iter().any(|(r, _)| *r == self.role) {
            let roles: Vec<&str> = CONTACT_ROLES.iter().map(|(r, _)| *r).collect();
            return invalid(&format!("role must be one of {}", roles.join(", ")));
        }
        if !PHONE_DIGITS.contains(&self.phone.len())
            || !self.phone.bytes().all(|b| b.is_ascii_digit())
        {
            return invalid(&format!(
                "phone must be {} to {} digits",
                PHONE_DIGITS.start(),
                PHONE_DIGITS.end()
            ));
        }
        Ok(NewContact {
            name,
            email,
            ..self
        })
    }
}

/// A read-only view of one customer (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerView {
    pub id: u64,
    pub name: String,
    pub contact_email: String,
    pub region: String,
    pub seats: BTreeMap<String, u32>,
    pub devices: Vec<DeviceView>,
    /// (file name, size in bytes) of the uploaded logo.
    pub logo: Option<(String, usize)>,
    /// How many times the admin password was reset (each reset invalidates the previous one).
    pub password_resets: u32,
    /// How many times the API key was regenerated.
    pub api_key_regenerations: u32,
    pub edition: Edition,
    pub status: AccountStatus,
    /// In the order they were added.
    pub contacts: Vec<Contact>,
}

/// A read-only view of one enrolled device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceView {
    pub hostname: String,
    pub serial: String,
    pub quota_gb: u32,
    pub os: String,
    pub auto_update: bool,
    pub licence_key: String,
    pub status: String,
    /// How many times the licence key was regenerated.
    pub licence_regenerations: u32,
    /// Storage used (GiB) set from outside, replacing the pseudo-random figure.
    pub storage_used_gb: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub id: u64,
    pub hostname: String,
    pub serial: String,
    pub quota_gb: u32,
    pub os: String,
    pub auto_update: bool,
    pub licence_key: String,
    pub installer_token: String,
    pub licence_regenerations: u32,
    /// Storage used in GiB, set from outside; `None`: [`storage_used`].
    pub storage_used_gib: Option<Decimal>,
}

impl Device {
    /// Storage used in GiB in `period`: the override when set, else the
    /// deterministic pseudo figure ([`storage_used`], two decimals as written).
    pub fn storage_used_gib(&self, period: &str) -> Decimal {
        self.storage_used_gib.unwrap_or_else(|| {
            let cents = storage_used_cents(&self.serial, period);
            Decimal::new(i128::from(cents), 2).expect("scale 2 is valid")
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub id: u64,
    pub name: String,
    pub contact_email: String,
    pub region: String,
    pub seats: BTreeMap<String, u32>,
    pub devices: Vec<Device>,
    pub logo: Option<(String, usize)>,
    pub admin_username: String,
    pub admin_password: String,
    pub api_key: String,
    /// The one-time welcome page has been served.
    pub welcome_shown: bool,
    /// A reset admin password waits for its one view on `/customers/{id}/admin-password`.
    pub admin_password_unseen: bool,
    /// A regenerated API key waits for its one view on `/customers/{id}/api-key`.
    pub api_key_unseen: bool,
    pub password_resets: u32,
    pub api_key_regenerations: u32,
    pub edition: Edition,
    pub status: AccountStatus,
    pub contacts: Vec<Contact>,
}

impl Customer {
    pub fn total_seats(&self) -> u32 {
        self.seats.values().sum()
    }

    pub fn view(&self) -> CustomerView {
        CustomerView {
            id: self.id,
            name: self.name.clone(),
            contact_email: self.contact_email.clone(),
            region: self.region.clone(),
            seats: self.seats.clone(),
            devices: self
                .devices
                .iter()
                .map(|d| DeviceView {
                    hostname: d.hostname.clone(),
                    serial: d.serial.clone(),
                    quota_gb: d.quota_gb,
                    os: d.os.clone(),
                    auto_update: d.auto_update,
                    licence_key: d.licence_key.clone(),
                    status: "protected".to_string(),
                    licence_regenerations: d.licence_regenerations,
                    storage_used_gb: d.storage_used_gib.map(|g| g.to_string()),
                })
                .collect(),
            logo: self.logo.clone(),
            password_resets: self.password_resets,
            api_key_regenerations: self.api_key_regenerations,
            edition: self.edition,
            status: self.status,
            contacts: self.contacts.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub username: String,
    pub csrf: String,
    pub expires_at: Instant,
    pub flash: Option<(String, String)>,
}

/// A pre-login session: carries the login CSRF token and the 2FA step.
#[derive(Debug, Clone)]
pub(crate) struct PreSession {
    pub csrf: String,
    pub pending_user: Option<String>,
    pub next: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Store {
    /// Seeded RNG: every generated secret comes from here.
    pub rng: StdRng,
    pub customers: BTreeMap<u64, Customer>,
    pub next_customer_id: u64,
    pub next_device_id: u64,
    pub next_contact_id: u64,
    pub sessions: HashMap<String, Session>,
    pub presessions: HashMap<String, PreSession>,
    /// installer token -> (customer id, device id)
    pub installers: HashMap<String, (u64, u64)>,
    pub request_counts: HashMap<String, usize>,
}

/// Input for creating a customer.
#[derive(Debug, Clone)]
pub(crate) struct NewCustomer {
    pub name: String,
    pub contact_email: String,
    pub region: String,
    pub ws_seats: u32,
    pub logo: Option<(String, usize)>,
}

/// Input for enrolling a device.
#[derive(Debug, Clone)]
pub(crate) struct NewDevice {
    pub hostname: String,
    pub serial: String,
    pub quota_gb: u32,
    pub os: String,
    pub auto_update: bool,
}

const ALNUM_UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"!#%*+-=?@_";

fn pick(rng: &mut StdRng, set: &[u8]) -> char {
    set[rng.random_range(0..set.len())] as char
}

pub(crate) fn random_hex(rng: &mut impl Rng, n: usize) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    (0..n)
        .map(|_| HEX[rng.random_range(0..16)] as char)
        .collect()
}

/// A 16-character password with a lower, an upper, a digit and a symbol
/// (the shape consoles demand), from the seeded RNG.
pub(crate) fn random_password(rng: &mut StdRng) -> String {
    let mut chars: Vec<char> = Vec::with_capacity(16);
    for set in [LOWER, UPPER, DIGITS, SYMBOLS] {
        chars.push(pick(rng, set));
    }
    let all: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS].concat();
    while chars.len() < 16 {
        chars.push(pick(rng, &all));
    }
    chars.shuffle(rng);
    chars.into_iter().collect()
}

/// `acme-01` style slug of a customer name.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(|c| c.to_lowercase()) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "customer".to_string()
    } else {
        out
    }
}

/// Deterministic pseudo storage usage ("123.45") for a serial in a period (FNV-1a).
pub fn storage_used(serial: &str, period: &str) -> String {
    let cents = storage_used_cents(serial, period);
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// [`storage_used`] in hundredths of a GiB.
fn storage_used_cents(serial: &str, period: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in serial.bytes().chain([b'|']).chain(period.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h % 50_000 + 100
}

/// One usage row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageRow {
    pub sku: String,
    pub metric: String,
    pub quantity: String,
    pub unit: String,
}

/// One `seats` row per SKU with seats, in [`SKUS`] order.
pub(crate) fn seat_rows(c: &Customer) -> Vec<UsageRow> {
    SKUS.iter()
        .filter_map(|(sku, _, _)| {
            let seats = c.seats.get(*sku).copied().unwrap_or(0);
            (seats > 0).then(|| UsageRow {
                sku: sku.to_string(),
                metric: "seats".to_string(),
                quantity: seats.to_string(),
                unit: "seat".to_string(),
            })
        })
        .collect()
}

/// Usage rows of a customer for a period.
pub(crate) fn usage_rows(c: &Customer, period: &str) -> Vec<UsageRow> {
    let mut rows = seat_rows(c);
    for d in &c.devices {
        rows.push(UsageRow {
            sku: device_sku(&d.os).to_string(),
            metric: "storage_used".to_string(),
            quantity: d.storage_used_gib(period).to_string(),
            unit: "GiB".to_string(),
        });
    }
    rows
}

/// Formats cents as "123.00 EUR".
pub fn eur(cents: u64) -> String {
    let cents = i64::try_from(cents).unwrap_or(i64::MAX);
    crate::money::Money::from_minor(cents, crate::money::Currency::EUR).to_string()
}

impl Store {
    pub fn new(config: &DemoVendorConfig) -> Store {
        let mut store = Store {
            rng: StdRng::seed_from_u64(config.seed),
            customers: BTreeMap::new(),
            next_customer_id: 1,
            next_device_id: 1,
            next_contact_id: 1,
            sessions: HashMap::new(),
            presessions: HashMap::new(),
            installers: HashMap::new(),
            request_counts: HashMap::new(),
        };
        for i in 1..=config.seed_customers {
            if config.uniform_seed {
                store.seed_uniform_customer(i);
            } else {
                store.seed_customer(i);
            }
        }
        store
    }

    /// Seeded customer `i` of the default (varied) seeding: some SKUs empty,
    /// a device on every 4th.
    fn seed_customer(&mut self, i: usize) {
        let id = self.create_customer(Self::seeded(i, 5 + (i as u32 * 3) % 10));
        let c = self.customers.get_mut(&id).expect("just created");
        c.welcome_shown = true;
        c.edition = Self::seeded_edition(i);
        c.seats.insert("BK-SRV".into(), (i % 3) as u32);
        c.seats.insert(
            "BK-M365".into(),
            if i.is_multiple_of(2) {
                10 + i as u32
            } else {
                0
            },
        );
        if i % 4 == 1 {
            self.enrol_device(id, Self::seeded_device(i, 1, "ws01", "windows", 100))
                .expect("seed device");
        }
    }

    /// Seeded customer `i` of the uniform (bench) seeding: seats on every SKU
    /// and two devices, so exactly five usage rows each.
    fn seed_uniform_customer(&mut self, i: usize) {
        let id = self.create_customer(Self::seeded(i, 5 + (i % 10) as u32));
        let c = self.customers.get_mut(&id).expect("just created");
        c.welcome_shown = true;
        c.edition = Self::seeded_edition(i);
        c.seats.insert("BK-SRV".into(), 1 + (i % 3) as u32);
        c.seats.insert("BK-M365".into(), 10 + (i % 7) as u32);
        for device in [
            Self::seeded_device(i, 1, "ws01", "windows", 100),
            Self::seeded_device(i, 2, "srv01", "linux", 500),
        ] {
            self.enrol_device(id, device).expect("seed device");
        }
    }

    /// "Acme NN" with `ws_seats` workstation seats.
    fn seeded(i: usize, ws_seats: u32) -> NewCustomer {
        NewCustomer {
            name: format!("Acme {i:02}"),
            contact_email: format!("it@acme{i:02}.example"),
            region: REGIONS[(i - 1) % REGIONS.len()].0.to_string(),
            ws_seats,
            logo: None,
        }
    }

    /// Every fifth seeded customer is on the advanced edition.
    fn seeded_edition(i: usize) -> Edition {
        if i.is_multiple_of(5) {
            Edition::Advanced
        } else {
            Edition::Standard
        }
    }

    /// `acmeNN-{host}` with serial `SN-ACMENN-000{n}`.
    fn seeded_device(i: usize, n: u32, host: &str, os: &str, quota_gb: u32) -> NewDevice {
        NewDevice {
            hostname: format!("acme{i:02}-{host}"),
            serial: format!("SN-ACME{i:02}-{n:04}"),
            quota_gb,
            os: os.into(),
            auto_update: true,
        }
    }

    pub fn find_by_name(&self, name: &str) -> Option<&Customer> {
        self.customers
            .values()
            .find(|c| c.name == name)
            .or_else(|| {
                let lower = name.to_lowercase();
                self.customers
                    .values()
                    .find(|c| c.name.to_lowercase() == lower)
            })
    }

    pub fn find_id_by_name(&self, name: &str) -> Option<u64> {
        self.find_by_name(name).map(|c| c.id)
    }

    pub fn name_taken(&self, name: &str) -> bool {
        let lower = name.to_lowercase();
        self.customers
            .values()
            .any(|c| c.name.to_lowercase() == lower)
    }

    fn admin_password(&mut self) -> String {
        random_password(&mut self.rng)
    }

    fn api_key(&mut self) -> String {
        format!("dbk_live_{}", random_hex(&mut self.rng, 32))
    }

    fn licence_key(&mut self) -> String {
        let mut licence_key = String::from("DBK");
        for _ in 0..4 {
            licence_key.push('-');
            for _ in 0..4 {
                licence_key.push(pick(&mut self.rng, ALNUM_UPPER));
            }
        }
        licence_key
    }

    /// Creates a customer (no validation) and returns its id.
    pub fn create_customer(&mut self, new: NewCustomer) -> u64 {
        let id = self.next_customer_id;
        self.next_customer_id += 1;
        let admin_username = format!("admin@{}.demo-backup.example", slug(&new.name));
        let admin_password = self.admin_password();
        let api_key = self.api_key();
        let mut seats = BTreeMap::new();
        seats.insert("BK-WS".to_string(), new.ws_seats);
        seats.insert("BK-SRV".to_string(), 0);
        seats.insert("BK-M365".to_string(), 0);
        self.customers.insert(
            id,
            Customer {
                id,
                name: new.name,
                contact_email: new.contact_email,
                region: new.region,
                seats,
                devices: Vec::new(),
                logo: new.logo,
                admin_username,
                admin_password,
                api_key,
                welcome_shown: false,
                admin_password_unseen: false,
                api_key_unseen: false,
                password_resets: 0,
                api_key_regenerations: 0,
                edition: Edition::default(),
                status: AccountStatus::default(),
                contacts: Vec::new(),
            },
        );
        id
    }

    pub fn serial_taken(&self, serial: &str) -> bool {
        let lower = serial.to_lowercase();
        self.customers
            .values()
            .flat_map(|c| c.devices.iter())
            .any(|d| d.serial.to_lowercase() == lower)
    }

    /// Enrols a device; `None` if the customer does not exist.
    pub fn enrol_device(&mut self, customer_id: u64, new: NewDevice) -> Option<u64> {
        if !self.customers.contains_key(&customer_id) {
            return None;
        }
        let id = self.next_device_id;
        self.next_device_id += 1;
        let licence_key = self.licence_key();
        let installer_token = random_hex(&mut self.rng, 32);
        self.installers
            .insert(installer_token.clone(), (customer_id, id));
        let c = self.customers.get_mut(&customer_id)?;
        c.devices.push(Device {
            id,
            hostname: new.hostname,
            serial: new.serial,
            quota_gb: new.quota_gb,
            os: new.os,
            auto_update: new.auto_update,
            licence_key,
            installer_token,
            licence_regenerations: 0,
            storage_used_gib: None,
        });
        Some(id)
    }

    /// Adds a checked contact; a new primary one takes the mark from the
    /// previous one. `None` if the customer does not exist.
    pub fn add_contact(&mut self, customer_id: u64, new: NewContact) -> Option<u64> {
        let id = self.next_contact_id;
        let c = self.customers.get_mut(&customer_id)?;
        self.next_contact_id += 1;
        if new.primary {
            for other in &mut c.contacts {
                other.primary = false;
            }
        }
        c.contacts.push(Contact {
            id,
            name: new.name,
            email: new.email,
            role: new.role,
            primary: new.primary,
            phone: new.phone,
        });
        Some(id)
    }

    /// Replaces a customer's admin password (the old one stops working) and arms its
    /// one-time view; `false` if the customer does not exist.
    pub fn reset_admin_password(&mut self, customer_id: u64) -> bool {
        if !self.customers.contains_key(&customer_id) {
            return false;
        }
        let password = self.admin_password();
        let Some(c) = self.customers.get_mut(&customer_id) else {
            return false;
        };
        c.admin_password = password;
        c.admin_password_unseen = true;
        c.password_resets += 1;
        true
    }

    /// Replaces a customer's API key and arms its one-time view; `false` if unknown.
    pub fn regenerate_api_key(&mut self, customer_id: u64) -> bool {
        if !self.customers.contains_key(&customer_id) {
            return false;
        }
        let key = self.api_key();
        let Some(c) = self.customers.get_mut(&customer_id) else {
            return false;
        };
        c.api_key = key;
        c.api_key_unseen = true;
        c.api_key_regenerations += 1;
        true
    }

    /// Replaces a device's licence key (it stays readable on the device page);
    /// `false` if the customer or device does not exist.
    pub fn regenerate_licence(&mut self, customer_id: u64, device_id: u64) -> bool {
        let exists = self
            .customers
            .get(&customer_id)
            .is_some_and(|c| c.devices.iter().any(|d| d.id == device_id));
        if !exists {
            return false;
        }
        let key = self.licence_key();
        let Some(d) = self
            .customers
            .get_mut(&customer_id)
            .and_then(|c| c.devices.iter_mut().find(|d| d.id == device_id))
        else {
            return false;
        };
        d.licence_key = key;
        d.licence_regenerations += 1;
        true
    }

    pub fn set_seats(&mut self, customer: &str, sku: &str, seats: u32) -> bool {
        if !SKUS.iter().any(|(s, _, _)| *s == sku) {
            return false;
        }
        let Some(id) = self.find_id_by_name(customer) else {
            return false;
        };
        match self.customers.get_mut(&id) {
            Some(c) => {
                c.seats.insert(sku.to_string(), seats);
                true
            }
            None => false,
        }
    }

    pub fn remove_device(&mut self, customer: &str, hostname: &str) -> bool {
        let Some(id) = self.find_id_by_name(customer) else {
            return false;
        };
        let Some(c) = self.customers.get_mut(&id) else {
            return false;
        };
        let Some(pos) = c.devices.iter().position(|d| d.hostname == hostname) else {
            return false;
        };
        let d = c.devices.remove(pos);
        self.installers.remove(&d.installer_token);
        true
    }

    fn customer_mut(&mut self, name: &str) -> Result<&mut Customer, ChangeError> {
        let id = self
            .find_id_by_name(name)
            .ok_or_else(|| ChangeError::UnknownCustomer(name.to_string()))?;
        self.customers
            .get_mut(&id)
            .ok_or_else(|| ChangeError::UnknownCustomer(name.to_string()))
    }

    fn device_mut(&mut self, customer: &str, hostname: &str) -> Result<&mut Device, ChangeError> {
        self.customer_mut(customer)?
            .devices
            .iter_mut()
            .find(|d| d.hostname == hostname)
            .ok_or_else(|| ChangeError::UnknownDevice {
                customer: customer.to_string(),
                hostname: hostname.to_string(),
            })
    }

    pub fn set_edition(&mut self, customer: &str, edition: Edition) -> Result<(), ChangeError> {
        self.customer_mut(customer)?.edition = edition;
        Ok(())
    }

    pub fn set_status(&mut self, customer: &str, status: AccountStatus) -> Result<(), ChangeError> {
        self.customer_mut(customer)?.status = status;
        Ok(())
    }

    /// Enrols a device by customer name with the console form's checks.
    pub fn enrol_device_from_outside(
        &mut self,
        customer: &str,
        spec: DeviceSpec,
    ) -> Result<(), ChangeError> {
        let id = self.customer_mut(customer)?.id;
        let invalid = |msg: &str| Err(ChangeError::Invalid(msg.to_string()));
        if spec.hostname.trim().is_empty() {
            return invalid("hostname is required");
        }
        if spec.serial.trim().is_empty() {
            return invalid("serial is required");
        }
        if spec.quota_gb == 0 {
            return invalid("quota_gb must be a positive number of GB");
        }
        if !OSES.iter().any(|(o, _)| *o == spec.os) {
            return invalid("os must be windows, linux or macos");
        }
        if self.serial_taken(&spec.serial) {
            return invalid("a device with this serial is already enrolled");
        }
        let new = NewDevice {
            hostname: spec.hostname.trim().to_string(),
            serial: spec.serial.trim().to_string(),
            quota_gb: spec.quota_gb,
            os: spec.os,
            auto_update: true,
        };
        self.enrol_device(id, new)
            .map(|_| ())
            .ok_or_else(|| ChangeError::UnknownCustomer(customer.to_string()))
    }

    pub fn set_storage_used(
        &mut self,
        customer: &str,
        hostname: &str,
        used_gb: &str,
    ) -> Result<(), ChangeError> {
        let device = self.device_mut(customer, hostname)?;
        device.storage_used_gib = Some(parse_storage_gib(used_gb)?);
        Ok(())
    }

    pub fn set_quota(
        &mut self,
        customer: &str,
        hostname: &str,
        quota_gb: u32,
    ) -> Result<(), ChangeError> {
        let device = self.device_mut(customer, hostname)?;
        if quota_gb == 0 {
            return Err(ChangeError::Invalid(
                "quota_gb must be a positive number of GB".into(),
            ));
        }
        device.quota_gb = quota_gb;
        Ok(())
    }

    pub fn expire_sessions(&mut self) {
        let now = Instant::now();
        for s in self.sessions.values_mut() {
            s.expires_at = now;
        }
    }
}

/// Shared state of one demo vendor: configuration plus the locked store.
#[derive(Clone)]
pub struct DemoState {
    pub(crate) config: Arc<DemoVendorConfig>,
    pub(crate) store: Arc<Mutex<Store>>,
    pub(crate) totp: Arc<TOTP>,
    /// Fallback base URL when a request has no `Host` header.
    pub(crate) base_url: Arc<Mutex<String>>,
    /// The simulated availability (apart from the store: read on every request).
    pub(crate) outage: Arc<Mutex<Outage>>,
}

impl std::fmt::Debug for DemoState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoState")
            .field(
                "base_url",
                &*self.base_url.lock().unwrap_or_else(|e| e.into_inner()),
            )
            .finish_non_exhaustive()
    }
}

impl DemoState {
    /// Builds the state (seeds the customers). Fails if the TOTP seed is invalid.
    pub fn new(config: DemoVendorConfig) -> std::io::Result<DemoState> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        let secret = Secret::Encoded(config.totp_seed.clone())
            .to_bytes()
            .map_err(|e| invalid(format!("invalid TOTP seed: {e:?}")))?;
        let totp = TOTP::new(Algorithm::SHA1, 6, 1, 30, secret)
            .map_err(|e| invalid(format!("invalid TOTP seed: {e}")))?;
        let store = Store::new(&config);
        Ok(DemoState {
            config: Arc::new(config),
            store: Arc::new(Mutex::new(store)),
            totp: Arc::new(totp),
            base_url: Arc::new(Mutex::new(String::from("http://127.0.0.1"))),
            outage: Arc::new(Mutex::new(Outage::Up)),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The configuration.
    pub fn config(&self) -> &DemoVendorConfig {
        &self.config
    }

    /// The TOTP code valid right now.
    pub fn current_totp(&self) -> String {
        self.totp.generate_current().unwrap_or_default()
    }

    pub(crate) fn check_totp(&self, code: &str) -> bool {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        code.len() == 6 && self.totp.check_current(&code).unwrap_or(false)
    }

    /// All customers sorted by id.
    pub fn customers(&self) -> Vec<CustomerView> {
        self.lock().customers.values().map(Customer::view).collect()
    }

    /// How many customers have exactly this name.
    pub fn count_customers_named(&self, name: &str) -> usize {
        self.lock()
            .customers
            .values()
            .filter(|c| c.name == name)
            .count()
    }

    /// The customer with this name (else, ignoring case).
    pub fn customer_named(&self, name: &str) -> Option<CustomerView> {
        self.lock().find_by_name(name).map(Customer::view)
    }

    /// (admin username, admin password, api key) of a customer.
    pub fn admin_credentials_of(&self, name: &str) -> Option<(String, String, String)> {
        self.lock().find_by_name(name).map(|c| {
            (
                c.admin_username.clone(),
                c.admin_password.clone(),
                c.api_key.clone(),
            )
        })
    }

    /// Sets the seats of a SKU (outside change). False if customer or SKU unknown.
    pub fn set_seats(&self, customer: &str, sku: &str, seats: u32) -> bool {
        self.lock().set_seats(customer, sku, seats)
    }

    /// Removes a device by hostname (outside change).
    pub fn remove_device(&self, customer: &str, hostname: &str) -> bool {
        self.lock().remove_device(customer, hostname)
    }

    /// Sets a customer's edition (outside change).
    pub fn set_edition(&self, customer: &str, edition: Edition) -> Result<(), ChangeError> {
        self.lock().set_edition(customer, edition)
    }

    /// Suspends or reactivates a customer's account (outside change).
    pub fn set_status(&self, customer: &str, status: AccountStatus) -> Result<(), ChangeError> {
        self.lock().set_status(customer, status)
    }

    /// Enrols a device (outside change), with the checks of the console's form.
    pub fn enrol_device(&self, customer: &str, device: DeviceSpec) -> Result<(), ChangeError> {
        self.lock().enrol_device_from_outside(customer, device)
    }

    /// Overrides a device's storage used, `used_gb` an exact decimal of GiB
    /// (`"512.25"`), for every period (outside change).
    pub fn set_storage_used(
        &self,
        customer: &str,
        hostname: &str,
        used_gb: &str,
    ) -> Result<(), ChangeError> {
        self.lock().set_storage_used(customer, hostname, used_gb)
    }

    /// Changes a device's quota in GB (outside change; 0 is refused).
    pub fn set_quota(
        &self,
        customer: &str,
        hostname: &str,
        quota_gb: u32,
    ) -> Result<(), ChangeError> {
        self.lock().set_quota(customer, hostname, quota_gb)
    }

    /// Takes the console down, slows it or brings it back (`/_admin` keeps working).
    pub fn set_outage(&self, outage: Outage) {
        *self.outage.lock().unwrap_or_else(|e| e.into_inner()) = outage;
    }

    /// The simulated availability now.
    pub fn outage(&self) -> Outage {
        *self.outage.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Expires every session.
    pub fn expire_sessions(&self) {
        self.lock().expire_sessions();
    }

    /// How many requests hit paths starting with `path_prefix`.
    pub fn request_count(&self, path_prefix: &str) -> usize {
        self.lock()
            .request_counts
            .iter()
            .filter(|(p, _)| p.starts_with(path_prefix))
            .map(|(_, n)| *n)
            .sum()
    }
}
