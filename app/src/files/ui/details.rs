//! The details side panel of one file: state, class, cost, checksum, history.
use super::rows::state_label;
use crate::components::ErrorNote;
use crate::files::api::get_file_details;
use crate::files::{ListQuery, class_label};
use crate::format;
use crate::pricing::dollars;
use leptos::prelude::*;
use leptos_router::components::A;

/// Everything known of one file, beside the list.
#[component]
pub(crate) fn DetailsPanel(
    file_id: String,
    query: ListQuery,
    version: RwSignal<u32>,
) -> impl IntoView {
    let id = file_id.clone();
    let details = Resource::new(move || version.get(), move |_| get_file_details(id.clone()));
    let close = query.href();
    view! {
        <aside class="details" aria-label="File details">
            <A href=close attr:class="close" attr:aria-label="Close details">"×"</A>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading details…"</p> }>
                {move || Suspend::new(async move {
                    match details.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(d) => {
                            let f = d.file.clone();
                            view! {
                                <h2>{f.name.clone()}</h2>
                                {(f.has_thumb == 1).then(|| view! { <img class="preview" src=format!("/files/{}/thumb", f.id) alt=format!("Preview of {}", f.name) /> })}
                                <dl>
                                    <dt>"Folder"</dt><dd>{if f.folder_path.is_empty() { "Top level".to_string() } else { f.folder_path.clone() }}</dd>
                                    <dt>"Size"</dt><dd>{format!("{} ({} bytes)", format::bytes(f.size), f.size)}</dd>
                                    <dt>"Type"</dt><dd>{f.content_type.clone()}</dd>
                                    <dt>"Storage class"</dt><dd>{class_label(&f.storage_class)}</dd>
                                    <dt>"State"</dt><dd>{match (f.state.as_str(), f.restored_until) {
                                        ("restored", Some(t)) => format!("Restored until {}", format::time_ms(t)),
                                        (s, _) => state_label(s).to_string(),
                                    }}</dd>
                                    <dt>"Cost per month"</dt><dd>{dollars(d.monthly_cost_micros)}</dd>
                                    <dt>"CRC64NVME"</dt><dd><span class="mono" data-checksum="crc64nvme">{d.crc64nvme.clone().unwrap_or_else(|| "not recorded (uploaded before full-object checksums)".into())}</span>{d.crc64nvme.is_some().then(|| view! { <br /><span class="muted small">"of the whole file, verified by storage when it was uploaded; S3 reports it on a GET with x-amz-checksum-mode: ENABLED"</span> })}</dd>
                                    <dt>"SHA-256"</dt><dd><span class="mono" data-checksum="sha256">{d.sha256.clone().unwrap_or_else(|| "not recorded".into())}</span>{d.sha256.is_some().then(|| view! { <br /><span class="muted small">"worked out by the uploading browser, bound to the stored bytes by the CRC64NVME of the same read"</span> })}</dd>
                                    <dt>"Uploaded"</dt><dd>{format::time_ms(f.created_at)}</dd>
                                    <dt>"Modified"</dt><dd>{format::time_ms(f.updated_at)}</dd>
                                </dl>
                                {if f.state == "archived" {
                                    view! { <p class="muted">{format!("Archived in {}: it must be restored before it can be downloaded.", class_label(&f.storage_class))}</p> }.into_any()
                                } else if f.state == "restoring" {
                                    view! { <p class="muted">"A restore is under way: the Restores page says when it will be ready."</p> }.into_any()
                                } else {
                                    view! { <p><a class="button small" href=format!("/files/{}/download", f.id) rel="external">"Download"</a></p> }.into_any()
                                }}
                                <p><a class="small" href=format!("/shares?vault={}&path={}", f.vault_id,
                                    urlencoding::encode(&if f.folder_path.is_empty() { f.name.clone() } else { format!("{}/{}", f.folder_path, f.name) }))>
                                    "Share a link to this file…"</a></p>
                                <h3>"History"</h3>
                                <ol class="history">
                                    {d.events.into_iter().map(|e| view! {
                                        <li>
                                            <time>{format::time_ms(e.at)}</time>" — "
                                            {match e.kind.as_str() {
                                                "uploaded" => "Uploaded".to_string(),
                                                "renamed" => format!("Renamed {}", e.detail),
                                                "moved" => format!("Moved {}", e.detail),
                                                "trashed" => format!("Moved to the trash{}", if e.detail.is_empty() { String::new() } else { format!(" ({})", e.detail) }),
                                                "restored" => format!("Restored {}", e.detail),
                                                "class_changed" => format!("Storage class changed {}", e.detail),
                                                "restore_requested" => format!("Restore requested ({})", e.detail),
                                                "restore_ready" => format!("Restored {}", e.detail),
                                                "restore_expired" => "Restored copy expired: archived again".to_string(),
                                                other => other.to_string(),
                                            }}
                                            {e.actor.map(|a| format!(" by {a}"))}
                                        </li>
                                    }).collect_view()}
                                </ol>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </aside>
    }
}
