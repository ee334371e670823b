-- Campaigns, contacts and their place in each campaign, the do-not-call list, imports.
CREATE TABLE campaigns (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL,
    offer_id            INTEGER NOT NULL REFERENCES offers (id),
    script_id           INTEGER NOT NULL REFERENCES scripts (id),
    script_version      INTEGER,
    priority            INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 100),
    timezone            TEXT    NOT NULL,
    calling_windows     TEXT    NOT NULL,
    start_at            INTEGER,
    end_at              INTEGER,
    recurrence          TEXT,
    next_recurrence_at  INTEGER,
    max_attempts        INTEGER NOT NULL,
    retry_no_answer     INTEGER NOT NULL,
    retry_busy          INTEGER NOT NULL,
    retry_voicemail     INTEGER NOT NULL,
    lease_seconds       INTEGER NOT NULL,
    teams               TEXT    NOT NULL,
    owner_first         BOOLEAN NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('draft', 'scheduled', 'active', 'paused', 'completed')),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX campaigns_status ON campaigns (status);

-- A person called: one row per phone, shared by every campaign the phone is in.
CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    phone       TEXT    NOT NULL UNIQUE,
    name        TEXT,
    timezone    TEXT,
    attributes  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- A contact's place in one campaign: the call queue.
CREATE TABLE campaign_contacts (
    id               INTEGER PRIMARY KEY,
    campaign_id      INTEGER NOT NULL REFERENCES campaigns (id),
    contact_id       INTEGER NOT NULL REFERENCES contacts (id),
    state            TEXT    NOT NULL CHECK (state IN ('ready', 'leased', 'scheduled', 'done', 'exhausted', 'suppressed')),
    priority         INTEGER NOT NULL,
    owner_agent      INTEGER REFERENCES agents (id),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    release_at       INTEGER NOT NULL,
    last_disposition TEXT,
    reserved_for     INTEGER REFERENCES agents (id),
    is_callback      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (campaign_id, contact_id)
);
CREATE INDEX cc_ready ON campaign_contacts (campaign_id, priority DESC, next_attempt_at, id) WHERE state = 'ready';
CREATE INDEX cc_scheduled ON campaign_contacts (release_at) WHERE state = 'scheduled';
CREATE INDEX cc_owner ON campaign_contacts (owner_agent, priority DESC, next_attempt_at, id) WHERE state = 'ready' AND owner_agent IS NOT NULL;
CREATE INDEX cc_callbacks ON campaign_contacts (next_attempt_at, id) WHERE state = 'ready' AND is_callback;
CREATE INDEX cc_reserved ON campaign_contacts (reserved_for, next_attempt_at) WHERE reserved_for IS NOT NULL;
CREATE INDEX cc_list ON campaign_contacts (campaign_id, state, id);
CREATE INDEX cc_contact ON campaign_contacts (contact_id);

CREATE TABLE dnc (
    phone     TEXT    PRIMARY KEY,
    reason    TEXT,
    added_by  TEXT    NOT NULL,
    added_at  INTEGER NOT NULL
);

CREATE TABLE imports (
    id             INTEGER PRIMARY KEY,
    campaign_id    INTEGER NOT NULL REFERENCES campaigns (id),
    state          TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    format         TEXT    NOT NULL CHECK (format IN ('csv', 'json')),
    bytes          INTEGER NOT NULL DEFAULT 0,
    processed      INTEGER NOT NULL DEFAULT 0,
    accepted       INTEGER NOT NULL DEFAULT 0,
    duplicates     INTEGER NOT NULL DEFAULT 0,
    suppressed     INTEGER NOT NULL DEFAULT 0,
    invalid_count  INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    worker         TEXT,
    heartbeat_at   INTEGER,
    created_at     INTEGER NOT NULL,
    finished_at    INTEGER
);

-- An upload waiting for (or being read by) its import job, in order.
CREATE TABLE import_chunks (
    import_id  INTEGER NOT NULL REFERENCES imports (id),
    seq        INTEGER NOT NULL,
    data       BLOB    NOT NULL,
    PRIMARY KEY (import_id, seq)
);

CREATE TABLE import_invalid (
    import_id  INTEGER NOT NULL REFERENCES imports (id),
    row_no     INTEGER NOT NULL,
    reason     TEXT    NOT NULL,
    PRIMARY KEY (import_id, row_no)
);
