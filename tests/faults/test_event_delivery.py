"""An event the events topic refuses for good (issue 10: a permanent delivery
failure on <prefix>.events held its request's offset, and its in-flight slot,
for ever). Here the events topic takes records of at most 8 KiB (topic config
max.message.bytes, as an operator may set it); a command's output chunk is
larger. Each such event is set aside in the DLQ with the reason in headers,
counted and logged, and its request finishes: the task's completion (small)
is on the events topic, the partition's committed offset moves past the
request, and with SANDQ_MAX_INFLIGHT 2 the worker serves far more than two
such requests instead of pausing for good."""
from __future__ import annotations

import json
import re
import time
import urllib.request

from confluent_kafka import Consumer, TopicPartition

from harness import Worker, private_prefix, worker_groups
from sandq_client import Sandq, new_id, partition_for
import schemas

LIMIT = 8192
BIG = "python3 -c \"import sys; sys.stdout.write('x' * 60000)\""


def metric(w: Worker, name: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{w.http_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    assert m, f"{name} not on /metrics"
    return int(m.group(1))


def dlq_messages(client: Sandq, partitions: int = 3) -> list:
    c = Consumer({"bootstrap.servers": client.brokers, "group.id": "unused", "enable.auto.commit": False,
                  "enable.partition.eof": False})
    c.assign([TopicPartition(client.dlq_topic, p, 0) for p in range(partitions)])
    out = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            out.append(m)
            deadline = time.monotonic() + 2  # read until quiet
    c.close()
    return out


def test_an_event_the_events_topic_refuses_is_set_aside_and_the_request_finishes(stack_env):
    prefix = private_prefix(stack_env["brokers"], "evref", partitions=3,
                            configs={"events": {"max.message.bytes": str(LIMIT)}})
    client = Sandq(stack_env["brokers"], prefix)
    w = Worker("w-evref", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, "SANDQ_MAX_INFLIGHT": "2"}).start()
    try:
        sbx = new_id("sbx")
        stream = client.stream(sbx)
        client.send(client.envelope("sandbox.create", sbx, {}))
        stream.wait_type("sandbox.ready", timeout=90)
        # Three times the in-flight bound, one after another: each finishes.
        sent = []
        for _ in range(6):
            req = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", BIG]}))
            ev = stream.for_request(req["requestId"], {"sandbox.task.completed", "sandbox.task.failed",
                                                       "request.rejected"}, timeout=90)
            assert ev["type"] == "sandbox.task.completed" and ev["data"]["exitCode"] == 0, ev
            # Its output never reached the events topic whole.
            got = sum(len(e["data"]["data"]) for e in stream.seen
                      if e["type"] == "sandbox.task.output" and e.get("requestId") == req["requestId"])
            assert got < 60000, got
            sent.append(req)

        # The refused events are in the DLQ: the same key and bytes, the reason in headers.
        aside: dict[str, int] = {}
        for m in dlq_messages(client):
            h = {k: v.decode() for k, v in (m.headers() or [])}
            assert h["sandq-dlq-reason"] == "event_undeliverable", h
            assert h["sandq-topic"] == client.events_topic and h["sandq-kafka-error"] == "MSG_SIZE_TOO_LARGE", h
            assert "refused the event for good" in h["sandq-error"], h
            ev = json.loads(m.value())
            schemas.validate_event(ev)
            assert m.key() == sbx.encode() and ev["sandboxId"] == sbx and ev["type"] == "sandbox.task.output"
            aside[ev["requestId"]] = aside.get(ev["requestId"], 0) + len(ev["data"]["data"])
        for req in sent:
            # What the events topic has plus what was set aside is the whole output.
            on_topic = sum(len(e["data"]["data"]) for e in stream.seen
                           if e["type"] == "sandbox.task.output" and e.get("requestId") == req["requestId"])
            assert on_topic + aside.get(req["requestId"], 0) == 60000, (req["requestId"], on_topic, aside)
        assert metric(w, "sandq_event_delivery_failures_total") == sum(
            1 for m in dlq_messages(client))
        assert metric(w, "sandq_dlq_delivery_failures_total") == 0
        assert "refused the event for good: Broker: Message size too large; set aside in the DLQ" in w.log_text()

        # The partition moves on: its committed offset passes the last request.
        topic = client.requests_topic
        group = worker_groups(prefix, prefix)[topic]
        part = partition_for(sbx, 3)
        c = Consumer({"bootstrap.servers": client.brokers, "group.id": group, "enable.auto.commit": False})
        deadline = time.monotonic() + 30
        while True:
            (tp,) = c.committed([TopicPartition(topic, part)], timeout=10)
            if tp.offset > sent[-1]["_offset"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        c.close()
        assert tp.offset > sent[-1]["_offset"], (tp.offset, sent[-1]["_offset"])
        assert metric(w, "sandq_inflight_requests") == 0

        kill = client.send(client.envelope("sandbox.kill", sbx))
        stream.wait_type("sandbox.ended", requestId=kill["requestId"], timeout=90)
        stream.close()
    finally:
        assert w.stop() == 0, w.log_text()[-3000:]
