//! The deep in deep storage: storage classes chosen by hand (and, next, by rules), restores
//! with their cost and wait, and downloads of restored copies.
#[cfg(feature = "ssr")]
pub mod service;
