//! The restore dialog: what each tier costs and when it is ready, for exactly the selection.
use super::ErrorNote;
use crate::error::AppError;
use crate::files::{BulkOutcome, Selection};
use crate::format;
use crate::pricing::dollars;
use crate::tiers::MAX_RESTORE_DAYS;
use crate::tiers::api::{preview_restore, request_restore};
use leptos::prelude::*;

/// "usually by 14:05, at the latest 26 Nov 2026 18:00".
fn ready_words(typical: i64, latest: i64) -> String {
    if typical == latest {
        return format!("by {}", format::time_ms(latest));
    }
    format!(
        "usually by {}, at the latest {}",
        format::time_ms(typical),
        format::time_ms(latest)
    )
}

/// The restore dialog: days to keep the copies, then each tier with its cost and ready-by
/// for exactly this selection; tiers the selection's classes lack are shown disabled.
#[component]
pub fn RestoreDialog(
    selection: Signal<Selection>,
    open: RwSignal<bool>,
    on_done: Callback<Result<(String, BulkOutcome), AppError>>,
) -> impl IntoView {
    let days = RwSignal::new(7i64);
    let sel = selection.get_untracked();
    let preview = Resource::new(move || days.get(), move |d| preview_restore(sel.clone(), d));
    let choice = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    view! {
        <form class="dialog-body wide" on:submit=move |ev| {
            ev.prevent_default();
            let tier = choice.get_untracked();
            if tier.is_empty() { return; }
            busy.set(true);
            let sel = selection.get_untracked();
            let d = days.get_untracked();
            leptos::task::spawn_local(async move {
                let r = request_restore(sel, tier, d).await;
                busy.set(false);
                open.set(false);
                on_done.run(r);
            });
        }>
            <h2>"Restore from archive"</h2>
            <p>
                <label for="restore-days">"Keep the restored copy for "</label>
                <input id="restore-days" type="number" min="1" max=MAX_RESTORE_DAYS.to_string() required
                    class="days" prop:value=move || days.get().to_string()
                    on:change=move |ev| {
                        if let Ok(d) = event_target_value(&ev).parse::<i64>() {
                            days.set(d.clamp(1, MAX_RESTORE_DAYS));
                        }
                    } />
                " days (then it is archived again; the archived file itself stays)."
            </p>
            <Transition fallback=|| view! { <p class="muted" role="status">"Pricing the restore…"</p> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(p) => view! {
                            <p data-testid="restore-summary">{format!("{} to restore · {}.", format::count(p.to_restore, "archived file", "archived files"), format::bytes(p.bytes))}</p>
                            {(p.restored > 0).then(|| view! { <p class="muted">{format!("{} restored already: {} kept {} from now.", format::count(p.restored, "file is", "files are"), if p.restored == 1 { "its copy is" } else { "their copies are" }, format::count(p.days, "day", "days"))}</p> })}
                            {(p.in_progress > 0).then(|| view! { <p class="muted">{format!("{} on the way back already.", format::count(p.in_progress, "file is", "files are"))}</p> })}
                            {(p.not_archived > 0).then(|| view! { <p class="muted">{format!("{} not archived and can be downloaded now.", format::count(p.not_archived, "file is", "files are"))}</p> })}
                            <fieldset class="class-choice">
                                <legend class="visually-hidden">"Restore tier"</legend>
                                <div class="table-wrap"><table class="files data">
                                    <thead><tr>
                                        <th scope="col">"Tier"</th>
                                        <th scope="col">"Ready"</th>
                                        <th scope="col" class="num">"Retrieval"</th>
                                        <th scope="col" class="num">"Requests"</th>
                                        <th scope="col" class="num">"Copy storage"</th>
                                        <th scope="col" class="num">"Total"</th>
                                    </tr></thead>
                                    <tbody>
                                        {p.options.into_iter().map(|o| {
                                            let t = o.tier.clone();
                                            let id = format!("tier-{}", o.tier.to_lowercase());
                                            let off = !o.unavailable.is_empty();
                                            view! {
                                                <tr class:disabled=off>
                                                    <th scope="row">
                                                        <input type="radio" name="tier" id=id.clone() value=o.tier.clone() disabled=off
                                                            on:change=move |_| choice.set(t.clone()) />
                                                        <label for=id>{o.tier.clone()}</label>
                                                    </th>
                                                    {if off {
                                                        view! { <td colspan="5" class="muted">{o.unavailable.clone()}</td> }.into_any()
                                                    } else {
                                                        view! {
                                                            <td>{ready_words(o.typical_ready_at, o.ready_by)}</td>
                                                            <td class="num">{dollars(o.retrieval_micros)}</td>
                                                            <td class="num">{dollars(o.request_micros)}</td>
                                                            <td class="num">{dollars(o.copy_micros)}</td>
                                                            <td class="num"><strong>{dollars(o.cost_micros)}</strong></td>
                                                        }.into_any()
                                                    }}
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table></div>
                            </fieldset>
                            <p class="muted small">"Estimates from AWS us-east-1 list prices; the restored copy is billed at S3 Standard for its days."</p>
                        }.into_any(),
                    }
                })}
            </Transition>
            <div class="dialog-actions">
                <button type="submit" disabled=move || busy.get() || choice.with(|c| c.is_empty())>
                    {move || if choice.with(|c| c.is_empty()) { "Choose a tier".to_string() } else { format!("Restore with {}", choice.get()) }}
                </button>
                <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </form>
    }
}
