//! The header's workspace switcher, the team page (members, roles, invitations, leaving,
//! handing over, a new team) and the page an invitation link opens.
use super::api::{
    AcceptInvite, change_member_role, invite_member, invite_preview, remove_member, revoke_invite,
    team, transfer_ownership,
};
use super::{Invite, Member, TeamView, WorkspaceInfo};
use crate::components::ErrorNote;
use crate::error::AppError;
use crate::format;
use crate::workspaces::Role;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// The workspace switcher: a plain HTML form (a select and a button) posted by the browser
/// itself, so that the whole page — header, vaults, usage — loads again for the workspace
/// chosen; it works before hydration and from the keyboard.
#[component]
pub fn WorkspaceSwitcher(workspaces: Vec<WorkspaceInfo>) -> impl IntoView {
    let current = workspaces.iter().find(|w| w.current).cloned();
    view! {
        <form method="post" action="/api/switch_workspace" class="switcher" aria-label="Switch workspace">
            <label for="workspace-switch" class="visually-hidden">"Workspace"</label>
            <select id="workspace-switch" name="workspace_id">
                {workspaces.into_iter().map(|w| view! {
                    <option value=w.id.clone() selected=w.current>
                        {match (w.kind == "personal", w.needs_sso) {
                            (true, _) => format!("{} (personal)", w.name),
                            (false, true) => format!("{} (sign in with SSO)", w.name),
                            (false, false) => w.name.clone(),
                        }}
                    </option>
                }).collect_view()}
            </select>
            <button type="submit" class="secondary small">"Switch"</button>
            {current.map(|c| view! { <A href="/team" attr:title=format!("Your role: {}", c.role.label())>"Team"</A> })}
        </form>
    }
}

