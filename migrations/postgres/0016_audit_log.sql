-- The audit log: one row per state change, only ever added (deleted after the retention
-- setting). workspace_id is NULL for account-wide changes (sign-in, password, email).
CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    workspace_id TEXT REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id    TEXT,                              -- kept when the account goes (no FK)
    key_id     TEXT,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    ip         TEXT NOT NULL,
    request_id TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX audit_log_workspace ON audit_log(workspace_id, at);
CREATE INDEX audit_log_user ON audit_log(user_id, at);
CREATE INDEX audit_log_at ON audit_log(at);
