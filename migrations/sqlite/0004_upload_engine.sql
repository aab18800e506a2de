-- The upload engine: folders, per-vault upload rules, per-part bookkeeping (declared
-- checksum, ETag, how many times the part was stored), resume details, and durable jobs.
CREATE TABLE folders (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    vault_id     TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    parent_id    TEXT REFERENCES folders(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    path         TEXT NOT NULL,                  -- 'a/b/c', the names from the vault's root
    created_by   TEXT NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    UNIQUE (vault_id, path)
);
CREATE INDEX folders_parent ON folders(vault_id, parent_id, name);

ALTER TABLE files ADD COLUMN folder_id TEXT REFERENCES folders(id) ON DELETE CASCADE;
CREATE INDEX files_folder_sha ON files(vault_id, folder_id, sha256);
CREATE INDEX files_folder_name ON files(vault_id, folder_id, name);

-- Upload rules: '' allows every type; NULL max size means S3's own limit (5 TiB).
ALTER TABLE vaults ADD COLUMN allowed_types TEXT NOT NULL DEFAULT '';
ALTER TABLE vaults ADD COLUMN max_file_size INTEGER;

-- What a browser needs to find its upload again after a reload.
ALTER TABLE uploads ADD COLUMN last_modified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN folder_path TEXT NOT NULL DEFAULT '';
ALTER TABLE uploads ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE uploads SET updated_at = created_at;

-- Parts are recorded as they are signed (the checksum the browser declared, which S3 then
-- verifies) and as they are stored (ETag, and a count that shows any part sent twice).
CREATE TABLE upload_parts_v2 (
    upload_id   TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT,                            -- base64, as S3's x-amz-checksum-sha256
    etag        TEXT,
    put_count   INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    stored_at   INTEGER,
    PRIMARY KEY (upload_id, part_number)
);
INSERT INTO upload_parts_v2 (upload_id, part_number, size, etag, put_count, created_at, stored_at)
    SELECT upload_id, part_number, size, etag, 1, created_at, created_at FROM upload_parts;
DROP TABLE upload_parts;
ALTER TABLE upload_parts_v2 RENAME TO upload_parts;

-- Durable background work: at least once, leased, retried with backoff. A job with a
-- dedupe_key exists at most once (periodic jobs reschedule themselves in place).
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    dedupe_key   TEXT UNIQUE,
    payload      TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'failed')),
    run_at       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 10,
    locked_until INTEGER,
    locked_by    TEXT,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs(state, run_at);
