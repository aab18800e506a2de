-- The status page's history: a component (database, storage, jobs, mail, stripe) that the
-- periodic check found degraded or down, from when until when (ended_at NULL: still open).
CREATE TABLE status_incidents (
    id         TEXT PRIMARY KEY,
    component  TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('degraded', 'down')),
    detail     TEXT NOT NULL DEFAULT '',
    started_at BIGINT NOT NULL,
    ended_at   BIGINT
);
CREATE INDEX status_incidents_started ON status_incidents(started_at);
CREATE INDEX status_incidents_open ON status_incidents(component) WHERE ended_at IS NULL;
