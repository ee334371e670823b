-- Segments read people's attributes (issue 25): kept as jsonb beside their text, so a preview
-- at a million people reads each row's attribute without parsing its JSON text again. The
-- text stays what every other statement reads and writes; this column follows it.
ALTER TABLE contacts ADD COLUMN attrs JSONB GENERATED ALWAYS AS (attributes::jsonb) STORED;
