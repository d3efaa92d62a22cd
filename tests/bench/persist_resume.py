#!/usr/bin/env python3
"""persist_resume.py — how long a persisted sandbox takes to resume on another
worker (issue 13, docs/persistence.md), against a fresh `sandbox.create` round
trip on the same worker in the same run.

Worker A alone on private topics creates -n sandboxes, fills each workspace
with --mib MiB of random bytes and 100 small files, and persists them all
(`sandbox.pause {persist: true}`). Worker B starts, A stops (SIGTERM), so B
owns every partition. Then, alternating one at a time:

  resume  `sandbox.resume` of a persisted sandbox: produce → sandbox.resumed
          (B adopts it, opens its sealed spec, starts the runtime, fetches and
          restores the checkpoint, then the events);
  create  `sandbox.create` of a fresh sandbox on B: produce → sandbox.ready.

Prints p50/p99 of each (with the default -n 20, p99 is about the maximum) and
the ratio resume/create. Not a test: nothing asserts a number (shared machines).

usage: persist_resume.py [-n 20] [--mib 10]
  env: a stack's env file sourced, SANDQ_WORKER_BIN / SANDQ_BUILD_DIR as for
       the integration tests
"""
from __future__ import annotations

import argparse
import base64
import os
import pathlib
import secrets
import shutil
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "faults"))
from harness import Worker, private_prefix  # noqa: E402
from mixed_load import FAST, partitions_of  # noqa: E402
from sandq_client import Sandq, new_id  # noqa: E402

OUTCOMES = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20, help="sandboxes resumed (and fresh creates)")
    ap.add_argument("--mib", type=int, default=10, help="random MiB in each workspace")
    args = ap.parse_args()
    brokers = os.environ["SANDQ_KAFKA_BROKERS"]
    prefix = private_prefix(brokers, "prbench", partitions=6)
    client = Sandq(brokers, prefix)
    store = tempfile.mkdtemp(prefix="sandq-prbench-store-")
    env = {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, **FAST, "SANDQ_LOG_LEVEL": "info",
           "SANDQ_ARTIFACT_STORE": f"file://{store}",
           "SANDQ_WEBHOOK_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    a = Worker("w-prbench-a", {**env, "SANDQ_UID_BASE": "2800000000"}).start()
    b = None
    every = client.stream(None)

    def wait(rid, types, timeout=300):
        return every.wait_for(lambda e: e.get("requestId") == rid and e["type"] in types, timeout=timeout)

    try:
        persisted = []
        fill = (f"cd /workspace && head -c {args.mib << 20} /dev/urandom > blob && mkdir t && "
                "for i in $(seq 100); do echo $i > t/$i; done")
        for _ in range(args.n):
            sbx = new_id("sbx")
            r = client.send(client.envelope("sandbox.create", sbx, {"env": {"K": "v"}}))
            wait(r["requestId"], {"sandbox.ready"}, 120)
            r = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", fill]}))
            assert wait(r["requestId"], OUTCOMES)["type"] == "sandbox.task.completed"
            r = client.send(client.envelope("sandbox.pause", sbx, {"persist": True}))
            ev = wait(r["requestId"], {"sandbox.paused", "sandbox.ready", "request.rejected"})
            assert ev["type"] == "sandbox.paused" and ev["data"].get("persisted"), ev
            persisted.append(sbx)
        b = Worker("w-prbench-b", {**env, "SANDQ_UID_BASE": "2900000000"}).start()
        assert a.stop() == 0
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            owned = partitions_of(brokers, prefix, prefix)
            if len(owned.get(b.worker_id, ())) == 12:
                break
            time.sleep(0.5)
        resume_ms, create_ms, fresh = [], [], []
        for sbx in persisted:
            t0 = time.monotonic()
            r = client.send(client.envelope("sandbox.resume", sbx))
            ev = wait(r["requestId"], {"sandbox.resumed", "sandbox.failed", "request.rejected"})
            resume_ms.append((time.monotonic() - t0) * 1000)
            assert ev["type"] == "sandbox.resumed" and ev["workerId"] == b.worker_id, ev
            new = new_id("sbx")
            t0 = time.monotonic()
            r = client.send(client.envelope("sandbox.create", new, {"env": {"K": "v"}}))
            assert wait(r["requestId"], {"sandbox.ready", "sandbox.failed", "request.rejected"})["type"] == \
                "sandbox.ready"
            create_ms.append((time.monotonic() - t0) * 1000)
            fresh.append(new)
            for s in (sbx, new):  # one sandbox at a time on B: each measured on an idle worker
                k = client.send(client.envelope("sandbox.kill", s))
                wait(k["requestId"], {"sandbox.ended", "request.rejected"})
        r50, r99, c50, c99 = pct(resume_ms, 50), pct(resume_ms, 99), pct(create_ms, 50), pct(create_ms, 99)
        print(f"resume of a persisted sandbox ({args.mib} MiB + 100 files) on another worker, n={args.n}: "
              f"p50 {r50:.0f} ms, p99 {r99:.0f} ms")
        print(f"fresh sandbox.create round trip on the same worker, n={args.n}: p50 {c50:.0f} ms, p99 {c99:.0f} ms")
        print(f"ratio resume/create: p50 {r50 / c50:.2f}x, p99 {r99 / c99:.2f}x")
        return 0
    finally:
        every.close()
        a.stop()
        if b:
            b.stop()
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
