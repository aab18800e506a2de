-- Single sign-on with OpenID Connect, per workspace: the provider an owner set up, the
-- sign-ins under way (state, nonce and PKCE verifier; single use, 10 minutes), the
-- provider's people linked to accounts (by issuer and subject), and which workspace a
-- session was signed in to through its provider (such a session reaches that workspace only).
CREATE TABLE workspace_sso (
    workspace_id    TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    issuer          TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    client_secret   TEXT NOT NULL,
    allowed_domain  TEXT NOT NULL,                -- lower-cased, without '@'
    require_sso     INTEGER NOT NULL DEFAULT 0,   -- members (not the owner) must sign in through it
    new_member_role TEXT NOT NULL DEFAULT 'member' CHECK (new_member_role IN ('member', 'viewer')),
    updated_by      TEXT REFERENCES users(id) ON DELETE SET NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX workspace_sso_domain ON workspace_sso(allowed_domain);

CREATE TABLE sso_logins (
    state_hash    TEXT PRIMARY KEY,               -- sha256 of the state sent to the provider
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next          TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT
);
CREATE INDEX sso_logins_expiry ON sso_logins(expires_at);

CREATE TABLE sso_identities (
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_at      BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX sso_identities_user ON sso_identities(user_id);

ALTER TABLE sessions ADD COLUMN sso_workspace_id TEXT;
