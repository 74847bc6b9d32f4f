#!/usr/bin/env bash
# Burn-down (issue 17), as graphile-worker measures it: N trivial jobs queued
# across TENANTS enterprise tenants straight into the tables (one INSERT …
# SELECT from generate_series: it is the drain that is measured, not the
# submits), then a worker and the scheduler (its relay) started on a fresh
# database and queue prefix, and the fleet drains the backlog. Recorded:
#   rounds.csv  every relay round: claimed, published, claim_ms, round_ms
#               (the relay's per-round debug line), its time since the start
#   drain.csv   once a second: queued, running and finished jobs
#   burndown.svg  claim time per round, first to last, and the backlog
#   summary.txt   drain rate, claim time over the first and last tenth
# in loadtests/reports/burndown-<stamp>/.
# Usage: scripts/burndown.sh [N] [TENANTS]
# BURNDOWN_BIN=dir runs the binaries there (no build): how a baseline is
# measured against the same script.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
tenants=${2:-32}
timeout_s=${BURNDOWN_TIMEOUT_S:-3600}

scripts/services.sh >/dev/null
bin=${BURNDOWN_BIN:-target/release}
if [[ -z ${BURNDOWN_BIN:-} ]]; then
  echo "[burndown] building release binaries"
  SQLX_OFFLINE=true cargo build --release -p catalytic-api -p catalytic-scheduler -p catalytic-worker --quiet
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=loadtests/reports/burndown-$stamp
mkdir -p "$out"
. scripts/lib/fresh-stack.sh
fresh_stack burndown "$stamp"
psql_db() { psql -h 127.0.0.1 -U postgres -d "$db" -qAt -v ON_ERROR_STOP=1 "$@"; }
export CATALYTIC_LOG__FORMAT=json
# The relay's per-round line is at debug; everything else stays quiet.
export RUST_LOG=${RUST_LOG:-warn,catalytic_scheduler::relay=debug}

psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE \"$db\""
"$bin/catalytic-api" migrate 2>"$out/migrate.log"

echo "[burndown] queuing $n jobs across $tenants tenants"
psql_db -v n="$n" -v tenants="$tenants" <<'SQL'
INSERT INTO tenants (id, name, plan)
SELECT gen_random_uuid(), 'burndown-' || g, 'enterprise' FROM generate_series(1, :tenants) g;
WITH t AS (SELECT array_agg(id ORDER BY name) AS ids FROM tenants),
j AS (
  INSERT INTO jobs (id, tenant_id, operation, spec, queue_class, max_attempts)
  SELECT gen_random_uuid(), t.ids[1 + g % cardinality(t.ids)], 'shortest_path',
         '{"lattice": {"sizes": [2]}, "operation": "shortest_path", "params": {"start": [0], "end": [1]}}',
         'high', 10
  FROM t, generate_series(1, :n) g
  RETURNING id, tenant_id, queue_class)
INSERT INTO job_outbox (message_id, job_id, tenant_id, attempt, queue_class)
SELECT gen_random_uuid(), id, tenant_id, 1, queue_class FROM j;
SQL

wait_ready() {
  local deadline=$((SECONDS + 60))
  until curl -fsS --max-time 5 "$1" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "[burndown] $1 not ready; logs in $out"; exit 1; }
    sleep 0.2
  done
}
# The worker first, idle (nothing is published yet); the relay's first
# round is the start of the drain.
"$bin/catalytic-worker" >"$out/worker.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:$worker_port/readyz"
start=$(date +%s.%N)
"$bin/catalytic-scheduler" >"$out/scheduler.log" 2>&1 &
pids+=($!)
echo "[burndown] draining"

