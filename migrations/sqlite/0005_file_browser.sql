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
ALTER TABLE vaults ADD COLUMN deleted_at INTEGER;

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
    at         INTEGER NOT NULL,
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
    storage_micros_gb_month    INTEGER NOT NULL,  -- per GB-month (GB = 2^30 bytes, as AWS bills)
    min_storage_days           INTEGER NOT NULL,  -- deleting or moving earlier bills the rest
    min_billable_bytes         INTEGER NOT NULL,  -- smaller objects bill as this size
    overhead_class_bytes       INTEGER NOT NULL,  -- per-object index billed at this class
    overhead_standard_bytes    INTEGER NOT NULL,  -- per-object metadata billed at Standard
    sort_order                 INTEGER NOT NULL
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
    total        INTEGER NOT NULL,
    done         INTEGER NOT NULL DEFAULT 0,
    cursor       TEXT NOT NULL DEFAULT '',       -- last file id handled (ids are ordered)
    state        TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'failed')),
    error        TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX bulk_ops_user ON bulk_ops(user_id, created_at);

-- Name search: FTS5 with the trigram tokenizer finds any substring of 3+ characters,
-- case-insensitively. file_search gives each file a stable integer for the FTS rowid (a
-- table's own rowid may change on VACUUM); triggers keep both in step with files.
CREATE TABLE file_search (
    seq     INTEGER PRIMARY KEY,
    file_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE files_fts USING fts5(name, tokenize = 'trigram');
INSERT INTO file_search (file_id) SELECT id FROM files;
INSERT INTO files_fts (rowid, name) SELECT s.seq, f.name FROM file_search s JOIN files f ON f.id = s.file_id;
CREATE TRIGGER files_search_insert AFTER INSERT ON files BEGIN
    INSERT INTO file_search (file_id) VALUES (new.id);
    INSERT INTO files_fts (rowid, name) SELECT seq, new.name FROM file_search WHERE file_id = new.id;
END;
CREATE TRIGGER files_search_rename AFTER UPDATE OF name ON files WHEN new.name <> old.name BEGIN
    UPDATE files_fts SET name = new.name WHERE rowid = (SELECT seq FROM file_search WHERE file_id = new.id);
END;
CREATE TRIGGER files_search_delete AFTER DELETE ON files BEGIN
    DELETE FROM files_fts WHERE rowid = (SELECT seq FROM file_search WHERE file_id = old.id);
    DELETE FROM file_search WHERE file_id = old.id;
END;

-- Vault totals per storage class, kept by triggers so a vault of a million files shows its
-- count and size without reading them. A file counts when it is live: uploaded and not in
-- the trash.
CREATE TABLE vault_stats (
    vault_id      TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    storage_class TEXT NOT NULL,
    file_count    INTEGER NOT NULL DEFAULT 0,
    bytes         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (vault_id, storage_class)
);
INSERT INTO vault_stats (vault_id, storage_class, file_count, bytes)
    SELECT vault_id, storage_class, COUNT(*), SUM(size) FROM files
    WHERE state <> 'uploading' AND deleted_at IS NULL GROUP BY vault_id, storage_class;
CREATE TRIGGER files_stats_insert AFTER INSERT ON files
WHEN new.state <> 'uploading' AND new.deleted_at IS NULL BEGIN
    INSERT INTO vault_stats (vault_id, storage_class, file_count, bytes)
        VALUES (new.vault_id, new.storage_class, 1, new.size)
        ON CONFLICT (vault_id, storage_class) DO UPDATE
        SET file_count = file_count + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER files_stats_delete AFTER DELETE ON files
WHEN old.state <> 'uploading' AND old.deleted_at IS NULL BEGIN
    UPDATE vault_stats SET file_count = file_count - 1, bytes = bytes - old.size
        WHERE vault_id = old.vault_id AND storage_class = old.storage_class;
END;
CREATE TRIGGER files_stats_update_old AFTER UPDATE OF state, deleted_at, storage_class, size, vault_id ON files
WHEN old.state <> 'uploading' AND old.deleted_at IS NULL BEGIN
    UPDATE vault_stats SET file_count = file_count - 1, bytes = bytes - old.size
        WHERE vault_id = old.vault_id AND storage_class = old.storage_class;
END;
CREATE TRIGGER files_stats_update_new AFTER UPDATE OF state, deleted_at, storage_class, size, vault_id ON files
WHEN new.state <> 'uploading' AND new.deleted_at IS NULL BEGIN
    INSERT INTO vault_stats (vault_id, storage_class, file_count, bytes)
        VALUES (new.vault_id, new.storage_class, 1, new.size)
        ON CONFLICT (vault_id, storage_class) DO UPDATE
        SET file_count = file_count + 1, bytes = bytes + excluded.bytes;
END;
