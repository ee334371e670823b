-- Webhooks (issue 28): subscriptions, the outbox each announced event is written to in the
-- transaction of its cause, and one log row per delivery attempt.
CREATE TABLE webhooks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    url           TEXT    NOT NULL,
    secret        TEXT    NOT NULL,
    include_phone BOOLEAN NOT NULL,
    -- The token that created it: an integration token sees only its own webhooks.
    owner_token   INTEGER NOT NULL,
    created_by    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX webhooks_owner ON webhooks (owner_token, id);

-- What each webhook is sent; read by kind in every announcing transaction.
CREATE TABLE webhook_events (
    kind       TEXT    NOT NULL CHECK (kind IN ('outcome', 'conversion', 'dnc', 'consent', 'follow_up', 'campaign')),
    webhook_id INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    PRIMARY KEY (kind, webhook_id)
);
CREATE INDEX webhook_events_by_webhook ON webhook_events (webhook_id);

-- One event for one webhook. `next_at` is when it is due: a claim moves it a lease ahead, so
-- another process takes it only once that lease ran out (at least once, never twice at once).
-- AUTOINCREMENT: the id is the event's `id` receivers de-duplicate by, so an id is never given
-- again after its row is pruned.
CREATE TABLE webhook_outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id   INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('outcome', 'conversion', 'dnc', 'consent', 'follow_up', 'campaign')),
    -- The contact it is about: its later events wait while this one is pending (order per contact).
    contact_id   INTEGER,
    at           INTEGER NOT NULL,
    data         TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_at, id) WHERE state = 'pending';
CREATE INDEX webhook_outbox_contact ON webhook_outbox (webhook_id, contact_id, id) WHERE state = 'pending';
CREATE INDEX webhook_outbox_list ON webhook_outbox (webhook_id, id);
CREATE INDEX webhook_outbox_delivered ON webhook_outbox (delivered_at) WHERE state = 'delivered';

CREATE TABLE webhook_attempts (
    id              INTEGER PRIMARY KEY,
    delivery_id     INTEGER NOT NULL REFERENCES webhook_outbox (id) ON DELETE CASCADE,
    at              INTEGER NOT NULL,
    result          TEXT    NOT NULL CHECK (result IN ('delivered', 'failed')),
    response_code   INTEGER,
    error           TEXT,
    duration_ms     INTEGER NOT NULL,
    next_attempt_at INTEGER
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- Webhooks are audited (created, deleted, a delivery retried). SQLite cannot change a CHECK in
-- place, so the table is rebuilt; no other table refers to it.
ALTER TABLE audit RENAME TO audit_before_webhooks;

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT    NOT NULL,
    actor_role  TEXT    NOT NULL,
    entity      TEXT    NOT NULL CHECK (entity IN ('campaign', 'script', 'offer', 'agent', 'token', 'target', 'dnc', 'callback', 'call', 'pause_reason', 'follow_up', 'webhook')),
    entity_id   TEXT    NOT NULL,
    action      TEXT    NOT NULL CHECK (action IN ('create', 'update', 'start', 'pause', 'resume', 'stop', 'delete', 'revoke', 'rotate', 'list', 'unlist', 'import', 'cancel', 'release', 'set_state', 'retry')),
    before      TEXT,
    after       TEXT
);

INSERT INTO audit (id, at, actor_id, actor_name, actor_role, entity, entity_id, action, before, after)
    SELECT id, at, actor_id, actor_name, actor_role, entity, entity_id, action, before, after
    FROM audit_before_webhooks;

DROP TABLE audit_before_webhooks;
CREATE INDEX audit_entity ON audit (entity, entity_id, id);
CREATE INDEX audit_actor ON audit (actor_name, id);
