-- Mailed links for signing in without a password ('magic'), for resetting a forgotten
-- password ('reset') and for confirming a new email address ('email', which carries the new
-- address), besides sign-up's.
ALTER TABLE login_tokens DROP CONSTRAINT login_tokens_purpose_check;
ALTER TABLE login_tokens ADD CONSTRAINT login_tokens_purpose_check
    CHECK (purpose IN ('confirm', 'unlock', 'existing', 'magic', 'reset', 'email'));
ALTER TABLE login_tokens ADD COLUMN new_email TEXT;

-- Link requests are counted per client address (kind 'link' in login_attempts).
