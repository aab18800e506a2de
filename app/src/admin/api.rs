//! The console's server functions: NotFound for anyone who is not an operator.
use super::AdminView;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::auth::session::with_actor;

#[server(prefix = "/api", endpoint = "admin_overview")]
pub async fn admin_overview(search: String) -> Result<AdminView, AppError> {
    with_actor(|st, a| async move { super::service::overview(&st, &a, &search).await }).await
}

#[server(prefix = "/api", endpoint = "admin_retry_job")]
pub async fn admin_retry_job(job_id: String) -> Result<(), AppError> {
    with_actor(|st, a| async move { super::service::retry_job(&st, &a, &job_id).await }).await
}
