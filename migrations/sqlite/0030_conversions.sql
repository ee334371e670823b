-- Conversions reported by billing or a CRM (POST /v1/conversions): a sale is real when the
-- service is activated, days after an agent's "accepted". Each is attributed to the latest
-- accepted call for the same person and offer within the attribution window, or recorded
-- unattributed (organic). `reference` makes a report idempotent.
CREATE TABLE conversions (
    id             INTEGER PRIMARY KEY,
    reference      TEXT    NOT NULL UNIQUE CHECK (length(reference) BETWEEN 1 AND 200),
    contact_id     INTEGER REFERENCES contacts(id),
    offer_id       INTEGER NOT NULL REFERENCES offers(id),
    occurred_at    INTEGER NOT NULL,
    call_id        INTEGER REFERENCES calls(id),
    agent_id       INTEGER REFERENCES agents(id),
    campaign_id    INTEGER REFERENCES campaigns(id),
    script_version INTEGER,
    created_at     INTEGER NOT NULL,
    -- Attributed exactly when a call is named, and then with its campaign.
    CHECK ((call_id IS NULL) = (campaign_id IS NULL))
);
CREATE INDEX conversions_by_time ON conversions (occurred_at);
CREATE INDEX conversions_by_campaign ON conversions (campaign_id, occurred_at) WHERE campaign_id IS NOT NULL;

-- The funnel by agent and script version reads a campaign's finished calls over a period.
CREATE INDEX calls_finished_by_campaign ON calls (campaign_id, finished_at) WHERE finished_at IS NOT NULL;
