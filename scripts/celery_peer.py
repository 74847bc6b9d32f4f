#!/usr/bin/env python3
"""Celery 5 as the peer row of the load test (issue 17): trivial tasks through
the same RabbitMQ (durable queue, persistent messages, publisher confirms)
with results in Redis, driven in a closed loop like `catalytic-load
--clients`: CLIENTS tasks outstanding at all times, each followed to its
result, for SECONDS. Prints one line that scripts/load.sh puts beside ours:

    celery (same run): completed N tasks/s, submit -> result p50 X ms p99 Y ms

Run through scripts/celery-peer.sh (it makes the virtual environment and
starts the Celery worker, `celery -A celery_peer worker`); `drive` is the
client half.
The queue and the Redis database are private to the run (a prefix of the
caller's), and the queue is deleted afterwards.
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import time

from celery import Celery

PREFIX = os.environ.get("CELERY_PEER_PREFIX", "celery-peer")
app = Celery(
    "celery_peer",
    broker=os.environ.get("CELERY_PEER_BROKER", "amqp://guest:guest@127.0.0.1:5672//"),
    backend=os.environ.get("CELERY_PEER_BACKEND", "redis://127.0.0.1:6379/0"),
)
app.conf.update(
    task_default_queue=f"{PREFIX}.tasks",
    # Durability as ours: persistent messages, confirms, acks after the task.
    task_default_delivery_mode="persistent",
    broker_transport_options={"confirm_publish": True},
    task_acks_late=True,
    result_expires=600,
    worker_hijack_root_logger=False,
)


@app.task(name="celery_peer.trivial")
def trivial(x):
    """As trivial as our 1-D size-2 shortest path: no real work."""
    return x + 1


def client(seconds, window, out):
    """One closed-loop client process: `window` tasks in flight."""
    deadline = time.monotonic() + seconds
    pending = []
    latencies = []
    i = 0
    while time.monotonic() < deadline or pending:
        while len(pending) < window and time.monotonic() < deadline:
            pending.append((time.monotonic(), trivial.delay(i)))
            i += 1
        if not pending:
            break
        started, result = pending.pop(0)
        result.get(timeout=30)
        latencies.append(time.monotonic() - started)
    out.put(latencies)


def drive(seconds, clients, processes):
    window = max(1, clients // processes)
    out = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=client, args=(seconds, window, out))
        for _ in range(processes)
    ]
    started = time.monotonic()
    for p in procs:
        p.start()
    latencies = []
    for _ in procs:
        latencies.extend(out.get())
    for p in procs:
        p.join()
    elapsed = time.monotonic() - started
    if not latencies:
        sys.exit("celery: no task completed")
    q = statistics.quantiles(latencies, n=100)
    print(
        f"celery (same run): completed {len(latencies) / elapsed:.0f} tasks/s, "
        f"submit -> result p50 {q[49] * 1000:.1f} ms p99 {q[98] * 1000:.1f} ms "
        f"({len(latencies)} tasks, {processes} client processes x {window} in flight)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("drive")
    d.add_argument("--seconds", type=float, default=20)
    d.add_argument("--clients", type=int, default=64)
    d.add_argument("--processes", type=int, default=8)
    args = parser.parse_args()
    if args.command == "drive":
        drive(args.seconds, args.clients, args.processes)


if __name__ == "__main__":
    main()
