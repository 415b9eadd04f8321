-- casebot PostgreSQL schema, version 4: encryption at rest. One row in an encrypted store: the
-- cipher and a known value sealed with the store key, so a missing or wrong key is told at start.
-- Cases' `doc` and jobs' `entry` then hold {"sealed":"<base64>"}, bundle chunks the sealed file.
CREATE TABLE store_encryption (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    cipher text NOT NULL,
    key_check text NOT NULL
);
