-- A pause or sign-out asked for by a supervisor, lead or admin (or by inactivity) while the
-- agent holds a call waits for that call to end (its outcome, a release or an expired lease),
-- which then moves the agent into it instead of wrapping up or being ready (see
-- `floor::Pending`). NULL: nothing pending. `pending_reason` is a pending pause's reason.
ALTER TABLE agent_states ADD COLUMN pending TEXT CHECK (pending IN ('paused', 'offline'));
ALTER TABLE agent_states ADD COLUMN pending_reason TEXT;
