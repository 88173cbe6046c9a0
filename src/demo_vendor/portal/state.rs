//! In-memory state of the partner portal: tenants, their devices, sessions.
//! Every secret comes from one RNG seeded by [`PortalConfig::seed`], in
//! creation order, so a run is reproducible.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::PortalConfig;
use crate::demo_vendor::state::{random_hex, random_password, slug};

/// Most seats a tenant may have (the add and change forms refuse more).
pub const MAX_SEATS: u32 = 500;
/// Largest device quota, in GB.
pub const MAX_QUOTA_GB: u32 = 2000;
/// Rows per page of every list (Django's `list_per_page`).
pub const PER_PAGE: usize = 50;
/// The SKU of cloud backup storage (usage lines and the service snapshot).
pub const STORAGE_SKU: &str = "BKP-CLOUD";

/// A tenant's plan (a model whose primary key is its SKU code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Plan {
    Essentials,
    Business,
    Enterprise,
}

impl Plan {
    pub const ALL: [Plan; 3] = [Plan::Essentials, Plan::Business, Plan::Enterprise];

    /// Its name.
    pub fn label(self) -> &'static str {
        match self {
            Plan::Essentials => "Essentials",
            Plan::Business => "Business",
            Plan::Enterprise => "Enterprise",
        }
    }

    /// Its code: the primary key (`select#id_plan`'s option values) and
    /// the SKU of its seats on usage lines.
    pub fn sku(self) -> &'static str {
        match self {
            Plan::Essentials => "EDR-ESS",
            Plan::Business => "EDR-BUS",
            Plan::Enterprise => "EDR-ENT",
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl Plan {
    /// What the lists show (Django's `__str__` of the plan): `Business (EDR-BUS)`.
    pub fn display(self) -> String {
        format!("{} ({})", self.label(), self.sku())
    }
}

impl FromStr for Plan {
    type Err = PortalError;
    /// The code (the plan's primary key, what the forms post) or the label.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Plan::ALL
            .into_iter()
            .find(|p| p.sku() == s.trim() || p.label().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                PortalError::Invalid(format!(
                    "Select a valid choice. {s} is not one of the available choices."
                ))
            })
    }
}

/// Why a change (a form of the console or the `/_admin` API) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortalError {
    #[error("unknown tenant `{0}`")]
    UnknownTenant(String),
    #[error("unknown device `{hostname}` of tenant `{tenant}`")]
    UnknownDevice { tenant: String, hostname: String },
    /// The input itself is wrong: the message is the form's error text.
    #[error("{0}")]
    Invalid(String),
}

impl PortalError {
    pub fn is_not_found(&self) -> bool {
        !matches!(self, PortalError::Invalid(_))
    }
}

/// A device enrolled under a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Django's integer primary key (in the change page's URL).
    pub id: u64,
    pub hostname: String,
    pub serial: String,
    pub quota_gb: u32,
    pub enrollment_token: String,
    /// Storage used in tenths of a GB, set from outside; `None`: the
    /// deterministic figure of [`used_tenths`].
    #[serde(skip)]
    pub used_override: Option<u64>,
}

impl Device {
    /// Storage used in `period`, in tenths of a (decimal) GB.
    pub fn used_tenths(&self, period: &str) -> u64 {
        self.used_override
            .unwrap_or_else(|| used_tenths(&self.serial, period, self.quota_gb))
    }
}

/// A tenant (a customer of the partner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenant {
    /// A UUID: only ever in the change page's URL path.
    pub uuid: String,
    pub name: String,
    pub plan: Plan,
    pub seats: u32,
    /// `Active` or `Suspended`.
    pub status: String,
    pub api_key: String,
    pub admin_password: String,
    pub devices: Vec<Device>,
}

/// What the add form (or `/_admin`) gives for a new device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDevice {
    pub hostname: String,
    pub serial: String,
    pub quota_gb: u32,
}

/// A logged-in session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub username: String,
    /// Django's `messages`: shown once on the next page.
    pub messages: Vec<String>,
}

/// Everything behind the mutex.
#[derive(Debug)]
pub(crate) struct Store {
    rng: StdRng,
    /// In creation order (the lists' order).
    pub tenants: Vec<Tenant>,
    next_device_id: u64,
    pub sessions: HashMap<String, Session>,
}

/// Deterministic storage used (tenths of a GB) of a device in a period:
/// between 1 % and 60 % of its quota (FNV-1a of serial and period).
pub fn used_tenths(serial: &str, period: &str, quota_gb: u32) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in serial.bytes().chain([b'|']).chain(period.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    let quota_tenths = u64::from(quota_gb.max(1)) * 10;
    quota_tenths / 100 + h % (quota_tenths * 59 / 100 + 1)
}

/// `123.4` from tenths.
pub fn tenths_text(tenths: u64) -> String {
    format!("{}.{}", tenths / 10, tenths % 10)
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn base62(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| BASE62[rng.random_range(0..BASE62.len())] as char)
        .collect()
}

