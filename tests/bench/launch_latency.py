#!/usr/bin/env python3
"""launch_latency.py — end-to-end latency through Kafka on a running stack + worker.

Measures, in the same run:
  * launch → sandbox.ready: produce a sandbox.create, read that sandbox's events
    partition until sandbox.ready arrives (then kill it, outside the timing);
  * exec round trip: task.exec of `true` in a ready sandbox → sandbox.task.completed;
  * baseline: a raw Kafka round trip (produce one message, consume it back from an
    assigned partition) on the same broker, same client library.
Prints p50/p99 of each and the ratio against the raw round trip. Not a test:
timings on shared machines are noisy, so nothing here asserts a number.

usage: launch_latency.py [-n N]   (env: SANDQ_KAFKA_BROKERS, SANDQ_TOPIC_PREFIX;
                                    a worker must be consuming the stack)
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

from sandq_client import Sandq, new_id  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def kafka_round_trips(brokers: str, topic: str, n: int) -> list[float]:
    prod = Producer({"bootstrap.servers": brokers, "linger.ms": 0, "acks": "all"})
    cons = Consumer({"bootstrap.servers": brokers, "group.id": "unused", "enable.auto.commit": False})
    prod.produce(topic, b"warm-up", partition=0)
    prod.flush(10)
    _, high = cons.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    cons.assign([TopicPartition(topic, 0, high)])
    out = []
    for i in range(n):
        payload = f"ping-{i}-{time.time_ns()}".encode()
        t0 = time.perf_counter()
        prod.produce(topic, payload, partition=0)
        prod.poll(0)
        while True:
            m = cons.poll(5)
            if m is not None and not m.error() and m.value() == payload:
                break
        out.append((time.perf_counter() - t0) * 1000)
    cons.close()
    prod.flush(10)
    return out


def arrival(s, request_id: str, type_: str, timeout: float = 60) -> None:
    """Read the sandbox's partition until the request's event of this type has
    arrived. Raw: the integration tests' stream validates every event against
    schema/ in Python, about half a millisecond each, which would be timed here
    as if it were the platform's."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = s.consumer.poll(0.5)
        if m is None or m.error():
            continue
        ev = json.loads(m.value())
        if ev.get("requestId") == request_id:
            if ev["type"] == type_:
                return
            if ev["type"] in ("request.rejected", "sandbox.failed", "sandbox.task.failed"):
                raise RuntimeError(f"{type_} expected, got {ev['type']}: {json.dumps(ev.get('data'))}")
    raise TimeoutError(f"no {type_} for {request_id}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=30)
    args = ap.parse_args()
    brokers = os.environ.get("SANDQ_KAFKA_BROKERS", "127.0.0.1:19092")
    prefix = os.environ.get("SANDQ_TOPIC_PREFIX", "sandq")
    # linger.ms 0, as the raw round trip's producer: the comparison is of the
    # paths, not of two clients' batching delays.
    client = Sandq(brokers, prefix, linger_ms=0)

    launch, execs = [], []
    # The first round is a cold start (the worker may still be joining its
    # group; its first sandbox of a disk size makes that size's file system
    # template): reported on its own, not mixed into the percentiles.
    for i in range(args.n + 1):
        sbx = new_id("sbx")
        s = client.stream(sbx)
        t0 = time.perf_counter()
        create = client.send(client.envelope("sandbox.create", sbx, {}))
        arrival(s, create["requestId"], "sandbox.ready")
        launch.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        ex = client.send(client.envelope("task.exec", sbx, {"command": "true"}))
        arrival(s, ex["requestId"], "sandbox.task.completed")
        execs.append((time.perf_counter() - t0) * 1000)
        kill = client.send(client.envelope("sandbox.kill", sbx))
        arrival(s, kill["requestId"], "sandbox.ended")
        s.close()
        if i == 0:
            cold = launch.pop()
            execs.pop()

    base = kafka_round_trips(brokers, f"{prefix}.bench.roundtrip", args.n)
    b50 = statistics.median(base)
    print(f"{'measure':<34}{'p50 ms':>10}{'p99 ms':>10}{'x raw kafka p50':>18}")
    for name, xs in (("raw Kafka round trip (baseline)", base), ("launch -> sandbox.ready", launch),
                     ("exec `true` -> task.completed", execs)):
        print(f"{name:<34}{statistics.median(xs):>10.1f}{pct(xs, 99):>10.1f}{statistics.median(xs) / b50:>18.2f}")
    print(f"{'first launch (cold, not above)':<34}{cold:>10.1f}")
    print(json.dumps({"n": args.n, "cold_launch_ms": round(cold, 1), "launch_p50_ms": round(statistics.median(launch), 1),
                      "exec_p50_ms": round(statistics.median(execs), 1),
                      "kafka_roundtrip_p50_ms": round(b50, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