echo "t_s,queued,running,finished" >"$out/drain.csv"
deadline=$((SECONDS + timeout_s))
while :; do
  # Both counts read partial indexes (jobs_tenant_queued, jobs_running_lease).
  row=$(psql_db -F, -c "SELECT (SELECT count(*) FROM jobs WHERE status = 'queued'),
                                (SELECT count(*) FROM jobs WHERE status = 'running')")
  t=$(python3 -c "import time; print(f'{time.time() - $start:.2f}')")
  queued=${row%,*}; running=${row#*,}
  echo "$t,$queued,$running,$((n - queued - running))" >>"$out/drain.csv"
  ((queued + running == 0)) && break
  ((SECONDS < deadline)) || { echo "[burndown] not drained after ${timeout_s}s"; break; }
  sleep 1
done
failed=$(psql_db -c "SELECT count(*) FROM jobs WHERE status <> 'succeeded'")
echo "[burndown] drained; jobs not succeeded: $failed"
kill "${pids[1]}" 2>/dev/null || true

python3 - "$out" "$start" "$n" "$tenants" "$failed" <<'PY'
import csv, json, sys, datetime
out, start, n, tenants, failed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

rounds = []
with open(f"{out}/scheduler.log") as f:
    for line in f:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("message") != "relay round" or "claim_ms" not in e:
            continue
        ts = datetime.datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")).timestamp()
        rounds.append((ts - start, e["claimed"], e["published"], e["claim_ms"], e.get("round_ms", 0.0)))
with open(f"{out}/rounds.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["round", "t_s", "claimed", "published", "claim_ms", "round_ms"])
    for i, r in enumerate(rounds, 1):
        w.writerow([i, f"{r[0]:.3f}", r[1], r[2], f"{r[3]:.3f}", f"{r[4]:.3f}"])
drain = []
with open(f"{out}/drain.csv") as f:
    for r in csv.DictReader(f):
        drain.append((float(r["t_s"]), int(r["queued"]), int(r["running"]), int(r["finished"])))

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")

claims = [r[3] for r in rounds]
tenth = max(1, len(claims) // 10)
first_t = rounds[0][0] if rounds else 0.0
end_t = drain[-1][0] if drain else 0.0
lines = [
    f"jobs {n}, tenants {tenants}, not succeeded {failed}",
    f"relay rounds {len(rounds)}; first round at {first_t:.2f} s; drained at {end_t:.2f} s",
    f"drain rate {n / max(end_t - first_t, 1e-9):.1f} jobs/s (first round to empty)",
    f"claim ms, first tenth of rounds: p50 {pct(claims[:tenth], .5):.2f}, p99 {pct(claims[:tenth], .99):.2f}, max {max(claims[:tenth], default=float('nan')):.2f}",
    f"claim ms, last tenth of rounds:  p50 {pct(claims[-tenth:], .5):.2f}, p99 {pct(claims[-tenth:], .99):.2f}, max {max(claims[-tenth:], default=float('nan')):.2f}",
    f"claim ms, all rounds: p50 {pct(claims, .5):.2f}, p99 {pct(claims, .99):.2f}, max {max(claims, default=float('nan')):.2f}",
]
# Drain rate by tenth of the backlog: is the end as fast as the start?
marks = []
for k in range(1, 11):
    target = n * k / 10
    t = next((d[0] for d in drain if d[3] >= target), None)
    marks.append(t)
prev = first_t
rates = []
for t in marks:
    if t is None:
        rates.append("-")
        continue
    rates.append(f"{(n / 10) / max(t - prev, 1e-9):.0f}")
    prev = t
lines.append("jobs/s by tenth of the backlog: " + " ".join(rates))
open(f"{out}/summary.txt", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))

# The plot: claim ms per round (left), backlog over time (right).
W, H, L, B, T, R = 900, 380, 60, 50, 40, 20
pw = (W - 3 * L - R) / 2
def panel(x0, xs, ys, xmax, ymax, xlabel, ylabel, title, dots):
    s = [f'<g transform="translate({x0},0)">',
         f'<text x="{pw / 2}" y="{T - 15}" text-anchor="middle" font-weight="bold">{title}</text>',
         f'<line x1="0" y1="{H - B}" x2="{pw}" y2="{H - B}" stroke="black"/>',
         f'<line x1="0" y1="{T}" x2="0" y2="{H - B}" stroke="black"/>',
         f'<text x="{pw / 2}" y="{H - 12}" text-anchor="middle">{xlabel}</text>',
         f'<text transform="translate(-45,{(H - B + T) / 2}) rotate(-90)" text-anchor="middle">{ylabel}</text>']
    for k in range(5):
        v = ymax * k / 4
        y = H - B - (H - B - T) * k / 4
        s.append(f'<text x="-6" y="{y + 4}" text-anchor="end">{v:.3g}</text>')
        v = xmax * k / 4
        x = pw * k / 4
        s.append(f'<text x="{x}" y="{H - B + 16}" text-anchor="middle">{v:.3g}</text>')
    px = lambda v: pw * v / xmax if xmax else 0
    py = lambda v: H - B - (H - B - T) * min(v, ymax) / ymax if ymax else H - B
    if dots:
        s += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="1.5" fill="#1f77b4"/>' for x, y in zip(xs, ys)]
    else:
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
        s.append(f'<polyline fill="none" stroke="#d62728" stroke-width="1.5" points="{pts}"/>')
    s.append("</g>")
    return "\n".join(s)
ymax = max(claims, default=1.0) * 1.1 or 1.0
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       panel(L, range(1, len(claims) + 1), claims, max(len(claims), 1), ymax,
             "relay round", "claim ms", f"fair claim per round ({n:,} jobs, {tenants} tenants)", True),
       panel(2 * L + pw + R, [d[0] for d in drain], [d[1] + d[2] for d in drain], max(end_t, 1.0), n,
             "seconds", "jobs queued or running", "backlog", False),
       "</svg>"]
open(f"{out}/burndown.svg", "w").write("\n".join(svg) + "\n")
PY
echo "[burndown] report in $out"
