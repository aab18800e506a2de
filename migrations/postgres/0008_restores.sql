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
    days              BIGINT NOT NULL,             -- how long restored copies stay
    label             TEXT NOT NULL,                -- what was asked for, in words
    files             BIGINT NOT NULL DEFAULT 0,
    bytes             BIGINT NOT NULL DEFAULT 0,
    estimate_micros   BIGINT NOT NULL DEFAULT 0,   -- cost estimated before confirming
    estimate_ready_at BIGINT NOT NULL,             -- latest ready-by of the estimate
    requested_at      BIGINT NOT NULL,
    ready_at          BIGINT,                      -- when the last file became ready
    notified_at       BIGINT,                      -- notification and mail sent
    adding            BIGINT NOT NULL DEFAULT 1     -- files are still being added (a job)
);
CREATE INDEX restore_requests_ws ON restore_requests(workspace_id, requested_at);

CREATE TABLE restores (
    id              TEXT PRIMARY KEY,
    request_id      TEXT NOT NULL REFERENCES restore_requests(id) ON DELETE CASCADE,
    file_id         TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    s3_key          TEXT NOT NULL,
    storage_class   TEXT NOT NULL,
    size            BIGINT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('requested', 'in_progress', 'ready', 'expired', 'failed')),
    sent_at         BIGINT,                        -- RestoreObject accepted
    ready_at        BIGINT,
    expires_at      BIGINT,
    next_check_at   BIGINT NOT NULL,               -- when the worker looks next
    checks          BIGINT NOT NULL DEFAULT 0,
    error           TEXT,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX restores_request ON restores(request_id, state);
CREATE INDEX restores_file ON restores(file_id);
-- The worker's queues: due rows of one state, in order.
CREATE INDEX restores_due ON restores(state, next_check_at);
-- At most one live request per file: a repeat joins the one in flight.
CREATE UNIQUE INDEX restores_live ON restores(file_id) WHERE state IN ('requested', 'in_progress');

ALTER TABLE files ADD COLUMN restored_until BIGINT;

-- In-app notifications.
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    link       TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    read_at    BIGINT
);
CREATE INDEX notifications_user ON notifications(user_id, created_at);

-- Mail waits here until the mailer sends it (over SMTP when configured; in development it
-- stays, and the outbox page shows each person their own).
CREATE TABLE mail_outbox (
    id         TEXT PRIMARY KEY,
    to_addr    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at    BIGINT,
    attempts   BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX mail_outbox_unsent ON mail_outbox(created_at) WHERE sent_at IS NULL;
CREATE INDEX mail_outbox_to ON mail_outbox(to_addr, created_at);