impl Store {
    fn new(config: &PortalConfig) -> Store {
        let mut store = Store {
            rng: StdRng::seed_from_u64(config.seed),
            tenants: Vec::new(),
            next_device_id: 1,
            sessions: HashMap::new(),
        };
        for i in 1..=config.seed_tenants {
            store.seed_tenant(i);
        }
        store
    }

    /// "Northwind NN": plans and seats varied; a workstation on two tenants
    /// in three, and a server too on one in three (60 tenants: 60 devices).
    fn seed_tenant(&mut self, i: usize) {
        let plan = Plan::ALL[i % 3];
        let name = format!("Northwind {i:02}");
        let seats = 5 + (i as u32 * 7) % 40;
        self.create_tenant(&name, plan, seats)
            .expect("seeded tenants are valid");
        let mut devices = Vec::new();
        if !i.is_multiple_of(3) {
            devices.push(("ws01", 1, 100 + (i as u32 % 4) * 50));
        }
        if i % 3 == 1 {
            devices.push(("srv01", 2, 500));
        }
        for (host, n, quota_gb) in devices {
            let device = NewDevice {
                hostname: format!("nw{i:02}-{host}"),
                serial: format!("NW{i:02}-{n:04}"),
                quota_gb,
            };
            self.add_device(&name, device)
                .expect("seeded devices are valid");
        }
    }

    /// A random (version 4 shaped) UUID from the seeded RNG.
    fn uuid(&mut self) -> String {
        let h = random_hex(&mut self.rng, 32);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    pub fn tenant(&self, name: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.name == name)
    }

    pub fn tenant_by_uuid(&self, uuid: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.uuid == uuid)
    }

    fn tenant_mut(&mut self, name: &str) -> Result<&mut Tenant, PortalError> {
        self.tenants
            .iter_mut()
            .find(|t| t.name == name)
            .ok_or_else(|| PortalError::UnknownTenant(name.to_string()))
    }

    /// Creates a tenant after the add form's checks; its UUID.
    pub fn create_tenant(
        &mut self,
        name: &str,
        plan: Plan,
        seats: u32,
    ) -> Result<String, PortalError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(PortalError::Invalid("Name: This field is required.".into()));
        }
        if name.chars().count() > 100 {
            return Err(PortalError::Invalid(
                "Name: Ensure this value has at most 100 characters.".into(),
            ));
        }
        let lower = name.to_lowercase();
        if self.tenants.iter().any(|t| t.name.to_lowercase() == lower) {
            return Err(PortalError::Invalid(
                "Name: Tenant with this Name already exists.".into(),
            ));
        }
        check_seats(seats)?;
        let uuid = self.uuid();
        let api_key = format!("sk_live_{}", base62(&mut self.rng, 32));
        let admin_password = random_password(&mut self.rng);
        self.tenants.push(Tenant {
            uuid: uuid.clone(),
            name: name.to_string(),
            plan,
            seats,
            status: "Active".into(),
            api_key,
            admin_password,
            devices: Vec::new(),
        });
        Ok(uuid)
    }

    /// Enrols a device under tenant `name`; its id and enrolment token.
    pub fn add_device(
        &mut self,
        tenant: &str,
        new: NewDevice,
    ) -> Result<(u64, String), PortalError> {
        let hostname = new.hostname.trim().to_string();
        let serial = new.serial.trim().to_string();
        if hostname.is_empty() || serial.is_empty() {
            return Err(PortalError::Invalid(
                "Hostname and serial: This field is required.".into(),
            ));
        }
        check_quota(new.quota_gb)?;
        if self
            .tenants
            .iter()
            .flat_map(|t| &t.devices)
            .any(|d| d.serial == serial)
        {
            return Err(PortalError::Invalid(
                "Serial: Device with this Serial already exists.".into(),
            ));
        }
        let id = self.next_device_id;
        // Drawn before the tenant is borrowed; only kept when it exists.
        let token = format!("enr_{}", base62(&mut self.rng, 40));
        let t = self.tenant_mut(tenant)?;
        t.devices.push(Device {
            id,
            hostname,
            serial,
            quota_gb: new.quota_gb,
            enrollment_token: token.clone(),
            used_override: None,
        });
        self.next_device_id += 1;
        Ok((id, token))
    }

    /// The device with this id and its tenant.
    pub fn device(&self, id: u64) -> Option<(&Tenant, &Device)> {
        self.tenants
            .iter()
            .find_map(|t| t.devices.iter().find(|d| d.id == id).map(|d| (t, d)))
    }

    pub fn set_seats(&mut self, tenant: &str, seats: u32) -> Result<(), PortalError> {
        check_seats(seats)?;
        self.tenant_mut(tenant)?.seats = seats;
        Ok(())
    }

    pub fn set_plan(&mut self, tenant: &str, plan: Plan) -> Result<(), PortalError> {
        self.tenant_mut(tenant)?.plan = plan;
        Ok(())
    }

    fn device_mut(&mut self, tenant: &str, hostname: &str) -> Result<&mut Device, PortalError> {
        let t = self.tenant_mut(tenant)?;
        t.devices
            .iter_mut()
            .find(|d| d.hostname == hostname)
            .ok_or_else(|| PortalError::UnknownDevice {
                tenant: tenant.to_string(),
                hostname: hostname.to_string(),
            })
    }

    pub fn set_quota(
        &mut self,
        tenant: &str,
        hostname: &str,
        quota_gb: u32,
    ) -> Result<(), PortalError> {
        check_quota(quota_gb)?;
        self.device_mut(tenant, hostname)?.quota_gb = quota_gb;
        Ok(())
    }

    pub fn set_used(
        &mut self,
        tenant: &str,
        hostname: &str,
        tenths: u64,
    ) -> Result<(), PortalError> {
        self.device_mut(tenant, hostname)?.used_override = Some(tenths);
        Ok(())
    }

    pub fn remove_device(&mut self, tenant: &str, hostname: &str) -> Result<(), PortalError> {
        let t = self.tenant_mut(tenant)?;
        let before = t.devices.len();
        t.devices.retain(|d| d.hostname != hostname);
        if t.devices.len() == before {
            return Err(PortalError::UnknownDevice {
                tenant: tenant.to_string(),
                hostname: hostname.to_string(),
            });
        }
        Ok(())
    }
}

