-- Why the hand-out moved a ready contact aside (it is then `scheduled` until the rule allows
-- it): the rule that held it, so a campaign's funnel of "why not callable" is an index count
-- and a change of its windows frees exactly the contacts its old windows held. NULL for a
-- retry, a callback or anything the hand-out did not hold back.
ALTER TABLE campaign_contacts ADD COLUMN held_by TEXT
    CHECK (held_by IN ('outside_campaign_window', 'outside_calling_hours', 'phone_cap', 'phone_min_gap'));
-- Covering (the state too) so the funnel's count of held contacts never reads a row.
CREATE INDEX cc_held ON campaign_contacts (campaign_id, held_by, is_callback, reserved_for, release_at,
    next_attempt_at, state) WHERE state = 'scheduled';

-- Contacts with a zone of their own, for the funnel: whether a waiting contact's window is open
-- depends on its zone, and most contacts have none (the campaign's applies).
CREATE INDEX contacts_zoned ON contacts (timezone, id) WHERE timezone IS NOT NULL;
