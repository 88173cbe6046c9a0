//! One file per resource; each gives an `OpenApiRouter` of its routes,
//! merged by `app`.

pub(super) mod health;
pub(super) mod jobs;
pub(super) mod metrics;
