#!/usr/bin/env python3
"""browser_relay.py — what the relay for a proxy with credentials adds to a
browser sandbox (docs/egress.md, "The browser with credentials").

Alternates, in the same run, two creates with a browser and an enforced proxy:
  * baseline: a proxy without credentials (the browser's --proxy-server names it);
  * relay: the same proxy with credentials (a tinyproxy relay starts in the
    sandbox before the browser, and --proxy-server names the relay).
The proxy need not exist: nothing is fetched through it. Prints p50/p90 of
create → sandbox.ready and of the browser's own startupMs
(sandbox.browser.ready), with ratios against the baseline, and the relay's
resident memory (VmRSS of tinyproxy in the sandbox). Not a test: nothing here
asserts a number.

usage: browser_relay.py [-n N]   (env: SANDQ_KAFKA_BROKERS, SANDQ_TOPIC_PREFIX;
                                  a worker with the browser must be consuming the stack)
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
from sandq_client import Sandq, new_id  # noqa: E402

PROXY = "198.51.99.1:3128"
CONFIGS = {
    "baseline": {"network": "internet", "limits": {"memoryMb": 1024},
                 "capabilities": {"browser": {}, "proxy": {"url": f"http://{PROXY}"}}},
    "relay": {"network": "internet", "limits": {"memoryMb": 1024},
              "capabilities": {"browser": {}, "proxy": {"url": f"http://u:secret@{PROXY}"}}},
}
RSS = ("import os\n"
       "for p in os.listdir('/proc'):\n"
       "    if p.isdigit() and open(f'/proc/{p}/comm').read().strip() == 'tinyproxy':\n"
       "        print([l.split()[1] for l in open(f'/proc/{p}/status') if l.startswith('VmRSS')][0])\n")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def one(client: Sandq, body: dict, rss: list[int]) -> tuple[float, float]:
    sbx = new_id("sbx")
    s = client.stream(sbx)
    t0 = time.perf_counter()
    client.send(client.envelope("sandbox.create", sbx, body))
    ev = s.wait_for(lambda e: e["type"] in {"sandbox.ready", "sandbox.failed", "request.rejected"}, 120)
    ms = (time.perf_counter() - t0) * 1000
    if ev["type"] != "sandbox.ready" or not ev["data"]["capabilities"].get("browser"):
        raise SystemExit(f"create failed: {ev}")
    up = next(e for e in s.seen if e["type"] == "sandbox.browser.ready")["data"]["startupMs"]
    if "u:***@" in ev["data"].get("proxy", ""):
        req = client.send(client.envelope("task.exec", sbx, {"command": "python3", "args": ["-c", RSS]}))
        end = s.for_request(req["requestId"], {"sandbox.task.completed", "sandbox.task.failed"}, timeout=60)
        out = "".join(e["data"].get("data", "") for e in s.seen if e["type"] == "sandbox.task.output"
                      and e["requestId"] == req["requestId"])
        if end["type"] == "sandbox.task.completed" and out.strip().isdigit():
            rss.append(int(out))
    k = client.send(client.envelope("sandbox.kill", sbx))
    s.for_request(k["requestId"], {"sandbox.ended"}, timeout=60)
    s.close()
    return ms, float(up)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=6)
    a = ap.parse_args()
    client = Sandq(os.environ["SANDQ_KAFKA_BROKERS"], os.environ.get("SANDQ_TOPIC_PREFIX", "sandq"))
    ready: dict[str, list[float]] = {k: [] for k in CONFIGS}
    start: dict[str, list[float]] = {k: [] for k in CONFIGS}
    rss: list[int] = []
    one(client, CONFIGS["baseline"], rss)  # warm-up
    for _ in range(a.n):
        for name, body in CONFIGS.items():
            r, u = one(client, body, rss)
            ready[name].append(r)
            start[name].append(u)
    for label, table in (("create→ready", ready), ("browser startupMs", start)):
        base = pct(table["baseline"], 50)
        for name, xs in table.items():
            print(f"{name:9s} {label:18s} p50 {pct(xs, 50):7.1f} ms  p90 {pct(xs, 90):7.1f} ms  "
                  f"ratio {pct(xs, 50) / base:.2f}× baseline  (n={len(xs)})")
    if rss:
        print(f"relay     VmRSS p50 {pct(rss, 50)} kB  max {max(rss)} kB  (n={len(rss)})")


if __name__ == "__main__":
    main()
