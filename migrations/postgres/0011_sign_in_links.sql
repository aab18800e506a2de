-- Sign-in links sent by mail: to finish signing up (confirming the address), to the owner of
-- an account whose sign-ins are being refused after many failures elsewhere (an unlock), and
-- to the owner of an address someone tried to sign up with. Single use, stored hashed, 15 min.
CREATE TABLE login_tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('confirm', 'unlock', 'existing')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX login_tokens_user ON login_tokens(user_id, purpose, created_at);

-- Addresses an account signed in from: failures from elsewhere never refuse them.
CREATE TABLE known_addresses (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    ip      TEXT NOT NULL,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, ip)
);

-- Sign-in failures are counted per (account, address).
CREATE INDEX login_attempts_email_ip ON login_attempts(email, ip, at);

-- Whether the account's address was confirmed (by the link mailed at sign-up).
ALTER TABLE users ADD COLUMN email_confirmed_at BIGINT;

-- What counts against a plan besides the vaults' totals: uploads under way and the trash,
-- summed per workspace at every upload start (partial indexes: only those rows).
CREATE INDEX files_workspace_uploading ON files(workspace_id) WHERE state = 'uploading';
CREATE INDEX files_workspace_trashed ON files(workspace_id) WHERE deleted_at IS NOT NULL;
