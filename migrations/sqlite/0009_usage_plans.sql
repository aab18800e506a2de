-- Plans, and what each workspace is on. Billing (Stripe) fills the subscription columns; with
-- billing off every workspace is on the plan NEXUS_DEFAULT_PLAN names.
CREATE TABLE plans (
    id                      TEXT PRIMARY KEY,     -- 'free', 'plus', 'pro'
    name                    TEXT NOT NULL,
    position                INTEGER NOT NULL,     -- order on the billing page
    monthly_micros          INTEGER NOT NULL,     -- price per month
    included_gb             INTEGER NOT NULL,     -- storage included (GB = 2^30 bytes)
    overage_micros_gb_month INTEGER NOT NULL,     -- beyond it; 0: the quota is a hard limit
    allowed_classes         TEXT NOT NULL,        -- comma-separated storage classes
    allowed_tiers           TEXT NOT NULL,        -- comma-separated restore tiers
    seats                   INTEGER NOT NULL,
    api_access              INTEGER NOT NULL,     -- 0/1
    trial_days              INTEGER NOT NULL      -- on the first paid plan
);
INSERT INTO plans VALUES ('free', 'Free', 1, 0, 10, 0,
    'STANDARD,STANDARD_IA,GLACIER_IR,GLACIER,DEEP_ARCHIVE', 'Standard,Bulk', 1, 0, 0);
INSERT INTO plans VALUES ('plus', 'Plus', 2, 6000000, 1024, 6000,
    'STANDARD,STANDARD_IA,GLACIER_IR,GLACIER,DEEP_ARCHIVE', 'Expedited,Standard,Bulk', 3, 1, 14);
INSERT INTO plans VALUES ('pro', 'Pro', 3, 20000000, 5120, 4000,
    'STANDARD,STANDARD_IA,GLACIER_IR,GLACIER,DEEP_ARCHIVE', 'Expedited,Standard,Bulk', 10, 1, 14);

-- A workspace's subscription (billing fills it in from Stripe's webhooks). No row, or a
-- status other than trialing/active/past_due: the default plan.
CREATE TABLE subscriptions (
    workspace_id           TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    plan_id                TEXT NOT NULL REFERENCES plans(id),
    status                 TEXT NOT NULL,        -- trialing, active, past_due, canceled
    stripe_customer_id     TEXT,
    stripe_subscription_id TEXT,
    trial_end              INTEGER,
    current_period_end     INTEGER,
    cancel_at_period_end   INTEGER NOT NULL DEFAULT 0,
    payment_failed_at      INTEGER,                 -- unsettled failed payment since
    trial_used             INTEGER NOT NULL DEFAULT 0,
    started_at             INTEGER,                 -- the subscription's start (overage counts from it)
    stripe_event_at        INTEGER,                 -- newest subscription event applied (older ones are stale)
    invoice_event_at       INTEGER,                 -- newest invoice event applied
    updated_at             INTEGER NOT NULL
);
CREATE UNIQUE INDEX subscriptions_customer ON subscriptions(stripe_customer_id);

-- Every Stripe webhook event applied, once (a replay finds its id here).
CREATE TABLE stripe_events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    received_at INTEGER NOT NULL
);

