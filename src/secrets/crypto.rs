//! Encryption at rest of captured credentials. STUB: being written on the `store` branch.

/// The key that encrypts credentials in the store (32 bytes), loaded from a
/// key file or the environment; never stored in the store.
pub struct StoreKey {
    _bytes: [u8; 32],
}
