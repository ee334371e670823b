#!/usr/bin/env python3
"""Assertions of a soak run (see scripts/soak): reads what examples/soak.rs wrote to OUTDIR and
the database itself, prints one PASS/FAIL line per assertion, and exits 1 if any failed.

    soak-check.py OUTDIR sqlite:///path/to.db | postgres://…

Times. The server stores instants as epoch milliseconds taken when a request *starts*
(`leased_at`, `finished_at`), not when its transaction commits, and under load a request can
wait a while for the database. So a raw comparison of two stored times says little about the
order in which things really happened. The checks below are exact instead: each uses a bound
that is certainly on the right side of the commit in question, from the same wall clock
(client and servers run on one machine):
  - a hand-out's claim committed before the client received it (`recv`);
  - a hold ended (outcome, release, or expiry sweep) no earlier than the stored `finished_at`
    (the ending request's start; the sweep only runs once `lease_expires_at` has passed);
  - a DNC listing committed before its 2xx arrived at the client.
Two holds certainly overlapped iff max(recv) < min(finished_at); a call certainly went to a
listed phone iff its `leased_at` (its request's start) is after the listing's 2xx.
"""
import csv
import io
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

out = Path(sys.argv[1])
db_url = sys.argv[2]
failures = []


def verdict(name, ok, detail):
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    if not ok:
        failures.append(name)


def query(sql):
    """Rows of a query as tuples of strings/ints, from either backend."""
    if db_url.startswith("sqlite://"):
        import sqlite3
        con = sqlite3.connect(f"file:{db_url[len('sqlite://'):]}?mode=ro", uri=True)
        rows = con.execute(sql).fetchall()
        con.close()
        return rows
    text = subprocess.run(["psql", db_url, "-qAtc", f"COPY ({sql}) TO STDOUT WITH CSV"],
                          check=True, capture_output=True, text=True).stdout
    return [tuple(int(v) if v.lstrip("-").isdigit() else (None if v == "" else v) for v in row)
            for row in csv.reader(io.StringIO(text))]


def jsonl(name):
    with open(out / name) as f:
        return [json.loads(line) for line in f if line.strip()]


setup = json.loads((out / "setup.json").read_text())
summary = json.loads((out / "summary.json").read_text())
truth = json.loads((out / "truth.json").read_text())
stats = json.loads((out / "stats.json").read_text())
holds = jsonl("holds.jsonl")
listings = jsonl("dnc.jsonl")
rss = jsonl("rss.jsonl")

calls = query("SELECT id, campaign_id, contact_id, agent_id, state, leased_at, lease_expires_at, "
              "finished_at, disposition FROM calls ORDER BY id")
phone_of = dict(query("SELECT id, phone FROM contacts"))
dnc_rows = query("SELECT phone, added_at, added_by FROM dnc")
seen = {h["call"]: h for h in holds}
INF = float("inf")


def certain_overlaps(intervals):
    """Pairs of intervals (start, end, id) that share a stretch of positive length."""
    found = []
    best = None  # the interval with the latest end so far
    for s, e, i in sorted(x for x in intervals if x[0] < x[1]):
        if best is not None and s < best[1]:
            found.append((best[2], i, best[1] - s))
        if best is None or e > best[1]:
            best = (s, e, i)
    return found


# 1. No overlapping holds: per person, per campaign entry, per agent; from the database (with the
#    client's receipt time as the upper bound of each claim) and from the client's own record.
db_by = {"contact": defaultdict(list), "agent": defaultdict(list)}
unknown = 0
for cid, camp, contact, agent, state, leased_at, exp, finished, disp in calls:
    h = seen.get(cid)
    if h is None:
        unknown += 1
    start = h["recv"] if h else leased_at
    end = finished if state != "leased" else INF
    db_by["contact"][contact].append((start, end, cid))
    db_by["agent"][agent].append((start, end, cid))
