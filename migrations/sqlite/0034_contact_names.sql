-- Finding people by the start of their name (issue 25): a range scan of this index, in name
-- order. SQLite compares text by its UTF-8 bytes, so 张 finds 张伟 with the plain index.
CREATE INDEX contacts_name ON contacts (name, id) WHERE name IS NOT NULL;
