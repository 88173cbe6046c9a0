//! Billing reconciliation, pure: what a company is billed, what its vendors
//! show and charge, and the discrepancy between them, line by line, with
//! money exact to the minor unit. The store feeds [`recon::ReconInput`] and
//! keeps the [`recon::ReconLine`]s; nothing here touches a file, a clock or
//! a database.

pub mod aggregate;
pub mod recon;

/// A price plan priced for one period: its fee for a quantity present the
/// whole period.
struct PlanPricer {
    plan: crate::pricing::Plan,
    period: crate::pricing::Period,
}

impl recon::Pricer for PlanPricer {
    fn fee(&self, quantity: &crate::money::Decimal) -> Result<recon::Priced, String> {
        let fee = self
            .plan
            .price_quantity(quantity, &self.period)
            .map_err(|e| e.to_string())?;
        Ok(recon::Priced {
            amount: fee.total,
            exact: fee.exact_fraction.is_none().then_some(fee.exact_total),
            breakdown: serde_json::to_value(&fee).map_err(|e| e.to_string())?,
        })
    }
}

/// A stored price plan (its TOML) as a [`recon::Pricer`] for `period`.
pub fn plan_pricer(
    name: &str,
    source: &str,
    period: crate::pricing::Period,
) -> Result<std::sync::Arc<dyn recon::Pricer>, String> {
    let plan = crate::pricing::Plan::from_toml(source, &format!("price plan `{name}`"))
        .map_err(|e| e.to_string())?;
    Ok(std::sync::Arc::new(PlanPricer { plan, period }))
}

/// How a period's readings of a quantity become one quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    Latest,
    Max,
    Average,
    TimeWeighted,
}
crate::text::text_enum!(Aggregation, "aggregation", {
    Latest => "latest",
    Max => "max",
    Average => "average",
    TimeWeighted => "time-weighted",
});

/// How two vendors' quantities of one service on one day become one: a
/// company moving its seats counts each user once (`max`); data held at both
/// vendors is held twice (`sum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    Max,
    Sum,
}
crate::text::text_enum!(Combine, "combine rule", {
    Max => "max",
    Sum => "sum",
});

/// How often an agreement line's unit price is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingCycle {
    Monthly,
    Quarterly,
    Annual,
}
crate::text::text_enum!(BillingCycle, "billing cycle", {
    Monthly => "monthly",
    Quarterly => "quarterly",
    Annual => "annual",
});

impl BillingCycle {
    pub fn months(self) -> i64 {
        match self {
            Self::Monthly => 1,
            Self::Quarterly => 3,
            Self::Annual => 12,
        }
    }
}