fn check_seats(seats: u32) -> Result<(), PortalError> {
    if (1..=MAX_SEATS).contains(&seats) {
        Ok(())
    } else {
        Err(PortalError::Invalid(format!(
            "Seats: Ensure this value is between 1 and {MAX_SEATS}."
        )))
    }
}

fn check_quota(quota_gb: u32) -> Result<(), PortalError> {
    if (1..=MAX_QUOTA_GB).contains(&quota_gb) {
        Ok(())
    } else {
        Err(PortalError::Invalid(format!(
            "Quota (GB): Ensure this value is between 1 and {MAX_QUOTA_GB}."
        )))
    }
}

/// The admin user name of a tenant (shown next to its initial password).
pub fn admin_username(tenant: &str) -> String {
    format!("admin@{}.portal.example", slug(tenant))
}

/// The shared state of the portal (cheap to clone).
#[derive(Clone)]
pub struct PortalState {
    pub(crate) config: Arc<PortalConfig>,
    store: Arc<Mutex<Store>>,
}

impl fmt::Debug for PortalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortalState").finish_non_exhaustive()
    }
}

impl PortalState {
    pub fn new(config: PortalConfig) -> PortalState {
        let store = Store::new(&config);
        PortalState {
            config: Arc::new(config),
            store: Arc::new(Mutex::new(store)),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn config(&self) -> &PortalConfig {
        &self.config
    }

    /// Every tenant with its devices and secrets, in list order.
    pub fn tenants(&self) -> Vec<Tenant> {
        self.lock().tenants.clone()
    }

    pub fn tenant(&self, name: &str) -> Option<Tenant> {
        self.lock().tenant(name).cloned()
    }

    /// Outside change: a tenant's seats.
    pub fn set_seats(&self, tenant: &str, seats: u32) -> Result<(), PortalError> {
        self.lock().set_seats(tenant, seats)
    }

    /// Outside change: a tenant's plan.
    pub fn set_plan(&self, tenant: &str, plan: Plan) -> Result<(), PortalError> {
        self.lock().set_plan(tenant, plan)
    }

    /// Outside change: a device enrolled by somebody else; its enrolment token.
    pub fn add_device(&self, tenant: &str, device: NewDevice) -> Result<String, PortalError> {
        self.lock()
            .add_device(tenant, device)
            .map(|(_, token)| token)
    }

    /// Outside change: a device's quota in GB.
    pub fn set_quota(
        &self,
        tenant: &str,
        hostname: &str,
        quota_gb: u32,
    ) -> Result<(), PortalError> {
        self.lock().set_quota(tenant, hostname, quota_gb)
    }

    /// Outside change: a device's storage used, in tenths of a GB, for every month.
    pub fn set_used(&self, tenant: &str, hostname: &str, tenths: u64) -> Result<(), PortalError> {
        self.lock().set_used(tenant, hostname, tenths)
    }

    /// Outside change: a device removed.
    pub fn remove_device(&self, tenant: &str, hostname: &str) -> Result<(), PortalError> {
        self.lock().remove_device(tenant, hostname)
    }

    /// Every secret the portal holds (API keys, admin passwords, enrolment
    /// tokens), for scans of what a run left behind.
    pub fn secrets(&self) -> Vec<String> {
        let store = self.lock();
        store
            .tenants
            .iter()
            .flat_map(|t| {
                [t.api_key.clone(), t.admin_password.clone()]
                    .into_iter()
                    .chain(t.devices.iter().map(|d| d.enrollment_token.clone()))
            })
            .collect()
    }
}
