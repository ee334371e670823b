-- Open callbacks (due or waiting) for the leads' list and an agent's own, each filter a range
-- scan of its own partial index in id order (the list's keyset order).
CREATE INDEX cc_open_callbacks ON campaign_contacts (id) WHERE is_callback AND state IN ('scheduled', 'ready');
CREATE INDEX cc_open_callbacks_by_agent ON campaign_contacts (reserved_for, id) WHERE is_callback AND state IN ('scheduled', 'ready');
CREATE INDEX cc_open_callbacks_by_campaign ON campaign_contacts (campaign_id, id) WHERE is_callback AND state IN ('scheduled', 'ready');

-- The floor's changes are audited: callbacks reassigned, moved or cancelled, calls released by a
-- supervisor, agents' states set for them, pause reasons. SQLite cannot change a CHECK in place,
-- so the table is rebuilt; no other table refers to it.
ALTER TABLE audit RENAME TO audit_before_floor;

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT    NOT NULL,
    actor_role  TEXT    NOT NULL,
    entity      TEXT    NOT NULL CHECK (entity IN ('campaign', 'script', 'offer', 'agent', 'token', 'target', 'dnc', 'callback', 'call', 'pause_reason')),
    entity_id   TEXT    NOT NULL,
    action      TEXT    NOT NULL CHECK (action IN ('create', 'update', 'start', 'pause', 'resume', 'stop', 'delete', 'revoke', 'rotate', 'list', 'unlist', 'import', 'cancel', 'release', 'set_state')),
    before      TEXT,
    after       TEXT
);

INSERT INTO audit (id, at, actor_id, actor_name, actor_role, entity, entity_id, action, before, after)
    SELECT id, at, actor_id, actor_name, actor_role, entity, entity_id, action, before, after
    FROM audit_before_floor;

DROP TABLE audit_before_floor;
CREATE INDEX audit_entity ON audit (entity, entity_id, id);
CREATE INDEX audit_actor ON audit (actor_name, id);
