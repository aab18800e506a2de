//! The embedded S3 endpoint: real S3 over HTTP (SigV4 header and presigned auth, multipart,
//! CORS) on its own port, storing objects on the filesystem under `data/s3/`. It runs inside
//! the server process whenever no external S3 is configured, so `scripts/dev` needs no keys.
//!
//! Built on `s3s` + `s3s-fs`. `s3s-fs` leaves gaps we fill in [`LocalS3`]: ListParts without
//! ETags (we record each part's ETag when it is stored) and unsorted part lists.
mod backend;
pub mod sweep;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::error_handling::HandleError;
use axum::http::{HeaderName, Method, StatusCode, header};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer, ExposeHeaders};

pub use backend::LocalS3;

/// Access key pair of the embedded endpoint.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// Reads the credentials from settings, else from `data/local-s3-credentials`, else makes new
/// ones and keeps them there (mode 0600) so restarts and `aws`/`rclone` profiles keep working.
pub fn load_or_create_credentials(data_dir: &Path) -> std::io::Result<Credentials> {
    let from_env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(a), Some(s)) = (
        from_env("NEXUS_LOCAL_S3_ACCESS_KEY"),
        from_env("NEXUS_LOCAL_S3_SECRET_KEY"),
    ) {
        return Ok(Credentials {
            access_key_id: a,
            secret_access_key: s,
        });
    }
    let path = data_dir.join("local-s3-credentials");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let mut lines = text.lines();
        if let (Some(a), Some(s)) = (lines.next(), lines.next()) {
            return Ok(Credentials {
                access_key_id: a.trim().into(),
                secret_access_key: s.trim().into(),
            });
        }
    }
    use rand::Rng;
    let alnum = |n: usize| -> String {
        const CH: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut rng = rand::rng();
        (0..n)
            .map(|_| CH[rng.random_range(0..CH.len())] as char)
            .collect()
    };
    let creds = Credentials {
        access_key_id: format!("NEXUSLOCAL{}", alnum(10)),
        secret_access_key: app::core::random_token(20),
    };
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(
        &path,
        format!("{}\n{}\n", creds.access_key_id, creds.secret_access_key),
    )?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(creds)
}

/// Whether the endpoint's secret key may be shown: only in a development build, only to a
/// person at a terminal (not a log file or a service manager's journal), and only while the
/// endpoint is reachable on loopback alone (it listens there, and no public address is
/// published for it).
pub fn may_show_secret(
    addr: SocketAddr,
    public_url: Option<&str>,
    stderr_is_terminal: bool,
    development: bool,
) -> bool {
    let public_is_loopback = public_url.is_none_or(|u| {
        u.parse::<http::Uri>().ok().and_then(|u| {
            let host = u.host()?.trim_start_matches('[').trim_end_matches(']');
            Some(
                host == "localhost"
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback()),
            )
        }) == Some(true)
    });
    development && stderr_is_terminal && addr.ip().is_loopback() && public_is_loopback
}

/// The endpoint as an axum router: CORS in front (s3s does not answer preflights), the S3
/// service as the fallback so SigV4 sees the exact path the client signed.
pub fn router(root: PathBuf, creds: &Credentials) -> std::io::Result<Router> {
    let (buckets, parts) = (root.join("buckets"), root.join("parts"));
    std::fs::create_dir_all(&buckets)?;
    std::fs::create_dir_all(&parts)?;
    let backend = LocalS3::new(buckets, parts)?;
    let mut builder = S3ServiceBuilder::new(backend);
    builder.set_auth(SimpleAuth::from_single(
        creds.access_key_id.clone(),
        creds.secret_access_key.clone(),
    ));
    let service = HandleError::new(builder.build(), |e: s3s::HttpError| async move {
        tracing::error!(error = ?e, "embedded S3 transport error");
        (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    });
    // Presigned URLs are the credential; CORS only lets pages read the answers (ETag).
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([
            Method::GET,
            Method::PUT,
            Method::POST,
            Method::DELETE,
            Method::HEAD,
        ])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(ExposeHeaders::list([
            header::ETAG,
            HeaderName::from_static("x-amz-request-id"),
            HeaderName::from_static("x-amz-version-id"),
        ]))
        .max_age(std::time::Duration::from_secs(600));
    Ok(Router::new()
        .fallback_service(service)
        .layer(cors)
        .layer(axum::middleware::from_fn(crate::trace::trace_s3)))
}

/// Binds and serves the endpoint in the background, with its hourly sweep of multipart
/// uploads idle longer than `abort_idle` ([`sweep`]); returns the bound address.
pub async fn spawn(
    addr: &str,
    root: PathBuf,
    creds: &Credentials,
    abort_idle: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<SocketAddr> {
    let app = router(root.clone(), creds)?;
    sweep::start(root, abort_idle, shutdown.clone()).await;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned());
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "embedded S3 endpoint stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::may_show_secret;

    #[test]
    fn the_secret_is_shown_only_on_a_terminal_in_development_and_only_for_loopback() {
        let lo = "127.0.0.1:9000".parse().unwrap();
        let lo6 = "[::1]:9000".parse().unwrap();
        let any = "0.0.0.0:9000".parse().unwrap();
        let lan = "192.168.1.20:9000".parse().unwrap();
        assert!(may_show_secret(lo, None, true, true));
        assert!(may_show_secret(lo6, None, true, true));
        assert!(may_show_secret(
            lo,
            Some("http://localhost:9000"),
            true,
            true
        ));
        assert!(may_show_secret(
            lo,
            Some("http://127.0.0.1:8080"),
            true,
            true
        ));
        assert!(!may_show_secret(lo, None, false, true));
        assert!(!may_show_secret(lo, None, true, false), "a release build");
        assert!(!may_show_secret(any, None, true, true));
        assert!(!may_show_secret(lan, None, true, true));
        // Published through a proxy beyond this machine.
        assert!(!may_show_secret(
            lo,
            Some("https://s3.example.com"),
            true,
            true
        ));
        assert!(!may_show_secret(
            lo,
            Some("http://10.0.0.5:9000"),
            true,
            true
        ));
        assert!(!may_show_secret(lo, Some("not a url"), true, true));
    }
}
