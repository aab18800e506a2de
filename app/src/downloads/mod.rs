//! Downloads: a short-lived presigned GET straight from S3 with `Content-Disposition`, so the
//! bytes never pass through the server.
#[cfg(feature = "ssr")]
pub mod service;
