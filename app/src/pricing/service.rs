use super::{Price, PriceList, RetrievalList, RetrievalPrice};
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

/// Retrieval prices and times per class and tier.
pub async fn load_retrieval(db: &Db) -> Result<RetrievalList, AppError> {
    let rows: Vec<RetrievalPrice> = sqlx::query_as(
        "SELECT storage_class, tier, micros_per_gb, micros_per_1000_requests, typical_minutes, max_minutes
         FROM retrieval_prices",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(RetrievalList(rows))
}
