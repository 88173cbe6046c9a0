//! The validated pricing models: what a [`super::Plan`] holds once its TOML
//! has been checked. Pricing them is in `price.rs`.

use crate::money::Decimal;
use crate::text::text_enum;
use jiff::civil::Weekday;

/// How a plan turns usage into a fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// units × unit price.
    Standard,
    /// Each tier prices its own units; a tier's flat fee once it is reached.
    Graduated,
    /// All units at the price of the tier the total falls in.
    Volume,
    /// ceil((units − free) / size) packages × price.
    Package,
    /// Each row at the rate of the weekday and hour it started, in a time zone;
    /// with a `unit`, each row's time split at the rate changes, each part's
    /// started hours at its rate.
    TimeOfUse,
    /// Started hours (or days) each resource existed × quantity × unit price.
    InstanceTime,
}

text_enum!(Model, "pricing model", {
    Standard => "standard",
    Graduated => "graduated",
    Volume => "volume",
    Package => "package",
    TimeOfUse => "time_of_use",
    InstanceTime => "instance_time",
});

/// How the rows of a period become the one quantity tiers and packages price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// The rows added up (calls, GB transferred, seats of several SKUs).
    Sum,
    /// The largest row (peak storage, most seats at once).
    Max,
}

text_enum!(Aggregate, "aggregate", {
    Sum => "sum",
    Max => "max",
});

/// A tier: units above the previous tier's `up_to`, up to this one
/// (inclusive); the last tier has no `up_to` and no end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub up_to: Option<Decimal>,
    pub unit_price: Decimal,
    /// Charged once when the tier is reached (zero when not written).
    pub flat_fee: Decimal,
}

/// The price part of a plan, one variant per model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pricing {
    Standard {
        unit_price: Decimal,
    },
    Graduated(Vec<Tier>),
    Volume(Vec<Tier>),
    Package {
        size: Decimal,
        price: Decimal,
        free: Decimal,
    },
    TimeOfUse(TimeOfUse),
    InstanceTime {
        unit: InstanceUnit,
        unit_price: Decimal,
    },
}

impl Pricing {
    pub fn model(&self) -> Model {
        match self {
            Pricing::Standard { .. } => Model::Standard,
            Pricing::Graduated(_) => Model::Graduated,
            Pricing::Volume(_) => Model::Volume,
            Pricing::Package { .. } => Model::Package,
            Pricing::TimeOfUse(_) => Model::TimeOfUse,
            Pricing::InstanceTime { .. } => Model::InstanceTime,
        }
    }
}

/// What instance time is counted in; a started unit counts whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceUnit {
    Hour,
    Day,
}

impl InstanceUnit {
    pub fn seconds(self) -> i64 {
        match self {
            InstanceUnit::Hour => 3_600,
            InstanceUnit::Day => 86_400,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            InstanceUnit::Hour => "h",
            InstanceUnit::Day => "d",
        }
    }
}

/// Named rates by weekday and local hour; every other hour is the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeOfUse {
    pub zone_name: String,
    pub zone: jiff::tz::TimeZone,
    /// `None`: a row's quantity is priced at the rate in effect at its
    /// start (support minutes, calls). `Some`: a row is priced by the time
    /// it ran (a VM's hours): split at every rate change, each part's
    /// started units × quantity at that part's rate.
    pub unit: Option<InstanceUnit>,
    pub default_name: String,
    pub default_rate: Decimal,
    pub rates: Vec<Rate>,
}

/// One named rate: on `days`, local hours `[from_hour, to_hour)`. When
/// `from_hour > to_hour` the window crosses midnight: it runs from
/// `from_hour` on a listed day to `to_hour` on the next day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub name: String,
    pub days: Vec<Weekday>,
    pub from_hour: u8,
    pub to_hour: u8,
    pub unit_price: Decimal,
}

impl Rate {
    /// Whether local `hour` (0–23) of `day` is in this rate's window.
    pub fn covers(&self, day: Weekday, hour: i8) -> bool {
        let Ok(hour) = u8::try_from(hour) else {
            return false;
        };
        let (from, to) = (self.from_hour, self.to_hour);
        if from < to {
            self.days.contains(&day) && from <= hour && hour < to
        } else {
            // Crosses midnight: the evening of a listed day, or the early
            // hours of the day after one.
            (self.days.contains(&day) && hour >= from)
                || (self.days.contains(&day.previous()) && hour < to)
        }
    }
}

impl TimeOfUse {
    /// The rate's name and unit price at an instant, in the plan's zone.
    pub fn rate_at(&self, at: jiff::Timestamp) -> (&str, Decimal) {
        let local = at.to_zoned(self.zone.clone());
        self.rates
            .iter()
            .find(|r| r.covers(local.weekday(), local.hour()))
            .map_or((self.default_name.as_str(), self.default_rate), |r| {
                (r.name.as_str(), r.unit_price)
            })
    }
}

/// A percentage off the whole fee once its total passes a threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discount {
    /// In the plan's currency; the total must be strictly above it.
    pub threshold: Decimal,
    pub percent: Decimal,
}
