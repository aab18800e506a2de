-- Teams: the workspace a session is working in (chosen with the header's switcher; NULL:
-- the person's own), and invitations by email with an expiring single-use link.
ALTER TABLE sessions ADD COLUMN workspace_id TEXT;

CREATE TABLE invites (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email        TEXT NOT NULL,                 -- lower-cased, as users.email
    role         TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    token_hash   TEXT NOT NULL UNIQUE,          -- sha256 of the link's token
    invited_by   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    accepted_at  BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX invites_workspace ON invites(workspace_id, created_at);
