//! The status page's server function: public (a status page is for anyone to read), and
//! holding no names, addresses or secrets.
use super::StatusReport;
use crate::error::AppError;
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "service_status")]
pub async fn service_status() -> Result<StatusReport, AppError> {
    use crate::core::request::{finish, state};
    let st = state()?;
    finish(super::service::status(&st).await)
}
