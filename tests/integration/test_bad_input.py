"""Bad input gets a clear error code and nothing is lost: each case yields a
request.rejected (or DLQ entry) with the PROTOCOL.md code, and the worker keeps
serving afterwards."""
from __future__ import annotations

import json
import random
import string
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from sandq_client import end_offset, new_id


def reject_of(client, env_or_bytes, key, request_id=None, sandbox_id=None):
    """Send, then return the request.rejected event for it."""
    s = client.stream(sandbox_id) if sandbox_id else client.stream(None)
    if isinstance(env_or_bytes, (bytes, str)):
        client.send_raw(env_or_bytes if isinstance(env_or_bytes, bytes) else env_or_bytes.encode(), key)
    else:
        client.send(env_or_bytes)
    ev = s.wait_for(lambda e: e["type"] == "request.rejected" and e.get("requestId") == request_id, timeout=30)
    s.close()
    return ev


def env_with(client, sbx=None, **overrides):
    env = client.envelope("task.exec", sbx or new_id("sbx"), {"command": "true"})
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


@pytest.mark.parametrize("case,mutate,code,field", [
    ("wrong v", {"v": 2}, "unsupported_version", "v"),
    ("missing v", {"v": None}, "invalid_request", "v"),
    ("unknown type", {"type": "sandbox.teleport"}, "unknown_type", "type"),
    ("bad sandbox id", {"sandboxId": "sbx_not-a-ulid"}, "invalid_request", "sandboxId"),
    ("bad task id", {"taskId": "task-1"}, "invalid_request", "taskId"),
    ("missing task id", {"taskId": None}, "invalid_request", "taskId"),
    ("body not object", {"body": [1, 2]}, "invalid_request", "body"),
    ("unknown body field", {"body": {"command": "true", "comand": "x"}}, "invalid_request", "body.comand"),
    ("missing command", {"body": {}}, "invalid_request", "body.command"),
    ("bad tenant", {"tenant": "a b"}, "invalid_request", "tenant"),
])
def test_envelope_violations(client, worker, case, mutate, code, field):
    env = env_with(client, **mutate)
    ev = reject_of(client, json.dumps(env), env.get("sandboxId") if isinstance(env.get("sandboxId"), str) else None,
                   request_id=env["requestId"])
    assert ev["data"]["code"] == code, (case, ev)
    assert ev["data"].get("field") == field, (case, ev)
    assert ev["data"]["message"]


def test_missing_request_id(client, worker):
    sbx = new_id("sbx")
    env = client.envelope("task.exec", sbx, {"command": "true"})
    del env["requestId"]
    s = client.stream(sbx)
    client.send(env)
    ev = s.wait_type("request.rejected")
    assert ev["data"]["code"] == "invalid_request" and ev["data"]["field"] == "requestId"
    assert ev["requestId"] is None and ev["seq"] == 0  # no such sandbox: not part of any stream


def test_exec_on_unknown_sandbox(client, worker):
    env = client.envelope("task.exec", new_id("sbx"), {"command": "true"})
    ev = reject_of(client, env, None, request_id=env["requestId"], sandbox_id=env["sandboxId"])
    assert ev["data"]["code"] == "sandbox_not_found" and ev["seq"] == 0


def test_exec_after_kill_and_create_twice(client, launched):
    sbx, s = launched
    again = client.send(client.envelope("sandbox.create", sbx, {}))
    ev = s.for_request(again["requestId"], {"request.rejected"})
    assert ev["data"]["code"] == "sandbox_exists"
    kill = client.send(client.envelope("sandbox.kill", sbx))
    s.wait_type("sandbox.ended", requestId=kill["requestId"])
    ex = client.send(client.envelope("task.exec", sbx, {"command": "true"}))
    ev = s.for_request(ex["requestId"], {"request.rejected"})
    assert ev["data"]["code"] == "invalid_state"
    # A rejection about an existing sandbox is part of its stream: seq continues without a gap.
    assert [e["seq"] for e in s.seen] == list(range(1, len(s.seen) + 1))


@pytest.mark.parametrize("path", ["../etc/passwd", "/etc/shadow", "/workspace/../root", "a/../../b"])
def test_path_outside_workspace(client, launched, path):
    sbx, s = launched
    rd = client.send(client.envelope("files.read", sbx, {"path": path}))
    ev = s.for_request(rd["requestId"], {"request.rejected", "sandbox.task.failed"})
    assert ev["data"]["code"] == "path_outside_workspace", ev


