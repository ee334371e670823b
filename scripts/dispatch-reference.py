"""The rules reference for the dispatch benchmark, SQLite: a cycle's own statements (what
`POST /v1/calls/next` then `POST /v1/calls/{id}/outcome` with `declined` run, in order, with
the same SQL, tables, indexes and trigger) in a tight loop on one connection, in-process: no
HTTP, no driver, no thread hops. What SQLite itself does for these rules, the ceiling of the
server's cycle on this schema, measured on the benchmark's own database after its run.

Usage: dispatch-reference.py DB_FILE SECONDS  (prints cycles per second)
Kept in step with src/store/queue.rs, src/store/calls.rs and the reads they name; differences: `group_concat` for
`string_agg` (Python's SQLite may predate it), and no Idempotency-Key (the load generator sends
none either)."""
import sqlite3, sys, time

db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
db.execute("PRAGMA foreign_keys=ON")
now = lambda: int(time.time() * 1000)
(campaign,) = db.execute("SELECT id FROM campaigns WHERE status = 'active' ORDER BY id LIMIT 1").fetchone()
db.execute("INSERT INTO agents (name, active, created_at, updated_at) VALUES ('reference', 1, 0, 0)")
(agent,) = db.execute("SELECT max(id) FROM agents").fetchone()
(token,) = db.execute("SELECT secret_hash FROM tokens ORDER BY id LIMIT 1").fetchone()
CAP_PERIOD, CAP = 3_600_000, 1000  # the benchmark server's OUTCALL_PHONE_CAP=1000/1h

TOKEN = ("SELECT t.id, t.name, t.role, t.agent_id FROM tokens t LEFT JOIN agents a ON a.id = t.agent_id "
         "WHERE t.secret_hash = ? AND t.revoked_at IS NULL AND (t.agent_id IS NULL OR a.active)")
CAMPAIGN = ("SELECT c.id, c.name, c.offer_id, o.code AS offer_code, o.name AS offer_name, c.script_id, "
            "c.script_version, c.priority, c.share, c.timezone, c.calling_windows, c.start_at, c.end_at, c.recurrence, "
            "c.next_recurrence_at, c.max_attempts, c.retry_no_answer, c.retry_busy, c.retry_voicemail, "
            "c.lease_seconds, c.teams, c.owner_first, c.status, c.created_at, c.updated_at "
            "FROM campaigns c JOIN offers o ON o.id = c.offer_id ")
CALL = ("id, cc_id, campaign_id, contact_id, agent_id, attempt, script_version, state, leased_at, "
        "lease_expires_at, finished_at, disposition")
OUTLOOK = (f"SELECT (SELECT id FROM calls WHERE agent_id = ?1 AND state = 'leased' AND lease_expires_at > ?2) AS held, "
           f"EXISTS (SELECT 1 FROM calls WHERE agent_id = ?1 AND state = 'leased' AND lease_expires_at <= ?2), "
           f"EXISTS (SELECT 1 FROM campaign_contacts e WHERE e.reserved_for = ?1 AND e.state IN ('ready', 'scheduled') "
           f"AND e.next_attempt_at <= ?2 AND e.campaign_id + 0 IN ({campaign})), false, "
           f"EXISTS (SELECT 1 FROM campaign_contacts e WHERE e.state = 'ready' AND e.is_callback "
           f"AND e.next_attempt_at <= ?2 AND e.campaign_id + 0 IN ({campaign}))")
CANDIDATE = (f"SELECT e.id, e.campaign_id, e.contact_id, k.timezone, e.attempts, e.is_callback, e.reserved_for, "
             f"CASE WHEN e.is_callback THEN NULL ELSE (SELECT group_concat(CAST(r.at AS TEXT), ',') FROM "
             f"(SELECT h.at FROM history h WHERE h.contact_id = e.contact_id AND h.kind = 'outcome' AND h.at > ?3 "
             f"ORDER BY h.at DESC LIMIT ?4) r) END FROM campaign_contacts e JOIN contacts k ON k.id = e.contact_id "
             f"WHERE e.campaign_id = {campaign} AND e.state = 'ready' AND NOT e.list_off AND ?1 = ?1 AND ?2 = ?2 "
             f"AND NOT EXISTS (SELECT 1 FROM dnc d WHERE d.phone = k.phone) "
             f"AND NOT EXISTS (SELECT 1 FROM calls l WHERE l.contact_id = e.contact_id AND l.state = 'leased') "
             f"ORDER BY e.priority DESC, e.next_attempt_at, e.id LIMIT 1")
CLAIM = (f"INSERT INTO calls (cc_id, campaign_id, contact_id, agent_id, attempt, script_version, state, leased_at, "
         f"lease_expires_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, 'leased', ?7, ?8 WHERE EXISTS (SELECT 1 FROM "
         f"campaign_contacts WHERE id = ?1 AND state IN ('ready', 'scheduled')) AND ?9 = ?9 AND ?10 = ?10 "
         f"ON CONFLICT DO NOTHING RETURNING {CALL}")
