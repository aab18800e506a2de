//! The id of the request being served, for log lines and error messages. The server's
//! request middleware sets it as a task-local around the request and also puts it in the
//! request's extensions: Leptos resolves a page's data in tasks of their own, where the
//! task-local is gone but the request's parts are in context.
tokio::task_local! {
    pub static REQUEST_ID: String;
}

/// The request id as a request extension.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub fn current() -> String {
    REQUEST_ID
        .try_with(|s| s.clone())
        .ok()
        .or_else(from_context)
        .unwrap_or_else(|| "-".into())
}

fn from_context() -> Option<String> {
    // Read straight from Leptos's context (not `request::parts`, whose task-local fallback is
    // set inside the same task as `REQUEST_ID`): errors, made everywhere, read this, so it
    // depends on nothing of the app's.
    let parts = leptos::prelude::use_context::<http::request::Parts>()?;
    parts.extensions.get::<RequestId>().map(|r| r.0.clone())
}
