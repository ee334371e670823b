-- Hand-outs whose script would not render, for leads to see. Per script version: how many
-- calls, the last error (which never quotes the contact's data) and when it happened.
ALTER TABLE script_versions ADD COLUMN render_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE script_versions ADD COLUMN last_render_error TEXT;
ALTER TABLE script_versions ADD COLUMN last_render_failure_at BIGINT;

-- One row per call whose hand-out could not render its script, so a retried hand-out of the
-- same call (which renders again) is counted once.
CREATE TABLE script_render_failures (
    call_id    BIGINT PRIMARY KEY,
    script_id  BIGINT NOT NULL,
    version    BIGINT NOT NULL,
    at         BIGINT NOT NULL
);