-- Every metered-usage report sent to Stripe (one per workspace and day; the identifier makes
-- a resend harmless on Stripe's side too).
CREATE TABLE meter_reports (
    identifier   TEXT PRIMARY KEY,         -- workspace:day
    workspace_id TEXT NOT NULL,
    day          INTEGER NOT NULL,
    value_cents  INTEGER NOT NULL,
    reported_at  INTEGER,
    error        TEXT
);
CREATE INDEX meter_reports_ws_day ON meter_reports(workspace_id, day);

-- Every change of what a workspace stores, written by triggers on files (so no code path can
-- forget one): +bytes/+1 when an object starts to count, -bytes/-1 when it stops. `leaves` is
-- 1 when the object left its class (deleted, or moved to another class): minimum-duration
-- fees apply from `since` (when it entered the class). The daily roll-up reads one day of
-- these, never all files.
CREATE TABLE usage_changes (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  TEXT NOT NULL,
    vault_id      TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    bytes         INTEGER NOT NULL,
    objects       INTEGER NOT NULL,
    since         INTEGER NOT NULL,
    leaves        INTEGER NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX usage_changes_at ON usage_changes(at);
CREATE INDEX usage_changes_ws ON usage_changes(workspace_id, at);

-- What is stored now counts from the moment this migration runs.
INSERT INTO usage_changes (workspace_id, vault_id, storage_class, bytes, objects, since, leaves, at)
    SELECT workspace_id, vault_id, storage_class, size, 1, class_changed_at, 0,
           CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM files WHERE state <> 'uploading';

CREATE TRIGGER files_usage_insert AFTER INSERT ON files WHEN new.state <> 'uploading' BEGIN
    INSERT INTO usage_changes (workspace_id, vault_id, storage_class, bytes, objects, since, leaves, at)
    VALUES (new.workspace_id, new.vault_id, new.storage_class, new.size, 1, new.class_changed_at, 0,
            CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER files_usage_delete AFTER DELETE ON files WHEN old.state <> 'uploading' BEGIN
    INSERT INTO usage_changes (workspace_id, vault_id, storage_class, bytes, objects, since, leaves, at)
    VALUES (old.workspace_id, old.vault_id, old.storage_class, -old.size, -1, old.class_changed_at, 1,
            CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER files_usage_update AFTER UPDATE OF state, storage_class, size, vault_id ON files
WHEN (old.state <> 'uploading') <> (new.state <> 'uploading')
  OR (new.state <> 'uploading' AND (old.storage_class <> new.storage_class
      OR old.size <> new.size OR old.vault_id <> new.vault_id)) BEGIN
    INSERT INTO usage_changes (workspace_id, vault_id, storage_class, bytes, objects, since, leaves, at)
    SELECT old.workspace_id, old.vault_id, old.storage_class, -old.size, -1, old.class_changed_at,
           CASE WHEN old.storage_class <> new.storage_class THEN 1 ELSE 0 END,
           CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE old.state <> 'uploading';
    INSERT INTO usage_changes (workspace_id, vault_id, storage_class, bytes, objects, since, leaves, at)
    SELECT new.workspace_id, new.vault_id, new.storage_class, new.size, 1, new.class_changed_at, 0,
           CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE new.state <> 'uploading';
END;

-- One row per workspace, vault, class and UTC day (days since 1970-01-01).
CREATE TABLE usage_daily (
    workspace_id     TEXT NOT NULL,
    vault_id         TEXT NOT NULL,
    storage_class    TEXT NOT NULL,
    day              INTEGER NOT NULL,
    bytes_end        INTEGER NOT NULL,   -- stored at the end of the day
    objects_end      INTEGER NOT NULL,
    billable_end     INTEGER NOT NULL,   -- bytes billed at the class's price (minimums, index)
    standard_end     INTEGER NOT NULL,   -- bytes billed at Standard's price (per-object metadata)
    byte_hours       INTEGER NOT NULL,   -- bytes × hours stored that day
    cost_micros      INTEGER NOT NULL,   -- storage, with minimum billable size and overheads
    early_fee_micros INTEGER NOT NULL,   -- minimum-duration fees of objects that left
    PRIMARY KEY (workspace_id, day, vault_id, storage_class)
);
CREATE INDEX usage_daily_day ON usage_daily(day);
-- The days rolled up so far.
CREATE TABLE usage_rollups (
    day     INTEGER PRIMARY KEY,
    done_at INTEGER NOT NULL
);

-- Retrievals (restores) and their cost, as they happen.
CREATE TABLE usage_events (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    vault_id      TEXT NOT NULL,
    kind          TEXT NOT NULL,         -- 'retrieval'
    storage_class TEXT NOT NULL,
    tier          TEXT NOT NULL,
    bytes         INTEGER NOT NULL,
    requests      INTEGER NOT NULL,
    cost_micros   INTEGER NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX usage_events_ws ON usage_events(workspace_id, at);
