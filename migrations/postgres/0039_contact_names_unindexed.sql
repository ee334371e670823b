-- SQLite drops its name index here (see its 0039); PostgreSQL keeps `contacts_name`.
SELECT 1;
