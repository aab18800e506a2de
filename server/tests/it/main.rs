//! One integration binary for the server: whole servers on port 0 with a fresh database each
//! (SQLite in a temp dir, or a new PostgreSQL database when `TEST_DATABASE_URL` is set) and
//! the embedded S3 endpoint on port 0 (or the S3 named by `TEST_S3_ENDPOINT`, e.g. moto).
mod access;
mod account;
mod accounts;
mod admin;
mod api;
mod audit;
mod backup;
mod billing;
mod browse;
mod engine;
mod glacier;
mod health;
mod idor;
mod jobs;
mod names;
mod ops;
mod presign;
mod restores;
mod security;
mod services;
mod shares;
mod sso;
mod storage;
mod support;
mod teams;
mod uploads;
mod usage;
