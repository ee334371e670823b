-- How many of each campaign's contacts are in each state, kept in the transaction of every
-- change by triggers on the queue itself, so no code path can miss one: stats, /metrics and the
-- dashboard read these rows instead of counting a campaign's contacts. On SQLite (one writer)
-- the triggers update the counts directly; `campaign_count_deltas` exists for the PostgreSQL
-- form and stays empty here, so both backends read counts with the same statement.
CREATE TABLE campaign_counts (
    campaign_id  INTEGER NOT NULL,
    state        TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, state)
);

CREATE TABLE campaign_count_deltas (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL,
    state        TEXT    NOT NULL,
    d            INTEGER NOT NULL
);
CREATE INDEX campaign_count_deltas_campaign ON campaign_count_deltas (campaign_id);

INSERT INTO campaign_counts (campaign_id, state, n)
    SELECT campaign_id, state, COUNT(*) FROM campaign_contacts GROUP BY campaign_id, state;

CREATE TRIGGER campaign_contacts_counted_insert AFTER INSERT ON campaign_contacts
BEGIN
    INSERT INTO campaign_counts (campaign_id, state, n) VALUES (NEW.campaign_id, NEW.state, 1)
        ON CONFLICT (campaign_id, state) DO UPDATE SET n = campaign_counts.n + 1;
END;

CREATE TRIGGER campaign_contacts_counted_update AFTER UPDATE OF state ON campaign_contacts
    WHEN OLD.state <> NEW.state
BEGIN
    UPDATE campaign_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id AND state = OLD.state;
    INSERT INTO campaign_counts (campaign_id, state, n) VALUES (NEW.campaign_id, NEW.state, 1)
        ON CONFLICT (campaign_id, state) DO UPDATE SET n = campaign_counts.n + 1;
END;

CREATE TRIGGER campaign_contacts_counted_delete AFTER DELETE ON campaign_contacts
BEGIN
    UPDATE campaign_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id AND state = OLD.state;
END;
