-- Share links: a public link to one file or one folder (its files, at any depth), with an
-- expiry (at most 30 days), an optional password (argon2id) and download limit; revocable.
-- Views and downloads are counted.
CREATE TABLE share_links (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    vault_id      TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    file_id       TEXT REFERENCES files(id) ON DELETE CASCADE,
    folder_id     TEXT REFERENCES folders(id) ON DELETE CASCADE,
    token_hash    TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    expires_at    INTEGER NOT NULL,
    max_downloads INTEGER,
    downloads     INTEGER NOT NULL DEFAULT 0,
    views         INTEGER NOT NULL DEFAULT 0,
    created_by    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    CHECK ((file_id IS NULL) <> (folder_id IS NULL))
);
CREATE INDEX share_links_vault ON share_links(vault_id, created_at);
