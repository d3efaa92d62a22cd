"""Every result has a bounded size. A `files.list` of 9,000 files with
250-character names is a result of about 5 MB: more than any Kafka message
may carry here. The task fails once, `payload_too_large`, instead of being run
again and again (today's failure mode: the event cannot be published, the
request is retried from the start — listing, events, a 5 MB history row — with
back-off, for ever)."""
from __future__ import annotations

import time

from sandq_client import new_id

TERMINAL = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}
MAKE_FILES = ("mkdir -p big && cd big && "
              "awk 'BEGIN { for (i = 0; i < 9000; i++) { f = sprintf(\"%0250d\", i); printf \"\" > f; close(f) } }'")


def test_a_result_too_large_for_an_event_fails_once(client, launched, pg):
    sbx, stream = launched
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
