#!/usr/bin/env python3
"""forward_latency.py — the extra latency of an exec whose sandbox is hosted by
another worker than its partition's owner (forwarded through the host's
<prefix>.worker.<id> topic, worker/src/pipeline/forward.h) against a direct
one, in the same run.

Starts worker A on private topics (6 partitions), creates sandboxes on every
partition, then starts worker B: the partitions B takes are the "forwarded"
sandboxes (still hosted by A), the ones A kept are the "direct" baseline.
Then sends `true` execs one at a time, alternating forwarded and direct, and
times produce → sandbox.task.completed. Prints p50/p99 of each and the ratio
forwarded/direct. Not a test: nothing asserts a number (shared machines).

usage: forward_latency.py [-n N]   (env: a stack's env file sourced, and
                                    SANDQ_WORKER_BIN / SANDQ_BUILD_DIR as for
                                    the integration tests)
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "faults"))
from harness import Worker, private_prefix  # noqa: E402
from mixed_load import FAST, partitions_of  # noqa: E402
from sandq_client import Sandq, new_id, partition_for  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200, help="execs of each kind")
    args = ap.parse_args()
    brokers = os.environ["SANDQ_KAFKA_BROKERS"]
    prefix = private_prefix(brokers, "fwdbench", partitions=6)
    client = Sandq(brokers, prefix)
    env = {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, **FAST}
    a = Worker("w-fwdbench-a", env).start()
    b = None
    every = client.stream(None)
    try:
        sandboxes = {}
        for p in range(6):
            sbx = next(s for s in iter(lambda: new_id("sbx"), None) if partition_for(s, 6) == p)
            sandboxes[sbx] = p
            client.send(client.envelope("sandbox.create", sbx, {}))
        for sbx in sandboxes:
            every.wait_for(lambda e, s=sbx: e["type"] == "sandbox.ready" and e["sandboxId"] == s, timeout=120)
        b = Worker("w-fwdbench-b", env).start()
        deadline = time.monotonic() + 60
        while True:
            owned = partitions_of(brokers, prefix, prefix)
            mine = {p for t, p in owned.get(b.worker_id, set()) if t == client.requests_topic}
            if mine or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        forwarded = [s for s, p in sandboxes.items() if p in mine]
        direct = [s for s, p in sandboxes.items() if p not in mine]
        if not forwarded or not direct:
            print(f"the rebalance did not split the partitions ({owned}); nothing to compare")
            return 1
        times: dict[str, list[float]] = {"forwarded": [], "direct": []}

        def one(kind: str, sbx: str) -> None:
            t0 = time.monotonic()
            ex = client.send(client.envelope("task.exec", sbx, {"command": "true"}))
            ev = every.wait_for(lambda e: e.get("requestId") == ex["requestId"] and e["type"] in
                                ("sandbox.task.completed", "sandbox.task.failed", "request.rejected"), timeout=60)
            assert ev["type"] == "sandbox.task.completed", ev
            times[kind].append(time.monotonic() - t0)

        for i in range(5):  # warm-up, not counted
            one("forwarded", forwarded[0])
            one("direct", direct[0])
        times = {"forwarded": [], "direct": []}
        for i in range(args.n):
            one("forwarded", forwarded[i % len(forwarded)])
            one("direct", direct[i % len(direct)])
            if len(every.seen) > 5000:
                every.seen.clear()
        f, d = times["forwarded"], times["direct"]
        print(f"exec round trip, {args.n} each, alternating; {len(forwarded)} forwarded / {len(direct)} direct sandboxes")
        print(f"  direct     p50 {pct(d, 50) * 1000:7.1f} ms  p99 {pct(d, 99) * 1000:7.1f} ms")
        print(f"  forwarded  p50 {pct(f, 50) * 1000:7.1f} ms  p99 {pct(f, 99) * 1000:7.1f} ms")
        print(f"  forwarded/direct  p50 x{pct(f, 50) / pct(d, 50):.2f}  p99 x{pct(f, 99) / pct(d, 99):.2f}; "
              f"extra p50 {(pct(f, 50) - pct(d, 50)) * 1000:.1f} ms")
        return 0
    finally:
        every.close()
        for w in (b, a):
            if w:
                w.stop()


if __name__ == "__main__":
    sys.exit(main())
