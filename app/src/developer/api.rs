//! The Developer page's server functions: thin calls into `keys` and `webhooks` as the
//! signed-in person.
use super::{ApiKey, CreatedKey, Delivery, NewKey, WebhookEndpoint};
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::auth::session::with_actor;

#[server(prefix = "/api", endpoint = "list_api_keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKey>, AppError> {
    with_actor(|st, a| async move { super::keys::list_keys(&st, &a).await }).await
}

#[server(prefix = "/api", endpoint = "create_api_key", input = Json)]
pub async fn create_api_key(new: NewKey) -> Result<CreatedKey, AppError> {
    with_actor(|st, a| async move { super::keys::create_key(&st, &a, &new).await }).await
}

#[server(prefix = "/api", endpoint = "rotate_api_key")]
pub async fn rotate_api_key(key_id: String, grace_secs: i64) -> Result<CreatedKey, AppError> {
    with_actor(|st, a| async move { super::keys::rotate_key(&st, &a, &key_id, grace_secs).await })
        .await
}

#[server(prefix = "/api", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(key_id: String) -> Result<(), AppError> {
    with_actor(|st, a| async move { super::keys::revoke_key(&st, &a, &key_id).await }).await
}

#[server(prefix = "/api", endpoint = "list_webhooks")]
pub async fn list_webhooks() -> Result<Vec<WebhookEndpoint>, AppError> {
    with_actor(|st, a| async move { super::webhooks::list_endpoints(&st, &a).await }).await
}

#[server(prefix = "/api", endpoint = "create_webhook", input = Json)]
pub async fn create_webhook(url: String, events: Vec<String>) -> Result<WebhookEndpoint, AppError> {
    with_actor(
        |st, a| async move { super::webhooks::create_endpoint(&st, &a, &url, &events).await },
    )
    .await
}

#[server(prefix = "/api", endpoint = "delete_webhook")]
pub async fn delete_webhook(endpoint_id: String) -> Result<(), AppError> {
    with_actor(|st, a| async move { super::webhooks::delete_endpoint(&st, &a, &endpoint_id).await })
        .await
}

#[server(prefix = "/api", endpoint = "enable_webhook")]
pub async fn enable_webhook(endpoint_id: String) -> Result<WebhookEndpoint, AppError> {
    with_actor(|st, a| async move { super::webhooks::enable_endpoint(&st, &a, &endpoint_id).await })
        .await
}

#[server(prefix = "/api", endpoint = "test_webhook")]
pub async fn test_webhook(endpoint_id: String) -> Result<(), AppError> {
    with_actor(|st, a| async move { super::webhooks::send_test(&st, &a, &endpoint_id).await }).await
}

#[server(prefix = "/api", endpoint = "webhook_deliveries")]
pub async fn webhook_deliveries(endpoint_id: String) -> Result<Vec<Delivery>, AppError> {
    with_actor(|st, a| async move { super::webhooks::list_deliveries(&st, &a, &endpoint_id).await })
        .await
}

#[server(prefix = "/api", endpoint = "redeliver_webhook")]
pub async fn redeliver_webhook(delivery_id: String) -> Result<(), AppError> {
    with_actor(|st, a| async move { super::webhooks::redeliver(&st, &a, &delivery_id).await }).await
}
