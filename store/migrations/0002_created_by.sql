-- casebot PostgreSQL schema, version 2: the case a message created, so that a message redelivered
-- after a crash between the case's creation and the reply finds its case.
ALTER TABLE processed ADD COLUMN case_id text;
