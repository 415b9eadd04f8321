-- casebot PostgreSQL schema, version 1: the records of the embedded store, one table each.
-- Values keep the embedded store's versioned JSON envelopes, migrated on read by the binary.

-- The case-id counter (one row).
CREATE TABLE counter (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    n bigint NOT NULL
);
INSERT INTO counter (n) VALUES (0);

-- Cases. `version` rises by one with every committed change (optimistic concurrency).
CREATE TABLE cases (
    id text PRIMARY KEY,
    created_at bigint NOT NULL,
    version bigint NOT NULL,
    doc jsonb NOT NULL
);
CREATE INDEX cases_created_at ON cases (created_at, id);

-- Message ids already handled (idempotency across processes).
CREATE TABLE processed (
    message_id text PRIMARY KEY,
    at bigint NOT NULL
);
CREATE INDEX processed_at ON processed (at);

-- Chat thread → case.
CREATE TABLE threads (
    thread_id bigint PRIMARY KEY,
    case_id text NOT NULL
);

-- Diagnosis jobs: accepted but unfinished work. A process holds a job while `lease_until`
-- (Unix milliseconds) is in the future; an expired lease lets another process take it over.
CREATE TABLE jobs (
    id text PRIMARY KEY,
    seq bigserial NOT NULL,
    accepted_at bigint NOT NULL,
    entry jsonb NOT NULL,
    lease_owner text,
    lease_until bigint NOT NULL DEFAULT 0
);
CREATE INDEX jobs_order ON jobs (accepted_at, seq);

-- Bundles, content-addressed, stored in the database as 1 MiB chunks.
CREATE TABLE bundles (
    sha256 text PRIMARY KEY,
    bytes bigint NOT NULL,
    chunks integer NOT NULL
);
CREATE TABLE bundle_chunks (
    sha256 text NOT NULL REFERENCES bundles ON DELETE CASCADE,
    n integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (sha256, n)
);
