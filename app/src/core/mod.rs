//! Server-only plumbing shared by every feature: the database, object storage, the clock,
//! settings, the acting principal, and the state handed to server functions and handlers.
pub mod actor;
pub mod clock;
pub mod config;
pub mod db;
pub mod jobs;
pub mod metrics;
pub mod outbound;
pub mod request;
pub mod storage;

pub use actor::Actor;
pub use clock::Clock;
pub use config::Config;
pub use db::Db;
pub use storage::Storage;

use std::sync::Arc;

/// Everything a request needs. Cheap to clone; provided to server functions as context.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub storage: Storage,
    pub clock: Clock,
    pub config: Arc<Config>,
}

/// A new UUIDv7 as text: time-ordered ids index well and sort by creation.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Random URL-safe secret of `bytes` bytes (session tokens), hex encoded.
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// SHA-256 hex of a secret: what the database keeps instead of the secret.
pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}
