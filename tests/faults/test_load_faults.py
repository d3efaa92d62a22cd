"""Under load: hostile and malformed traffic mixed into valid requests, and a
SIGTERM in the middle of work. Each test runs its own worker on its own topic
prefix and consumer group, so it owns every message it sends."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from harness import Worker, private_prefix
from sandq_client import Sandq, new_id

OUTCOMES = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected", "sandbox.ready",
            "sandbox.failed", "sandbox.ended"}




def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def hostile_messages(n: int, sandboxes: list[str]) -> list[tuple[bytes, str | None, str]]:
    """(value, key, expected) with expected "dlq" or "rejected:<requestId>"."""
    out = []
    for i in range(n):
        sbx = sandboxes[i % len(sandboxes)]
        req = new_id("req")
        kind = i % 10
        if kind == 0:
            out.append((b"\xff\xfe not json " + os.urandom(32), sbx, "dlq"))
        elif kind == 1:
            out.append((b"[" * 5000 + b"]" * 5000, sbx, "dlq"))  # nesting past jansson's depth limit
        elif kind == 2:
            out.append((b'{"v":1,"requestId":"' + req.encode() + b'","requestId":"req_x"}', sbx, "dlq"))  # duplicate keys
        elif kind == 3:
            env = {"v": 1, "requestId": req, "type": "task.exec", "sandboxId": sbx, "taskId": new_id("tsk"),
                   "body": {"command": "x" * 5000}}
            out.append((json.dumps(env).encode(), sbx, f"rejected:{req}"))  # command too long
        elif kind == 4:
            env = {"v": 1, "requestId": req, "type": "files.read", "sandboxId": sbx, "taskId": new_id("tsk"),
                   "body": {"path": "../" * 50 + "etc/shadow"}}
            out.append((json.dumps(env).encode(), sbx, f"rejected:{req}"))
        elif kind == 5:
            env = {"v": 1, "requestId": req, "type": "task.exec", "sandboxId": sbx, "taskId": new_id("tsk"),
                   "body": {"command": "true", "args": [{"nested": True}]}}
            out.append((json.dumps(env).encode(), sbx, f"rejected:{req}"))
        elif kind == 6:
            env = {"v": 1, "requestId": req, "type": "task.exec", "sandboxId": sbx, "taskId": new_id("tsk"),
                   "body": {"command": "true", "env": {"BAD NAME": "x"}}}
            out.append((json.dumps(env).encode(), sbx, f"rejected:{req}"))
        elif kind == 7:
            env = {"v": 1, "requestId": req, "type": "task.exec", "sandboxId": sbx, "taskId": new_id("tsk"),
                   "body": {"command": "a\u0000b"}}
            out.append((json.dumps(env).encode(), sbx, "dlq"))  # a NUL in a string: not parsed, not guessed at
        elif kind == 8:
            env = {"v": 1, "requestId": req, "type": "files.write", "sandboxId": sbx, "taskId": new_id("tsk"),
                   "body": {"path": "x", "contentB64": "!!!!"}}
            out.append((json.dumps(env).encode(), sbx, f"rejected:{req}"))
        else:
            env = {"v": 1, "requestId": req, "type": "task.exec", "sandboxId": sbx, "taskId": new_id("tsk"),
                   "timeoutMs": 10 ** 30, "body": {"command": "true"}}
            out.append((json.dumps(env).encode(), sbx, "dlq"))  # an integer past 64 bits: not parsed
    return out


def launch_ready(client: Sandq, n: int):
    """Create n sandboxes and wait until each is ready; returns their ids and
    the stream of every event that saw it."""
    sandboxes = [new_id("sbx") for _ in range(n)]
    every = client.stream(None)
    for sbx in sandboxes:
        client.send(client.envelope("sandbox.create", sbx, {}))
    for sbx in sandboxes:
        every.wait_for(lambda e, s=sbx: e["type"] == "sandbox.ready" and e["sandboxId"] == s, timeout=60)
    return sandboxes, every


def test_malformed_traffic_mixed_with_valid_work(stack_env):
    prefix = private_prefix(stack_env["brokers"], "mal")
    client = Sandq(stack_env["brokers"], prefix)
    w = Worker("w-malformed", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix}).start()
    try:
        sandboxes, every = launch_ready(client, 4)

        dlq = Consumer({"bootstrap.servers": client.brokers, "group.id": "unused", "enable.auto.commit": False})
        dlq.assign([TopicPartition(client.dlq_topic, p, 0) for p in range(3)])

        rss = []
        for round_ in range(3):
            bad = hostile_messages(500, sandboxes)
            valid = []
            for i, (value, key, _) in enumerate(bad):
                client.producer.produce(client.requests_topic, value, key=key.encode() if key else None)
                if i % 5 == 0:
                    env = client.envelope("task.exec", sandboxes[i % 4], {"command": "echo", "args": [str(i)]})
                    valid.append(env)
                    client.producer.produce(client.requests_topic, json.dumps(env).encode(),
                                            key=env["sandboxId"].encode())
            assert client.producer.flush(30) == 0
            want_rejected = {exp.split(":", 1)[1] for _, _, exp in bad if exp.startswith("rejected:")}
            want_done = {e["requestId"] for e in valid}

            def settle(e):
                if e["type"] == "request.rejected":
                    want_rejected.discard(e.get("requestId"))
                elif e["type"] == "sandbox.task.completed":
                    want_done.discard(e.get("requestId"))
                return not want_rejected and not want_done

            try:
                every.wait_for(settle, timeout=120)
            except TimeoutError:
                kinds = [json.loads(v).get("body") for v, _, exp in bad
                         if exp.startswith("rejected:") and exp.split(":", 1)[1] in want_rejected][:3]
                pytest.fail(f"{len(want_rejected)} rejections and {len(want_done)} completions missing; e.g. {kinds}")
            rss.append(rss_kb(w.proc.pid))

        # Every non-envelope reached the DLQ, unchanged, with its reason.
        dlq_count = 0
        deadline = time.monotonic() + 30
        want_dlq = sum(1 for r in range(3) for i in range(500) if i % 10 in (0, 1, 2, 7, 9))
        while dlq_count < want_dlq and time.monotonic() < deadline:
            for m in dlq.consume(500, 0.5):
                if not m.error():
                    assert dict(m.headers())["sandq-error-code"] == b"invalid_request"
                    dlq_count += 1
        dlq.close()
        assert dlq_count == want_dlq
        # Memory stays flat: after a first round warms the caches up (Kafka
        # fetch buffers, malloc arenas), another 500 hostile messages and 100
        # tasks leave RSS where it was, give or take.
        print(f"worker RSS after each round (KiB): {rss}")
        with open(f"/proc/{w.proc.pid}/maps") as f:
            asan = "libasan" in f.read()
        if not asan:
            assert rss[2] - rss[1] < 16 * 1024, rss
        # Under ASan, freed memory sits in its quarantine, so RSS says nothing;
        # there LeakSanitizer checks at exit instead (w.stop() must return 0).
        assert w.alive()
    finally:
        assert w.stop() == 0


def test_sigterm_under_load_loses_nothing(stack_env):
    prefix = private_prefix(stack_env["brokers"], "term")
    client = Sandq(stack_env["brokers"], prefix)
    env = {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix}
    w1 = Worker("w-term-1", env).start()
    sandboxes, every = launch_ready(client, 4)
    sent = []
    for i in range(60):
        r = client.envelope("task.exec", sandboxes[i % 4], {"command": "sh", "args": ["-c", "sleep 0.1"]})
        client.producer.produce(client.requests_topic, json.dumps(r).encode(), key=r["sandboxId"].encode())
        sent.append(r["requestId"])
    assert client.producer.flush(30) == 0
    time.sleep(0.5)  # some done, some running, most queued
    assert w1.stop(signal.SIGTERM) == 0  # graceful: exits 0
    w2 = Worker("w-term-2", env).start()  # picks up what was not committed
    try:
        pending = set(sent)
        outcomes: dict[str, list[str]] = {}

        def seen(e):
            if e.get("requestId") in sent and e["type"] in ("sandbox.task.completed", "sandbox.task.failed",
                                                              "request.rejected"):
                outcomes.setdefault(e["requestId"], []).append(e["type"])
                pending.discard(e["requestId"])
            return not pending

        every.wait_for(seen, timeout=120)
        # Every request has an outcome; none has two (a redelivered one is deduplicated).
        assert not pending
        assert all(len(v) == 1 for v in outcomes.values()), {k: v for k, v in outcomes.items() if len(v) > 1}
        # The first worker said what became of its sandboxes: none is left claiming to be ready.
        failed: set[str] = set()

        def all_failed(e):
            if e["type"] == "sandbox.failed":
                failed.add(e["sandboxId"])
            return failed == set(sandboxes)

        every.wait_for(all_failed, timeout=60)
        assert all(e["data"]["reason"] == "worker_shutdown" for e in every.seen if e["type"] == "sandbox.failed")
    finally:
        every.close()
        assert w2.stop() == 0
