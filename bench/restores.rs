//! bench/restores (a benchmark, not a test: it asserts nothing). How long the restore worker
//! takes to track BENCH_RESTORES (default 100,000) restores in flight, on the database named by
//! DATABASE_URL and the embedded S3 endpoint (started in process, its restores set to last
//! longer than the run so every object stays "in progress"). Phases:
//! 1. the reference: PUT every object (Deep Archive), then HeadObject every object with the
//!    worker's concurrency and no database — what S3 alone costs;
//! 2. sending: cycles until every restore's RestoreObject is sent;
//! 3. one full poll where every restore is due (HeadObject each, a state update each);
//! 4. a cycle with nothing due (the steady state between looks: one indexed query).
//!
//! Prints time, S3 requests and the ratio to the reference for each.
use app::core::{Actor, new_id};
use app::tiers::restores::{CONCURRENCY, PollStats, poll};
use futures_util::StreamExt;
use leptos::config::LeptosOptions;
use std::time::Instant;

/// Worker cycles until one leaves nothing for the next: their summed figures and count.
async fn until_idle(st: &app::core::AppState) -> (PollStats, usize) {
    let mut total = PollStats::default();
    let mut cycles = 0;
    loop {
        total.add(&poll(st).await.unwrap());
        cycles += 1;
        if !total.more {
            return (total, cycles);
        }
    }
}

