-- Mailed links for signing in without a password ('magic'), for resetting a forgotten
-- password ('reset') and for confirming a new email address ('email', which carries the new
-- address), besides sign-up's. SQLite cannot change a CHECK: the table is made again.
CREATE TABLE login_tokens_new (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('confirm', 'unlock', 'existing', 'magic', 'reset', 'email')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    new_email  TEXT
);
INSERT INTO login_tokens_new (id, user_id, token_hash, purpose, created_at, expires_at, used_at)
    SELECT id, user_id, token_hash, purpose, created_at, expires_at, used_at FROM login_tokens;
DROP TABLE login_tokens;
ALTER TABLE login_tokens_new RENAME TO login_tokens;
CREATE INDEX login_tokens_user ON login_tokens(user_id, purpose, created_at);

-- Link requests are counted per client address (kind 'link' in login_attempts).
