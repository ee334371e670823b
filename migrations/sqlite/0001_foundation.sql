-- People, tokens, offers and scripts. Instants are epoch milliseconds (INTEGER) on both backends.
CREATE TABLE agents (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    team        TEXT,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'lead', 'agent', 'viewer')),
    secret_hash  TEXT    NOT NULL UNIQUE,
    agent_id     INTEGER REFERENCES agents (id),
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    CHECK ((role = 'agent') = (agent_id IS NOT NULL))
);

CREATE TABLE offers (
    id           INTEGER PRIMARY KEY,
    code         TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    description  TEXT,
    created_at   INTEGER NOT NULL
);

CREATE TABLE scripts (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE script_versions (
    script_id    INTEGER NOT NULL REFERENCES scripts (id),
    version      INTEGER NOT NULL,
    body         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (script_id, version)
);

-- Answers already given for an Idempotency-Key, kept until expires_at.
CREATE TABLE idempotency (
    token_id     INTEGER NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (token_id, key)
);
CREATE INDEX idempotency_expires ON idempotency (expires_at);

-- What the background maintenance sweep did, so operators (and tests) can see it ran.
CREATE TABLE maintenance_runs (
    id           INTEGER PRIMARY KEY,
    task         TEXT    NOT NULL,
    ran_at       INTEGER NOT NULL,
    affected     INTEGER NOT NULL
);
