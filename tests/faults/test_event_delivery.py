"""An event the events topic refuses for good (issue 10: a permanent delivery
failure on <prefix>.events held its request's offset, and its in-flight slot,
for ever). Here the events topic takes record batches of at most 8 KiB (topic
config max.message.bytes, as an operator may set it); a command's output
chunk is larger. Each refused event is set aside in the DLQ with the reason
in headers, counted and logged, and its request finishes: its outcome is on
the events topic or set aside, every output chunk is in one place or the
other, the partition's committed offset moves past the request, and with
SANDQ_MAX_INFLIGHT 2 the worker serves three times that many such requests
instead of pausing for good."""
from __future__ import annotations

import json
import time

from confluent_kafka import Consumer, TopicPartition

from harness import Worker, metric, private_prefix, worker_groups
from sandq_client import Sandq, new_id, partition_for
import schemas

LIMIT = 8192
BIG = "python3 -c \"import sys; sys.stdout.write('x' * 60000)\""


class Dlq:
    """Everything in the DLQ topic from its start: (headers, event) pairs."""

    def __init__(self, client: Sandq, partitions: int = 3):
        self.consumer = Consumer({"bootstrap.servers": client.brokers, "group.id": "unused",
                                  "enable.auto.commit": False, "enable.partition.eof": False})
        self.consumer.assign([TopicPartition(client.dlq_topic, p, 0) for p in range(partitions)])
        self.seen: list[tuple[dict, dict, bytes]] = []

    def poll(self, timeout: float) -> None:
        m = self.consumer.poll(timeout)
        if m is not None and not m.error():
            ev = json.loads(m.value())
            schemas.validate_event(ev)  # the same envelope, whole
            self.seen.append(({k: v.decode() for k, v in (m.headers() or [])}, ev, m.key()))

    def events(self, request_id: str) -> list[dict]:
        return [ev for _, ev, _ in self.seen if ev.get("requestId") == request_id]


def outcome(stream, dlq: Dlq, request_id: str, timeout: float = 90) -> dict:
    """The request's task outcome, on the events topic or set aside in the
    DLQ: Kafka's max.message.bytes limits a record *batch*, and librdkafka does
    not split a refused batch, so a small event produced in the same batch as
    a large one is refused with it."""
    done = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ev in stream.seen + dlq.events(request_id):
            if ev.get("requestId") == request_id and ev["type"] in done:
                return ev
        stream.poll(0.1)
        dlq.poll(0.1)
    raise TimeoutError(f"no outcome for {request_id}")


def test_an_event_the_events_topic_refuses_is_set_aside_and_the_request_finishes(stack_env):
    prefix = private_prefix(stack_env["brokers"], "evref", partitions=3,
                            configs={"events": {"max.message.bytes": str(LIMIT)}})
    client = Sandq(stack_env["brokers"], prefix)
    w = Worker("w-evref", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, "SANDQ_MAX_INFLIGHT": "2"}).start()
    dlq = Dlq(client)
    try:
        sbx = new_id("sbx")
        stream = client.stream(sbx)
        client.send(client.envelope("sandbox.create", sbx, {}))
        stream.wait_type("sandbox.ready", timeout=90)
        # Three times the in-flight bound, one after another: each finishes.
        sent = []
        for _ in range(6):
            req = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", BIG]}))
            ev = outcome(stream, dlq, req["requestId"])
            assert ev["type"] == "sandbox.task.completed" and ev["data"]["exitCode"] == 0, ev
            sent.append(req)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # the last set-aside copies
            dlq.poll(0.2)

        # The refused events are in the DLQ: the same key and bytes, the reason in headers.
        assert dlq.seen
        for h, ev, key in dlq.seen:
            assert h["sandq-dlq-reason"] == "event_undeliverable", h
            assert h["sandq-topic"] == client.events_topic and h["sandq-kafka-error"] == "MSG_SIZE_TOO_LARGE", h
            assert "refused the event for good" in h["sandq-error"], h
            assert key == sbx.encode() and ev["sandboxId"] == sbx, ev
        assert any(ev["type"] == "sandbox.task.output" and len(ev["data"]["data"]) > LIMIT for _, ev, _ in dlq.seen)
        for req in sent:
            # Each output chunk is in one place or the other: the whole output, once.
            chunks = [e for e in stream.seen + dlq.events(req["requestId"])
                      if e["type"] == "sandbox.task.output" and e.get("requestId") == req["requestId"]]
            assert sum(len(e["data"]["data"]) for e in chunks) == 60000, req["requestId"]
            assert len({e["eventId"] for e in chunks}) == len(chunks)
        assert metric(w, "sandq_event_delivery_failures_total") == len(dlq.seen)
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
        deadline = time.monotonic() + 90
        while not any(e["type"] == "sandbox.ended" for e in stream.seen + dlq.events(kill["requestId"])):
            assert time.monotonic() < deadline, "no sandbox.ended"
            stream.poll(0.1)
            dlq.poll(0.1)
        stream.close()
    finally:
        dlq.consumer.close()
        assert w.stop() == 0, w.log_text()[-3000:]
