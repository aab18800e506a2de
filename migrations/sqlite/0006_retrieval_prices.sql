-- Retrieval prices and times per storage class and tier (AWS us-east-1 list prices,
-- micro-dollars). Archived classes restore by tier; the others read at once ('Instant').
CREATE TABLE retrieval_prices (
    storage_class            TEXT NOT NULL,
    tier                     TEXT NOT NULL,     -- Expedited, Standard, Bulk, Instant
    micros_per_gb            INTEGER NOT NULL, -- per GB retrieved (GB = 2^30 bytes)
    micros_per_1000_requests INTEGER NOT NULL, -- per 1,000 restore (or GET) requests
    typical_minutes          INTEGER NOT NULL, -- how long it usually takes
    max_minutes              INTEGER NOT NULL, -- what AWS states as the upper bound
    PRIMARY KEY (storage_class, tier)
);
INSERT INTO retrieval_prices VALUES ('STANDARD',     'Instant',         0,       400,    0,    0);
INSERT INTO retrieval_prices VALUES ('STANDARD_IA',  'Instant',     10000,      1000,    0,    0);
INSERT INTO retrieval_prices VALUES ('GLACIER_IR',   'Instant',     30000,     10000,    0,    0);
INSERT INTO retrieval_prices VALUES ('GLACIER',      'Expedited',   30000,  10000000,    3,    5);
INSERT INTO retrieval_prices VALUES ('GLACIER',      'Standard',    10000,     50000,  240,  300);
INSERT INTO retrieval_prices VALUES ('GLACIER',      'Bulk',            0,         0,  480,  720);
INSERT INTO retrieval_prices VALUES ('DEEP_ARCHIVE', 'Standard',    20000,    100000,  720,  720);
INSERT INTO retrieval_prices VALUES ('DEEP_ARCHIVE', 'Bulk',         2500,     25000, 2160, 2880);
