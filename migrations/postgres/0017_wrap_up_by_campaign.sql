-- A wrap-up belongs to the campaign of the call it follows: the state row remembers that
-- campaign while the agent wraps up, and the time is added per agent, day and campaign as the
-- wrap-up ends (besides the agent's own time per state). Wrap-ups that ended before this
-- migration are in the agent's time only.
ALTER TABLE agent_states ADD COLUMN wrap_up_campaign BIGINT REFERENCES campaigns (id);
ALTER TABLE agent_handle_time ADD COLUMN wrap_up_ms BIGINT NOT NULL DEFAULT 0;
