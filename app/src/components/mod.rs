//! Widgets several features' pages share: the error alert, the modal dialog, download links
//! with their manifest, the restore dialog. Below the feature views (which use them) and
//! above the features' types and server functions (which they use).
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

mod link_list;
mod restore_dialog;

pub use link_list::LinkList;
pub use restore_dialog::RestoreDialog;

/// An error as a short alert. When what is missing is a session (it expired, or the visitor
/// signed out in another tab), the browser goes to sign-in, which brings it back here after.
#[component]
pub fn ErrorNote(error: AppError) -> impl IntoView {
    let sign_in = matches!(error, AppError::Unauthenticated { .. });
    let plan = matches!(error, AppError::PlanLimit { .. });
    let location = use_location();
    let href = format!("/sign-in?next={}", location.pathname.get_untracked());
    if sign_in {
        let navigate = leptos_router::hooks::use_navigate();
        let to = href.clone();
        Effect::new(move |_| navigate(&to, Default::default()));
    }
    view! {
        <div class="alert error" role="alert">
            <p>{error.to_string()}</p>
            {sign_in.then(|| view! { <p><A href=href>"Sign in"</A></p> })}
            {plan.then(|| view! { <p><A href="/billing">"See the plans"</A></p> })}
        </div>
    }
}

/// A modal `<dialog>`: opens and closes with `open`; Escape closes it.
#[component]
pub fn Modal(
    open: RwSignal<bool>,
    #[prop(into)] label: String,
    children: ChildrenFn,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        let want = open.get();
        if let Some(d) = node.get() {
            if want && !d.open() {
                let _ = d.show_modal();
            } else if !want && d.open() {
                d.close();
            }
        }
    });
    view! {
        <dialog node_ref=node aria-label=label on:close=move |_| open.set(false) class="modal">
            {move || open.get().then(|| children())}
        </dialog>
    }
}
