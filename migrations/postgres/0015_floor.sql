-- Handle time per agent, local day (the service's zone) and campaign: calls finished with an
-- outcome and the time from hand-out to outcome, and the talk time agents' phone systems
-- reported (and on how many calls), added in each outcome's transaction.
CREATE TABLE agent_handle_time (
    agent_id     BIGINT NOT NULL REFERENCES agents (id),
    day          TEXT    NOT NULL,
    campaign_id  BIGINT NOT NULL REFERENCES campaigns (id),
    calls        BIGINT NOT NULL,
    handle_ms    BIGINT NOT NULL,
    talk_s       BIGINT NOT NULL,
    talked       BIGINT NOT NULL,
    PRIMARY KEY (agent_id, day, campaign_id)
);
CREATE INDEX agent_handle_time_campaign ON agent_handle_time (campaign_id, agent_id);

-- What the agent's phone system reported, when it did.
ALTER TABLE calls ADD COLUMN talk_seconds BIGINT;

-- The live stream carries agents' states and calls' hand-outs, releases and expiries too.
ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events
    ADD CONSTRAINT events_kind_check CHECK (kind IN ('outcome', 'campaign', 'agent', 'call'));
