-- Sign-ups are counted per client address too (a limit against scripted account creation).
ALTER TABLE login_attempts ADD COLUMN kind TEXT NOT NULL DEFAULT 'sign_in';
CREATE INDEX login_attempts_kind_ip ON login_attempts(kind, ip, at);
