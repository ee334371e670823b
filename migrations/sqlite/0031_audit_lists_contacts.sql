-- Lists (switched on and off, their untouched contacts removed), contacts (edited) and
-- conversions (a billing file uploaded) are audited, so the audit's entity list gains `list`,
-- `contact` and `conversion`. SQLite cannot change a CHECK in place, so the audit table is
-- rebuilt (nothing refers to it).
ALTER TABLE audit RENAME TO audit_before_lists;

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT    NOT NULL,
    actor_role  TEXT    NOT NULL,
    entity      TEXT    NOT NULL CHECK (entity IN ('campaign', 'script', 'offer', 'agent', 'token', 'target', 'dnc', 'callback', 'call', 'pause_reason', 'follow_up', 'webhook', 'segment', 'list', 'contact', 'conversion')),
    entity_id   TEXT    NOT NULL,
    action      TEXT    NOT NULL CHECK (action IN ('create', 'update', 'start', 'pause', 'resume', 'stop', 'delete', 'revoke', 'rotate', 'list', 'unlist', 'import', 'cancel', 'release', 'set_state', 'retry')),
    before      TEXT,
    after       TEXT
);

INSERT INTO audit (id, at, actor_id, actor_name, actor_role, entity, entity_id, action, before, after)
    SELECT id, at, actor_id, actor_name, actor_role, entity, entity_id, action, before, after
    FROM audit_before_lists;

DROP TABLE audit_before_lists;
CREATE INDEX audit_entity ON audit (entity, entity_id, id);
CREATE INDEX audit_actor ON audit (actor_name, id);
