-- Releases an agent makes of its own calls (by hand, plain or skip, or by its own pause or
-- sign-out) are limited per agent (OUTCALL_RELEASE_LIMIT) and counted in its figures; they are
-- read from here, so the limit holds across processes and restarts. A supervisor's release, a
-- deactivation's and an expired lease are not the agent's and stay FALSE.
ALTER TABLE calls ADD COLUMN released_by_agent BOOLEAN NOT NULL DEFAULT FALSE;
-- One agent's releases within the limit's period (the hand-out's check).
CREATE INDEX calls_agent_releases ON calls (agent_id, finished_at) WHERE released_by_agent;
-- Every agent's releases over a range (the floor and the figures).
CREATE INDEX calls_releases_by_time ON calls (finished_at) WHERE released_by_agent;
