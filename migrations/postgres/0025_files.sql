-- Files as offices have them (issue 25).
-- A person's id in another system (a CRM's 客户编号), for look-ups and conversions. Not unique:
-- a person here is a phone, and one CRM customer with a mobile and a landline is two people
-- sharing the id.
ALTER TABLE contacts ADD COLUMN external_id TEXT CHECK (length(external_id) BETWEEN 1 AND 100);
CREATE INDEX contacts_external_id ON contacts (external_id) WHERE external_id IS NOT NULL;
-- The charset an upload was read in (given with it, or told from its start), and the column
-- mapping given with it: an import job reads its upload exactly as the upload's request said.
ALTER TABLE imports ADD COLUMN charset TEXT CHECK (charset IN ('utf-8', 'gb18030', 'utf-16le', 'utf-16be'));
ALTER TABLE imports ADD COLUMN mapping TEXT;
-- An invalid row as a lead can act on it: a stable reason code with its parameters (pages
-- translate them) and the offending value, cut to 100 characters.
ALTER TABLE import_invalid ADD COLUMN code TEXT NOT NULL DEFAULT 'invalid_row';
ALTER TABLE import_invalid ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
ALTER TABLE import_invalid ADD COLUMN value TEXT;
