-- A contact an agent skipped in preview (a release with `skip`) is not offered to that agent
-- again until `skip_until` (the campaign's no_answer delay); other agents may still get it.
-- One row per agent and entry: a second skip moves the time on.
CREATE TABLE skips (
    agent_id    INTEGER NOT NULL REFERENCES agents (id),
    cc_id       INTEGER NOT NULL REFERENCES campaign_contacts (id),
    skip_until  INTEGER NOT NULL,
    PRIMARY KEY (agent_id, cc_id)
);
CREATE INDEX skips_until ON skips (skip_until);
