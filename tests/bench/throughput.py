#!/usr/bin/env python3
"""throughput.py — exec throughput through Kafka: S sandboxes × E execs of `true`
(or --command).

Also prints the machine's CPU time per task during the exec phase (every
process: the worker, Kafka, Redis, PostgreSQL, the commands, this driver).

Starts W workers (W=1 and W=2 by default, one after the other, each on a fresh
consumer group so they do not inherit offsets), launches S sandboxes, then
publishes S×E task.exec requests as fast as the producer goes and counts
sandbox.task.completed events until all arrived. Prints tasks/s per run.

Also measures the key-ordering speedup: the same workload on one worker with
one request in flight per partition (SANDQ_PARTITION_INFLIGHT=1 pauses a
partition at each message until it is done, which is what a classic
one-in-flight-per-partition consumer does; the requests topic has 24
partitions) against the default (one in flight per sandbox), on the same
stack in the same run.

Each sandbox's /workspace is a plain directory here (SANDQ_DISK_LIMIT=0): with
the default disk limit every sandbox reserves diskMb (1 GiB) of host disk and a
loop device, so 1,000 sandboxes would need a terabyte. `--disk-mb N` measures
with the limit on, at N MiB per sandbox (mind S × N against the free space).

usage: throughput.py [-s SANDBOXES] [-e EXECS] [--workers 1,2] [--disk-mb N] [--no-ordering]
SANDQ_WORKER_BIN measures another build (default build/worker/sandq-worker).
needs: a running stack (SANDQ_* env), build/worker/sandq-worker. Not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from confluent_kafka import Consumer, TopicPartition  # noqa: E402

from sandq_client import Sandq, new_id  # noqa: E402


# SANDQ_WORKER_BIN: another build to measure (a before/after comparison).
WORKER_BIN = os.environ.get("SANDQ_WORKER_BIN", str(ROOT / "build/worker/sandq-worker"))


def start_workers(n: int, group: str, extra: dict, max_sandboxes: int) -> list[subprocess.Popen]:
    procs = []
    for i in range(n):
        d = pathlib.Path(tempfile.mkdtemp(prefix="sandq-bench-"))
        env = dict(os.environ, SANDQ_WORKER_ID=f"bench-{group}-{i}", SANDQ_GROUP_ID=group,
                   SANDQ_WORKSPACE_ROOT=str(d / "ws"), SANDQ_RUN_DIR=str(d / "run"), SANDQ_HTTP_PORT="0",
                   SANDQ_LOG_LEVEL="warn", SANDQ_MAX_SANDBOXES=str(max_sandboxes), **extra)
        procs.append(subprocess.Popen([WORKER_BIN], env=env,
                                      stderr=open(d / "log", "wb")))
        print(f"worker {i}: log in {d / 'log'}", file=sys.stderr, flush=True)
    time.sleep(4 + 2 * n)  # join the group
    return procs


def start_group_at_end(client: Sandq, group: str) -> None:
    """Commit the groups' offsets at the requests topics' ends, so its workers
    start there: a fresh group otherwise reads from the earliest offset and
    replays every earlier run's requests (deduped, but each one a Redis round
    trip on the polling thread) inside the measurement. Each requests topic has
    its own group, <group>.<topic> (worker/src/pipeline/consumer.h)."""
    region = os.environ.get("SANDQ_REGION", "iad")
    for topic in (client.requests_topic, f"{client.requests_topic}.{region}"):
        c = Consumer({"bootstrap.servers": client.brokers, "group.id": f"{group}.{topic}", "enable.auto.commit": False})
        md = c.list_topics(topic, timeout=10).topics[topic]
        if not md.error:
            tps = []
            for p in md.partitions:
                _, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                tps.append(TopicPartition(topic, p, high))
            c.commit(offsets=tps, asynchronous=False)
        c.close()


def stop(procs):
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(60)


def all_events(client: Sandq) -> Consumer:
    c = Consumer({"bootstrap.servers": client.brokers, "group.id": "unused", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 10})
    parts = c.list_topics(client.events_topic, timeout=10).topics[client.events_topic].partitions
    tps = []
    for p in parts:
        _, high = c.get_watermark_offsets(TopicPartition(client.events_topic, p), timeout=10)
        tps.append(TopicPartition(client.events_topic, p, high))
    c.assign(tps)
    return c


# An outcome other than the one waited for ends the run at once, with its reason,
# rather than after the timeout.
FAILURES = {"sandbox.failed", "sandbox.task.failed", "request.rejected"}


def wait_count(c: Consumer, type_: str, ids: set[str], key: str, timeout: float) -> float:
    left = set(ids)
    deadline = time.monotonic() + timeout
    while left and time.monotonic() < deadline:
        for m in c.consume(1000, 0.2):
            if m.error():
                continue
            ev = json.loads(m.value())
            if ev["type"] == type_:
                left.discard(ev[key])
            elif ev["type"] in FAILURES and ev.get(key) in left:
                raise RuntimeError(f"waiting for {type_}: got {ev['type']}: {json.dumps(ev.get('data'))}")
    if left:
        raise TimeoutError(f"{len(left)} of {len(ids)} {type_} missing")
    return time.monotonic()


def busy_cpu_ms() -> float:
    """CPU time spent by every process on the machine so far (/proc/stat's
    first line without idle and iowait), in ms: the whole stack's cost."""
    fields = [int(x) for x in pathlib.Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user nice system idle iowait irq softirq steal
    return busy * 1000 / os.sysconf("SC_CLK_TCK")


def run(client: Sandq, sandboxes: int, execs: int, workers: int, extra: dict, disk_mb: int,
        command: list[str]) -> dict:
    group = f"bench-{new_id('req')[-8:].lower()}"
    extra = dict(extra, SANDQ_DISK_LIMIT="1" if disk_mb else "0")
    start_group_at_end(client, group)
    procs = start_workers(workers, group, extra, max_sandboxes=sandboxes + 100)
    create = {"limits": {"diskMb": disk_mb}} if disk_mb else {}
    try:
        c = all_events(client)
        ids = [new_id("sbx") for _ in range(sandboxes)]
        t0 = time.monotonic()
        for sbx in ids:
            env = client.envelope("sandbox.create", sbx, create)
            client.producer.produce(client.requests_topic, json.dumps(env).encode(), key=sbx.encode())
        client.producer.flush(60)
        t_ready = wait_count(c, "sandbox.ready", set(ids), "sandboxId", 300)
        tasks = set()
        t1 = time.monotonic()
        wall1 = time.time()
        cpu1 = busy_cpu_ms()
        for i in range(execs):
            for sbx in ids:
                env = client.envelope("task.exec", sbx, {"command": command[0], "args": command[1:]})
                tasks.add(env["taskId"])
                client.producer.produce(client.requests_topic, json.dumps(env).encode(), key=sbx.encode())
                client.producer.poll(0)
        client.producer.flush(60)
        t_done = wait_count(c, "sandbox.task.completed", tasks, "taskId", 900)
        cpu_per_task = (busy_cpu_ms() - cpu1) / len(tasks)
        # The exec phase in wall-clock time, to line it up with CPU samples.
        print(f"exec phase: {wall1:.3f} {time.time():.3f}", file=sys.stderr, flush=True)
        for sbx in ids:
            env = client.envelope("sandbox.kill", sbx, {})
            client.producer.produce(client.requests_topic, json.dumps(env).encode(), key=sbx.encode())
        client.producer.flush(60)
        wait_count(c, "sandbox.ended", set(ids), "sandboxId", 300)
        c.close()
        return {"workers": workers, "sandboxes": sandboxes, "tasks": len(tasks),
                "launch_per_s": round(sandboxes / (t_ready - t0), 1),
                "tasks_per_s": round(len(tasks) / (t_done - t1), 1),
                # every process on the machine: worker, Kafka, Redis, PostgreSQL,
                # the commands themselves, this driver
                "machine_cpu_ms_per_task": round(cpu_per_task, 2)}
    finally:
        stop(procs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-s", "--sandboxes", type=int, default=200)
    ap.add_argument("-e", "--execs", type=int, default=10)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--no-ordering", action="store_true", help="skip the key-ordering comparison")
    ap.add_argument("--disk-mb", type=int, default=0,
                    help="per-sandbox disk limit in MiB (default 0: no disk limit, plain directories)")
    ap.add_argument("--command", default="true",
                    help="the command each exec runs, split on spaces (default: true); e.g. 'sleep 0.2' for tasks "
                         "that wait rather than compute")
    args = ap.parse_args()
    command = args.command.split()
    client = Sandq(os.environ.get("SANDQ_KAFKA_BROKERS", "127.0.0.1:19092"),
                   os.environ.get("SANDQ_TOPIC_PREFIX", "sandq"))
    results = []
    for w in [int(x) for x in args.workers.split(",")]:
        r = run(client, args.sandboxes, args.execs, w, {}, args.disk_mb, command)
        results.append(r)
        print(json.dumps(r), flush=True)
    if not args.no_ordering:
        one = run(client, args.sandboxes, args.execs, 1, {"SANDQ_PARTITION_INFLIGHT": "1"}, args.disk_mb, command)
        one["mode"] = "one in flight per partition (baseline)"
        print(json.dumps(one), flush=True)
        # Same worker count on both sides: the key-ordered figure of one worker.
        same = [r for r in results if r["workers"] == 1]
        base = (same[0] if same else run(client, args.sandboxes, args.execs, 1, {}, args.disk_mb, command))["tasks_per_s"]
        print(f"key-ordered vs one-in-flight-per-partition: {base / one['tasks_per_s']:.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
