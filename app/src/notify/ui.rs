//! The header's notifications link (with the unread count, refreshed every few seconds), the
//! notifications page and the development outbox page.
use super::api::{mark_notifications_read, notifications, outbox, unread_notifications};
use crate::components::ErrorNote;
use crate::format;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

/// The unread count for the header: made with the header's other resource (outside any
/// Suspend, so the server and the browser create resources in the same order), and asked
/// again on every navigation and every 10 s.
pub fn unread_resource() -> Resource<Result<i64, crate::error::AppError>> {
    let location = use_location();
    let tick = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    {
        if let Ok(h) = set_interval_with_handle(
            move || tick.update(|t| *t += 1),
            std::time::Duration::from_secs(10),
        ) {
            on_cleanup(move || h.clear());
        }
    }
    Resource::new(
        move || (location.pathname.get(), tick.get()),
        |_| unread_notifications(),
    )
}

/// "Notifications" with the unread count.
#[component]
pub fn Bell(unread: i64) -> impl IntoView {
    view! {
        <A href="/notifications" attr:class="bell">
            "Notifications"
            {(unread > 0).then(|| view! {
                <span class="count" data-testid="unread-count" aria-label=format!("{unread} unread")>{unread}</span>
            })}
        </A>
    }
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = Resource::new(move || version.get(), |_| notifications());
    let mark_all = move |_| {
        leptos::task::spawn_local(async move {
            let _ = mark_notifications_read(None).await;
            version.update(|v| *v += 1);
        });
    };
    view! {
        <Title text="Notifications — Nexus Deep Storage" />
        <section class="panel narrow">
            <div class="heading-row">
                <h1>"Notifications"</h1>
                <button type="button" class="secondary small" on:click=mark_all>"Mark all as read"</button>
            </div>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(l) if l.is_empty() => view! { <p class="empty">"Nothing yet. You will hear here when a restore is ready."</p> }.into_any(),
                        Ok(l) => view! {
                            <ul class="notifications">
                                {l.into_iter().map(|n| {
                                    let unread = n.read_at.is_none();
                                    view! {
                                        <li class:unread=unread data-testid="notification">
                                            <p class="title">
                                                {unread.then(|| view! { <span class="visually-hidden">"Unread: "</span> })}
                                                {if n.link.is_empty() {
                                                    view! { <strong>{n.title.clone()}</strong> }.into_any()
                                                } else {
                                                    view! { <A href=n.link.clone()><strong>{n.title.clone()}</strong></A> }.into_any()
                                                }}
                                            </p>
                                            <p>{n.body.clone()}</p>
                                            <p class="muted small"><time>{format::time_ms(n.created_at)}</time></p>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Development only (no SMTP server set): the mail the app sent you.
#[component]
pub fn OutboxPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| outbox());
    view! {
        <Title text="Outbox — Nexus Deep Storage" />
        <section class="panel narrow">
            <h1>"Outbox"</h1>
            <p class="muted">"No mail server is set up (NEXUS_SMTP_URL), so mail to you waits here."</p>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(l) if l.is_empty() => view! { <p class="empty">"No mail for you yet."</p> }.into_any(),
                        Ok(l) => view! {
                            <ul class="notifications">
                                {l.into_iter().map(|m| view! {
                                    <li data-testid="mail">
                                        <p class="title"><strong>{m.subject.clone()}</strong></p>
                                        <p class="muted small">{format!("To {} · {}", m.to_addr, format::time_ms(m.created_at))}</p>
                                        <pre class="mail-body">{m.body.clone()}</pre>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
