-- An upload may be an .xlsx workbook (contacts/xlsx.rs). Its rows are read as a CSV file's are
-- (header names, mapping, the same row checks), so its `format` stays 'csv'; `sheet` names the
-- sheet they are read from (the first one when the upload names none, resolved when the upload
-- is received). NULL: not a workbook. A new column rather than a wider CHECK on `format`:
-- SQLite can only change a CHECK by rebuilding `imports`, which import_chunks and
-- import_invalid reference.
ALTER TABLE imports ADD COLUMN sheet TEXT;
