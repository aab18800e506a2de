-- Operators of this instance (the /admin console): set with `server operator <email>`.
ALTER TABLE users ADD COLUMN is_operator INTEGER NOT NULL DEFAULT 0;
