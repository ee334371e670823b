-- PostgreSQL keeps people's attributes as jsonb beside their text for segments (issue 25);
-- SQLite reads the text with json_extract, which parses it in place: nothing to add.
SELECT 1;
