"""Every result has a bounded size. A result larger than the worker's
SANDQ_MAX_EVENT_BYTES fails its task once, `payload_too_large`, instead of
being run again and again (the old failure mode: the event cannot be
published, the request is retried from the start — its effect, its events, a
multi-megabyte history row — with back-off, for ever).

A `files.list` page is itself bounded (about 512 KiB, docs/protocol.md), so
the test gives its own worker the smallest event limit (64 KiB) and lists a
directory of 9,000 files with 250-character names: one page of 1,000 of them
is about 300 KB, far over it."""
from __future__ import annotations

import time

import pytest

from harness import Worker, private_prefix
from sandq_client import Sandq, new_id

TERMINAL = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}
MAKE_FILES = ("mkdir -p big && cd big && "
              "awk 'BEGIN { for (i = 0; i < 9000; i++) { f = sprintf(\"%0250d\", i); printf \"\" > f; close(f) } }'")


@pytest.fixture
def small_events(stack_env):
    """A worker of its own whose events may be at most 64 KiB, and a sandbox on it."""
    prefix = private_prefix(stack_env["brokers"], "big")
    client = Sandq(stack_env["brokers"], prefix)
    w = Worker("w-small-events", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix,
                                  "SANDQ_MAX_EVENT_BYTES": "65536", "SANDQ_UID_BASE": "3200000000"}).start()
    try:
        sbx = new_id("sbx")
        stream = client.stream(sbx)
        client.send(client.envelope("sandbox.create", sbx, {}))
        stream.wait_type("sandbox.ready", timeout=60)
        yield client, sbx, stream
        kill = client.send(client.envelope("sandbox.kill", sbx))
        stream.for_request(kill["requestId"], {"sandbox.ended"}, timeout=60)
        stream.close()
    finally:
        assert w.stop() == 0, w.log_text()[-3000:]


def test_a_result_too_large_for_an_event_fails_once(small_events, pg):
    client, sbx, stream = small_events
    made = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", MAKE_FILES]}))
    ev = stream.for_request(made["requestId"], TERMINAL, timeout=180)
    assert ev["type"] == "sandbox.task.completed" and ev["data"]["exitCode"] == 0, ev

    listed = client.send(client.envelope("files.list", sbx, {"path": "big"}))
    ev = stream.for_request(listed["requestId"], TERMINAL, timeout=120)
    assert ev["type"] == "sandbox.task.failed", ev
    assert ev["data"]["code"] == "payload_too_large", ev
    assert ev["data"]["reason"] == "result_too_large", ev
    assert "SANDQ_MAX_EVENT_BYTES" in ev["data"]["message"]

    # Run once: no second start, no second outcome, however long we look.
    time.sleep(5)
    while stream.poll(0.5):
        pass
    of_it = [e["type"] for e in stream.seen if e.get("requestId") == listed["requestId"]]
    assert of_it.count("sandbox.task.started") == 1, of_it
    assert sum(t in TERMINAL for t in of_it) == 1, of_it
    # The sandbox goes on serving.
    again = client.send(client.envelope("task.exec", sbx, {"command": "echo", "args": ["still here"]}))
    assert stream.for_request(again["requestId"], TERMINAL, timeout=60)["type"] == "sandbox.task.completed"
    # What the history recorded of the task: failed, without the 5 MB result.
    row = pg.execute("SELECT state, error_code, result IS NULL FROM tasks WHERE id = %s",
                     (listed["taskId"],)).fetchone()
    assert row == ("failed", "payload_too_large", True), row
