//! Usage and plans on SQLite and PostgreSQL: the triggers that record every change of what is
//! stored, the daily roll-up against hand-computed figures (a month boundary, a file deleted
//! before its minimum duration, a restore), the Free plan's limits refused before any S3
//! request, and that user B never sees user A's usage.
use crate::support::{TestApp, random_bytes};
use app::core::Actor;
use app::usage::{Change, DAY_MS, day_of, month_start};
use serde_json::json;

const GIB: i64 = 1 << 30;
const HOUR: i64 = 3_600_000;

async fn insert_change(app: &TestApp, c: &Change) {
    sqlx::query(
        "INSERT INTO usage_changes (workspace_id, vault_id, storage_class, bytes, objects, since, leaves, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&c.workspace_id)
    .bind(&c.vault_id)
    .bind(&c.storage_class)
    .bind(c.bytes)
    .bind(c.objects)
    .bind(c.since)
    .bind(c.leaves)
    .bind(c.at)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
}

fn change(
    ws: &str,
    class: &str,
    bytes: i64,
    objects: i64,
    since: i64,
    leaves: i64,
    at: i64,
) -> Change {
    Change {
        workspace_id: ws.into(),
        vault_id: "vault-1".into(),
        storage_class: class.into(),
        bytes,
        objects,
        since,
        leaves,
        at,
    }
}

async fn daily(app: &TestApp, ws: &str, day: i64) -> Option<(i64, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT bytes_end, byte_hours, cost_micros, early_fee_micros FROM usage_daily
         WHERE workspace_id = $1 AND day = $2",
    )
    .bind(ws)
    .bind(day)
    .fetch_optional(&app.state.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_roll_up_bills_byte_hours_minimums_and_early_deletion_as_computed_by_hand() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let prices = app::pricing::service::load(&st.db).await.unwrap();
    let x = 19_000; // 2022-01-08
    // 1 GiB in Standard from noon; 1 GiB in Deep Archive from midnight, deleted 10 days later.
    insert_change(
        &app,
        &change(
            "ws-a",
            "STANDARD",
            GIB,
            1,
            x * DAY_MS + 12 * HOUR,
            0,
            x * DAY_MS + 12 * HOUR,
        ),
    )
    .await;
    insert_change(
        &app,
        &change("ws-a", "DEEP_ARCHIVE", GIB, 1, x * DAY_MS, 0, x * DAY_MS),
    )
    .await;
    insert_change(
        &app,
        &change(
            "ws-a",
            "DEEP_ARCHIVE",
            -GIB,
            -1,
            x * DAY_MS,
            1,
            (x + 10) * DAY_MS,
        ),
    )
    .await;
    // A 1 KiB object in Standard-IA bills as 128 KiB.
    insert_change(
        &app,
        &change("ws-b", "STANDARD_IA", 1024, 1, x * DAY_MS, 0, x * DAY_MS),
    )
    .await;
    for day in x..=x + 11 {
        app::usage::service::rollup_day(st, &prices, day)
            .await
            .unwrap();
    }
    let std_row = |day| async move {
        sqlx::query_as::<_, (i64, i64, i64)>(
            "SELECT bytes_end, byte_hours, cost_micros FROM usage_daily
             WHERE workspace_id = 'ws-a' AND day = $1 AND storage_class = 'STANDARD'",
        )
        .bind(day)
        .fetch_one(&st.db.pool)
        .await
        .unwrap()
    };
    // Half a day: 1 GiB × 12 h; $0.023/GB-month × 12/720 = 383.3 µ$. A whole day: 766.7.
    assert_eq!(std_row(x).await, (GIB, 12 * GIB, 383));
    assert_eq!(std_row(x + 1).await, (GIB, 24 * GIB, 767));
    let da = |day| async move {
        sqlx::query_as::<_, (i64, i64, i64)>(
            "SELECT bytes_end, cost_micros, early_fee_micros FROM usage_daily
             WHERE workspace_id = 'ws-a' AND day = $1 AND storage_class = 'DEEP_ARCHIVE'",
        )
        .bind(day)
        .fetch_one(&st.db.pool)
        .await
        .unwrap()
    };
    // Deep Archive: (1 GiB + 32 KiB index) × $0.00099 + 8 KiB × $0.023, per day /30:
    // (990 + 0.0302 + 0.1755) / 30 = 33.007 µ$.
    assert_eq!(da(x).await, (GIB, 33, 0));
    // Deleted after 10 of its 180 days: 170 days × (1 GiB + 32 KiB) × 990 / 30 = 5,610.2 µ$.
    assert_eq!(da(x + 10).await, (0, 0, 5_610));
    // After the day it left, nothing is billed and no row is written.
    let none: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT bytes_end, cost_micros, early_fee_micros FROM usage_daily
         WHERE workspace_id = 'ws-a' AND day = $1 AND storage_class = 'DEEP_ARCHIVE'",
    )
    .bind(x + 11)
    .fetch_optional(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(none, None);
    // 128 KiB minimum × $0.0125 per GB-month / 30 = 0.05 µ$ a day: rounds to 0, but the
    // day's byte-hours are the real bytes.
    assert_eq!(
        daily(&app, "ws-b", x + 1).await,
        Some((1024, 24 * 1024, 0, 0))
    );
    // A day rolled up twice ends the same.
    app::usage::service::rollup_day(st, &prices, x + 1)
        .await
        .unwrap();
    assert_eq!(std_row(x + 1).await, (GIB, 24 * GIB, 767));
}

#[tokio::test]
async fn months_split_at_the_boundary_and_restores_count_as_retrievals() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let c = app.client();
    c.sign_up("months@example.com").await;
    let user = c.current_user().await["id"].as_str().unwrap().to_string();
    let actor = Actor::job_for(&user);
    let (ws, _) = app::usage::service::own_workspace(&st.db, &actor)
        .await
        .unwrap();
    let today = day_of(st.clock.now_ms());
    let first = month_start(today);
    // 1 GiB in Standard from noon on the last day of last month.
    let at = (first - 1) * DAY_MS + 12 * HOUR;
    insert_change(&app, &change(&ws, "STANDARD", GIB, 1, at, 0, at)).await;
    let mut tx = st.db.begin().await.unwrap();
    app::usage::service::record_retrieval(
        &mut tx,
        &ws,
        "vault-1",
        "GLACIER",
        "Bulk",
        GIB,
        1_234,
        st.clock.now_ms(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let days = app::usage::service::rollup_pending(st).await.unwrap();
    assert_eq!(days, today - (first - 1), "every whole day up to yesterday");
    assert_eq!(
        app::usage::service::rollup_pending(st).await.unwrap(),
        0,
        "once"
    );
    let s = app::usage::service::summary(st, &actor).await.unwrap();
    assert_eq!(s.months.len(), 12);
    let last = &s.months[10];
    let this = &s.months[11];
    assert_eq!(last.storage_micros, 383, "half a day of last month");
    // This month: 767 µ$ per whole day so far, and today up to now.
    let whole = (today - first) * 767;
    assert!(
        (whole..=whole + 767).contains(&this.storage_micros),
        "{} in {whole}..={}",
        this.storage_micros,
        whole + 767
    );
    assert_eq!(this.retrieval_micros, 1_234);
    assert_eq!(s.month_so_far_micros, this.storage_micros + 1_234);
    assert!(s.projected_micros >= s.month_so_far_micros);
    assert_eq!(
        s.retrievals.len(),
        0,
        "its vault is not one of the workspace's"
    );
    assert_eq!(s.classes.len(), 1);
    assert_eq!(s.classes[0].bytes, GIB);
    assert_eq!(s.classes[0].monthly_micros, 23_000);
    // The CSV holds the same days.
    let csv = c.get("/usage.csv").await.text().await.unwrap();
    assert!(csv.starts_with("date,vault,storage_class,"), "{csv}");
    assert!(
        csv.contains(",STANDARD,1073741824,1,12884901888,0.000383,0.000000"),
        "{csv}"
    );
}

#[tokio::test]
async fn every_change_of_what_is_stored_is_recorded_by_the_database() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let c = app.client();
    let vault = c.sign_up("changes@example.com").await;
    let user = c.current_user().await["id"].as_str().unwrap().to_string();
    let f = crate::support::upload(&c, &vault, "a.bin", &random_bytes(5000)).await;
    let id = f["id"].as_str().unwrap().to_string();
    crate::support::to_class(st, &user, &vault, &id, "GLACIER").await;
    // Rename and move change nothing stored.
    let r = c
        .call(
            "rename_file",
            &[("file_id", id.as_str()), ("name", "b.bin")],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT storage_class, bytes, objects, leaves FROM usage_changes ORDER BY seq",
    )
    .fetch_all(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            ("STANDARD".to_string(), 5000, 1, 0),
            ("STANDARD".to_string(), -5000, -1, 1),
            ("GLACIER".to_string(), 5000, 1, 0),
        ]
    );
}