def test_symlink_out_of_workspace_is_refused(client, launched):
    sbx, s = launched
    mk = client.send(client.envelope("task.exec", sbx, {"command": "ln", "args": ["-s", "/etc", "/workspace/etc"]}))
    s.for_request(mk["requestId"], {"sandbox.task.completed"})
    # Inside the sandbox /etc is the sandbox's; on the host the worker must not follow it to the host's /etc.
    for req in (client.envelope("files.read", sbx, {"path": "etc/passwd"}),
                client.envelope("files.write", sbx, {"path": "etc/sandq-escape", "content": "x"})):
        client.send(req)
        ev = s.for_request(req["requestId"], {"request.rejected", "sandbox.task.failed", "sandbox.task.completed"})
        assert ev["type"] == "sandbox.task.failed" and ev["data"]["code"] == "path_outside_workspace", ev
    import os
    assert not os.path.exists("/etc/sandq-escape")


def test_oversized_payload(client, launched):
    sbx, s = launched
    env = client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", "true", "x" * (1_200_000)]})
    client.send(env)
    ev = s.for_request(env["requestId"], {"request.rejected"})
    assert ev["data"]["code"] == "payload_too_large"


def test_files_chunk_too_large(client, launched):
    sbx, s = launched
    env = client.envelope("files.write", sbx, {"path": "big", "content": "x" * (600 * 1024)})
    client.send(env)
    ev = s.for_request(env["requestId"], {"request.rejected"})
    assert ev["data"]["code"] == "payload_too_large" and ev["data"]["field"] == "body.content"


def test_tenant_mismatch(client, worker):
    sbx = new_id("sbx")
    s = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, {}, tenant="acme"))
    s.wait_type("sandbox.ready", timeout=60)
    ex = client.send(client.envelope("task.exec", sbx, {"command": "true"}, tenant="globex"))
    ev = s.for_request(ex["requestId"], {"request.rejected", "sandbox.task.completed"})
    assert ev["data"]["code"] == "forbidden"
    kill = client.send(client.envelope("sandbox.kill", sbx, tenant="acme"))
    s.wait_type("sandbox.ended", requestId=kill["requestId"])


def dlq_entry(client, value: bytes, key: str):
    """Send value keyed by key; return its copy from the DLQ."""
    c = Consumer({"bootstrap.servers": client.brokers, "group.id": "unused", "enable.auto.commit": False})
    parts = c.list_topics(client.dlq_topic, timeout=10).topics[client.dlq_topic].partitions
    tps = []
    for p in parts:
        tps.append(TopicPartition(client.dlq_topic, p, end_offset(c, client.dlq_topic, p)))
    c.assign(tps)
    client.send_raw(value, key)
    deadline = time.monotonic() + 30
    found = None
    while time.monotonic() < deadline and not found:
        m = c.poll(0.5)
        if m is not None and not m.error() and m.key() == key.encode():
            found = m
    c.close()
    assert found is not None, "message did not reach the DLQ"
    return found


def test_not_json_goes_to_dlq_with_reason(client, worker):
    found = dlq_entry(client, b"\x00\xffthis is not json{", new_id("sbx"))
    assert found.value() == b"\x00\xffthis is not json{"
    headers = dict(found.headers())
    assert headers["sandq-error-code"] == b"invalid_request"
    assert b"not JSON" in headers["sandq-error"]


@pytest.mark.parametrize("shape", [
    '{{"v":1,"type":"sandbox.create","token":"{secret}',   # cut off inside a string
    '{{"v":1,"type":"sandbox.create","token":{secret}}}',  # a bare word
    '{{"v":1}} {secret}',                                  # text after the value
    '{{"{secret}":1,"{secret}":2}}',                       # a duplicate key
])
def test_not_json_reason_quotes_nothing_of_the_request(client, worker, shape):
    """A broken request may carry a credential; the DLQ header and the
    worker's log say what is wrong and where, and quote none of it."""
    # Letters only and short: jansson quotes a token of up to 20 bytes whole
    # ("invalid token near '…'"); a password or PIN fits.
    secret = "SqSec" + "".join(random.choices(string.ascii_letters, k=12))
    found = dlq_entry(client, shape.format(secret=secret).encode(), new_id("sbx"))
    reason = dict(found.headers())["sandq-error"].decode()
    assert "SqSec" not in reason, reason
    assert reason.startswith("not JSON: ") and "line 1, column" in reason, reason
    assert found.value() == shape.format(secret=secret).encode()  # the DLQ keeps the bytes themselves
    log = worker.log_text()
    assert "to the DLQ" in log and secret not in log


def test_worker_keeps_serving_after_bad_input(client, worker):
    # Everything above ran against the same worker process; it must still be alive and serve a launch.
    assert worker.alive()
    sbx = new_id("sbx")
    s = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, {}))
    assert s.wait_type("sandbox.ready", timeout=60)["data"]["state"] == "ready"
    kill = client.send(client.envelope("sandbox.kill", sbx))
    s.wait_type("sandbox.ended", requestId=kill["requestId"])