CONTACT = "SELECT id, phone, name, timezone, attributes FROM contacts WHERE id = ?"
SCRIPT = ("SELECT s.id, s.name, v.version, v.body FROM scripts s JOIN script_versions v ON v.script_id = s.id "
          "WHERE s.id = ? AND v.version = ?")
HISTORY = ("SELECT h.at, h.campaign_id, c.name AS campaign_name, h.agent_id, a.name AS agent_name, h.kind, "
           "h.disposition, h.notes FROM history h JOIN campaigns c ON c.id = h.campaign_id "
           "LEFT JOIN agents a ON a.id = h.agent_id WHERE h.contact_id = ? ORDER BY h.at, h.id")
COMPLETE = (f"UPDATE calls SET state = 'completed', disposition = ?3, notes = ?4, callback_at = ?5, answers = ?6, "
            f"finished_at = ?7 WHERE id = ?1 AND agent_id = ?2 AND state = 'leased' RETURNING {CALL}")
ENTRY = ("UPDATE campaign_contacts SET state = CASE WHEN ?2 = 'scheduled' AND EXISTS (SELECT 1 FROM contacts k "
         "JOIN dnc d ON d.phone = k.phone WHERE k.id = campaign_contacts.contact_id) THEN 'suppressed' ELSE ?2 END, "
         "attempts = ?3, last_disposition = ?4, next_attempt_at = ?5, release_at = ?6, reserved_for = ?7, "
         "is_callback = ?8, updated_at = ?9 WHERE id = ?1 RETURNING state, next_attempt_at")
RECORD = ("INSERT INTO history (contact_id, campaign_id, agent_id, call_id, at, kind, disposition, notes, script_version) "
          "VALUES (?1, ?2, ?3, ?4, ?5, 'outcome', ?6, ?7, ?8)")
# The day's hand-out count (src/store/shares.rs), last before the commit as in the server.
HANDOUT_COUNT = ("INSERT INTO campaign_handouts (campaign_id, slot, day, n, last_at) VALUES (?1, ?2, ?3, 1, ?4) "
                 "ON CONFLICT (campaign_id, slot) DO UPDATE SET "
                 "n = CASE WHEN campaign_handouts.day = excluded.day THEN campaign_handouts.n + 1 "
                 "WHEN campaign_handouts.day > excluded.day THEN campaign_handouts.n ELSE 1 END, "
                 "day = CASE WHEN campaign_handouts.day > excluded.day THEN campaign_handouts.day ELSE excluded.day END, "
                 "last_at = CASE WHEN campaign_handouts.last_at > excluded.last_at THEN campaign_handouts.last_at "
                 "ELSE excluded.last_at END")
EVENT = "INSERT INTO events (kind, at, payload) SELECT ?1, ?2, ?3 WHERE ?4 = ?4"

end = time.perf_counter() + float(sys.argv[2]); n = 0; start = time.perf_counter()
while time.perf_counter() < end:
    t = now()
    # POST /v1/calls/next
    db.execute(TOKEN, (token,)).fetchone()
    db.execute("SELECT id, name, team, active FROM agents WHERE id = ?", (agent,)).fetchone()
    c = db.execute(CAMPAIGN + "WHERE c.status = 'active' ORDER BY c.priority DESC, c.id").fetchall()[0]
    db.execute("BEGIN IMMEDIATE")
    db.execute(OUTLOOK, (agent, t)).fetchone()
    e = db.execute(CANDIDATE, (agent, t, t - CAP_PERIOD, CAP)).fetchone()
    call = db.execute(CLAIM, (e[0], e[1], e[2], agent, e[4] + 1, c[6] or 1, t, t + 300_000, 1, 1)).fetchone()
    db.execute("UPDATE campaign_contacts SET state = 'leased', updated_at = ?2 WHERE id = ?1", (e[0], t))
    db.execute(HANDOUT_COUNT, (e[1], agent % 8, t - t % 86_400_000, t))
    db.execute("COMMIT")
    db.execute(CONTACT, (e[2],)).fetchone()
    db.execute(SCRIPT, (c[5], c[6] or 1)).fetchone()
    db.execute(HISTORY, (e[2],)).fetchall()
    # POST /v1/calls/{id}/outcome
    t = now()
    db.execute(TOKEN, (token,)).fetchone()
    db.execute(f"SELECT {CALL} FROM calls WHERE id = ?", (call[0],)).fetchone()
    db.execute(CAMPAIGN + "WHERE c.id = ?", (c[0],)).fetchone()
    db.execute(CONTACT, (e[2],)).fetchone()
    db.execute("BEGIN IMMEDIATE")
    db.execute(COMPLETE, (call[0], agent, "declined", None, None, None, t)).fetchone()
    db.execute(ENTRY, (e[0], "done", call[5], "declined", t, t, None, False, t)).fetchone()
    db.execute(RECORD, (e[2], e[1], agent, call[0], t, "declined", None, call[6]))
    db.execute(EVENT, ("outcome", t, '{"disposition":"declined"}', "events"))
    db.execute("COMMIT")
    n += 1
print(n / (time.perf_counter() - start))
