use super::{Price, PriceList};
use crate::core::Db;
use crate::error::AppError;

/// The price list (a handful of rows; read per estimate).
pub async fn load(db: &Db) -> Result<PriceList, AppError> {
    let rows: Vec<Price> = sqlx::query_as(
        "SELECT storage_class, storage_micros_gb_month, min_storage_days, min_billable_bytes,
                overhead_class_bytes, overhead_standard_bytes
         FROM prices ORDER BY sort_order",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(PriceList(rows))
}
