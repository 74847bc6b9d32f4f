#!/usr/bin/env python3
"""CPU seconds by process name between two moments, from /proc/*/stat.

`cpu_split.py snap FILE` records every process's user+system ticks;
`cpu_split.py diff FILE SECONDS` prints, per process name (PostgreSQL's
backends summed as `postgres`), the share of one core each used since the
snapshot, busiest first. scripts/load.sh wraps its closed-loop run with it,
so a report says who burned the machine's CPU (issue 17: the fleet is
CPU-bound on 2 cores, most of it PostgreSQL). Processes that started and
ended in between are not seen.
"""
import collections
import json
import os
import sys

TICKS = os.sysconf("SC_CLK_TCK")


def snapshot():
    ticks = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        # Keyed by pid (a kernel thread's name changes with its work) and
        # process start time (a pid may be reused), named by its name now.
        name = "postgres" if name.startswith("postgres") else name.split("/")[0]
        ticks[f"{pid}:{fields[19]}"] = (name, int(fields[11]) + int(fields[12]))
    return ticks


def main():
    if sys.argv[1] == "snap":
        with open(sys.argv[2], "w") as f:
            json.dump(snapshot(), f)
        return
    with open(sys.argv[2]) as f:
        before = json.load(f)
    seconds = float(sys.argv[3])
    by_name = collections.Counter()
    for key, (name, now) in snapshot().items():
        used = now - before.get(key, (name, 0))[1]
        if used > 0:
            by_name[name] += used
    total = sum(by_name.values())
    print(f"cpu by process over {seconds:.0f} s ({os.cpu_count()} cores = {100 * os.cpu_count()} %):")
    for name, used in by_name.most_common(8):
        print(f"  {name:24s} {100 * used / TICKS / seconds:6.1f} %")
    print(f"  {'all':24s} {100 * total / TICKS / seconds:6.1f} %")


if __name__ == "__main__":
    main()
