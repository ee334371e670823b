-- Handle time per agent, local day (the service's zone) and campaign: calls finished with an
-- outcome and the time from hand-out to outcome, and the talk time agents' phone systems
-- reported (and on how many calls), added in each outcome's transaction.
CREATE TABLE agent_handle_time (
    agent_id     INTEGER NOT NULL REFERENCES agents (id),
    day          TEXT    NOT NULL,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    calls        INTEGER NOT NULL,
    handle_ms    INTEGER NOT NULL,
    talk_s       INTEGER NOT NULL,
    talked       INTEGER NOT NULL,
    PRIMARY KEY (agent_id, day, campaign_id)
);
CREATE INDEX agent_handle_time_campaign ON agent_handle_time (campaign_id, agent_id);

-- What the agent's phone system reported, when it did.
ALTER TABLE calls ADD COLUMN talk_seconds INTEGER;

-- The live stream carries agents' states and calls' hand-outs, releases and expiries too.
-- SQLite cannot change a CHECK in place, so the table is rebuilt with its ids.
ALTER TABLE events RENAME TO events_before_floor;

CREATE TABLE events (
    id       INTEGER PRIMARY KEY,
    kind     TEXT    NOT NULL CHECK (kind IN ('outcome', 'campaign', 'agent', 'call')),
    at       INTEGER NOT NULL,
    payload  TEXT    NOT NULL
);

INSERT INTO events (id, kind, at, payload) SELECT id, kind, at, payload FROM events_before_floor;

DROP TABLE events_before_floor;
CREATE INDEX events_at ON events (at);
