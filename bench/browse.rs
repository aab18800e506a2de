//! bench/browse (a benchmark, not a test: it asserts nothing). Seeds one vault with
//! 1,000,000 files in 10,000 folders — one of them holding 100,000 files — straight into the
//! database named by DATABASE_URL, then times the file browser's service calls (server time,
//! in process, no HTTP) against the same statements run as plain SQL through the same pool:
//! the reference, measured in the same run. Prints p50/p95/p99 and the ratio. Then the REST
//! API's `GET /api/v1/vaults/{id}/files` through its whole router in process (key check, rate
//! limit, JSON), beside the service call it wraps.
//! Env: BENCH_FILES (default 1000000), BENCH_RUNS (default 200 per query).
use app::core::db::{Db, Dialect};
use app::core::{Actor, new_id};
use app::files::service as files;
use app::files::{ListQuery, Page};
use std::time::Instant;

/// A small deterministic generator: the same data on every database.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const CLASSES: [&str; 5] = [
    "STANDARD",
    "STANDARD_IA",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
];
const KINDS: [(&str, &str, &str); 5] = [
    ("IMG_", ".jpg", "image/jpeg"),
    ("clip-", ".mp4", "video/mp4"),
    ("scan ", ".pdf", "application/pdf"),
    ("backup-", ".tar.gz", "application/gzip"),
    ("notes_", ".txt", "text/plain"),
];

fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    (at(0.50), at(0.95), at(0.99))
}

async fn seed(db: &Db, total: u64) -> (String, String, Vec<String>, String) {
    let now = 1_780_000_000_000i64;
    let user = new_id();
    let ws = new_id();
    let vault = new_id();
    for sql in ["INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, 'x', 0)"]
    {
        sqlx::query(sql)
            .bind(&user)
            .bind(format!("bench-{user}@example.com"))
            .execute(&db.pool)
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO workspaces (id, name, kind, created_at) VALUES ($1, 'bench', 'personal', 0)",
    )
    .bind(&ws)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, 'owner', 0)")
        .bind(&ws)
        .bind(&user)
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO vaults (id, workspace_id, name, default_storage_class, created_at) VALUES ($1, $2, 'Archive', 'STANDARD', 0)")
        .bind(&vault)
        .bind(&ws)
        .execute(&db.pool)
        .await
        .unwrap();

    // 100 top folders × 100 subfolders = 10,000 folders (the last subfolder is the big one).
    let mut folder_ids = vec![];
    let mut folder_paths = vec![];
    let mut tx = db.begin().await.unwrap();
    for t in 0..100 {
        let top = new_id();
        let tname = format!(
            "{} {t:02}",
            ["Photos", "Projects", "Scans", "Backups"][t % 4]
        );
        sqlx::query("INSERT INTO folders (id, workspace_id, vault_id, parent_id, name, path, created_by, created_at) VALUES ($1, $2, $3, NULL, $4, $4, $5, 0)")
            .bind(&top).bind(&ws).bind(&vault).bind(&tname).bind(&user)
            .execute(&mut *tx).await.unwrap();
        for s in 0..(if t == 99 { 99 } else { 100 }) {
            let id = new_id();
            let name = format!("{} {s:02}", ["2019", "2020", "2021", "2022", "2023"][s % 5]);
            let path = format!("{tname}/{name}");
            sqlx::query("INSERT INTO folders (id, workspace_id, vault_id, parent_id, name, path, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)")
                .bind(&id).bind(&ws).bind(&vault).bind(&top).bind(&name).bind(&path).bind(&user)
                .execute(&mut *tx).await.unwrap();
            folder_ids.push(id);
            folder_paths.push(path);
        }
    }
    let big = new_id();
    sqlx::query("INSERT INTO folders (id, workspace_id, vault_id, parent_id, name, path, created_by, created_at) VALUES ($1, $2, $3, NULL, 'Camera roll', 'Camera roll', $4, 0)")
        .bind(&big).bind(&ws).bind(&vault).bind(&user)
        .execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();

    let big_share = total / 10; // 100,000 of 1,000,000
    let mut rng = Lcg(42);
    let batch = 500u64;
    let t0 = Instant::now();
    let mut i = 0u64;
    while i < total {
        let n = batch.min(total - i);
        let mut sql = String::from(
            "INSERT INTO files (id, workspace_id, vault_id, folder_id, name, size, content_type, s3_key,
               storage_class, state, created_by, created_at, updated_at, class_changed_at, kind) VALUES ",
        );
        let mut rows = vec![];
        for j in 0..n {
            let k = i + j;
            let folder = if k < big_share {
                big.clone()
            } else {
                folder_ids[(k % folder_ids.len() as u64) as usize].clone()
            };
            let (pre, ext, ct) = KINDS[rng.below(5) as usize];
            let name = format!("{pre}{k:07}{ext}");
            let size = (rng.below(50_000_000) + 1) as i64;
            let class = CLASSES[rng.below(5) as usize];
            let t = now - (rng.below(3 * 365) as i64) * 86_400_000;
            rows.push((
                new_id(),
                folder,
                name,
                size,
                ct,
                class,
                t,
                app::files::kind_of(ct, ""),
            ));
        }
        for (r, _) in rows.iter().enumerate() {
            let b = r * 11;
            if r > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, 'k/' || ${}, ${}, 'available', ${}, ${}, ${}, ${}, ${})",
                b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 1, b + 8, b + 9, b + 10, b + 10, b + 10, b + 11
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, folder, name, size, ct, class, t, kind) in rows {
            q = q
                .bind(id)
                .bind(ws.clone())
                .bind(vault.clone())
                .bind(folder)
                .bind(name)
                .bind(size)
                .bind(ct)
                .bind(class)
                .bind(user.clone())
                .bind(t)
                .bind(kind);
        }
        let mut tx = db.begin().await.unwrap();
        q.execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        i += n;
        if i.is_multiple_of(100_000) {
            eprintln!("  seeded {i} files ({:.0} s)", t0.elapsed().as_secs_f64());
        }
    }
    if db.dialect == Dialect::Postgres {
        sqlx::query("ANALYZE").execute(&db.pool).await.unwrap();
    } else {
        sqlx::query("ANALYZE").execute(&db.pool).await.unwrap();
        sqlx::query("INSERT INTO files_fts(files_fts) VALUES ('optimize')")
            .execute(&db.pool)
            .await
            .unwrap();
    }
    eprintln!(
        "  seeded {total} files in {:.0} s",
        t0.elapsed().as_secs_f64()
    );
    (user, vault, folder_paths, big)
}

