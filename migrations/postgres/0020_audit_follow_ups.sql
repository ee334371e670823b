-- Follow-ups resolved or re-opened are audited like every other change.
ALTER TABLE audit DROP CONSTRAINT audit_entity_check;
ALTER TABLE audit
    ADD CONSTRAINT audit_entity_check CHECK (entity IN ('campaign', 'script', 'offer', 'agent', 'token', 'target', 'dnc', 'callback', 'call', 'pause_reason', 'follow_up'));