client_by = {"contact": defaultdict(list), "agent": defaultdict(list)}
for h in holds:
    ok = h.get("end_status") is not None and 200 <= h["end_status"] < 300
    end = h["end_send"] if ok else h["lease_exp"]
    client_by["contact"][h["contact"]].append((h["recv"], end, h["call"]))
    client_by["agent"][h["agent"]].append((h["recv"], end, h["call"]))
problems = []
for source, groups in (("db", db_by), ("client", client_by)):
    for kind, by in groups.items():
        for key, intervals in by.items():
            for a, b, ms in certain_overlaps(intervals):
                problems.append(f"{source} {kind} {key}: calls {a} and {b} overlap by {ms:.0f} ms")
still_leased = sum(1 for c in calls if c[4] == "leased")
# For information only: how often the raw stored times would suggest an overlap that the
# commit order rules out (requests waiting for the database).
raw = 0
contact_calls = defaultdict(list)
for c in calls:
    contact_calls[c[2]].append(c)
for rows in contact_calls.values():
    rows.sort(key=lambda c: c[0])
    for a, b in zip(rows, rows[1:]):
        if a[7] is not None and b[5] < a[7]:
            raw += 1
verdict("no overlapping holds", not problems,
        f"{len(calls)} calls on {len(db_by['contact'])} people and {len(db_by['agent'])} agents checked "
        f"(database and client record); certain overlaps: {len(problems)}; calls unknown to the "
        f"client: {unknown}; leases still open after settling: {still_leased}; stored start/finish "
        f"times out of order by request queueing (not overlaps): {raw}")
for p in problems[:20]:
    print("      " + p)

# 2. Stats equal the ground truth, from every process, and the calls table agrees.
mismatches = []
db_counts = defaultdict(Counter)
for c in calls:
    if c[4] == "completed":
        db_counts[str(c[1])][c[8]] += 1
total_truth = 0
for camp in setup["campaigns"]:
    cid = str(camp["id"])
    want = {d: n for d, n in truth["by_disposition"].get(cid, {}).items() if n}
    total_truth += sum(want.values())
    want_agents = {a: n for a, n in truth["by_agent"].get(cid, {}).items() if n}
    if dict(db_counts[cid]) != want:
        mismatches.append(f"campaign {cid}: calls table {dict(db_counts[cid])} vs client {want}")
    for url, per in stats.items():
        s = per[cid]
        got = {d: n for d, n in s.get("by_disposition", {}).items() if n}
        got_agents = {str(a["agent"]): a["attempts"] for a in s.get("by_agent", []) if a["attempts"]}
        if s.get("attempts") != sum(want.values()):
            mismatches.append(f"{url} campaign {cid}: attempts {s.get('attempts')} vs client {sum(want.values())}")
        if got != want:
            mismatches.append(f"{url} campaign {cid}: by_disposition {got} vs client {want}")
        if got_agents != want_agents:
            diff = {a: (got_agents.get(a), want_agents.get(a)) for a in set(got_agents) | set(want_agents)
                    if got_agents.get(a) != want_agents.get(a)}
            mismatches.append(f"{url} campaign {cid}: by_agent differs for {len(diff)} agents, e.g. {list(diff.items())[:3]}")
verdict("stats equal the ground truth", not mismatches,
        f"{total_truth} outcomes answered 2xx over {len(setup['campaigns'])} campaigns, compared per "
        f"disposition and per agent with GET /v1/stats/campaigns/{{id}} on {len(stats)} process(es) and with "
        f"the calls table; replays of an outcome with the same Idempotency-Key: "
        f"{summary['replays_identical']} identical, {summary['replays_different']} different")
for m in mismatches[:20]:
    print("      " + m)
if summary["replays_different"]:
    failures.append("idempotent replays")

# 3. No call handed out to a listed phone after its listing committed.
listed_at = {}  # phone → the client's receipt of the first 2xx that listed it
lead_new = lead_again = 0
for entry in listings:
    if 200 <= entry["status"] < 300:
        lead_new += entry["status"] == 201
        lead_again += entry["status"] == 200
        listed_at[entry["phone"]] = min(listed_at.get(entry["phone"], INF), entry["recv"])
