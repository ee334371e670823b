-- Lists (switched on and off, their untouched contacts removed), contacts (edited) and
-- conversions (a billing file uploaded) are audited, so the audit's entity list gains `list`,
-- `contact` and `conversion`.
ALTER TABLE audit DROP CONSTRAINT audit_entity_check;
ALTER TABLE audit
    ADD CONSTRAINT audit_entity_check CHECK (entity IN ('campaign', 'script', 'offer', 'agent', 'token', 'target', 'dnc', 'callback', 'call', 'pause_reason', 'follow_up', 'webhook', 'segment', 'list', 'contact', 'conversion'));
