-- Follow-ups resolved or re-opened are audited like every other change. SQLite cannot change a
-- CHECK in place, so the table is rebuilt; no other table refers to it.
ALTER TABLE audit RENAME TO audit_before_follow_ups;

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT    NOT NULL,
    actor_role  TEXT    NOT NULL,
    entity      TEXT    NOT NULL CHECK (entity IN ('campaign', 'script', 'offer', 'agent', 'token', 'target', 'dnc', 'callback', 'call', 'pause_reason', 'follow_up')),
    entity_id   TEXT    NOT NULL,
    action      TEXT    NOT NULL CHECK (action IN ('create', 'update', 'start', 'pause', 'resume', 'stop', 'delete', 'revoke', 'rotate', 'list', 'unlist', 'import', 'cancel', 'release', 'set_state')),
    before      TEXT,
    after       TEXT
);

INSERT INTO audit (id, at, actor_id, actor_name, actor_role, entity, entity_id, action, before, after)
    SELECT id, at, actor_id, actor_name, actor_role, entity, entity_id, action, before, after
    FROM audit_before_follow_ups;

DROP TABLE audit_before_follow_ups;
CREATE INDEX audit_entity ON audit (entity, entity_id, id);
CREATE INDEX audit_actor ON audit (actor_name, id);
