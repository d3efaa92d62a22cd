"""Proof that any Kafka client can drive sandq from the contract alone.

This file uses a third-party Kafka client from PyPI (confluent-kafka) and
`jsonschema`, and nothing of sandq's but what a backend team in another language
would have: PROTOCOL.md (topics, keys, the murmur2 partition of the sandbox id,
envelopes, ids) and the JSON Schemas in schema/. It creates a sandbox, runs a
command, writes and reads back a file, kills the sandbox, and validates every event
it receives — and every request it sends — against schema/.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import pathlib
import secrets
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = pathlib.Path(__file__).resolve().parents[2] / "schema"
PREFIX = os.environ.get("SANDQ_TOPIC_PREFIX", "sandq")

# ---- PROTOCOL.md "Ids": a prefix and a 26-character ULID -----------------------------

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str) -> str:
    n = (int(time.time() * 1000) << 80) | int.from_bytes(secrets.token_bytes(10), "big")
    return prefix + "_" + "".join(CROCKFORD[(n >> (5 * i)) & 31] for i in reversed(range(26)))


# ---- PROTOCOL.md "Topics": murmur2 partitioner, Java-client compatible -------------


def murmur2(data: bytes) -> int:
    m, h = 0x5BD1E995, (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    rest = data[4 * n4:]
    if len(rest) == 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if len(rest) >= 1:
        h ^= rest[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def partition_of(key: str, partitions: int) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


# ---- schema/: every file by its $id, so relative $refs resolve offline ---------------


def validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    resources = []
    for path in SCHEMA_DIR.rglob("*.json"):
        doc = json.loads(path.read_text())
        resources.append((doc["$id"], Resource(contents=doc, specification=DRAFT202012)))
    registry = Registry().with_resources(resources)

    def make(name: str) -> Draft202012Validator:
        doc = json.loads((SCHEMA_DIR / name).read_text())
        return Draft202012Validator(doc, registry=registry)

    return make("request.schema.json"), make("event.schema.json")


REQUEST, EVENT = validators()


class Driver:
    def __init__(self, brokers: str):
        self.producer = Producer({"bootstrap.servers": brokers, "partitioner": "murmur2_random",
                                  "enable.idempotence": True, "acks": "all"})
        self.consumer = Consumer({"bootstrap.servers": brokers, "group.id": "interop-unused",
                                  "enable.auto.commit": False})
        md = self.consumer.list_topics(f"{PREFIX}.events", timeout=10)
        self.partitions = len(md.topics[f"{PREFIX}.events"].partitions)
        self.events: list[dict] = []
        self.invalid: list[str] = []

    def follow(self, sandbox_id: str) -> None:
        """Read only the sandbox's partition of the events topic, from its current end."""
        p = partition_of(sandbox_id, self.partitions)
        _, high = self.consumer.get_watermark_offsets(TopicPartition(f"{PREFIX}.events", p), timeout=10)
        self.consumer.assign([TopicPartition(f"{PREFIX}.events", p, high)])
        self.partition = p

    def send(self, type_: str, sandbox_id: str, body: dict, task: bool = False) -> dict:
        env = {"v": 1, "requestId": new_id("req"), "type": type_, "sandboxId": sandbox_id, "body": body,
               "sentAt": int(time.time() * 1000)}
        if task:
            env["taskId"] = new_id("tsk")
        REQUEST.validate(env)
        self.producer.produce(f"{PREFIX}.requests", key=sandbox_id.encode(), value=json.dumps(env).encode())
        assert self.producer.flush(15) == 0
        return env

    def until(self, pred, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            ev = json.loads(msg.value())
            errors = [e.message[:200] for e in EVENT.iter_errors(ev)]
            if errors:
                self.invalid.append(f"{ev.get('type')}: {errors}")
            assert msg.key().decode() == ev["sandboxId"]
            assert msg.partition() == partition_of(ev["sandboxId"], self.partitions)
            self.events.append(ev)
            if pred(ev):
                return ev
        raise TimeoutError("no matching event; seen: " + ", ".join(e["type"] for e in self.events[-20:]))


def test_create_exec_write_read_kill_with_a_plain_kafka_client(brokers, worker):
    d = Driver(brokers)
    sbx = new_id("sbx")
    d.follow(sbx)

    d.send("sandbox.create", sbx, {})
    d.until(lambda e: e["type"] == "sandbox.ready" and e["sandboxId"] == sbx)

    ex = d.send("task.exec", sbx, {"command": "sh", "args": ["-c", "echo interop; echo oops >&2"]}, task=True)
    done = d.until(lambda e: e.get("taskId") == ex["taskId"] and e["type"].startswith("sandbox.task.")
                   and e["type"] in ("sandbox.task.completed", "sandbox.task.failed"))
    assert done["type"] == "sandbox.task.completed" and done["data"]["exitCode"] == 0
    out = [e["data"] for e in d.events if e["type"] == "sandbox.task.output" and e.get("taskId") == ex["taskId"]]
    assert "".join(o["data"] for o in out if o["stream"] == "stdout") == "interop\n"
    assert "".join(o["data"] for o in out if o["stream"] == "stderr") == "oops\n"

    payload = os.urandom(200_000)
    wr = d.send("files.write", sbx, {"path": "interop/data.bin", "contentB64": base64.b64encode(payload).decode()},
                task=True)
    done = d.until(lambda e: e.get("taskId") == wr["taskId"] and e["type"] in ("sandbox.task.completed",
                                                                               "sandbox.task.failed"))
    assert done["type"] == "sandbox.task.completed"
    assert done["data"]["result"]["sizeBytes"] == len(payload)
    assert done["data"]["result"]["sha256"] == hashlib.sha256(payload).hexdigest()

    rd = d.send("files.read", sbx, {"path": "interop/data.bin"}, task=True)
    done = d.until(lambda e: e.get("taskId") == rd["taskId"] and e["type"] in ("sandbox.task.completed",
                                                                               "sandbox.task.failed"))
    assert done["type"] == "sandbox.task.completed"
    chunks = sorted((e["data"]["offset"], base64.b64decode(e["data"]["dataB64"])) for e in d.events
                    if e["type"] == "sandbox.task.output" and e.get("taskId") == rd["taskId"])
    assert b"".join(c for _, c in chunks) == payload
    assert done["data"]["result"]["sha256"] == hashlib.sha256(payload).hexdigest()

    d.send("sandbox.kill", sbx, {})
    d.until(lambda e: e["type"] == "sandbox.ended" and e["sandboxId"] == sbx)

    mine = [e for e in d.events if e["sandboxId"] == sbx]
    assert [e["seq"] for e in mine] == list(range(1, len(mine) + 1)), "seq: strictly increasing, no gaps"
    assert d.invalid == [], d.invalid
    types = {e["type"] for e in mine}
    assert {"sandbox.created", "sandbox.assigned", "sandbox.ready", "sandbox.task.queued", "sandbox.task.started",
            "sandbox.task.output", "sandbox.task.completed", "sandbox.ending", "sandbox.ended"} <= types
    d.consumer.close()


def test_a_bad_request_is_rejected_with_a_schema_valid_event(brokers, worker):
    d = Driver(brokers)
    sbx = new_id("sbx")
    d.follow(sbx)
    env = d.send("task.exec", sbx, {"command": "true"}, task=True)  # no such sandbox
    rej = d.until(lambda e: e.get("requestId") == env["requestId"])
    assert rej["type"] == "request.rejected" and rej["data"]["code"] == "sandbox_not_found"
    assert d.invalid == [], d.invalid
    d.consumer.close()
