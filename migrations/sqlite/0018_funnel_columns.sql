-- What a campaign's funnel counts besides the state and the rule that held a contact, kept on
-- the queue itself so the funnel stays index counts (never a probe per contact):
--
-- `zone`: the contact's own zone (NULL: the campaign's), copied from `contacts.timezone` when
-- the contact joins a campaign and whenever an import changes it.
--
-- The person's phone rules as their last outcome left them (any campaign): `gap_until`, the
-- end of the minimum gap; `cap_until`, the end of the cap when it binds; `person_until`, the
-- later of the two (NULL: neither). The person's row keeps the first two, for entries added
-- later. Outcomes recorded before this migration leave them NULL until the person's next one.
ALTER TABLE campaign_contacts ADD COLUMN zone TEXT;
ALTER TABLE campaign_contacts ADD COLUMN gap_until INTEGER;
ALTER TABLE campaign_contacts ADD COLUMN cap_until INTEGER;
ALTER TABLE campaign_contacts ADD COLUMN person_until INTEGER;
ALTER TABLE contacts ADD COLUMN gap_until INTEGER;
ALTER TABLE contacts ADD COLUMN cap_until INTEGER;

UPDATE campaign_contacts SET zone = (SELECT k.timezone FROM contacts k WHERE k.id = campaign_contacts.contact_id)
    WHERE contact_id IN (SELECT id FROM contacts WHERE timezone IS NOT NULL);

-- The held contacts by zone first: the funnel counts each zone's ranges.
DROP INDEX cc_held;
CREATE INDEX cc_held ON campaign_contacts (campaign_id, zone, held_by, is_callback, reserved_for, release_at,
    next_attempt_at, state) WHERE state = 'scheduled';
-- The ready and suppressed contacts the rules judge apart from the campaign's: in a zone of
-- their own, or callbacks (exempt from the windows), counted per kind.
CREATE INDEX cc_set_apart ON campaign_contacts (campaign_id, state, zone, is_callback)
    WHERE state IN ('ready', 'suppressed') AND (zone IS NOT NULL OR is_callback);
-- The queued contacts whose person a phone rule holds back now: few (called within the gap, or
-- as often as the cap allows), read one by one.
CREATE INDEX cc_person ON campaign_contacts (campaign_id, person_until)
    WHERE person_until IS NOT NULL AND state IN ('ready', 'scheduled');
DROP INDEX contacts_zoned;
