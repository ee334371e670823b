-- Surveys (issue 28): the questions a script version asks, as a JSON list in text (`[]` for a
-- version without questions), and one row per value an outcome's answers gave, so the answers
-- of a campaign over a period are counted in SQL (`GET /v1/stats/answers`). A `multi` answer
-- is one row per option chosen; a `text` answer one row with neither option nor number. The
-- answers as given stay with the call (`calls.answers`), for the export.
ALTER TABLE script_versions ADD COLUMN questions TEXT NOT NULL DEFAULT '[]';

CREATE TABLE call_answers (
    call_id      BIGINT  NOT NULL REFERENCES calls (id),
    campaign_id  BIGINT  NOT NULL,
    at           BIGINT  NOT NULL,
    key          TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('choice', 'multi', 'number', 'text')),
    choice       TEXT,
    number       DOUBLE PRECISION
);
CREATE INDEX call_answers_by_campaign ON call_answers (campaign_id, at);
