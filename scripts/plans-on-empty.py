#!/usr/bin/env python3
"""The generic plan of every compile-time-checked statement, made on empty
tables, and the scans in it whose cost grows with a table.

Planned-once connections (`db::Planning::Once`) keep the generic plan they
made at a statement's first call, which on a fresh database is while the
tables are nearly empty (docs/benchmarks.md, "Outcomes planned on empty
tables"). This makes that plan for each statement of `.sqlx/` that reads one
of the job path's growing tables, in a scratch database built from
`migrations/`, with the settings of those connections
(`plan_cache_mode = force_generic_plan`, `enable_seqscan = off`; `--seqscan`
leaves sequential scans allowed, as a per-execution pool plans), and lists
each scan of such a table with no index condition: a sequential scan, or a
walk of a whole (partial) index. Not every one is a fault (a walk of the
partial index of running jobs reads the running jobs only); each is worth
a look.

Usage: scripts/plans-on-empty.py [--seqscan]  (needs psql and a local PostgreSQL)
"""
import glob
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DB = "catalytic_plans"
GROWING = {"jobs", "job_outbox", "job_transitions", "webhook_messages", "usage_events",
           "idempotency_keys", "job_dependencies", "webhook_deliveries", "job_queue_deltas"}


def psql(sql, db=DB):
    return subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-qAt"],
                          input=sql, capture_output=True, text=True)


def fresh_database():
    psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE); CREATE DATABASE {DB};", db="postgres")
    for migration in sorted(glob.glob(os.path.join(ROOT, "migrations", "*.sql"))):
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DB, "-q",
                            "-v", "ON_ERROR_STOP=1", "-f", migration], capture_output=True, text=True)
        if r.returncode:
            sys.exit(f"{migration}: {r.stderr.strip()}")


def sql_type(param):
    """sqlx's name of a parameter type, as PostgreSQL spells it."""
    if not isinstance(param, str):
        return param.get("Custom", {}).get("name", "unknown")
    return param[:-5].lower() + "[]" if param.endswith("Array") else param.lower()


def unbounded_scans(node, indexes, found):
    relation = node.get("Relation Name") or indexes.get(node.get("Index Name", ""), "")
    kind = node.get("Node Type")
    bounded = node.get("Index Cond") or node.get("TID Cond")
    if relation in GROWING and kind in ("Seq Scan", "Bitmap Index Scan", "Index Scan",
                                        "Index Only Scan") and not bounded:
        via = f" ({node['Index Name']})" if "Index Name" in node else ""
        found.append(f"{kind} on {relation}{via}")
    for child in node.get("Plans", []):
        unbounded_scans(child, indexes, found)


def main():
    seqscan = "--seqscan" in sys.argv
    fresh_database()
    indexes = dict(line.split("|") for line in psql(
        "SELECT indexname, tablename FROM pg_indexes WHERE schemaname = 'public'").stdout.split())
    settings = "SET LOCAL plan_cache_mode = force_generic_plan;"
    if not seqscan:
        settings += " SET LOCAL enable_seqscan = off;"
    flagged = 0
    for path in sorted(glob.glob(os.path.join(ROOT, ".sqlx", "*.json"))):
        data = json.load(open(path))
        query = data["query"]
        if not re.search(r"\b(%s)\b" % "|".join(GROWING), query):
            continue
        types = [sql_type(p) for p in data["describe"]["parameters"].get("Left", [])]
        args = f"({','.join(types)})" if types else ""
        values = f"({','.join(['NULL'] * len(types))})" if types else ""
        r = psql(f"BEGIN; {settings} PREPARE p{args} AS {query};\n"
                 f"EXPLAIN (FORMAT JSON) EXECUTE p{values};\nROLLBACK;")
        if "ERROR" in r.stderr:
            print(f"{os.path.basename(path)}: {r.stderr.strip().splitlines()[0]}")
            continue
        found = []
        for plan in json.loads(r.stdout):
            unbounded_scans(plan["Plan"], indexes, found)
        if found:
            flagged += 1
            print(f"{os.path.basename(path)[6:18]}  {' '.join(query.split())[:100]}")
            for scan in found:
                print(f"    {scan}")
    psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE);", db="postgres")
    print(f"{flagged} statements with a scan that grows with its table")


if __name__ == "__main__":
    main()
