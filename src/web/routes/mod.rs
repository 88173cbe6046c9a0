//! One file per resource; each gives an `OpenApiRouter` of its routes,
//! merged by `app`.

pub(super) mod audit;
pub(super) mod credentials;
pub(super) mod health;
pub(super) mod jobs;
pub(super) mod metrics;
pub(super) mod reports;
pub(super) mod rmm;
pub(super) mod session;
pub(super) mod tokens;
pub(super) mod users;
pub(super) mod webhooks;
