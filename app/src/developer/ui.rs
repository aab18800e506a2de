//! The Developer page: API keys and webhook endpoints.
use leptos::prelude::*;

#[component]
pub fn DeveloperPage() -> impl IntoView {
    view! { <h1>"Developer"</h1> }
}
