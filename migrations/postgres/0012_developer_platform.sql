-- The developer platform: API keys, idempotent POSTs, outbound webhooks.

-- A key acts for its workspace with exactly its scopes (space-separated), optionally in one
-- vault only. Only the secret's SHA-256 is kept (the secret is 256 random bits: a slow hash
-- buys nothing, and every API call checks one). A rotated key keeps working until its
-- expires_at (the grace period); a revoked one stops at once.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_by   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    vault_id     TEXT REFERENCES vaults(id) ON DELETE CASCADE,
    expires_at   BIGINT,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    last_used_ip TEXT,
    revoked_at   BIGINT,
    replaced_by  TEXT
);
CREATE INDEX api_keys_workspace ON api_keys(workspace_id, created_at);

-- The first answer to a POST with an Idempotency-Key, replayed to its retries (24 hours).
-- status 0: the first request is still running.
CREATE TABLE idempotency_keys (
    key_id       TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       BIGINT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (key_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

-- Where a workspace wants its events, and which ones. The signing secret is kept as is: the
-- server signs every delivery with it.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_by      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,
    secret          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    failing_since   BIGINT,
    disabled_at     BIGINT,
    disabled_reason TEXT
);
CREATE INDEX webhook_endpoints_workspace ON webhook_endpoints(workspace_id);

-- An event as sent (its payload is fixed when it happens).
CREATE TABLE webhook_events (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    type         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- One event to one endpoint: sent by the webhooks job when due (next_at), retried with
-- backoff for 3 days; locked_until keeps two workers from sending it at once.
CREATE TABLE webhook_deliveries (
    id           TEXT PRIMARY KEY,
    endpoint_id  TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id     TEXT NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    last_status  BIGINT,
    last_error   TEXT,
    last_at      BIGINT,
    next_at      BIGINT,
    locked_until BIGINT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, created_at);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at) WHERE state = 'pending';
