#!/usr/bin/env python3
"""The soak's verdict and plot (scripts/soak.sh): reads samples.csv and
load.json from the report directory, writes verdict.txt and soak.svg, and
exits 1 when an invariant broke:

- after the first 5 minutes, no process's RSS grew more than 10 % over its
  value at minute 5;
- every accepted job ended (none unfinished) and no submit or follow failed.

It also states how much each table grew over the last half of the run (the
tables retention keeps flat should not grow once retention has run).
Python 3 standard library only. Usage: scripts/soak_report.py REPORT_DIR
"""

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

WARMUP_MINUTES = 5
RSS_GROWTH_MAX = 0.10


def series(rows, kind, measure):
    out = defaultdict(dict)
    for r in rows:
        if r["kind"] == kind and r["measure"] == measure:
            out[r["name"]][int(r["minute"])] = float(r["value"])
    return out


def polyline(points, x0, y0, w, h, xmax, ymax, colour):
    if not points:
        return ""
    coords = " ".join(
        f"{x0 + w * m / max(xmax, 1):.1f},{y0 + h - h * v / max(ymax, 1):.1f}" for m, v in points
    )
    return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}"/>'


def panel(title, named, y0, unit, scale):
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
    xmax = max((m for s in named.values() for m in s), default=1)
    ymax = max((v * scale for s in named.values() for v in s.values()), default=1) * 1.1
    parts = [
        f'<text x="60" y="{y0 - 8}" font-size="13">{title} (max {ymax / 1.1:.1f} {unit})</text>',
        f'<rect x="60" y="{y0}" width="700" height="160" fill="none" stroke="#999"/>',
    ]
    for i, (name, s) in enumerate(sorted(named.items())):
        colour = colours[i % len(colours)]
        pts = sorted((m, v * scale) for m, v in s.items())
        parts.append(polyline(pts, 60, y0, 700, 160, xmax, ymax, colour))
        parts.append(
            f'<text x="770" y="{y0 + 14 + 14 * i}" font-size="11" fill="{colour}">{name}</text>'
        )
    parts.append(f'<text x="60" y="{y0 + 176}" font-size="11">minutes 0–{xmax}</text>')
    return "\n".join(parts)


def main():
    out = Path(sys.argv[1])
    rows = list(csv.DictReader(open(out / "samples.csv")))
    load = json.load(open(out / "load.json"))
    rss = series(rows, "process", "rss_kib")
    tables = series(rows, "table", "bytes")
    queues = series(rows, "queue", "messages")
    lines, broken = [], False

    for process, s in sorted(rss.items()):
        base = s.get(WARMUP_MINUTES)
        later = [v for m, v in s.items() if m > WARMUP_MINUTES]
        if base is None or not later:
            lines.append(f"rss {process}: run shorter than the warm-up; not judged")
            continue
        growth = max(later) / base - 1
        ok = growth <= RSS_GROWTH_MAX
        broken |= not ok
        lines.append(
            f"rss {process}: {base / 1024:.1f} MiB at minute {WARMUP_MINUTES}, "
            f"max {max(later) / 1024:.1f} MiB after: {growth * 100:+.1f} % "
            f"({'ok' if ok else 'BROKEN: over 10 %'})"
        )

    last = max((m for s in tables.values() for m in s), default=0)
    half = last // 2
    for table, s in sorted(tables.items(), key=lambda kv: -kv[1].get(last, 0))[:8]:
        if half in s and last in s:
            lines.append(
                f"table {table}: {s[half] / 2**20:.1f} MiB at minute {half}, "
                f"{s[last] / 2**20:.1f} MiB at minute {last}"
            )

    unfinished = load.get("unfinished", 0)
    errors = sum(load.get("errors", {}).values())
    ended = load.get("succeeded", 0) + load.get("failed", 0) + load.get("cancelled", 0)
    ok = unfinished == 0 and errors == 0 and ended == load.get("accepted", -1)
    broken |= not ok
    lines.append(
        f"jobs: accepted {load.get('accepted')}, ended {ended} "
        f"(succeeded {load.get('succeeded')}), unfinished {unfinished}, errors {errors} "
        f"({'ok' if ok else 'BROKEN'})"
    )
    lines.append(
        f"throughput: accepted {load.get('accepted_per_s', 0):.0f} jobs/s, "
        f"completed {load.get('completed_per_s', 0):.0f} jobs/s; submit -> terminal "
        f"p50 {load['end_to_end_ms']['p50']:.1f} ms p99 {load['end_to_end_ms']['p99']:.1f} ms"
    )
    lines.append("verdict: " + ("BROKEN" if broken else "holds"))
    (out / "verdict.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    big = dict(sorted(tables.items(), key=lambda kv: -kv[1].get(last, 0))[:6])
    svg = "\n".join(
        [
            '<svg xmlns="http://www.w3.org/2000/svg" width="900" height="640" font-family="sans-serif">',
            '<rect width="100%" height="100%" fill="white"/>',
            panel("RSS per process", rss, 30, "MiB", 1 / 1024),
            panel("largest tables (with indexes)", big, 240, "MiB", 1 / 2**20),
            panel("queue depth", queues, 450, "messages", 1),
            "</svg>",
        ]
    )
    (out / "soak.svg").write_text(svg)
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
