-- The file browser: type categories, trash, thumbnails, history, name search, prices,
-- bulk operations.

-- What kind of file (image, video, audio, document, archive, other): a filter people use,
-- worked out once when the file is made.
ALTER TABLE files ADD COLUMN kind TEXT NOT NULL DEFAULT 'other';
UPDATE files SET kind = CASE
    WHEN content_type LIKE 'image/%' THEN 'image'
    WHEN content_type LIKE 'video/%' THEN 'video'
    WHEN content_type LIKE 'audio/%' THEN 'audio'
    WHEN content_type IN ('application/zip', 'application/x-tar', 'application/gzip',
        'application/x-gzip', 'application/x-7z-compressed', 'application/vnd.rar',
        'application/x-rar-compressed', 'application/x-bzip2', 'application/x-xz',
        'application/zstd') THEN 'archive'
    WHEN content_type LIKE 'text/%' OR content_type = 'application/pdf'
        OR content_type LIKE 'application/vnd.openxmlformats-officedocument.%'
        OR content_type LIKE 'application/vnd.oasis.opendocument.%'
        OR content_type IN ('application/msword', 'application/vnd.ms-excel',
            'application/vnd.ms-powerpoint', 'application/rtf', 'application/epub+zip',
            'application/json') THEN 'document'
    ELSE 'other' END;

-- Trash: a file in the trash has deleted_at set (its state stays what it was) and keeps the
-- folder path it was deleted from, so restoring puts it back even if the folder went too.
ALTER TABLE files ADD COLUMN trashed_path TEXT;
UPDATE files SET state = 'available', trashed_path = '' WHERE state = 'deleted';
UPDATE files SET trashed_path = '' WHERE deleted_at IS NOT NULL AND trashed_path IS NULL;
ALTER TABLE vaults ADD COLUMN deleted_at BIGINT;

-- A small preview made by the browser at upload time, stored as its own object.
ALTER TABLE files ADD COLUMN thumb_key TEXT;

-- Listing: every sort order is an index walk inside a folder (keyset paging, never OFFSET).
CREATE INDEX files_folder_name_id ON files(vault_id, folder_id, name, id);
CREATE INDEX files_folder_size ON files(vault_id, folder_id, size, id);
CREATE INDEX files_folder_updated ON files(vault_id, folder_id, updated_at, id);
CREATE INDEX files_vault_name ON files(vault_id, name, id);
CREATE INDEX files_trashed ON files(deleted_at);
DROP INDEX files_folder_name;

-- Everything that happened to a file, for its details panel.
CREATE TABLE file_events (
    id         TEXT PRIMARY KEY,
    file_id    TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    actor_id   TEXT,
    kind       TEXT NOT NULL,                    -- uploaded, renamed, moved, class_changed, trashed, restored
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX file_events_file ON file_events(file_id, at);
INSERT INTO file_events (id, file_id, at, actor_id, kind, detail)
    SELECT id || '-up', id, created_at, created_by, 'uploaded', '' FROM files WHERE state <> 'uploading';

-- Prices (us-east-1 list prices, micro-dollars). Estimates are computed from here only.
CREATE TABLE prices (
    storage_class              TEXT PRIMARY KEY,
    storage_micros_gb_month    BIGINT NOT NULL,  -- per GB-month (GB = 2^30 bytes, as AWS bills)
    min_storage_days           BIGINT NOT NULL,  -- deleting or moving earlier bills the rest
    min_billable_bytes         BIGINT NOT NULL,  -- smaller objects bill as this size
    overhead_class_bytes       BIGINT NOT NULL,  -- per-object index billed at this class
    overhead_standard_bytes    BIGINT NOT NULL,  -- per-object metadata billed at Standard
    sort_order                 BIGINT NOT NULL
);
INSERT INTO prices VALUES ('STANDARD',     23000,   0,      0,     0,    0, 1);
INSERT INTO prices VALUES ('STANDARD_IA',  12500,  30, 131072,     0,    0, 2);
INSERT INTO prices VALUES ('GLACIER_IR',    4000,  90, 131072,     0,    0, 3);
INSERT INTO prices VALUES ('GLACIER',       3600,  90,      0, 32768, 8192, 4);
INSERT INTO prices VALUES ('DEEP_ARCHIVE',   990, 180,      0, 32768, 8192, 5);

-- Bulk actions over many files run as jobs; this is their progress.
CREATE TABLE bulk_ops (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    vault_id     TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    action       TEXT NOT NULL,                  -- move, trash
    params       TEXT NOT NULL,                  -- the selection and target, as JSON
    total        BIGINT NOT NULL,
    done         BIGINT NOT NULL DEFAULT 0,
    cursor       TEXT NOT NULL DEFAULT '',       -- last file id handled (ids are ordered)
    state        TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'failed')),
    error        TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX bulk_ops_user ON bulk_ops(user_id, created_at);

-- Name search: trigram indexes find any substring of 3+ characters, case-insensitively.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX files_name_trgm ON files USING gin (lower(name) gin_trgm_ops);

-- Vault totals per storage class, kept by triggers so a vault of a million files shows its
-- count and size without reading them. A file counts when it is live: uploaded and not in
-- the trash.
CREATE TABLE vault_stats (
    vault_id      TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    storage_class TEXT NOT NULL,
    file_count    BIGINT NOT NULL DEFAULT 0,
    bytes         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (vault_id, storage_class)
);
INSERT INTO vault_stats (vault_id, storage_class, file_count, bytes)
    SELECT vault_id, storage_class, COUNT(*), SUM(size) FROM files
    WHERE state <> 'uploading' AND deleted_at IS NULL GROUP BY vault_id, storage_class;
CREATE FUNCTION files_stats() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state <> 'uploading' AND OLD.deleted_at IS NULL THEN
        UPDATE vault_stats SET file_count = file_count - 1, bytes = bytes - OLD.size
            WHERE vault_id = OLD.vault_id AND storage_class = OLD.storage_class;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.state <> 'uploading' AND NEW.deleted_at IS NULL THEN
        INSERT INTO vault_stats (vault_id, storage_class, file_count, bytes)
            VALUES (NEW.vault_id, NEW.storage_class, 1, NEW.size)
            ON CONFLICT (vault_id, storage_class) DO UPDATE
            SET file_count = vault_stats.file_count + 1, bytes = vault_stats.bytes + EXCLUDED.bytes;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER files_stats_write AFTER INSERT OR DELETE ON files
    FOR EACH ROW EXECUTE FUNCTION files_stats();
CREATE TRIGGER files_stats_update AFTER UPDATE OF state, deleted_at, storage_class, size, vault_id ON files
    FOR EACH ROW EXECUTE FUNCTION files_stats();
