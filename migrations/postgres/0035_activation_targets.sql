-- Targets may count `activations`: conversions billing reported, attributed to the target's
-- campaign, agent or team, in its period. Agent and team targets read conversions by agent.
ALTER TABLE targets DROP CONSTRAINT targets_metric_check;
ALTER TABLE targets ADD CONSTRAINT targets_metric_check
    CHECK (metric IN ('conversions', 'reached', 'attempts', 'activations'));

CREATE INDEX conversions_by_agent ON conversions (agent_id, occurred_at) WHERE agent_id IS NOT NULL;
