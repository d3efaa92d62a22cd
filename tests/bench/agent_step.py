#!/usr/bin/env python3
"""agent_step.py — what one agent step costs (docs/agent.md, "Measured"), on a
running stack; starts its own worker (topics of its own,
SANDQ_AGENT_ALLOW_PRIVATE_ENDPOINTS=1) and the scripted fake model server
(tests/integration/fake_model.py), which answers at once.

Measures, in the same run and the same sandbox:
  * agent: one task.agent of N steps, each one `bash` call of CMD; a step is
    the time between two consecutive requests reaching the model server: the
    worker reading the answer, checking the call, running CMD in the sandbox
    (the same path task.exec takes), emitting the step's progress event and
    sending the next request;
  * baseline: N plain task.exec of the same command (`bash -c CMD`), one after
    another: the client's round trip (publish → sandbox.task.completed, through
    Kafka both ways) and the worker's own durationMs.
Prints p50/p99 and the ratios. Not a test: nothing here asserts a number.

usage: agent_step.py [-n N] [--cmd CMD]   (env: the stack's, SANDQ_BUILD_DIR)
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
from fake_model import FakeModel  # noqa: E402
from harness import Worker, private_prefix  # noqa: E402
from sandq_client import Sandq, new_id  # noqa: E402
import os  # noqa: E402

TASK_END = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--cmd", default="true")
    a = ap.parse_args()
    brokers = os.environ["SANDQ_KAFKA_BROKERS"]
    prefix = private_prefix(brokers, "agentbench")
    w = Worker("w-agent-bench", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": f"{prefix}-workers",
                                 "SANDQ_AGENT_ALLOW_PRIVATE_ENDPOINTS": "1", "SANDQ_LOG_LEVEL": "info"}).start()
    fake = FakeModel()
    client = Sandq(brokers, prefix)
    try:
        sbx = new_id("sbx")
        s = client.stream(sbx)
        client.send(client.envelope("sandbox.create", sbx, {
            "capabilities": {"agent": {"enabled": True}},
            "env": {"OPENROUTER_API_KEY": "sk-bench", "OPENROUTER_MODEL": "fake/bench",
                    "OPENROUTER_BASE_URL": fake.base_url}}))
        s.wait_type("sandbox.ready", timeout=60)
        # Warm-up: one exec, one short agent task.
        for cmd in ("true",):
            r = client.send(client.envelope("task.exec", sbx, {"command": "bash", "args": ["-c", cmd]}))
            s.for_request(r["requestId"], TASK_END, 60)
        fake.set_script([{"calls": [("bash", {"command": a.cmd})]}, {"text": "ok"}])
        r = client.send(client.envelope("task.agent", sbx, {"prompt": "warm up"}))
        s.for_request(r["requestId"], TASK_END, 60)

        # Agent: N steps of the command, distinct each time (the loop breaks
        # three identical calls in a row), then the answer.
        script = [{"calls": [("bash", {"command": f"{a.cmd} # {i}"})]} for i in range(a.n)] + [{"text": "done"}]
        fake.set_script(script)
        r = client.send(client.envelope("task.agent", sbx, {"prompt": "bench", "maxSteps": a.n + 1}))
        end = s.for_request(r["requestId"], TASK_END, 600)
        assert end["type"] == "sandbox.task.completed", end
        at = [q["at"] for q in fake.requests]
        steps = [(at[i + 1] - at[i]) * 1000 for i in range(len(at) - 1)]

        # Baseline: the same command as plain task.exec, one after another.
        rtt, dur = [], []
        for i in range(a.n):
            t0 = time.monotonic()
            q = client.send(client.envelope("task.exec", sbx, {"command": "bash", "args": ["-c", f"{a.cmd} # {i}"]}))
            e = s.for_request(q["requestId"], TASK_END, 60)
            rtt.append((time.monotonic() - t0) * 1000)
            dur.append(e["data"]["durationMs"])
        k = client.send(client.envelope("sandbox.kill", sbx))
        s.for_request(k["requestId"], {"sandbox.ended"}, 60)

        print(f"agent step ({a.n} steps, bash {a.cmd!r}, fake model answering at once):")
        print(f"  p50 {pct(steps, 50):7.2f} ms   p99 {pct(steps, 99):7.2f} ms   mean {sum(steps) / len(steps):7.2f} ms")
        print(f"task.exec of the same command ({a.n}, same sandbox, same run):")
        print(f"  client round trip  p50 {pct(rtt, 50):7.2f} ms   p99 {pct(rtt, 99):7.2f} ms")
        print(f"  worker durationMs  p50 {pct(dur, 50):7.2f} ms   p99 {pct(dur, 99):7.2f} ms")
        print(f"ratio agent step / exec round trip: p50 {pct(steps, 50) / pct(rtt, 50):.2f}x  "
              f"p99 {pct(steps, 99) / pct(rtt, 99):.2f}x")
        print(f"agent loop overhead beyond the command (step - exec durationMs): "
              f"p50 {pct(steps, 50) - pct(dur, 50):.2f} ms")
    finally:
        fake.close()
        w.stop()
        shutil.rmtree(w.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
