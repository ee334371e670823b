-- Two more roles (v1.1): `supervisor` (what a viewer may, plus the floor) and `integration`
-- (a billing or CRM system).
ALTER TABLE tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE tokens
    ADD CONSTRAINT tokens_role_check CHECK (role IN ('admin', 'lead', 'agent', 'viewer', 'supervisor', 'integration'));
