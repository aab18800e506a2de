//! Who is acting. Every service function that reads or writes user data takes an `&Actor`
//! first and checks access before anything else: a person (by session), or an API key, which
//! acts inside one workspace (and maybe one vault) with exactly its scopes.
#[derive(Clone, Debug)]
pub enum Actor {
    User {
        user_id: String,
        session_id: String,
        /// The workspace the session is working in (the header's switcher; '' for the
        /// person's own). Access is still checked by membership on every call.
        workspace_id: String,
        /// The workspace whose SSO provider signed this session in ('' for a password or a
        /// mailed link): such a session reaches that workspace and no other.
        sso_workspace: String,
    },
    /// An API key. `user_id` is the person who made it: what it does is recorded as theirs,
    /// and it can never do more than they may in the workspace (see
    /// `workspaces::service::require_role`).
    Key {
        key_id: String,
        user_id: String,
        workspace_id: String,
        /// `files:read`, `files:write`, `restores:write`, `billing:read`, `admin`.
        scopes: Vec<String>,
        /// The one vault it may touch, when restricted.
        vault_id: Option<String>,
        /// When it stops working (unix ms), if ever: keys it makes may not outlive it.
        expires_at: Option<i64>,
    },
}

impl Actor {
    /// The person a background job acts for (it has no session; access is checked as for
    /// any request, with their memberships as they are when the job runs).
    pub fn job_for(user_id: &str) -> Actor {
        Actor::User {
            user_id: user_id.to_string(),
            session_id: String::new(),
            workspace_id: String::new(),
            sso_workspace: String::new(),
        }
    }

    /// The person acting, or who made the key that acts.
    pub fn user_id(&self) -> &str {
        match self {
            Actor::User { user_id, .. } | Actor::Key { user_id, .. } => user_id,
        }
    }

    /// The only workspace this actor may touch ('' when it is not limited to one): a key's,
    /// or the workspace an SSO session was signed in to. For queries that join the
    /// memberships, as `($n = '' OR x.workspace_id = $n)`.
    pub fn only_workspace(&self) -> &str {
        match self {
            Actor::User { sso_workspace, .. } => sso_workspace,
            Actor::Key { workspace_id, .. } => workspace_id,
        }
    }

    /// The workspace whose SSO provider signed this session in ('' otherwise; keys and jobs
    /// are never SSO sessions).
    pub fn sso_workspace(&self) -> &str {
        match self {
            Actor::User { sso_workspace, .. } => sso_workspace,
            Actor::Key { .. } => "",
        }
    }

    /// Whether this is a person's signed-in session (not a key, not a job acting for them):
    /// what "require SSO" applies to.
    pub fn is_session(&self) -> bool {
        matches!(self, Actor::User { session_id, .. } if !session_id.is_empty())
    }

    /// The workspace this actor works in: a key's own; the one a person's session switched
    /// to ('' when none was chosen: then their own, see `workspaces::service::current`).
    pub fn chosen_workspace(&self) -> &str {
        match self {
            Actor::User { sso_workspace, .. } if !sso_workspace.is_empty() => sso_workspace,
            Actor::User { workspace_id, .. } | Actor::Key { workspace_id, .. } => workspace_id,
        }
    }

    /// The person acting and their session, for what only people do in the app (their
    /// account, members, settings); a key is refused, `what` saying what it tried.
    pub fn person(&self, what: &str) -> Result<(&str, &str), crate::error::AppError> {
        match self {
            Actor::User {
                user_id,
                session_id,
                ..
            } => Ok((user_id, session_id)),
            Actor::Key { .. } => Err(crate::error::AppError::Forbidden {
                message: format!("API keys cannot {what}; sign in to do it."),
            }),
        }
    }

    /// The only vault this actor may touch ('' when it is not limited to one).
    pub fn only_vault(&self) -> &str {
        match self {
            Actor::Key {
                vault_id: Some(v), ..
            } => v,
            _ => "",
        }
    }

    /// Whether the actor holds `scope` (people hold every scope; their role decides).
    pub fn has_scope(&self, scope: &str) -> bool {
        match self {
            Actor::User { .. } => true,
            Actor::Key { scopes, .. } => scopes.iter().any(|s| s == scope || s == "admin"),
        }
    }
}
