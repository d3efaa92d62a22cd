#!/usr/bin/env python3
"""egress_create.py — what the egress settings add to a create (docs/egress.md).

Measures create → sandbox.ready on a running stack + worker, alternating, in the
same run:
  * baseline: {"network": "internet"};
  * proxy: the same with capabilities.proxy (an IPv4 literal: nothing to
    resolve; the proxy need not exist, nothing is sent through it);
  * lists: network {mode: internet, allowOut: 64 CIDRs, denyOut: 64 CIDRs}.
Prints p50/p90 of each and the ratio of p50 against the baseline. A domain name
costs one getaddrinfo on top, which is the worker's resolver's business and not
measured here. Not a test: nothing here asserts a number.

usage: egress_create.py [-n N]   (env: SANDQ_KAFKA_BROKERS, SANDQ_TOPIC_PREFIX;
                                   a worker must be consuming the stack)
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
from sandq_client import Sandq, new_id  # noqa: E402

CONFIGS = {
    "baseline": {"network": "internet"},
    "proxy": {"network": "internet", "capabilities": {"proxy": {"url": "http://u:p@198.51.99.1:3128"}}},
    "lists": {"network": {"mode": "internet",
                          "allowOut": [f"198.51.{i}.0/24" for i in range(64)],
                          "denyOut": [f"198.51.{i}.7" for i in range(64)]}},
}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def one(client: Sandq, body: dict) -> float:
    sbx = new_id("sbx")
    s = client.stream(sbx)
    t0 = time.perf_counter()
    client.send(client.envelope("sandbox.create", sbx, body))
    ev = s.wait_for(lambda e: e["type"] in {"sandbox.ready", "sandbox.failed", "request.rejected"}, 120)
    ms = (time.perf_counter() - t0) * 1000
    if ev["type"] != "sandbox.ready":
        raise SystemExit(f"create failed: {ev}")
    k = client.send(client.envelope("sandbox.kill", sbx))
    s.for_request(k["requestId"], {"sandbox.ended"}, timeout=60)
    s.close()
    return ms


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10)
    a = ap.parse_args()
    client = Sandq(os.environ["SANDQ_KAFKA_BROKERS"], os.environ.get("SANDQ_TOPIC_PREFIX", "sandq"))
    times: dict[str, list[float]] = {k: [] for k in CONFIGS}
    one(client, CONFIGS["baseline"])  # warm-up
    for _ in range(a.n):
        for name, body in CONFIGS.items():
            times[name].append(one(client, body))
    base = pct(times["baseline"], 50)
    for name, xs in times.items():
        print(f"{name:9s} create→ready p50 {pct(xs, 50):7.1f} ms  p90 {pct(xs, 90):7.1f} ms  "
              f"ratio {pct(xs, 50) / base:.2f}× baseline  (n={len(xs)})")


if __name__ == "__main__":
    main()