by_outcome = 0
for h in holds:
    if h.get("disposition") in ("do_not_call", "complaint") and 200 <= h.get("end_status", 0) < 300:
        by_outcome += 1
        listed_at[h["phone"]] = min(listed_at.get(h["phone"], INF), h["end_recv"])
dnc_added = {phone: added for phone, added, _ in dnc_rows}
violations, checked, after_added = [], 0, 0
for cid, camp, contact, agent, state, leased_at, exp, finished, disp in calls:
    phone = phone_of[contact]
    if phone in listed_at:
        checked += 1
        if leased_at > listed_at[phone]:
            violations.append(f"call {cid} (phone {phone[:6]}…) leased {leased_at - listed_at[phone]:.0f} ms after the listing's 2xx")
    if phone in dnc_added and leased_at > dnc_added[phone]:
        after_added += 1
unlisted = [p for p in listed_at if p not in dnc_added]
open_entries = query("SELECT COUNT(*) FROM campaign_contacts e JOIN contacts k ON k.id = e.contact_id "
                     "JOIN dnc d ON d.phone = k.phone WHERE e.state IN ('ready', 'scheduled', 'leased')")[0][0]
verdict("no DNC phone called after its listing", not violations and not unlisted,
        f"{len(listed_at)} phones listed during the run ({lead_new} new and {lead_again} already listed by the "
        f"lead's POST /v1/dnc, {by_outcome} by do_not_call/complaint outcomes); {len(dnc_rows)} rows in dnc; "
        f"{checked} calls to listed phones checked, {len(violations)} leased after the listing's 2xx; "
        f"listings missing from the table: {len(unlisted)}; calls whose request started after the stored "
        f"added_at (transaction committed before the listing; not violations): {after_added}; entries of listed "
        f"phones still ready/scheduled/leased at the end: {open_entries}")
for v in violations[:20]:
    print("      " + v)

# 4. Memory flat: RSS at the end at most 1.2 × RSS at a fifth of the run (minute 2 of 10).
ref_t = setup["seconds"] / 5
rss_lines = []
rss_ok = True
for pid in setup["pids"]:
    samples = sorted((r["t"], r["rss_kib"]) for r in rss if r["pid"] == pid and r["rss_kib"])
    if not samples:
        rss_ok = False
        rss_lines.append(f"pid {pid}: no samples")
        continue
    t_ref, ref = min(samples, key=lambda s: abs(s[0] - ref_t))
    t_end, end = samples[-1]
    peak = max(s[1] for s in samples)
    ok = end <= 1.2 * ref
    rss_ok &= ok
    rss_lines.append(f"pid {pid}: {ref / 1024:.1f} MiB at {t_ref:.0f} s, {end / 1024:.1f} MiB at {t_end:.0f} s "
                     f"(×{end / ref:.2f}), peak {peak / 1024:.1f} MiB")
verdict("memory flat (RSS end ≤ 1.2 × RSS at minute 2)", rss_ok, "; ".join(rss_lines))

# 5. No server errors.
verdict("no 5xx", summary["server_errors"] == 0,
        f"{summary['server_errors']} responses 5xx; statuses by route: {json.dumps(summary['status_by_route'])}")

actions = Counter(h.get("action") for h in holds)
print(f"      throughput: {summary['cycles_in_window']} outcomes in the {setup['seconds']} s window = "
      f"{summary['cycles_per_second']:.1f} cycles/s ({summary['cycles']} in all, the last calls finishing "
      f"{summary['load_seconds'] - setup['seconds']:.0f} s after the window) with {summary['agents']} agents on {summary['processes']} "
      f"process(es); {summary['hand_outs']} hand-outs ({dict(actions)}); next-call latency p50 "
      f"{summary['next_p50_ms']:.0f} ms, p99 {summary['next_p99_ms']:.0f} ms, max {summary['next_max_ms']:.0f} ms "
      f"over {summary['next_requests']} requests ({summary['next_empty']} were 204); late outcomes accepted "
      f"{summary['late_outcomes_accepted']}, outcomes refused 409 {summary['outcome_conflicts']}")
sys.exit(1 if failures else 0)
