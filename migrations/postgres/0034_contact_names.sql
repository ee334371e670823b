-- Finding people by the start of their name (issue 25): a range scan of this index, in name
-- order. Byte order ("C"), whatever the database's collation, so a prefix is one range and
-- 张 finds 张伟.
CREATE INDEX contacts_name ON contacts ((name COLLATE "C"), id) WHERE name IS NOT NULL;