#[component]
pub fn TeamPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let view_ = Resource::new(move || version.get(), |_| team());
    let failure = RwSignal::new(None::<AppError>);
    let sent = RwSignal::new(None::<String>);
    let bump = move || version.update(|v| *v += 1);
    let run =
        move |fut: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>>>>| {
            leptos::task::spawn_local(async move {
                match fut.await {
                    Ok(()) => failure.set(None),
                    Err(e) => failure.set(Some(e)),
                }
                bump();
            });
        };
    view! {
        <Title text="Team — Nexus Deep Storage" />
        <section class="panel">
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading the team…"</p> }>
                {move || Suspend::new(async move {
                    match view_.await {
                        Err(e) => view! { <h1>"Team"</h1><ErrorNote error=e /> }.into_any(),
                        Ok(t) => view! { <TeamBody team=t failure=failure sent=sent run=Callback::new(run) bump=Callback::new(move |_| bump()) /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <NewTeam />
    }
}

type Job = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>>>>;

#[component]
fn TeamBody(
    team: TeamView,
    failure: RwSignal<Option<AppError>>,
    sent: RwSignal<Option<String>>,
    run: Callback<Job>,
    bump: Callback<()>,
) -> impl IntoView {
    let mine = team.workspace.role;
    let is_team = team.workspace.kind == "team";
    let manages = is_team && mine >= Role::Admin;
    view! {
        <h1>{team.workspace.name.clone()}</h1>
        <p class="muted">
            {if is_team { "A team workspace. " } else { "Your personal workspace: only you can see it. Make a team below to share vaults. " }}
            {format!("Your role: {} ({}).", mine.label(), mine.what())}
        </p>
        {move || failure.get().map(|e| view! { <ErrorNote error=e /> })}
        <h2>"Members"</h2>
        <div class="table-wrap"><table class="files data members">
            <thead><tr>
                <th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Joined"</th>
                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
            </tr></thead>
            <tbody>
                {team.members.into_iter().map(|m| view! { <MemberRow m=m mine=mine manages=manages run=run /> }).collect_view()}
            </tbody>
        </table></div>
        {(mine >= Role::Admin).then(|| view! { <p><A href="/audit">"Audit log"</A>" — every change in this workspace, who made it and from where."</p> })}
        {manages.then(|| view! { <InviteForm mine=mine on_done=bump sent=sent /> })}
        {(manages && !team.invites.is_empty()).then(|| view! { <Invites list=team.invites.clone() run=run /> })}
        {manages.then(|| view! { <crate::sso::ui::SsoPanel /> })}
        {(is_team && mine != Role::Owner).then(|| view! {
            <form method="post" action="/api/leave_workspace" class="danger-zone">
                <button type="submit" class="secondary">"Leave this team"</button>
            </form>
        })}
    }
}

#[component]
fn MemberRow(m: Member, mine: Role, manages: bool, run: Callback<Job>) -> impl IntoView {
    let may = manages
        && !m.you
        && match mine {
            Role::Owner => m.role != Role::Owner,
            Role::Admin => m.role <= Role::Member,
            _ => false,
        };
    let choices: Vec<Role> = match mine {
        Role::Owner => vec![Role::Admin, Role::Member, Role::Viewer],
        _ => vec![Role::Member, Role::Viewer],
    };
    let (id_role, id_remove, id_owner) = (m.user_id.clone(), m.user_id.clone(), m.user_id.clone());
    let email = m.email.clone();
    let on_role = move |ev: leptos::ev::Event| {
        let role = event_target_value(&ev);
        let id = id_role.clone();
        run.run(Box::pin(async move { change_member_role(id, role).await }));
    };
    let remove_label = format!("Remove {email}");
    let owner_label = format!("Make {email} the owner");
    view! {
        <tr data-testid="member-row">
            <td>{m.email.clone()}{m.you.then(|| view! { " " <span class="badge ok">"you"</span> })}</td>
            <td>
                {if may {
                    view! {
                        <select aria-label=format!("Role of {}", m.email) on:change=on_role>
                            {choices.into_iter().map(|r| view! {
                                <option value=r.as_str() selected=r == m.role>{r.label()}</option>
                            }).collect_view()}
                        </select>
                    }.into_any()
                } else {
                    view! { <span>{m.role.label()}</span> }.into_any()
                }}
            </td>
            <td>{format::time_ms(m.joined_at)}</td>
            <td class="actions">
                {may.then(|| view! {
                    <button type="button" class="link" aria-label=remove_label
                        on:click=move |_| { let id = id_remove.clone(); run.run(Box::pin(async move { remove_member(id).await })) }>
                        "Remove"
                    </button>
                })}
                {(mine == Role::Owner && !m.you).then(|| view! {
                    " "
                    <button type="button" class="link" aria-label=owner_label
                        on:click=move |_| { let id = id_owner.clone(); run.run(Box::pin(async move { transfer_ownership(id).await })) }>
                        "Make owner"
                    </button>
                })}
            </td>
        </tr>
    }
}

/// The invitation form. Its fields are read when it is sent (not kept in signals), so what
/// was typed before the page came alive is kept; a send before then posts the plain form.
/// What it reports lives in the page's signals: the team's list reloads after a send and
/// this form with it.
#[component]
fn InviteForm(mine: Role, on_done: Callback<()>, sent: RwSignal<Option<String>>) -> impl IntoView {
    let email_ref = NodeRef::<leptos::html::Input>::new();
    let role_ref = NodeRef::<leptos::html::Select>::new();
    let failure = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(e), Some(r)) = (email_ref.get_untracked(), role_ref.get_untracked()) else {
            return;
        };
        busy.set(true);
        let (email, role) = (e.value(), r.value());
        leptos::task::spawn_local(async move {
            match invite_member(email, role).await {
                Ok(i) => {
                    failure.set(None);
                    e.set_value("");
                    sent.set(Some(i.email));
                    on_done.run(());
                }
                Err(err) => failure.set(Some(err)),
            }
            busy.set(false);
        });
    };
    let roles: Vec<Role> = if mine == Role::Owner {
        vec![Role::Admin, Role::Member, Role::Viewer]
    } else {
        vec![Role::Member, Role::Viewer]
    };
    view! {
        <h2>"Invite someone"</h2>
        <form class="invite-form" method="post" action="/api/invite_member" on:submit=submit aria-label="Invite a member">
            <label for="invite-email">"Email"</label>
            <input id="invite-email" name="email" type="email" required maxlength="254" node_ref=email_ref />
            <label for="invite-role">"Role"</label>
            <select id="invite-role" name="role" node_ref=role_ref>
                {roles.into_iter().map(|r| view! {
                    <option value=r.as_str() selected=r == Role::Member>{format!("{} — {}", r.label(), r.what())}</option>
                }).collect_view()}
            </select>
            {move || failure.get().map(|e| view! { <ErrorNote error=e /> })}
            {move || sent.get().map(|to| view! { <p class="alert success" role="status">{format!("Invitation sent to {to}. The link works for 7 days.")}</p> })}
            <button type="submit" disabled=move || busy.get()>"Send invitation"</button>
        </form>
    }
}

#[component]
fn Invites(list: Vec<Invite>, run: Callback<Job>) -> impl IntoView {
    view! {
        <h2>"Open invitations"</h2>
        <ul class="invites">
            {list.into_iter().map(|i| {
                let id = i.id.clone();
                let label = format!("Withdraw the invitation to {}", i.email);
                view! {
                    <li data-testid="invite-row">
                        {format!("{} as {} — invited by {}, until {}", i.email, i.role.label().to_lowercase(), i.invited_by, format::time_ms(i.expires_at))}
                        " "
                        <button type="button" class="link" aria-label=label
                            on:click=move |_| { let id = id.clone(); run.run(Box::pin(async move { revoke_invite(id).await })) }>
                            "Withdraw"
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// A new team: a plain form the browser posts itself (the answer is a redirect to the new
/// team's page, loaded whole: header, switcher and all); an error comes back to this page.
#[component]
fn NewTeam() -> impl IntoView {
    // A refused post comes back here with the framework's `__path` naming it.
    let error = move || {
        (use_query_map().read().get("__path").as_deref() == Some("/api/create_team")).then_some(
            "The team was not made: give it a name of 1 to 100 characters (you can own 20 teams).",
        )
    };
    view! {
        <section class="panel" aria-labelledby="new-team-h">
            <h2 id="new-team-h">"New team"</h2>
            <p class="muted">"A team has its own vaults, usage and plan; you are its owner and invite the others."</p>
            <form method="post" action="/api/create_team" class="new-team">
                <label for="team-name">"Team name"</label>
                <input id="team-name" type="text" name="name" required maxlength="100" />
                <p class="form-error" role="alert">{error}</p>
                <button type="submit">"Make the team"</button>
            </form>
        </section>
    }
}

/// What an invitation link opens: what it offers, and one button (mail scanners open links;
/// only the person's click uses it). Without a session: sign in or create the account first,
/// then back here.
#[component]
pub fn InvitePage() -> impl IntoView {
    let token = move || use_query_map().read().get("token").unwrap_or_default();
    let offer = Resource::new(token, invite_preview);
    let me = Resource::new(|| (), |_| crate::auth::api::current_user());
    let accept = ServerAction::<AcceptInvite>::new();
    let value = accept.value();
    view! {
        <Title text="Invitation — Nexus Deep Storage" />
        <section class="panel narrow">
            <h1>"Invitation"</h1>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let me = me.await.ok().flatten();
                    match offer.await {
                        Err(_) => view! {
                            <p class="alert error" role="alert">"This invitation was used, withdrawn or has expired. Ask whoever invited you for a new one."</p>
                        }.into_any(),
                        Ok((name, role, email)) => {
                            let back = format!("/invite?token={}", urlencoding::encode(&token()));
                            let next = urlencoding::encode(&back).into_owned();
                            view! {
                                <p>{format!("You are invited to the team “{name}” as {} ({}).", role.label().to_lowercase(), role.what())}</p>
                                {match me {
                                    Some(u) if u.email == email => view! {
                                        <ActionForm action=accept>
                                            <input type="hidden" name="token" value=token() />
                                            <p class="form-error" role="alert">{move || match value.get() { Some(Err(e)) => Some(e.to_string()), _ => None }}</p>
                                            <button type="submit" disabled=move || accept.pending().get()>"Join the team"</button>
                                        </ActionForm>
                                    }.into_any(),
                                    Some(u) => view! {
                                        <p class="alert info">{format!("It was sent to {email}; you are signed in as {}. Sign out and sign in with that address to accept it.", u.email)}</p>
                                    }.into_any(),
                                    None => view! {
                                        <p>{format!("It was sent to {email}. Sign in with that address, or create an account with it, to accept.")}</p>
                                        <p>
                                            <a class="button" href=format!("/sign-in?next={next}")>"Sign in"</a>" "
                                            <a class="button secondary" href=format!("/sign-up?next={next}")>"Create an account"</a>
                                        </p>
                                    }.into_any(),
                                }}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}
