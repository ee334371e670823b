-- Lists: each import (an upload, or a segment added to a campaign) is a named list with its
-- source and its import's report; a lead switches a list off and on, and removes its contacts
-- that were never attempted. A campaign contact belongs to the list that first added it
-- (`list_id`; NULL for contacts added before lists existed, which no switch reaches).
CREATE TABLE lists (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    source      TEXT    NOT NULL CHECK (source IN ('upload', 'segment')),
    import_id   INTEGER REFERENCES imports (id),
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  INTEGER NOT NULL
);
CREATE INDEX lists_by_campaign ON lists (campaign_id, id);
CREATE UNIQUE INDEX lists_by_import ON lists (import_id);

-- `list_off` copies the list's switch onto each of its contacts (kept by the switch, in its
-- transaction), so the hand-out's search stays one walk of a partial index that holds only
-- the contacts it may hand out: `cc_ready` now leaves out the switched-off ones.
ALTER TABLE campaign_contacts ADD COLUMN list_id INTEGER REFERENCES lists (id);
ALTER TABLE campaign_contacts ADD COLUMN list_off BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX cc_by_list ON campaign_contacts (list_id, id) WHERE list_id IS NOT NULL;
DROP INDEX cc_ready;
CREATE INDEX cc_ready ON campaign_contacts (campaign_id, priority DESC, next_attempt_at, id) WHERE state = 'ready' AND NOT list_off;
-- The funnel's count of ready contacts a switched-off list holds back (callbacks are kept).
CREATE INDEX cc_list_off ON campaign_contacts (campaign_id, zone) WHERE list_off AND state = 'ready' AND NOT is_callback;
