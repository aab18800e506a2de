-- Restores: one row per object brought back from GLACIER / DEEP_ARCHIVE, grouped in the
-- request a person made (restore_requests). The worker sends RestoreObject (state
-- 'requested' → 'in_progress'), polls HeadObject with backoff until the copy is there
-- ('ready'), and marks it 'expired' when its days are over ('failed' keeps the reason).
CREATE TABLE restore_requests (
    id                TEXT PRIMARY KEY,
    workspace_id      TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    vault_id          TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tier              TEXT NOT NULL,                -- Expedited, Standard, Bulk
    days              INTEGER NOT NULL,             -- how long restored copies stay
    label             TEXT NOT NULL,                -- what was asked for, in words
    files             INTEGER NOT NULL DEFAULT 0,
    bytes             INTEGER NOT NULL DEFAULT 0,
    estimate_micros   INTEGER NOT NULL DEFAULT 0,   -- cost estimated before confirming
    estimate_ready_at INTEGER NOT NULL,             -- latest ready-by of the estimate
    requested_at      INTEGER NOT NULL,
    ready_at          INTEGER,                      -- when the last file became ready
    notified_at       INTEGER,                      -- notification and mail sent
    adding            INTEGER NOT NULL DEFAULT 1     -- files are still being added (a job)
);
CREATE INDEX restore_requests_ws ON restore_requests(workspace_id, requested_at);

CREATE TABLE restores (
    id              TEXT PRIMARY KEY,
    request_id      TEXT NOT NULL REFERENCES restore_requests(id) ON DELETE CASCADE,
    file_id         TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    s3_key          TEXT NOT NULL,
    storage_class   TEXT NOT NULL,
    size            INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('requested', 'in_progress', 'ready', 'expired', 'failed')),
    sent_at         INTEGER,                        -- RestoreObject accepted
    ready_at        INTEGER,
    expires_at      INTEGER,
    next_check_at   INTEGER NOT NULL,               -- when the worker looks next
    checks          INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX restores_request ON restores(request_id, state);
CREATE INDEX restores_file ON restores(file_id);
-- The worker's queues: due rows of one state, in order.
CREATE INDEX restores_due ON restores(state, next_check_at);
-- At most one live request per file: a repeat joins the one in flight.
CREATE UNIQUE INDEX restores_live ON restores(file_id) WHERE state IN ('requested', 'in_progress');

ALTER TABLE files ADD COLUMN restored_until INTEGER;

-- In-app notifications.
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    link       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    read_at    INTEGER
);
CREATE INDEX notifications_user ON notifications(user_id, created_at);

-- Mail waits here until the mailer sends it (over SMTP when configured; in development it
-- stays, and the outbox page shows each person their own).
CREATE TABLE mail_outbox (
    id         TEXT PRIMARY KEY,
    to_addr    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at    INTEGER,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX mail_outbox_unsent ON mail_outbox(created_at) WHERE sent_at IS NULL;
CREATE INDEX mail_outbox_to ON mail_outbox(to_addr, created_at);
