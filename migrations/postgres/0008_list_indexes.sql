-- Every list page is a range scan of an index in its keyset order, whatever the list's size:
-- a campaign's contacts in entry order without a state filter (with one, cc_list serves);
-- open and resolved follow-ups in id order; a campaign's outcomes in time order for the export.
CREATE INDEX cc_by_campaign ON campaign_contacts (campaign_id, id);
CREATE INDEX follow_ups_open_by_id ON follow_ups (id) WHERE resolved_at IS NULL;
CREATE INDEX follow_ups_resolved_by_id ON follow_ups (id) WHERE resolved_at IS NOT NULL;
DROP INDEX history_campaign;
CREATE INDEX history_campaign ON history (campaign_id, at, id);
