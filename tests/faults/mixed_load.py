"""mixed_load.py — what the fault tests that put workers under a mixed load
share: the requests they send, how they read the consumer group's
assignment, and the checks every such test makes (each request answered
exactly once, no task started twice, each exec's side effect once)."""
from __future__ import annotations

import json
import time

from harness import worker_groups
from sandq_client import new_id, partition_for

FAST = {"SANDQ_HEARTBEAT_TTL_S": "3", "SANDQ_REAPER_INTERVAL_MS": "500", "SANDQ_SESSION_TIMEOUT_MS": "6000"}


def mixed_requests(client, sbx: str, n: int) -> list[dict]:
    """n requests of every kind a sandbox gets in practice, in the order sent.
    Every exec that runs appends its taskId to /workspace/runs first, so a task
    run twice would show up twice there."""
    out = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            tid = new_id("tsk")
            out.append(client.envelope("task.exec", sbx, {"command": "sh", "args": [
                "-c", 'echo "$0" >> /workspace/runs; sleep 0.3', tid]}, task_id=tid))
        elif kind == 1:
            out.append(client.envelope("task.exec", sbx, {"command": "echo", "args": [f"line {i}"]}))
        elif kind == 2:
            out.append(client.envelope("files.write", sbx, {"path": f"out/{i}.txt", "content": f"file {i}\n"}))
        elif kind == 3:
            out.append(client.envelope("task.code", sbx, {"language": "python", "code": f"print({i} * 2)"}))
        else:
            tid = new_id("tsk")
            out.append(client.envelope("task.exec", sbx, {"command": "sh", "args": [
                "-c", 'echo "$0" >> /workspace/runs; exit 3', tid]}, task_id=tid))
    return out


def send_mixed_load(client, topic_of: dict[str, str], n: int) -> list[dict]:
    """n mixed requests for each sandbox (topic_of: its requests topic), sent
    all at once, interleaved the way the sandboxes' FIFOs will take them."""
    sent: list[dict] = []
    for sbx in topic_of:
        sent += mixed_requests(client, sbx, n)
    for r in sent:
        client.producer.produce(topic_of[r["sandboxId"]], json.dumps(r).encode(), key=r["sandboxId"].encode())
    assert client.producer.flush(30) == 0
    return sent


TASK_OUTCOMES = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}


def describe_group(brokers: str, group: str):
    """The group as Kafka's admin API describes it (what `kafka-consumer-groups
    --describe` shows). Asked again while the coordinator is still loading (a
    fresh broker)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": brokers})
    deadline = time.monotonic() + 30
    while True:
        try:
            return admin.describe_consumer_groups([group])[group].result(15)
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def partitions_of(brokers: str, group: str, prefix: str) -> dict[str, set[tuple[str, int]]]:
    """The workers' current assignment over both requests topics, each in its
    own consumer group (<group>.<topic>): {group.instance.id or client.id:
    {(topic, partition)}}."""
    owned: dict[str, set[tuple[str, int]]] = {}
    for g in worker_groups(group, prefix).values():
        for m in describe_group(brokers, g).members:
            owned.setdefault(m.group_instance_id or m.client_id, set()).update(
                (tp.topic, tp.partition) for tp in m.assignment.topic_partitions)
    return owned


def both_hold_partitions(brokers: str, group: str, prefix: str, a: str, b: str) -> dict[str, set[tuple[str, int]]]:
    """Wait until members a and b both hold partitions of each requests topic; the assignment then."""
    topics = set(worker_groups(group, prefix))

    def holds_each(owned, who):
        return {t for t, _ in owned.get(who, ())} == topics

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        owned = partitions_of(brokers, group, prefix)
        if holds_each(owned, a) and holds_each(owned, b):
            break
        time.sleep(0.5)
    assert holds_each(owned, a) and holds_each(owned, b), owned
    return owned


def place(owned: dict[str, set[tuple[str, int]]], worker_id: str, n: int) -> list[tuple[str, str]]:
    """n fresh (sandbox id, requests topic) pairs whose partition `worker_id` owns."""
    out = []
    while len(out) < n:
        sbx = new_id("sbx")
        for topic, part in owned[worker_id]:
            if partition_for(sbx, 6) == part:
                out.append((sbx, topic))
                break
    return out


def settle(stream, by_request: dict[str, dict], timeout: float = 240) -> None:
    """Read until every request in by_request has an outcome event."""
    pending = set(by_request)

    def settled(e):
        if e["type"] in TASK_OUTCOMES:
            pending.discard(e.get("requestId"))
        return not pending

    stream.wait_for(settled, timeout=timeout)


def one_outcome_each(stream, by_request: dict[str, dict]) -> dict[str, dict]:
    """{requestId: its outcome event}, asserting there is exactly one per request
    (the stream counts distinct eventIds: an answer published again carries
    the same one)."""
    outcomes: dict[str, list[dict]] = {}
    for e in stream.seen:
        if e["type"] in TASK_OUTCOMES and e.get("requestId") in by_request:
            outcomes.setdefault(e["requestId"], []).append(e)
    assert {k: [e["type"] for e in v] for k, v in outcomes.items() if len(v) != 1} == {}
    assert set(outcomes) == set(by_request)
    return {k: v[0] for k, v in outcomes.items()}


def no_task_started_twice(stream) -> None:
    starts: dict[str, int] = {}
    for e in stream.seen:
        if e["type"] == "sandbox.task.started":
            starts[e["taskId"]] = starts.get(e["taskId"], 0) + 1
    assert {t: n for t, n in starts.items() if n > 1} == {}


def execs_ran_once_in_order(client, stream, sbx: str, topic: str, sent: list[dict]) -> None:
    """The sandbox's /workspace/runs lists each of its side-effecting execs once, in the order sent."""
    read = client.send(client.envelope("task.exec", sbx, {"command": "cat", "args": ["/workspace/runs"]}),
                       topic=topic)
    ev = stream.wait_for(lambda e: e.get("requestId") == read["requestId"] and e["type"] in TASK_OUTCOMES,
                         timeout=60)
    assert ev["type"] == "sandbox.task.completed" and ev["data"]["exitCode"] == 0, ev
    ran = "".join(e["data"]["data"] for e in stream.seen if e["type"] == "sandbox.task.output"
                  and e["requestId"] == read["requestId"]).split()
    want = [r["taskId"] for r in sent if r["sandboxId"] == sbx and r["body"].get("command") == "sh"]
    assert ran == want, (sbx, ran, want)
