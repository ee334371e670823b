-- Agents' states on the floor (see `floor::AgentState`): one row per agent, moved by the agent,
-- a supervisor, hand-outs, outcomes, releases, expired leases and inactivity, in the transaction
-- of each. `seen_at` is the desk's last sign of life; `wrap_up_until` ends a wrap-up by itself.
CREATE TABLE agent_states (
    agent_id       INTEGER PRIMARY KEY REFERENCES agents (id),
    state          TEXT    NOT NULL CHECK (state IN ('offline', 'ready', 'paused', 'on_call', 'wrap_up')),
    reason         TEXT,
    since          INTEGER NOT NULL,
    wrap_up_until  INTEGER,
    seen_at        INTEGER NOT NULL
);
CREATE INDEX agent_states_seen ON agent_states (seen_at) WHERE state <> 'offline';

-- Every agent starts signed out, since now (the desk signs it in), except one holding a call
-- at the upgrade: it is on that call since its lease began, so its next hands the call back
-- and its outcome wraps up as for any other call.
INSERT INTO agent_states (agent_id, state, since, seen_at)
    SELECT a.id,
           CASE WHEN c.leased_at IS NULL THEN 'offline' ELSE 'on_call' END,
           COALESCE(c.leased_at, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
           CAST(strftime('%s', 'now') AS INTEGER) * 1000
    FROM agents a
    LEFT JOIN calls c ON c.agent_id = a.id AND c.state = 'leased';

-- Time in each state (and pause reason, '' for none) per agent and local day (the service's
-- zone), added as each stretch ends.
CREATE TABLE agent_state_time (
    agent_id  INTEGER NOT NULL REFERENCES agents (id),
    day       TEXT    NOT NULL,
    state     TEXT    NOT NULL CHECK (state IN ('offline', 'ready', 'paused', 'on_call', 'wrap_up')),
    reason    TEXT    NOT NULL,
    ms        INTEGER NOT NULL,
    PRIMARY KEY (agent_id, day, state, reason)
);
CREATE INDEX agent_state_time_day ON agent_state_time (day, agent_id);

-- The reasons an agent may pause for, kept by leads.
CREATE TABLE pause_reasons (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

-- How long a campaign's agents wrap up after an outcome before they are ready by themselves.
ALTER TABLE campaigns ADD COLUMN wrap_up_seconds INTEGER NOT NULL DEFAULT 30;
