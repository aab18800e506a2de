-- Which notifications a person also wants by mail (a row turns one kind's mail off or on;
-- no row: the default, on).
CREATE TABLE notification_prefs (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,
    mail    BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- An account deleted by its owner keeps its row (files it uploaded to a team stay the
-- team's and name it) with the address and password gone.
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