#[tokio::test]
async fn the_free_plan_refuses_an_upload_over_its_storage_and_expedited_restores_before_any_s3_request()
 {
    let app = TestApp::spawn_with(|c| c.default_plan = "free".into()).await;
    let st = &app.state;
    let c = app.client();
    let vault = c.sign_up("free@example.com").await;
    // 11 GiB on a 10 GB plan.
    let a = c
        .start_upload_with(
            json!({"vault_id": vault, "name": "big.mov", "size": 11 * GIB,
            "content_type": "video/mp4", "folder_path": ""}),
        )
        .await;
    assert_eq!(a.status, 402, "{:?}", a.body);
    assert!(
        a.message().contains("past the 10 GB of the Free plan"),
        "{}",
        a.message()
    );
    let (uploads,): (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM uploads")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(uploads, 0, "no multipart upload was started");
    // Expedited: shown as not included, and refused.
    let f = crate::support::upload(&c, &vault, "old.bin", &random_bytes(2000)).await;
    let id = f["id"].as_str().unwrap().to_string();
    let user = c.current_user().await["id"].as_str().unwrap().to_string();
    crate::support::to_class(st, &user, &vault, &id, "GLACIER").await;
    let sel = json!({"vault_id": vault, "file_ids": [id]});
    let p = c
        .call_json("preview_restore", json!({"selection": sel, "days": 1}))
        .await;
    let exp = p.body["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["tier"] == "Expedited")
        .unwrap()
        .clone();
    assert_eq!(exp["unavailable"], "Not part of the Free plan.");
    let r = c
        .call_json(
            "request_restore",
            json!({"selection": sel, "tier": "Expedited", "days": 1}),
        )
        .await;
    assert_eq!(r.status, 402, "{:?}", r.body);
    assert!(
        r.message()
            .contains("Expedited restores are not part of the Free plan")
    );
    let (n,): (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM restores")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // Bulk is part of it.
    let r = c
        .call_json(
            "request_restore",
            json!({"selection": sel, "tier": "Bulk", "days": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // The quota as the header shows it.
    let q = c.call("usage_quota", &[]).await;
    assert_eq!(q.body["plan_name"], "Free");
    assert_eq!(q.body["included_bytes"], 10 * GIB);
}

#[tokio::test]
async fn user_b_never_sees_user_a_usage() {
    let app = TestApp::spawn().await;
    let a = app.client();
    let vault = a.sign_up("usage-a@example.com").await;
    crate::support::upload(&a, &vault, "mine.bin", &random_bytes(4000)).await;
    let b = app.client();
    b.sign_up("usage-b@example.com").await;
    let sa = a.call("usage_summary", &[]).await;
    let sb = b.call("usage_summary", &[]).await;
    assert_eq!(sa.body["stored_bytes"], 4000);
    assert_eq!(sb.body["stored_bytes"], 0);
    assert_eq!(sb.body["top_vaults"], json!([]));
    assert_eq!(sb.body["top_folders"], json!([]));
    let csv = b.get("/usage.csv").await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 1, "only the header: {csv}");
    assert_eq!(b.call("usage_quota", &[]).await.body["used_bytes"], 0);
    // Signed out: sent to sign in.
    let anon = app.client();
    let r = anon.get("/usage.csv").await;
    assert!(
        r.status().is_redirection() || r.url().path() == "/sign-in",
        "{}",
        r.status()
    );
    assert_eq!(
        anon.call("usage_quota", &[]).await.body,
        serde_json::Value::Null
    );
}
