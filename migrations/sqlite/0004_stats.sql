-- Outcome roll-ups, kept in the outcome's transaction: stats read these, never the history.
CREATE TABLE outcome_totals (
    campaign_id  INTEGER NOT NULL,
    agent_id     INTEGER NOT NULL,
    disposition  TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, agent_id, disposition)
);

-- Hour buckets are epoch hours (UTC); day buckets are built from them in the asked zone.
-- Per campaign (offers, time series, campaign targets) and per agent (leaderboards, agent and
-- team targets): neither grows with the number of outcomes, only with hours worked.
CREATE TABLE campaign_hourly (
    campaign_id  INTEGER NOT NULL,
    offer_id     INTEGER NOT NULL,
    hour         INTEGER NOT NULL,
    disposition  TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, hour, disposition, offer_id)
);
CREATE INDEX campaign_hourly_hour ON campaign_hourly (hour);

CREATE TABLE agent_hourly (
    agent_id     INTEGER NOT NULL,
    hour         INTEGER NOT NULL,
    disposition  TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (agent_id, hour, disposition)
);
CREATE INDEX agent_hourly_hour ON agent_hourly (hour);

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
