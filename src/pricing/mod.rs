//! Pricing from usage: pure, exact, documented (docs/pricing.md).
//!
//! A price plan (TOML) is read and validated into a [`Plan`] (`plan.rs`,
//! errors with file:line:column and the field path); a period's [`Usage`]
//! rows (`usage.rs`, from CSV or JSON) are priced by the plan's model
//! (`model.rs` the validated shapes, `price.rs` the arithmetic) into a
//! [`Fee`] whose every [`FeeLine`] says which tier, rate, units and days it
//! stands for (`fee.rs`), and two fees give the MSP's [`Margin`].
//!
//! Exact throughout: quantities and prices are [`crate::money::Decimal`],
//! line amounts exact fractions, and the fee's total is rounded once, half
//! away from zero, to the currency's minor unit (the rule of
//! [`crate::money`]). No floating point.
//!
//! Pure: depends on `money` and `text` only; no store, jobs or CLI.

mod fee;
mod model;
mod period;
mod plan;
mod price;
mod usage;

#[cfg(test)]
mod tests;

pub use fee::{
    DISPLAY_DECIMALS, Exact, Fee, FeeLine, LineDays, LineInterval, LineKind, Margin, ROUNDING_RULE,
    UsageTotal,
};
pub use model::{Aggregate, Model};
pub use period::{DaysTouched, Period};
pub use plan::{Plan, PlanError};
pub use usage::{COLUMNS, Usage, UsageError, UsageRow};

use crate::money::MoneyError;

/// Why a period could not be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    /// Not a period (`2026-13`).
    #[error("{0}")]
    Period(String),
    /// A usage row that cannot be priced; `row` is 1-based.
    #[error("row {row}: {field}: {message}")]
    Row {
        row: usize,
        field: &'static str,
        message: String,
    },
    /// Overflow, or two currencies (a margin between fees in EUR and USD).
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl PricingError {
    /// The input was wrong (as opposed to an amount beyond range).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Self::Period(_) | Self::Row { .. })
            || matches!(self, Self::Money(e) if e.is_currency_mismatch())
    }
}
