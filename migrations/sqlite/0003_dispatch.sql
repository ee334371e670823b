-- Calls under lease, the history of every contact, and follow-ups for complaints.
CREATE TABLE calls (
    id                INTEGER PRIMARY KEY,
    cc_id             INTEGER NOT NULL REFERENCES campaign_contacts (id),
    campaign_id       INTEGER NOT NULL REFERENCES campaigns (id),
    contact_id        INTEGER NOT NULL REFERENCES contacts (id),
    agent_id          INTEGER NOT NULL REFERENCES agents (id),
    attempt           INTEGER NOT NULL,
    script_version    INTEGER NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('leased', 'completed', 'released', 'expired')),
    leased_at         INTEGER NOT NULL,
    lease_expires_at  INTEGER NOT NULL,
    finished_at       INTEGER,
    disposition       TEXT,
    notes             TEXT,
    callback_at       INTEGER,
    answers           TEXT
);
-- The guarantees, enforced by the database: one holder per campaign entry, per person, per agent.
CREATE UNIQUE INDEX calls_one_lease_per_entry ON calls (cc_id) WHERE state = 'leased';
CREATE UNIQUE INDEX calls_one_lease_per_contact ON calls (contact_id) WHERE state = 'leased';
CREATE UNIQUE INDEX calls_one_lease_per_agent ON calls (agent_id) WHERE state = 'leased';
CREATE INDEX calls_expiry ON calls (lease_expires_at) WHERE state = 'leased';

CREATE TABLE history (
    id              INTEGER PRIMARY KEY,
    contact_id      INTEGER NOT NULL REFERENCES contacts (id),
    campaign_id     INTEGER NOT NULL REFERENCES campaigns (id),
    agent_id        INTEGER REFERENCES agents (id),
    call_id         INTEGER,
    at              INTEGER NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('outcome', 'released', 'lease_expired', 'callback_opened')),
    disposition     TEXT,
    notes           TEXT,
    script_version  INTEGER
);
CREATE INDEX history_contact ON history (contact_id, at);
CREATE INDEX history_campaign ON history (campaign_id, at);

CREATE TABLE follow_ups (
    id           INTEGER PRIMARY KEY,
    contact_id   INTEGER NOT NULL REFERENCES contacts (id),
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    call_id      INTEGER NOT NULL,
    agent_id     INTEGER REFERENCES agents (id),
    notes        TEXT,
    due_at       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    resolved_at  INTEGER,
    resolution   TEXT
);
CREATE INDEX follow_ups_open ON follow_ups (resolved_at, due_at);

-- What dashboards stream (GET /v1/events): recorded in the transaction that made it happen.
CREATE TABLE events (
    id       INTEGER PRIMARY KEY,
    kind     TEXT    NOT NULL CHECK (kind IN ('outcome', 'campaign')),
    at       INTEGER NOT NULL,
    payload  TEXT    NOT NULL
);
CREATE INDEX events_at ON events (at);
