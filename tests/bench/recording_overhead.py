#!/usr/bin/env python3
"""recording_overhead.py — what capabilities.recording costs an exec task
(docs/recording.md, "Measured").

One worker of its own (directory artifact store, as in the artifact tests),
two sandboxes on it: one created with capabilities.recording.enabled, one
without. Each round runs the same task.exec in both, one after the other, so
both see the same machine load: `sh -c 'seq 1 N'` (N lines of output, default
2000, about 9 KiB). Timed at the client from send to sandbox.task.completed;
the worker's own durationMs is printed too. With recording, the task also
builds its asciicast, exports it (hash + write to the store, one
sandbox.artifacts.updated) and queues an audit row per event. Warm-up rounds
are not counted. Prints p50/p99 and the ratio against the sandbox without
recording. Not a test: nothing here asserts a number.

usage: recording_overhead.py [-n N] [--warmup W] [--lines L]
       (env: the stack's, as tests/integration needs: SANDQ_KAFKA_BROKERS,
        SANDQ_REDIS_URL, SANDQ_DATABASE_URL, SANDQ_WORKER_BIN, …)
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
from harness import Worker, private_prefix  # noqa: E402
from sandbox_host import TASK_END, kill  # noqa: E402
from sandq_client import Sandq, new_id  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--lines", type=int, default=2000)
    args = ap.parse_args()
    store = tempfile.mkdtemp(prefix="sandq-bench-rec-")
    prefix = private_prefix(os.environ["SANDQ_KAFKA_BROKERS"], "benchrec")
    client = Sandq(os.environ["SANDQ_KAFKA_BROKERS"], prefix)
    w = Worker("w-bench-rec", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix,
                               "SANDQ_UID_BASE": "3860000000", "SANDQ_ARTIFACT_STORE": f"file://{store}"}).start()
    boxes = {}
    try:
        for name, create in (("off", {}), ("on", {"capabilities": {"recording": {"enabled": True}}})):
            sbx = new_id("sbx")
            s = client.stream(sbx)
            client.send(client.envelope("sandbox.create", sbx, create))
            ready = s.wait_for(lambda e: e["type"] in {"sandbox.ready", "sandbox.failed", "request.rejected"}, 60)
            if ready["type"] != "sandbox.ready":
                sys.exit(f"no sandbox: {ready}")
            boxes[name] = (sbx, s)

        def one(name: str) -> tuple[float, int]:
            sbx, s = boxes[name]
            t0 = time.perf_counter()
            req = client.send(client.envelope("task.exec", sbx, {"command": "sh",
                                                                  "args": ["-c", f"seq 1 {args.lines}"]}))
            end = s.for_request(req["requestId"], TASK_END, 120)
            ms = (time.perf_counter() - t0) * 1000
            if end["type"] != "sandbox.task.completed" or end["data"]["exitCode"] != 0:
                sys.exit(f"task failed: {end}")
            if (name == "on") != bool(end["data"]["artifacts"]):
                sys.exit(f"recording {name} but artifacts {end['data']['artifacts']}")
            return ms, end["data"]["durationMs"]

        res = {"off": ([], []), "on": ([], [])}
        for i in range(args.warmup + args.n):
            order = ("off", "on") if i % 2 == 0 else ("on", "off")
            for name in order:
                ms, dur = one(name)
                if i >= args.warmup:
                    res[name][0].append(ms)
                    res[name][1].append(dur)
    finally:
        for sbx, s in boxes.values():
            kill(client, s, sbx)
        w.stop()
        shutil.rmtree(store, ignore_errors=True)

    off_c, off_w = res["off"]
    on_c, on_w = res["on"]
    print(f"task.exec `seq 1 {args.lines}`, n={args.n} (+{args.warmup} warm-up), alternating, same worker")
    print(f"{'without recording (baseline), send -> completed':<52} p50 {pct(off_c, 50):7.1f} ms   "
          f"p99 {pct(off_c, 99):7.1f} ms")
    print(f"{'with recording, send -> completed':<52} p50 {pct(on_c, 50):7.1f} ms   p99 {pct(on_c, 99):7.1f} ms"
          f"   x{pct(on_c, 50) / pct(off_c, 50):.2f} p50, +{pct(on_c, 50) - pct(off_c, 50):.1f} ms")
    print(f"{'without recording, worker durationMs':<52} p50 {pct(off_w, 50):7.1f} ms")
    print(f"{'with recording, worker durationMs':<52} p50 {pct(on_w, 50):7.1f} ms")


if __name__ == "__main__":
    main()
