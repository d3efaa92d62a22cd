#!/usr/bin/env python3
"""webhook_load.py — webhook delivery rate: N events to 3 endpoints, one slow.

Starts its own sandq-worker (delivery on, private targets allowed), three
receivers on 127.0.0.1 (two answer at once, one takes --slow-ms per request),
adds a tenant endpoint for each with `sandq webhooks add`, then appends N
events of that tenant to the events table in one COPY — the outbox trigger
makes 3N delivery rows in the same transaction, as the worker's own event
appends do. It measures:
  * how long the two fast endpoints take to receive all N events each
    (deliveries/s), and how many the slow one had by then — the slow
    receiver must not hold the others back;
  * baseline, same run: raw POSTs to a fast receiver from 64 Python threads,
    a new connection each (as the worker makes), requests/s.
Prints both rates and their ratio; asserts nothing (timings are noisy).

usage: webhook_load.py [-n 10000] [--slow-ms 1000]
  env: SANDQ_DATABASE_URL, SANDQ_KAFKA_BROKERS, ... of a running stack
       (set -a; . .stack/env; set +a), SANDQ_BUILD_DIR (default build/)
"""
from __future__ import annotations

import argparse
import base64
import concurrent.futures
import http.client
import io
import json
import os
import pathlib
import secrets
import shutil
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
import psycopg  # noqa: E402

from harness import BUILD, Worker  # noqa: E402
from sandq_client import new_id  # noqa: E402
from webhook_receiver import Receiver  # noqa: E402

KEY = base64.b64encode(secrets.token_bytes(32)).decode()


def cli(*args: str) -> dict:
    env = dict(os.environ, SANDQ_WEBHOOK_SECRET_KEY=KEY)
    p = subprocess.run([str(BUILD / "producer" / "sandq"), "webhooks", *args, "--json"], env=env,
                       capture_output=True, text=True, timeout=60, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def raw_rate(n: int) -> float:
    rcv = Receiver().start()
    body = json.dumps({"v": 1, "type": "bench", "data": {"x": "y" * 200}}).encode()

    def post(_):
        c = http.client.HTTPConnection("127.0.0.1", rcv.port, timeout=15)
        c.request("POST", "/hook", body, {"Content-Type": "application/json"})
        c.getresponse().read()
        c.close()

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(64) as ex:
        list(ex.map(post, range(n)))
    dt = time.perf_counter() - t0
    rcv.stop()
    return n / dt


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--slow-ms", type=int, default=1000)
    args = ap.parse_args()
    n = args.n
    db = os.environ["SANDQ_DATABASE_URL"]

    tenant = "bench" + secrets.token_hex(4)
    w = Worker("w-wh-bench", {"SANDQ_TOPIC_PREFIX": "whbench", "SANDQ_GROUP_ID": "whbench", "SANDQ_WEBHOOKS": "1",
                              "SANDQ_WEBHOOK_ALLOW_PRIVATE": "1", "SANDQ_WEBHOOK_SECRET_KEY": KEY,
                              "SANDQ_WEBHOOK_POLL_MS": "100", "SANDQ_LOG_LEVEL": "info"}).start()
    fast = [Receiver().start(), Receiver().start()]
    slow = Receiver(delay=args.slow_ms / 1000).start()
    eps = [cli("add", r.url, "--tenant", tenant)["id"] for r in fast + [slow]]
    try:
        buf = io.StringIO()
        now = time.time()
        with psycopg.connect(db) as pg:
            with pg.cursor() as cur:
                with cur.copy("COPY events (event_id, sandbox_id, seq, type, tenant, worker_id, at, envelope) "
                              "FROM STDIN") as cp:
                    for i in range(n):
                        eid = new_id("evt")
                        env = {"v": 1, "eventId": eid, "type": "sandbox.task.progress", "sandboxId": None,
                               "seq": 0, "at": int(now * 1000), "tenant": tenant, "workerId": "bench",
                               "data": {"i": i, "pad": "x" * 200}}
                        cp.write_row((eid, None, 0, "sandbox.task.progress", tenant, "bench",
                                      time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(now)), json.dumps(env)))
            t0 = time.perf_counter()
            pg.commit()
        del buf
        for r in fast:
            r.wait(lambda g: len(g) >= n, timeout=600)
        t_fast = time.perf_counter() - t0
        slow_got = len(slow.got)
        fast_rate = 2 * n / t_fast
        print(f"events: {n}; endpoints: 2 fast, 1 slow ({args.slow_ms} ms per answer)")
        print(f"fast endpoints: {2 * n} deliveries in {t_fast:.2f} s = {fast_rate:.0f} deliveries/s")
        print(f"slow endpoint by then: {slow_got} deliveries = {slow_got / t_fast:.1f}/s "
              f"(cap {8} in flight x {1000 / args.slow_ms:.1f}/s each)")
        base = raw_rate(min(n, 5000))
        print(f"baseline, raw POSTs from 64 Python threads: {base:.0f} requests/s")
        print(f"ratio sandq delivery / raw POST: {fast_rate / base:.2f}")
    finally:
        for ep in eps:
            cli("rm", ep)
        for r in fast + [slow]:
            r.stop()
        w.stop()
        stats = [ln for ln in w.log_text().splitlines() if "webhooks: stopped" in ln]
        if stats:
            print("worker:", json.loads(stats[-1])["msg"])
        shutil.rmtree(w.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
