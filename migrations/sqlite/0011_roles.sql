-- Two more roles (v1.1): `supervisor` (what a viewer may, plus the floor) and `integration`
-- (a billing or CRM system). SQLite cannot change a CHECK in place, so the table is rebuilt;
-- no other table refers to it.
ALTER TABLE tokens RENAME TO tokens_before_roles;

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'lead', 'agent', 'viewer', 'supervisor', 'integration')),
    secret_hash  TEXT    NOT NULL UNIQUE,
    agent_id     INTEGER REFERENCES agents (id),
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    expires_at   INTEGER,
    CHECK ((role = 'agent') = (agent_id IS NOT NULL))
);

INSERT INTO tokens (id, name, role, secret_hash, agent_id, created_at, revoked_at, expires_at)
    SELECT id, name, role, secret_hash, agent_id, created_at, revoked_at, expires_at
    FROM tokens_before_roles;

DROP TABLE tokens_before_roles;
