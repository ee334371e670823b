-- The rules reference for the dispatch benchmark, PostgreSQL: a cycle's own statements (what
-- POST /v1/calls/next then POST /v1/calls/{id}/outcome with `declined` run, in order, with the
-- same SQL, locks, tables, indexes and trigger), as a pgbench script: no HTTP, no driver. What
-- PostgreSQL itself does for these rules, the ceiling of the server's cycle on this schema,
-- measured on the benchmark's own database after its run. Kept in step with
-- src/store/queue.rs, src/store/calls.rs and the reads they name (no Idempotency-Key: the load generator sends
-- none either).
-- pgbench -D campaign=ID -D agent0=FIRST_AGENT_ID -D token=SECRET_HASH -D now=EPOCH_MS
\set agent :agent0 + :client_id
-- POST /v1/calls/next
SELECT t.id, t.name, t.role, t.agent_id FROM tokens t LEFT JOIN agents a ON a.id = t.agent_id
  WHERE t.secret_hash = ':token' AND t.revoked_at IS NULL AND (t.agent_id IS NULL OR a.active);
SELECT id, name, team, active FROM agents WHERE id = :agent;
-- (every active campaign is read, as the server does; with several, the first one's fields are kept)
SELECT * FROM (SELECT c.id, c.name, c.offer_id, o.code AS offer_code, o.name AS offer_name, c.script_id, COALESCE(c.script_version, 1) AS version,
  c.priority, c.share, c.timezone, c.calling_windows, c.start_at, c.end_at, c.recurrence, c.next_recurrence_at, c.max_attempts,
  c.retry_no_answer, c.retry_busy, c.retry_voicemail, c.lease_seconds, c.teams, c.owner_first, c.status, c.created_at,
  c.updated_at FROM campaigns c JOIN offers o ON o.id = c.offer_id WHERE c.status = 'active' ORDER BY c.priority DESC, c.id) AS active LIMIT 1 \gset
BEGIN;
SELECT pg_advisory_xact_lock(1869968484, :agent);
SELECT (SELECT id FROM calls WHERE agent_id = :agent AND state = 'leased' AND lease_expires_at > :now) AS held,
  EXISTS (SELECT 1 FROM calls WHERE agent_id = :agent AND state = 'leased' AND lease_expires_at <= :now) AS lapsed,
  EXISTS (SELECT 1 FROM campaign_contacts e WHERE e.reserved_for = :agent AND e.state IN ('ready', 'scheduled')
    AND e.next_attempt_at <= :now AND e.campaign_id + 0 IN (:campaign)) AS reserved, false AS owned,
  EXISTS (SELECT 1 FROM campaign_contacts e WHERE e.state = 'ready' AND e.is_callback
    AND e.next_attempt_at <= :now AND e.campaign_id + 0 IN (:campaign)) AS callbacks;
SELECT e.id AS cc, e.campaign_id AS cid, e.contact_id AS kid, k.timezone AS contact_tz, e.attempts + 1 AS attempt,
  e.is_callback, e.reserved_for, CASE WHEN e.is_callback THEN NULL ELSE
    (SELECT string_agg(CAST(r.at AS TEXT), ',') FROM (SELECT h.at FROM history h WHERE h.contact_id = e.contact_id
       AND h.kind = 'outcome' AND h.at > :now - 3600000 ORDER BY h.at DESC LIMIT 1000) r) END AS recent
  FROM campaign_contacts e JOIN contacts k ON k.id = e.contact_id
  WHERE e.campaign_id = :campaign AND e.state = 'ready' AND NOT e.list_off
    AND NOT EXISTS (SELECT 1 FROM dnc d WHERE d.phone = k.phone)
    AND NOT EXISTS (SELECT 1 FROM calls l WHERE l.contact_id = e.contact_id AND l.state = 'leased')
  ORDER BY e.priority DESC, e.next_attempt_at, e.id LIMIT 1 FOR UPDATE OF e SKIP LOCKED \gset
INSERT INTO calls (cc_id, campaign_id, contact_id, agent_id, attempt, script_version, state, leased_at, lease_expires_at)
  SELECT :cc, :cid, :kid, :agent, :attempt, :version, 'leased', :now, :now + 300000
  WHERE EXISTS (SELECT 1 FROM campaign_contacts WHERE id = :cc AND state IN ('ready', 'scheduled'))
    AND pg_try_advisory_xact_lock(1869968483, (:kid % 2147483647)::int)
  ON CONFLICT DO NOTHING RETURNING id AS call, script_version AS sv \gset
UPDATE campaign_contacts SET state = 'leased', updated_at = :now WHERE id = :cc;
-- The day's hand-out count (src/store/shares.rs), last before the commit as in the server.
INSERT INTO campaign_handouts (campaign_id, slot, day, n, last_at) VALUES (:cid, :agent % 8, :now - :now % 86400000, 1, :now)
  ON CONFLICT (campaign_id, slot) DO UPDATE SET
    n = CASE WHEN campaign_handouts.day = excluded.day THEN campaign_handouts.n + 1
             WHEN campaign_handouts.day > excluded.day THEN campaign_handouts.n ELSE 1 END,
    day = CASE WHEN campaign_handouts.day > excluded.day THEN campaign_handouts.day ELSE excluded.day END,
    last_at = CASE WHEN campaign_handouts.last_at > excluded.last_at THEN campaign_handouts.last_at ELSE excluded.last_at END;
COMMIT;
SELECT id, phone, name, timezone, attributes FROM contacts WHERE id = :kid;
SELECT s.id, s.name, v.version, v.body FROM scripts s JOIN script_versions v ON v.script_id = s.id
  WHERE s.id = :script_id AND v.version = :sv;
SELECT h.at, h.campaign_id, c.name AS campaign_name, h.agent_id, a.name AS agent_name, h.kind, h.disposition, h.notes
  FROM history h JOIN campaigns c ON c.id = h.campaign_id LEFT JOIN agents a ON a.id = h.agent_id
  WHERE h.contact_id = :kid ORDER BY h.at, h.id;
-- POST /v1/calls/{id}/outcome
SELECT t.id, t.name, t.role, t.agent_id FROM tokens t LEFT JOIN agents a ON a.id = t.agent_id
  WHERE t.secret_hash = ':token' AND t.revoked_at IS NULL AND (t.agent_id IS NULL OR a.active);
SELECT id, cc_id, campaign_id, contact_id, agent_id, attempt, script_version, state, leased_at, lease_expires_at,
  finished_at, disposition FROM calls WHERE id = :call;
SELECT c.id, c.name, c.offer_id, o.code AS offer_code, o.name AS offer_name, c.script_id, c.script_version, c.priority,
  c.timezone, c.calling_windows, c.start_at, c.end_at, c.recurrence, c.next_recurrence_at, c.max_attempts,
  c.retry_no_answer, c.retry_busy, c.retry_voicemail, c.lease_seconds, c.teams, c.owner_first, c.status, c.created_at,
  c.updated_at FROM campaigns c JOIN offers o ON o.id = c.offer_id WHERE c.id = :cid;
SELECT id, phone, name, timezone, attributes FROM contacts WHERE id = :kid;
BEGIN;
UPDATE calls SET state = 'completed', disposition = 'declined', notes = NULL, callback_at = NULL, answers = NULL,
  finished_at = :now WHERE id = :call AND agent_id = :agent AND state = 'leased'
  RETURNING id, cc_id, campaign_id, contact_id, agent_id, attempt, script_version, state, leased_at, lease_expires_at,
    finished_at, disposition;
UPDATE campaign_contacts SET state = CASE WHEN 'done' = 'scheduled' AND EXISTS (SELECT 1 FROM contacts k
    JOIN dnc d ON d.phone = k.phone WHERE k.id = campaign_contacts.contact_id) THEN 'suppressed' ELSE 'done' END,
  attempts = :attempt, last_disposition = 'declined', next_attempt_at = :now, release_at = :now, reserved_for = NULL,
  is_callback = false, updated_at = :now WHERE id = :cc RETURNING state, next_attempt_at;
INSERT INTO history (contact_id, campaign_id, agent_id, call_id, at, kind, disposition, notes, script_version)
  VALUES (:kid, :cid, :agent, :call, :now, 'outcome', 'declined', NULL, :sv);
INSERT INTO events (kind, at, payload) VALUES ('outcome', :now, '{"disposition":"declined"}') RETURNING pg_notify('outcall_events', '');
COMMIT;
