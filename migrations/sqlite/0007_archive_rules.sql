-- Archiving rules: per vault, in order; the first rule a file matches decides. A rule moves
-- files older than N days (optionally of a type, at least a size, under a folder) to a colder
-- class; it never warms a file up.
CREATE TABLE archive_rules (
    id              TEXT PRIMARY KEY,
    vault_id        TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    older_than_days INTEGER NOT NULL,
    kind            TEXT NOT NULL DEFAULT '',       -- '' any, else image/video/…
    min_size        INTEGER,                       -- bytes
    folder_path     TEXT NOT NULL DEFAULT '',       -- '' the whole vault
    to_class        TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX archive_rules_vault ON archive_rules(vault_id, position);
