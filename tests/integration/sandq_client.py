"""sandq_client.py — a small, independent Python driver for the sandq wire protocol.

The integration tests talk to the worker the way any backend in another language
would: plain Kafka (confluent-kafka, murmur2 partitioner), JSON envelopes built
here from PROTOCOL.md, and every event they read checked against schema/.
It deliberately shares no code with libsandq, so it tests the protocol, not our
client's reading of it.
"""
from __future__ import annotations

import json
import os
import secrets
import time
from typing import Any, Callable, Iterable

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

import schemas

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid() -> str:
    ms = int(time.time() * 1000)
    n = (ms << 80) | int.from_bytes(secrets.token_bytes(10), "big")
    return "".join(CROCKFORD[(n >> (5 * i)) & 31] for i in reversed(range(26)))


# What a just-created topic or a restarted broker answers for a moment: the
# broker has no leader yet, or the client's metadata does not know the
# partition yet (the local _UNKNOWN_* codes).
LEADERSHIP_SETTLING = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
                       KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_PARTITION, KafkaError._UNKNOWN_TOPIC,
                       KafkaError._TRANSPORT, KafkaError._TIMED_OUT, KafkaError.REQUEST_TIMED_OUT}


def end_offset(consumer: Consumer, topic: str, partition: int, wait_s: float = 30) -> int:
    """The partition's high watermark. Right after a topic is auto-created (a
    replyTo's first produce) or while leadership moves, the broker answers
    NOT_LEADER_FOR_PARTITION for a moment: ask again until wait_s is up."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
        except KafkaException as e:
            if e.args[0].code() not in LEADERSHIP_SETTLING or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def new_id(prefix: str) -> str:
    return f"{prefix}_{ulid()}"


def murmur2(data: bytes) -> int:
    """Kafka's Java-client murmur2 (Utils.murmur2), for computing partitions."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    tail = length & ~3
    rem = length % 4
    if rem == 3:
        h ^= data[tail + 2] << 16
    if rem >= 2:
        h ^= data[tail + 1] << 8
    if rem >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def partition_for(key: str, partitions: int) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


class EventStream:
    """Events of one sandbox (its murmur2 partition of <prefix>.events), or of all
    partitions when sandbox_id is None, read from the high watermark at creation —
    so create the stream *before* sending the request it should see."""

    def __init__(self, client: "Sandq", sandbox_id: str | None, topic: str | None = None):
        self.client = client
        self.sandbox_id = sandbox_id
        self.topic = topic or client.events_topic
        self.seen: list[dict] = []
        self.replayed: list[dict] = []  # events seen again with an eventId already seen
        self._ids: set[str] = set()
        self.consumer = Consumer({
            "bootstrap.servers": client.brokers,
            "group.id": "sandq-tests-unused",  # assign() only: no group membership, no commits
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        })
        # A topic auto-created by a first produce (a replyTo) may show no
        # partitions for a moment: ask again until it has them.
        deadline = time.monotonic() + 15
        while True:
            md = self.consumer.list_topics(self.topic, timeout=10).topics[self.topic]
            nparts = len(md.partitions)
            if nparts or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.partitions = list(range(nparts)) if sandbox_id is None else [partition_for(sandbox_id, nparts)]
        tps = []
        for p in self.partitions:
            tps.append(TopicPartition(self.topic, p, end_offset(self.consumer, self.topic, p)))
        self.consumer.assign(tps)

    def close(self) -> None:
        self.consumer.close()

    def poll(self, timeout: float) -> dict | None:
        msg = self.consumer.poll(timeout)
        if msg is None or msg.error():
            return None
        ev = json.loads(msg.value())
        schemas.validate_event(ev)  # every event a test sees must match schema/
        if self.sandbox_id is not None:
            # Other sandboxes share the partition; ours must come keyed by its id
            # (found here at all = the worker used the murmur2 partitioner).
            if ev["sandboxId"] != self.sandbox_id:
                return None
            assert msg.key() == self.sandbox_id.encode(), (msg.key(), ev)
        ev["_partition"] = msg.partition()
        ev["_bytes"] = len(msg.value())  # the Kafka message's size, for SANDQ_MAX_EVENT_BYTES
        if ev["eventId"] in self._ids:
            # A duplicate request is answered with its stored events again:
            # same eventId, same seq. Kept apart so streams stay gap-free.
            self.replayed.append(ev)
            return None
        self._ids.add(ev["eventId"])
        self.seen.append(ev)
        return ev

    def wait_for(self, pred: Callable[[dict], bool], timeout: float = 30.0) -> dict:
        """Read until an event matches pred; returns it (all read events are in .seen)."""
        deadline = time.monotonic() + timeout
        for ev in self.seen:
            if pred(ev):
                return ev
        while time.monotonic() < deadline:
            ev = self.poll(0.2)
            if ev is not None and pred(ev):
                return ev
        raise TimeoutError(f"no matching event within {timeout}s; last seen: {[e['type'] for e in self.seen[-8:]]} (of {len(self.seen)})")

    def wait_type(self, type_: str, timeout: float = 30.0, **match: Any) -> dict:
        return self.wait_for(lambda e: e["type"] == type_ and all(e.get(k) == v for k, v in match.items()),
                             timeout)

    def for_request(self, request_id: str, terminal: Iterable[str], timeout: float = 30.0) -> dict:
        terms = set(terminal)
        return self.wait_for(lambda e: e.get("requestId") == request_id and e["type"] in terms, timeout)


class Sandq:
    def __init__(self, brokers: str, prefix: str = "sandq", linger_ms: int = 5):
        self.brokers = brokers
        self.prefix = prefix
        self.requests_topic = f"{prefix}.requests"
        self.events_topic = f"{prefix}.events"
        self.dlq_topic = f"{prefix}.dlq"
        self.producer = Producer({"bootstrap.servers": brokers, "partitioner": "murmur2_random",
                                  "acks": "all", "message.max.bytes": 8_000_000, "linger.ms": linger_ms})

    def envelope(self, type_: str, sandbox_id: str | None, body: dict | None = None, *,
                 task_id: str | None = None, **fields: Any) -> dict:
        env: dict[str, Any] = {"v": 1, "requestId": new_id("req"), "type": type_}
        if sandbox_id is not None:
            env["sandboxId"] = sandbox_id
        if task_id is None and (type_.startswith(("task.", "files.", "checkpoint.")) or type_ == "checkpoints.list"):
            task_id = new_id("tsk")
        if task_id is not None:
            env["taskId"] = task_id
        env["body"] = body if body is not None else {}
        env.update(fields)
        return env

    def send_raw(self, value: bytes, key: str | None, topic: str | None = None) -> tuple[int, int]:
        """Produce and wait for the broker's acknowledgement; returns (partition, offset)."""
        where: list[tuple[int, int]] = []

        def on_delivery(err, msg):
            assert err is None, err
            where.append((msg.partition(), msg.offset()))

        self.producer.produce(topic or self.requests_topic, value=value,
                              key=key.encode() if key else None, on_delivery=on_delivery)
        assert self.producer.flush(15) == 0, "request not acknowledged by Kafka"
        return where[0]

    def send(self, env: dict, topic: str | None = None) -> dict:
        """Send a request; the returned dict is the envelope plus `_partition`/`_offset` of the request."""
        part, off = self.send_raw(json.dumps(env).encode(),
                                  env.get("sandboxId") if isinstance(env.get("sandboxId"), str) else None, topic)
        return {**env, "_partition": part, "_offset": off}

    def stream(self, sandbox_id: str | None, topic: str | None = None) -> EventStream:
        return EventStream(self, sandbox_id, topic)
