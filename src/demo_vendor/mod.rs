//! The demo vendor partner console (axum). STUB: being written on the `demo-vendor` branch.
