-- casebot PostgreSQL schema, version 3: the recurrence index (store/src/recurrence.rs), so that
-- "seen in N other cases" is a lookup. The binary fills it from the existing cases in the same
-- transaction (their JSON is migrated on read, which SQL cannot do).

-- One row per (conclusion, case): a conclusion is a device's top root cause and subject.
CREATE TABLE recurrence (
    conclusion text NOT NULL,
    created_at bigint NOT NULL,
    case_id text NOT NULL,
    PRIMARY KEY (conclusion, case_id)
);
CREATE INDEX recurrence_recent ON recurrence (conclusion, created_at, case_id);

-- Cases per conclusion, kept with the rows above.
CREATE TABLE recurrence_counts (
    conclusion text PRIMARY KEY,
    cases bigint NOT NULL
);
