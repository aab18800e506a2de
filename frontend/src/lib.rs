#![recursion_limit = "512"]
//! The browser entry point: hydrates the server-rendered page into the live app.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Says the page is live (its handlers attached): browser tests wait for it after a full
    // page load instead of racing the wasm; what is clicked before is a plain page's click.
    if let Some(html) = leptos::prelude::document().document_element() {
        let _ = html.set_attribute("data-hydrated", "");
    }
}
