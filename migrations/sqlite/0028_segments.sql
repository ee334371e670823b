-- Saved segments: a name and a filter of the customer base (JSON, as parsed and written back by
-- the server; never SQL). Creating one is audited, so the audit's entity list gains `segment`;
-- SQLite cannot change a CHECK in place, so the audit table is rebuilt (nothing refers to it).
CREATE TABLE segments (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    filter      TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

ALTER TABLE audit RENAME TO audit_before_segments;

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT    NOT NULL,
    actor_role  TEXT    NOT NULL,
    entity      TEXT    NOT NULL CHECK (entity IN ('campaign', 'script', 'offer', 'agent', 'token', 'target', 'dnc', 'callback', 'call', 'pause_reason', 'follow_up', 'webhook', 'segment')),
    entity_id   TEXT    NOT NULL,
    action      TEXT    NOT NULL CHECK (action IN ('create', 'update', 'start', 'pause', 'resume', 'stop', 'delete', 'revoke', 'rotate', 'list', 'unlist', 'import', 'cancel', 'release', 'set_state', 'retry')),
    before      TEXT,
    after       TEXT
);

INSERT INTO audit (id, at, actor_id, actor_name, actor_role, entity, entity_id, action, before, after)
    SELECT id, at, actor_id, actor_name, actor_role, entity, entity_id, action, before, after
    FROM audit_before_segments;

DROP TABLE audit_before_segments;
CREATE INDEX audit_entity ON audit (entity, entity_id, id);
CREATE INDEX audit_actor ON audit (actor_name, id);
