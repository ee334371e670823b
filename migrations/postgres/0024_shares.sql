-- Shares (issue 27): among active campaigns of the same priority, the hand-out gives each its
-- `share` of the day's hand-outs.
ALTER TABLE campaigns ADD COLUMN share BIGINT NOT NULL DEFAULT 1 CONSTRAINT campaigns_share_check CHECK (share BETWEEN 1 AND 100);

-- Each campaign's hand-outs of the current local day (the service's zone, the day the stats
-- use), kept in the claim's transaction, so the hand-out reads a handful of rows instead of
-- counting calls, and every process sees the same numbers. A campaign's count is spread over
-- a few slots (the agent's id modulo the slot count) so that on PostgreSQL concurrent claims
-- of one campaign do not all wait for one row's lock; its count is the sum of the slots whose
-- `day` is today (a slot from an earlier day counts nothing and restarts at its next
-- hand-out). `last_at` is the slot's latest hand-out: the campaign's latest is their maximum
-- (how long a campaign has gone without one, for the `starved` warning).
CREATE TABLE campaign_handouts (
    campaign_id  BIGINT  NOT NULL REFERENCES campaigns (id),
    slot         INTEGER NOT NULL,
    day          BIGINT  NOT NULL,
    n            BIGINT  NOT NULL,
    last_at      BIGINT  NOT NULL,
    PRIMARY KEY (campaign_id, slot)
);
