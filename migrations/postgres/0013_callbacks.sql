-- Open callbacks (due or waiting) for the leads' list and an agent's own, each filter a range
-- scan of its own partial index in id order (the list's keyset order).
CREATE INDEX cc_open_callbacks ON campaign_contacts (id) WHERE is_callback AND state IN ('scheduled', 'ready');
CREATE INDEX cc_open_callbacks_by_agent ON campaign_contacts (reserved_for, id) WHERE is_callback AND state IN ('scheduled', 'ready');
CREATE INDEX cc_open_callbacks_by_campaign ON campaign_contacts (campaign_id, id) WHERE is_callback AND state IN ('scheduled', 'ready');

-- The floor's changes are audited: callbacks reassigned, moved or cancelled, calls released by a
-- supervisor, agents' states set for them, pause reasons.
ALTER TABLE audit DROP CONSTRAINT audit_entity_check;
ALTER TABLE audit
    ADD CONSTRAINT audit_entity_check CHECK (entity IN ('campaign', 'script', 'offer', 'agent', 'token', 'target', 'dnc', 'callback', 'call', 'pause_reason'));
ALTER TABLE audit DROP CONSTRAINT audit_action_check;
ALTER TABLE audit
    ADD CONSTRAINT audit_action_check CHECK (action IN ('create', 'update', 'start', 'pause', 'resume', 'stop', 'delete', 'revoke', 'rotate', 'list', 'unlist', 'import', 'cancel', 'release', 'set_state'));
