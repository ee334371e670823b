"""Reads a schemathesis 4 run log; prints one TSV line:
backend, role, cases generated, failures (unique), server-error failures, then the
failure kinds (`code title: n; ...`)."""
import re
import sys

log, backend, role = open(sys.argv[2], encoding="utf-8", errors="replace").read(), sys.argv[3], sys.argv[4]
summary = log[log.rfind("SUMMARY"):]
m = re.search(r"Test cases:\s*\n\s*(\d+) generated(?:, (\d+) found (\d+) unique failures)?", summary)
if not m:
    sys.exit("no summary in the schemathesis output")
cases = int(m.group(1))
kinds = re.findall(r"❌ (ST\d+ [^:\n]+): (\d+)", summary[: summary.find("Test cases:")])
failures = sum(int(n) for _, n in kinds)
server = sum(int(n) for k, n in kinds if "server error" in k.lower())
print("\t".join([backend, role, str(cases), str(failures), str(server),
                 "; ".join(f"{k}: {n}" for k, n in kinds) or "-"]))
