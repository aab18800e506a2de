//! The database: one pool through sqlx's `Any` driver, so every query is written once with
//! `$1` placeholders and runs on SQLite (the embedded default) and PostgreSQL (production).
//! The few statements that must differ branch on [`Dialect`] here.
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr, any::AnyPoolOptions};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub dialect: Dialect,
}

/// Migrations are compiled in: a release binary carries its schema.
macro_rules! migrations {
    ($dir:literal: $($version:literal $name:literal),* $(,)?) => {
        vec![$(Migration::new(
            $version,
            $name.into(),
            MigrationType::Simple,
            include_str!(concat!("../../../migrations/", $dir, "/", $name, ".sql")).into_sql_str(),
            false,
        )),*]
    };
}

fn migrator(dialect: Dialect) -> Migrator {
    Migrator::with_migrations(match dialect {
        Dialect::Sqlite => {
            migrations!("sqlite": 1 "0001_foundation", 2 "0002_signup_limit", 3 "0003_upload_claims", 4 "0004_upload_engine", 5 "0005_file_browser", 6 "0006_retrieval_prices", 7 "0007_archive_rules", 8 "0008_restores", 9 "0009_usage_plans", 10 "0010_part_checksums", 11 "0011_sign_in_links", 12 "0012_developer_platform", 13 "0013_full_object_checksums", 14 "0014_account_links", 15 "0015_teams", 16 "0016_audit_log", 17 "0017_share_links", 18 "0018_notification_prefs", 19 "0019_sso", 20 "0020_status_incidents", 21 "0021_operators")
        }
        Dialect::Postgres => {
            migrations!("postgres": 1 "0001_foundation", 2 "0002_signup_limit", 3 "0003_upload_claims", 4 "0004_upload_engine", 5 "0005_file_browser", 6 "0006_retrieval_prices", 7 "0007_archive_rules", 8 "0008_restores", 9 "0009_usage_plans", 10 "0010_part_checksums", 11 "0011_sign_in_links", 12 "0012_developer_platform", 13 "0013_full_object_checksums", 14 "0014_account_links", 15 "0015_teams", 16 "0016_audit_log", 17 "0017_share_links", 18 "0018_notification_prefs", 19 "0019_sso", 20 "0020_status_incidents", 21 "0021_operators")
        }
    })
}

impl Db {
    /// Connects (creating the SQLite file and its folder when needed) and migrates.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            return Err(sqlx::Error::Configuration(
                "DATABASE_URL must start with sqlite: or postgres:".into(),
            ));
        };
        let mut opts = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        if dialect == Dialect::Sqlite {
            if let Some(dir) = sqlite_path(url)
                .and_then(|p| std::path::Path::new(p).parent().map(|d| d.to_owned()))
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(&dir).map_err(sqlx::Error::Io)?;
            }
            // One writer at a time is SQLite's nature; WAL lets readers go on beside it.
            opts = opts.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            });
        } else {
            opts = opts.max_connections(16);
        }
        let pool = opts.connect(url).await?;
        let db = Db { pool, dialect };
        migrator(dialect)
            .run(&db.pool)
            .await
            .map_err(|e| sqlx::Error::Migrate(Box::new(e)))?;
        Ok(db)
    }

    /// A write transaction. On SQLite it takes the write lock at BEGIN (IMMEDIATE): a
    /// deferred transaction that reads first and writes later fails at once with "database
    /// is locked" when another writer got in between, where IMMEDIATE waits its turn.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.pool.begin().await,
        }
    }

    /// Answers when the database does (for /readyz).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// The file of a `sqlite:` database URL (None for `:memory:` or another database).
pub fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// A statement built a piece at a time (filters, sort orders, keyset bounds), its arguments
/// numbered `$1, $2…` as they are added, which both SQLite and PostgreSQL accept.
#[derive(Default, Debug, Clone)]
pub struct Sql {
    pub text: String,
    args: Vec<Arg>,
}

#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg::Text(s.to_string())
    }
}
impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Text(s)
    }
}
impl From<&String> for Arg {
    fn from(s: &String) -> Arg {
        Arg::Text(s.clone())
    }
}
impl From<i64> for Arg {
    fn from(n: i64) -> Arg {
        Arg::Int(n)
    }
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            args: vec![],
        }
    }

    /// Adds an argument; returns its placeholder.
    pub fn arg(&mut self, a: impl Into<Arg>) -> String {
        self.args.push(a.into());
        format!("${}", self.args.len())
    }

    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    pub fn query_as<'q, T>(
        &'q self,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, T, sqlx::any::AnyArguments>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a {
                Arg::Text(s) => q.bind(s.clone()),
                Arg::Int(n) => q.bind(*n),
            };
        }
        q
    }

    pub fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a {
                Arg::Text(s) => q.bind(s.clone()),
                Arg::Int(n) => q.bind(*n),
            };
        }
        q
    }
}
