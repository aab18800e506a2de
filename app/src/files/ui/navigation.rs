//! Above the listing: breadcrumbs (drop targets too) and the search and filter form
//! (a GET form: it works before hydration and the view lives in the URL query).
use super::rows::{kind_label, state_label};
use crate::files::{KINDS, ListQuery, STATES, Sort, bytes_to_mb, class_label};
use crate::vaults::STORAGE_CLASSES;
use leptos::prelude::*;
use leptos_router::components::{A, Form};

/// Breadcrumbs of the view's folder; each is a link and a drop target.
#[component]
pub(crate) fn Breadcrumbs(
    query: ListQuery,
    vault_name: Signal<String>,
    on_drop_to: Callback<String>,
) -> impl IntoView {
    // None is the vault's own name (it can change while the list stays).
    let mut crumbs: Vec<(Option<String>, String)> = vec![(None, String::new())];
    let mut acc = String::new();
    for part in query.path.split('/').filter(|p| !p.is_empty()) {
        if !acc.is_empty() {
            acc.push('/');
        }
        acc.push_str(part);
        crumbs.push((Some(part.to_string()), acc.clone()));
    }
    let last = crumbs.len() - 1;
    view! {
        <nav aria-label="Folder" class="breadcrumbs">
            <ol>
                {crumbs.into_iter().enumerate().map(|(i, (name, path))| {
                    let href = ListQuery { vault_id: query.vault_id.clone(), path: path.clone(), sort: query.sort, desc: query.desc, ..Default::default() }.href();
                    let drop_path = path.clone();
                    let name = move || name.clone().unwrap_or_else(|| vault_name.get());
                    view! {
                        <li
                            on:dragover=move |ev| ev.prevent_default()
                            on:drop=move |ev| { ev.prevent_default(); on_drop_to.run(drop_path.clone()); }>
                            {if i == last && !query.is_search() {
                                view! { <span aria-current="page">{name}</span> }.into_any()
                            } else {
                                view! { <a href=href>{name}</a> }.into_any()
                            }}
                        </li>
                    }
                }).collect_view()}
            </ol>
        </nav>
    }
}

/// Search by name and filters: a GET form, so it works before the page's script loads and
/// every search is a link.
#[component]
pub(crate) fn SearchForm(query: ListQuery) -> impl IntoView {
    let open_filters = !query.class.is_empty()
        || !query.state.is_empty()
        || !query.kind.is_empty()
        || query.min_size.is_some()
        || query.max_size.is_some()
        || !query.from.is_empty()
        || !query.to.is_empty();
    let action = format!("/vaults/{}", query.vault_id);
    let clear = ListQuery {
        vault_id: query.vault_id.clone(),
        path: query.path.clone(),
        ..Default::default()
    }
    .href();
    let q = query.clone();
    view! {
        <Form method="GET" action=action attr:class="search" attr:role="search">
            <input type="hidden" name="path" value=q.path.clone() />
            {(q.sort != Sort::Name).then(|| view! { <input type="hidden" name="sort" value=q.sort.as_str() /> })}
            {q.desc.then(|| view! { <input type="hidden" name="dir" value="desc" /> })}
            <div class="search-line">
                <label class="visually-hidden" for="search-q">"Search by name"</label>
                <input id="search-q" type="search" name="q" value=q.q.clone() placeholder="Search by name  ( / )" autocomplete="off" />
                <label class="visually-hidden" for="search-in">"Where"</label>
                <select id="search-in" name="in">
                    <option value="" selected=!q.everywhere>"In this folder"</option>
                    <option value="vault" selected=q.everywhere>"In the whole vault"</option>
                </select>
                <button type="submit">"Search"</button>
                {query.is_search().then(|| view! { <A href=clear.clone() attr:class="button secondary">"Clear"</A> })}
            </div>
            <details class="filters" open=open_filters>
                <summary>"Filters"</summary>
                <div class="filter-grid">
                    <label>"Storage class"
                        <select name="class">
                            <option value="">"Any"</option>
                            {STORAGE_CLASSES.into_iter().map(|c| view! { <option value=c selected=q.class == c>{class_label(c)}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"State"
                        <select name="state">
                            <option value="">"Any"</option>
                            {STATES.into_iter().map(|s| view! { <option value=s selected=q.state == s>{state_label(s)}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Type"
                        <select name="kind">
                            <option value="">"Any"</option>
                            {KINDS.into_iter().map(|k| view! { <option value=k selected=q.kind == k>{kind_label(k)}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"At least (MB)"
                        <input type="number" name="min" min="0" step="any" value=q.min_size.map(bytes_to_mb).unwrap_or_default() />
                    </label>
                    <label>"At most (MB)"
                        <input type="number" name="max" min="0" step="any" value=q.max_size.map(bytes_to_mb).unwrap_or_default() />
                    </label>
                    <label>"Modified from"
                        <input type="date" name="from" value=q.from.clone() />
                    </label>
                    <label>"Modified until"
                        <input type="date" name="to" value=q.to.clone() />
                    </label>
                </div>
            </details>
        </Form>
    }
}
