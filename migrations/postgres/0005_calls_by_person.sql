-- A late outcome (after its lease ran out) is taken only while nobody was handed the person
-- since, in any campaign; that check looks up a person's later calls.
CREATE INDEX calls_by_contact ON calls (contact_id, id);
