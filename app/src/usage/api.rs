//! Server functions of usage and plans.
use super::{Plan, Quota, UsageSummary};
use crate::error::AppError;
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "usage_summary")]
pub async fn get_usage_summary() -> Result<UsageSummary, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::summary(&st, &actor(&st).await?).await }.await)
}

/// The plan's storage and how much is used; None when nobody is signed in.
#[server(prefix = "/api", endpoint = "usage_quota")]
pub async fn usage_quota() -> Result<Option<Quota>, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async {
            match actor(&st).await {
                Ok(a) => super::service::quota(&st, &a).await.map(Some),
                Err(AppError::Unauthenticated { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "list_plans")]
pub async fn list_plans() -> Result<Vec<Plan>, AppError> {
    use crate::core::request::{finish, state};
    let st = state()?;
    finish(async { super::service::plans(&st.db).await }.await)
}
