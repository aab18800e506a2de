-- Plans, and what each workspace is on. Billing (Stripe) fills the subscription columns; with
-- billing off every workspace is on the plan NEXUS_DEFAULT_PLAN names.
CREATE TABLE plans (
    id                      TEXT PRIMARY KEY,     -- 'free', 'plus', 'pro'
    name                    TEXT NOT NULL,
    position                BIGINT NOT NULL,     -- order on the billing page
    monthly_micros          BIGINT NOT NULL,     -- price per month
    included_gb             BIGINT NOT NULL,     -- storage included (GB = 2^30 bytes)
    overage_micros_gb_month BIGINT NOT NULL,     -- beyond it; 0: the quota is a hard limit
    allowed_classes         TEXT NOT NULL,        -- comma-separated storage classes
    allowed_tiers           TEXT NOT NULL,        -- comma-separated restore tiers
    seats                   BIGINT NOT NULL,
    api_access              BIGINT NOT NULL,     -- 0/1
    trial_days              BIGINT NOT NULL      -- on the first paid plan
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
    trial_end              BIGINT,
    current_period_end     BIGINT,
    cancel_at_period_end   BIGINT NOT NULL DEFAULT 0,
    payment_failed_at      BIGINT,                 -- unsettled failed payment since
    trial_used             BIGINT NOT NULL DEFAULT 0,
    started_at             BIGINT,                 -- the subscription's start (overage counts from it)
    stripe_event_at        BIGINT,                 -- newest subscription event applied (older ones are stale)
    invoice_event_at       BIGINT,                 -- newest invoice event applied
    updated_at             BIGINT NOT NULL
);
CREATE UNIQUE INDEX subscriptions_customer ON subscriptions(stripe_customer_id);

-- Every Stripe webhook event applied, once (a replay finds its id here).
CREATE TABLE stripe_events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

-- Every metered-usage report sent to Stripe (one per workspace and day; the identifier makes
-- a resend harmless on Stripe's side too).
CREATE TABLE meter_reports (
    identifier   TEXT PRIMARY KEY,         -- workspace:day
    workspace_id TEXT NOT NULL,
    day          BIGINT NOT NULL,
    value_cents  BIGINT NOT NULL,
    reported_at  BIGINT,
    error        TEXT
);
CREATE INDEX meter_reports_ws_day ON meter_reports(workspace_id, day);

-- Every change of what a workspace stores, written by triggers on files (so no code path can
-- forget one): +bytes/+1 when an object starts to count, -bytes/-1 when it stops. `leaves` is
-- 1 when the object left its class (deleted, or moved to another class): minimum-duration
-- fees apply from `since` (when it entered the class). The daily roll-up reads one day of
-- these, never all files.
CREATE TABLE usage_changes (
    seq           BIGSERIAL PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    vault_id      TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    bytes         BIGINT NOT NULL,
    objects       BIGINT NOT NULL,
    since         BIGINT NOT NULL,
    leaves        BIGINT NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX usage_changes_at ON usage_changes(at);
CREATE INDEX usage_changes_ws ON usage_changes(workspace_id, at);

-- What is stored now counts from the moment this migration runs.
INSERT INTO usage_changes (workspace_id, vault_id, storage_class, bytes, objects, since, leaves, at)
    SELECT workspace_id, vault_id, storage_class, size, 1, class_changed_at, 0,
           CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)
    FROM files WHERE state <> 'uploading';

CREATE FUNCTION files_usage() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    now_ms BIGINT := CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT);
    old_counts BOOLEAN := FALSE;
    new_counts BOOLEAN := FALSE;
    leaves BIGINT := 0;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        old_counts := OLD.state <> 'uploading';
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        new_counts := NEW.state <> 'uploading';
    END IF;
    IF TG_OP = 'DELETE' THEN
        leaves := 1;
    ELSIF TG_OP = 'UPDATE' THEN
        IF old_counts = new_counts AND (NOT new_counts OR (OLD.storage_class = NEW.storage_class
            AND OLD.size = NEW.size AND OLD.vault_id = NEW.vault_id)) THEN
            RETURN NULL;
        END IF;
        IF OLD.storage_class <> NEW.storage_class THEN
            leaves := 1;
        END IF;
    END IF;
    IF old_counts THEN
        INSERT INTO usage_changes (workspace_id, vault_id, storage_class, bytes, objects, since, leaves, at)
        VALUES (OLD.workspace_id, OLD.vault_id, OLD.storage_class, -OLD.size, -1, OLD.class_changed_at,
                leaves, now_ms);
    END IF;
    IF new_counts THEN
        INSERT INTO usage_changes (workspace_id, vault_id, storage_class, bytes, objects, since, leaves, at)
        VALUES (NEW.workspace_id, NEW.vault_id, NEW.storage_class, NEW.size, 1, NEW.class_changed_at, 0, now_ms);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER files_usage AFTER INSERT OR DELETE OR UPDATE OF state, storage_class, size, vault_id
    ON files FOR EACH ROW EXECUTE FUNCTION files_usage();

-- One row per workspace, vault, class and UTC day (days since 1970-01-01).
CREATE TABLE usage_daily (
    workspace_id     TEXT NOT NULL,
    vault_id         TEXT NOT NULL,
    storage_class    TEXT NOT NULL,
    day              BIGINT NOT NULL,
    bytes_end        BIGINT NOT NULL,   -- stored at the end of the day
    objects_end      BIGINT NOT NULL,
    billable_end     BIGINT NOT NULL,   -- bytes billed at the class's price (minimums, index)
    standard_end     BIGINT NOT NULL,   -- bytes billed at Standard's price (per-object metadata)
    byte_hours       BIGINT NOT NULL,   -- bytes × hours stored that day
    cost_micros      BIGINT NOT NULL,   -- storage, with minimum billable size and overheads
    early_fee_micros BIGINT NOT NULL,   -- minimum-duration fees of objects that left
    PRIMARY KEY (workspace_id, day, vault_id, storage_class)
);
CREATE INDEX usage_daily_day ON usage_daily(day);
-- The days rolled up so far.
CREATE TABLE usage_rollups (
    day     BIGINT PRIMARY KEY,
    done_at BIGINT NOT NULL
);

-- Retrievals (restores) and their cost, as they happen.
CREATE TABLE usage_events (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    vault_id      TEXT NOT NULL,
    kind          TEXT NOT NULL,         -- 'retrieval'
    storage_class TEXT NOT NULL,
    tier          TEXT NOT NULL,
    bytes         BIGINT NOT NULL,
    requests      BIGINT NOT NULL,
    cost_micros   BIGINT NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX usage_events_ws ON usage_events(workspace_id, at);
