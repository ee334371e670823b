-- Targets may count `activations`: conversions billing reported, attributed to the target's
-- campaign, agent or team, in its period. SQLite cannot change a CHECK in place, so the
-- targets table is rebuilt (nothing refers to it). Agent and team targets read conversions
-- by agent.
ALTER TABLE targets RENAME TO targets_before_activations;

CREATE TABLE targets (
    id          INTEGER PRIMARY KEY,
    scope       TEXT    NOT NULL CHECK (scope IN ('campaign', 'team', 'agent')),
    scope_id    TEXT    NOT NULL,
    period      TEXT    NOT NULL,
    metric      TEXT    NOT NULL CHECK (metric IN ('conversions', 'reached', 'attempts', 'activations')),
    goal        INTEGER NOT NULL CHECK (goal > 0),
    created_at  INTEGER NOT NULL,
    UNIQUE (scope, scope_id, period, metric)
);

INSERT INTO targets (id, scope, scope_id, period, metric, goal, created_at)
    SELECT id, scope, scope_id, period, metric, goal, created_at FROM targets_before_activations;

DROP TABLE targets_before_activations;

CREATE INDEX conversions_by_agent ON conversions (agent_id, occurred_at) WHERE agent_id IS NOT NULL;
