-- Outcome roll-ups, kept in the outcome's transaction: stats read these, never the history.
CREATE TABLE outcome_totals (
    campaign_id  INTEGER NOT NULL,
    agent_id     INTEGER NOT NULL,
    disposition  TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, agent_id, disposition)
);

-- Hour buckets are epoch hours (UTC); day buckets are built from them in the asked zone.
CREATE TABLE outcome_hourly (
    campaign_id  INTEGER NOT NULL,
    offer_id     INTEGER NOT NULL,
    agent_id     INTEGER NOT NULL,
    hour         INTEGER NOT NULL,
    disposition  TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, agent_id, hour, disposition, offer_id)
);
CREATE INDEX outcome_hourly_hour ON outcome_hourly (hour);
CREATE INDEX outcome_hourly_agent ON outcome_hourly (agent_id, hour);

CREATE TABLE targets (
    id          INTEGER PRIMARY KEY,
    scope       TEXT    NOT NULL CHECK (scope IN ('campaign', 'team', 'agent')),
    scope_id    TEXT    NOT NULL,
    period      TEXT    NOT NULL,
    metric      TEXT    NOT NULL CHECK (metric IN ('conversions', 'reached', 'attempts')),
    goal        INTEGER NOT NULL CHECK (goal > 0),
    created_at  INTEGER NOT NULL,
    UNIQUE (scope, scope_id, period, metric)
);
