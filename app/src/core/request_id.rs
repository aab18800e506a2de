//! The id of the request being served, for log lines and error messages. Set by the server's
//! request middleware around each request.
tokio::task_local! {
    pub static REQUEST_ID: String;
}

pub fn current() -> String {
    REQUEST_ID
        .try_with(|s| s.clone())
        .unwrap_or_else(|_| "-".into())
}