#[tokio::main]
async fn main() {
    let n: i64 = std::env::var("BENCH_RESTORES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let config = app::core::Config::from_env("127.0.0.1:0").expect("settings");
    let db_kind = if config.database_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let leptos = LeptosOptions::builder()
        .output_name("nexus")
        .site_addr(addr)
        .build();
    let shutdown = server::Shutdown::new();
    let running = server::launch(
        config,
        leptos,
        listener,
        app::core::Clock::default(),
        shutdown.clone(),
    )
    .await
    .expect("server starts");
    let st = running.state.clone();
    let s3 = st.storage.client().clone();
    let bucket = st.storage.bucket.clone();
    println!("\n== {db_kind}: {n} restores in flight ==");

    // Rows: one user, workspace and vault; n archived files with a restore each.
    let user = new_id();
    let ws = new_id();
    let vault = new_id();
    for (sql, binds) in [
        (
            "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, 'x', 0)",
            vec![user.clone(), format!("bench-{user}@example.com")],
        ),
        (
            "INSERT INTO workspaces (id, name, kind, created_at) VALUES ($1, 'bench', 'personal', 0)",
            vec![ws.clone()],
        ),
        (
            "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, 'owner', 0)",
            vec![ws.clone(), user.clone()],
        ),
        (
            "INSERT INTO vaults (id, workspace_id, name, default_storage_class, created_at) VALUES ($1, $2, 'Archive', 'STANDARD', 0)",
            vec![vault.clone(), ws.clone()],
        ),
    ] {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(b);
        }
        q.execute(&st.db.pool).await.unwrap();
    }
    let ids: Vec<String> = (0..n).map(|_| new_id()).collect();
    let key = |id: &str| format!("ws/{ws}/{vault}/{id}");

    // 1. Reference: the objects, then S3 alone answering HeadObject for each.
    let t = Instant::now();
    futures_util::stream::iter(ids.iter())
        .map(|id| {
            let (s3, bucket, k) = (s3.clone(), bucket.clone(), key(id));
            async move {
                s3.put_object()
                    .bucket(bucket)
                    .key(k)
                    .storage_class(aws_sdk_s3::types::StorageClass::DeepArchive)
                    .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
                    .send()
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    println!(
        "objects stored (PutObject): {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    futures_util::stream::iter(ids.iter())
        .map(|id| {
            let (s3, bucket, k) = (s3.clone(), bucket.clone(), key(id));
            async move {
                s3.head_object().bucket(bucket).key(k).send().await.unwrap();
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let head_ref = t.elapsed().as_secs_f64();
    println!(
        "reference: HeadObject × {n}, {CONCURRENCY} at a time, no database: {head_ref:.2} s ({:.0}/s)",
        n as f64 / head_ref
    );

    let now = st.clock.now_ms();
    let request = new_id();
    sqlx::query(
        "INSERT INTO restore_requests (id, workspace_id, vault_id, user_id, tier, days, label,
             files, bytes, estimate_micros, estimate_ready_at, requested_at, adding)
         VALUES ($1, $2, $3, $4, 'Bulk', 7, 'bench', $5, $5, 0, $6, $6, 0)",
    )
    .bind(&request)
    .bind(&ws)
    .bind(&vault)
    .bind(&user)
    .bind(n)
    .bind(now)
    .execute(&st.db.pool)
    .await
    .unwrap();
    let t = Instant::now();
    for chunk in ids.chunks(500) {
        let mut tx = st.db.begin().await.unwrap();
        for table in ["files", "restores"] {
            let mut sql = if table == "files" {
                String::from(
                    "INSERT INTO files (id, workspace_id, vault_id, name, size, content_type, s3_key,
                       storage_class, state, created_by, created_at, updated_at, class_changed_at, kind) VALUES ",
                )
            } else {
                String::from(
                    "INSERT INTO restores (id, request_id, file_id, s3_key, storage_class, size, state,
                       next_check_at, updated_at) VALUES ",
                )
            };
            for (r, _) in chunk.iter().enumerate() {
                if r > 0 {
                    sql.push(',');
                }
                let b = r * 2;
                if table == "files" {
                    sql.push_str(&format!(
                        "(${}, '{ws}', '{vault}', 'f-' || ${}, 1, 'application/octet-stream', ${}, 'DEEP_ARCHIVE', 'restoring', '{user}', 0, 0, 0, 'other')",
                        b + 1, b + 1, b + 2
                    ));
                } else {
                    sql.push_str(&format!(
                        "('r-' || ${}, '{request}', ${}, ${}, 'DEEP_ARCHIVE', 1, 'requested', 0, 0)",
                        b + 1,
                        b + 1,
                        b + 2
                    ));
                }
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id.clone()).bind(key(id));
            }
            q.execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    println!("rows inserted: {:.1} s", t.elapsed().as_secs_f64());

    // 2. Sending every RestoreObject.
    let t = Instant::now();
    let (total, cycles) = until_idle(&st).await;
    let send = t.elapsed().as_secs_f64();
    println!(
        "send: {} RestoreObject in {cycles} cycles, {send:.2} s ({:.0}/s), S3 requests {} — waiting for S3 {:.2} s, database {:.2} s",
        total.sent,
        total.sent as f64 / send,
        total.s3_requests,
        total.s3_ms as f64 / 1000.0,
        (total.total_ms - total.s3_ms) as f64 / 1000.0
    );

    // 3. Every restore due at once: one full poll (as many cycles as the batch size needs).
    sqlx::query("UPDATE restores SET next_check_at = 0 WHERE state = 'in_progress'")
        .execute(&st.db.pool)
        .await
        .unwrap();
    let t = Instant::now();
    let (total, cycles) = until_idle(&st).await;
    let full = t.elapsed().as_secs_f64();
    println!(
        "full poll: {} HeadObject in {cycles} cycles, {full:.2} s ({:.0}/s), S3 requests {}, ready {} — {:.2}× the reference; waiting for S3 {:.2} s, database {:.2} s",
        total.checked,
        total.checked as f64 / full,
        total.s3_requests,
        total.ready,
        full / head_ref,
        total.s3_ms as f64 / 1000.0,
        (total.total_ms - total.s3_ms) as f64 / 1000.0
    );

    // 4. Nothing due: what a cycle costs between looks.
    let mut times = vec![];
    for _ in 0..20 {
        let t = Instant::now();
        let s = poll(&st).await.unwrap();
        assert_eq!(s.s3_requests, 0);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "idle cycle (nothing due, {n} in flight): median {:.2} ms, 0 S3 requests",
        times[times.len() / 2]
    );
    let _ = Actor::job_for(&user);
    shutdown.cancel();
}