/// Plain SQL for a view's first statement: the rows of one page (the reference).
fn plain_page_sql(db: &Db, search: Option<&str>, folder: Option<&str>, filtered: bool) -> String {
    let mut s = String::from(
        "SELECT f.id, f.name, f.size, f.storage_class, f.state, f.updated_at FROM files f WHERE f.vault_id = $1",
    );
    if folder.is_some() {
        s.push_str(" AND f.folder_id = $2");
    }
    s.push_str(" AND f.deleted_at IS NULL AND f.state <> 'uploading'");
    if search.is_some() {
        if db.dialect == Dialect::Sqlite {
            s.push_str(" AND f.id IN (SELECT s.file_id FROM files_fts JOIN file_search s ON s.seq = files_fts.rowid WHERE files_fts MATCH $2)");
        } else {
            s.push_str(" AND LOWER(f.name) LIKE $2");
        }
    }
    if filtered {
        s.push_str(
            " AND f.kind = 'image' AND f.size >= 1000000 AND f.storage_class = 'DEEP_ARCHIVE'",
        );
    }
    s.push_str(" ORDER BY f.name, f.id LIMIT 101");
    s
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let total: u64 = std::env::var("BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let db = Db::connect(&url).await.expect("database");
    let dialect = if db.dialect == Dialect::Sqlite {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    eprintln!("{dialect}: seeding {total} files in 10,000 folders…");
    let (user, vault, folders, big) = seed(&db, total).await;
    let actor = Actor::job_for(&user);
    let mut rng = Lcg(7);
    let base = ListQuery {
        vault_id: vault.clone(),
        ..Default::default()
    };

    // Cursors into the big folder, gathered by walking it once.
    let big_view = ListQuery {
        path: "Camera roll".into(),
        ..base.clone()
    };
    let mut cursors = vec![];
    let mut c: Option<String> = None;
    loop {
        let p: Page = files::list_page(&db, &actor, &big_view, c.as_deref(), 100)
            .await
            .unwrap();
        match p.next {
            Some(n) => {
                cursors.push(n.clone());
                c = Some(n);
            }
            None => break,
        }
    }
    // Search terms: five digits of a file number (each matches a handful of files).
    let terms: Vec<String> = (0..runs)
        .map(|_| format!("{:05}", rng.below(total.max(100_000) / 10)))
        .collect();

    let mut report = vec![];
    macro_rules! measure {
        ($name:expr, $app:expr, $sql:expr) => {{
            let mut a = vec![];
            let mut s = vec![];
            for r in 0..runs {
                let t = Instant::now();
                $app(r).await;
                a.push(t.elapsed().as_secs_f64() * 1000.0);
                let t = Instant::now();
                $sql(r).await;
                s.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            report.push(($name, stats(a), stats(s)));
        }};
    }

    let pick_folder: Vec<String> = (0..runs)
        .map(|_| folders[rng.below(folders.len() as u64) as usize].clone())
        .collect();
    let folder_ids: Vec<String> = {
        let mut v = vec![];
        for p in &pick_folder {
            v.push(files::find_folder(&db, &vault, p).await.unwrap().unwrap());
        }
        v
    };
    let deep: Vec<String> = (0..runs)
        .map(|_| cursors[cursors.len() / 2 + rng.below(cursors.len() as u64 / 2) as usize].clone())
        .collect();
    let deep_names: Vec<String> = {
        // The plain-SQL twin of a deep page: the same keyset bound, from the page before.
        let mut v = vec![];
        for cur in &deep {
            let p = files::list_page(&db, &actor, &big_view, Some(cur), 1)
                .await
                .unwrap();
            v.push(p.files[0].name.clone());
        }
        v
    };
    let like = |t: &str| {
        if db.dialect == Dialect::Sqlite {
            format!("\"{t}\"")
        } else {
            format!("%{t}%")
        }
    };

    measure!(
        "first page of a folder",
        |r: usize| {
            let q = ListQuery {
                path: pick_folder[r].clone(),
                ..base.clone()
            };
            let (db, actor) = (&db, &actor);
            async move {
                files::list_page(db, actor, &q, None, 100).await.unwrap();
            }
        },
        |r: usize| {
            let (db, vault, f) = (&db, &vault, folder_ids[r].clone());
            async move {
                sqlx::query(sqlx::AssertSqlSafe(plain_page_sql(
                    db,
                    None,
                    Some(&f),
                    false,
                )))
                .bind(vault)
                .bind(&f)
                .fetch_all(&db.pool)
                .await
                .unwrap();
            }
        }
    );
    measure!(
        "a page deep in a 100,000-file folder",
        |r: usize| {
            let (db, actor, q, c) = (&db, &actor, &big_view, deep[r].clone());
            async move {
                files::list_page(db, actor, q, Some(&c), 100).await.unwrap();
            }
        },
        |r: usize| {
            let (db, vault, big, name) = (&db, &vault, &big, deep_names[r].clone());
            async move {
                sqlx::query("SELECT f.id, f.name, f.size, f.storage_class, f.state, f.updated_at FROM files f WHERE f.vault_id = $1 AND f.folder_id = $2 AND f.deleted_at IS NULL AND f.state <> 'uploading' AND (f.name, f.id) >= ($3, '') ORDER BY f.name, f.id LIMIT 101")
                .bind(vault).bind(big).bind(&name).fetch_all(&db.pool).await.unwrap();
            }
        }
    );
    measure!(
        "name search across the vault",
        |r: usize| {
            let q = ListQuery {
                q: terms[r].clone(),
                everywhere: true,
                ..base.clone()
            };
            let (db, actor) = (&db, &actor);
            async move {
                files::list_page(db, actor, &q, None, 100).await.unwrap();
            }
        },
        |r: usize| {
            let (db, vault, t) = (&db, &vault, like(&terms[r]));
            async move {
                sqlx::query(sqlx::AssertSqlSafe(plain_page_sql(
                    db,
                    Some(&t),
                    None,
                    false,
                )))
                .bind(vault)
                .bind(&t)
                .fetch_all(&db.pool)
                .await
                .unwrap();
            }
        }
    );
    measure!(
        "filtered search (name + type + size + class)",
        |r: usize| {
            let q = ListQuery {
                q: terms[r][..4].to_string(),
                everywhere: true,
                kind: "image".into(),
                min_size: Some(1_000_000),
                class: "DEEP_ARCHIVE".into(),
                ..base.clone()
            };
            let (db, actor) = (&db, &actor);
            async move {
                files::list_page(db, actor, &q, None, 100).await.unwrap();
            }
        },
        |r: usize| {
            let (db, vault, t) = (&db, &vault, like(&terms[r][..4]));
            async move {
                sqlx::query(sqlx::AssertSqlSafe(plain_page_sql(
                    db,
                    Some(&t),
                    None,
                    true,
                )))
                .bind(vault)
                .bind(&t)
                .fetch_all(&db.pool)
                .await
                .unwrap();
            }
        }
    );
    measure!(
        "vault totals (count, bytes, per class)",
        |_r: usize| {
            let (db, actor, v) = (&db, &actor, &vault);
            async move {
                app::vaults::service::get_vault(db, actor, v).await.unwrap();
            }
        },
        |_r: usize| {
            let (db, v) = (&db, &vault);
            async move {
                sqlx::query(
                    "SELECT storage_class, file_count, bytes FROM vault_stats WHERE vault_id = $1",
                )
                .bind(v)
                .fetch_all(&db.pool)
                .await
                .unwrap();
            }
        }
    );

    // The REST API: an admin key of the bench's workspace, the router in process.
    let config = app::core::Config::from_env("127.0.0.1:0").expect("settings");
    let storage = app::core::Storage::new(&config.s3).await;
    let state = app::core::AppState {
        db: db.clone(),
        storage,
        clock: app::core::Clock::default(),
        config: std::sync::Arc::new(config),
    };
    let made = app::developer::keys::create_key(
        &state,
        &actor,
        &app::developer::NewKey {
            name: "bench".into(),
            scopes: vec!["files:read".into()],
            vault_id: None,
            expires_at: None,
        },
    )
    .await
    .expect("an API key (NEXUS_DEFAULT_PLAN must include the API)");
    let router = server::api::standalone(state);
    let get = |path: String| {
        let router = router.clone();
        let secret = made.secret.clone();
        async move {
            use tower::ServiceExt;
            let req = axum::http::Request::get(path)
                .header("authorization", format!("Bearer {secret}"))
                .body(axum::body::Body::empty())
                .unwrap();
            let resp = router.oneshot(req).await.unwrap();
            assert!(resp.status().is_success(), "{}", resp.status());
            axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap();
        }
    };
    let enc = |s: &str| urlencoding::encode(s).into_owned();
    measure!(
        "API GET …/files, first page (× the service call)",
        |r: usize| get(format!(
            "/api/v1/vaults/{vault}/files?path={}&limit=100",
            enc(&pick_folder[r])
        )),
        |r: usize| {
            let q = ListQuery {
                path: pick_folder[r].clone(),
                ..base.clone()
            };
            let (db, actor) = (&db, &actor);
            async move {
                files::list_page(db, actor, &q, None, 100).await.unwrap();
            }
        }
    );
    measure!(
        "API GET …/files, deep page (× the service call)",
        |r: usize| get(format!(
            "/api/v1/vaults/{vault}/files?path=Camera%20roll&limit=100&cursor={}",
            enc(&deep[r])
        )),
        |r: usize| {
            let (db, actor, v, c) = (&db, &actor, &big_view, deep[r].clone());
            async move {
                files::list_page(db, actor, v, Some(&c), 100).await.unwrap();
            }
        }
    );

    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "\n{dialect}, {total} files in 10,000 folders (one of {} files), {runs} runs each, {build} build",
        total / 10
    );
    println!(
        "{:<46} {:>24} {:>24} {:>8}",
        "query", "app p50 / p95 / p99 ms", "plain SQL p50/p95/p99", "p95 ×"
    );
    for (name, a, s) in report {
        println!(
            "{:<46} {:>7.2} {:>7.2} {:>7.2}  {:>7.2} {:>7.2} {:>7.2} {:>8.1}",
            name,
            a.0,
            a.1,
            a.2,
            s.0,
            s.1,
            s.2,
            a.1 / s.1
        );
    }
}
