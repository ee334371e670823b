-- Who changed what: every change made through the API, with the values before and after,
-- written in the transaction of the change itself (so a change and its record commit together).
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT    NOT NULL,
    actor_role  TEXT    NOT NULL,
    entity      TEXT    NOT NULL CHECK (entity IN ('campaign', 'script', 'offer', 'agent', 'token', 'target', 'dnc')),
    entity_id   TEXT    NOT NULL,
    action      TEXT    NOT NULL CHECK (action IN ('create', 'update', 'start', 'pause', 'resume', 'stop', 'delete', 'revoke', 'rotate', 'list', 'unlist', 'import')),
    before      TEXT,
    after       TEXT
);
CREATE INDEX audit_entity ON audit (entity, entity_id, id);
CREATE INDEX audit_actor ON audit (actor_name, id);

-- Tokens may expire.
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;

-- A phone's listings that were removed: the removal keeps the listing's story.
CREATE TABLE dnc_history (
    id              INTEGER PRIMARY KEY,
    phone           TEXT    NOT NULL,
    reason          TEXT,
    added_by        TEXT    NOT NULL,
    added_at        INTEGER NOT NULL,
    removed_by      TEXT    NOT NULL,
    removed_at      INTEGER NOT NULL,
    removal_reason  TEXT    NOT NULL
);
CREATE INDEX dnc_history_phone ON dnc_history (phone, id);
