"""Each requests topic is spread over the workers (issue 10, item 16).

With both requests topics in one consumer group, an assignor balances the
number of partitions per worker, not per topic: two workers could end up one
with every partition of <prefix>.requests and the other with every partition
of <prefix>.requests.iad, so one of them did all the work of the busy topic.
Each topic now has its own group, <group>.<topic>. What an operator sees:
Kafka's describe of each group, and each worker's sandq_assigned_partitions;
what a user sees: requests on either topic are served by every worker."""
from __future__ import annotations

import re
import time
import urllib.request

from confluent_kafka import Consumer, TopicPartition

from harness import Worker, private_prefix, worker_groups
from mixed_load import FAST, describe_group
from sandq_client import Sandq, end_offset, new_id, partition_for

PARTS = 6


def assigned_metric(w: Worker) -> dict[str, int]:
    """{topic: partitions} from the worker's /metrics (sandq_assigned_partitions)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{w.http_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return {m.group(1): int(m.group(3)) for m in
            re.finditer(r'^sandq_assigned_partitions\{topic="([^"]+)",group="([^"]+)"\} (\d+)$', text, re.M)}


def spread(brokers: str, prefix: str, workers: list[Worker]) -> dict[str, dict[str, set[int]]]:
    """Wait until every requests topic's group has every worker as a member,
    holding an even share (PARTS / workers, all partitions assigned once), and
    each worker's /metrics says the same; {topic: {worker id: {partitions}}}."""
    ids = [w.worker_id for w in workers]
    share = PARTS // len(workers)
    deadline = time.monotonic() + 90
    while True:
        owned: dict[str, dict[str, set[int]]] = {}
        for topic, group in worker_groups(prefix, prefix).items():
            desc = describe_group(brokers, group)
            owned[topic] = {(m.group_instance_id or m.client_id): {tp.partition for tp in m.assignment.topic_partitions
                                                                   if tp.topic == topic} for m in desc.members}
        even = all(sorted(by) == sorted(ids) and all(len(p) == share for p in by.values())
                   and set().union(*by.values()) == set(range(PARTS)) for by in owned.values())
        # Each worker also holds the one partition of its own forward topic
        # (<prefix>.worker.<id>, pipeline/forward.h), in a group of its own.
        told = even and all(assigned_metric(w) == {**{t: share for t in owned}, f"{prefix}.worker.{w.worker_id}": 1}
                            for w in workers)
        if told:
            return owned
        if time.monotonic() > deadline:
            raise AssertionError(f"not spread over {ids}: {owned}; metrics "
                                 f"{ {w.worker_id: assigned_metric(w) for w in workers} }")
        time.sleep(0.5)


def served_by_each(client: Sandq, every, owned: dict[str, dict[str, set[int]]], workers: list[Worker]) -> None:
    """On each topic, a sandbox on a partition of each worker: created on that
    worker, runs an exec, is killed."""
    made = []
    for topic, by in owned.items():
        for w in workers:
            sbx = next(s for s in iter(lambda: new_id("sbx"), None) if partition_for(s, PARTS) in by[w.worker_id])
            client.send(client.envelope("sandbox.create", sbx, {}), topic=topic)
            made.append((sbx, topic, w.worker_id))
    for sbx, topic, wid in made:
        ev = every.wait_for(lambda e, s=sbx: e["type"] == "sandbox.ready" and e["sandboxId"] == s, timeout=90)
        assert ev["workerId"] == wid, (topic, ev)
        ex = client.send(client.envelope("task.exec", sbx, {"command": "echo", "args": [topic]}), topic=topic)
        done = every.wait_for(lambda e, r=ex["requestId"]: e.get("requestId") == r and e["type"] in (
            "sandbox.task.completed", "sandbox.task.failed", "request.rejected"), timeout=60)
        assert done["type"] == "sandbox.task.completed" and done["workerId"] == wid, done
    for sbx, topic, _ in made:
        kill = client.send(client.envelope("sandbox.kill", sbx), topic=topic)
        every.wait_for(lambda e, r=kill["requestId"]: e.get("requestId") == r and e["type"] == "sandbox.ended",
                       timeout=60)


def test_each_requests_topic_is_spread_over_two_then_three_workers(stack_env):
    prefix = private_prefix(stack_env["brokers"], "bal", partitions=PARTS)
    client = Sandq(stack_env["brokers"], prefix)
    env = {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, **FAST}
    # One worker first: it takes every partition of both topics; the second
    # joins a busy group — where a single group could hand it one whole topic.
    workers = [Worker("w-bal-a", env).start()]
    every = client.stream(None)
    try:
        spread(client.brokers, prefix, workers)
        workers.append(Worker("w-bal-b", env).start())
        owned = spread(client.brokers, prefix, workers)  # 3 + 3 of each topic
        print(f"two workers: {owned}")
        served_by_each(client, every, owned, workers)

        workers.append(Worker("w-bal-c", env).start())
        owned = spread(client.brokers, prefix, workers)  # 2 + 2 + 2 of each topic
        print(f"three workers: {owned}")
        served_by_each(client, every, owned, workers)
        for w in workers:
            assert re.search(rf'"assigned \d+ partitions of {re.escape(prefix)}\.requests\.iad \[[0-9,]*\] '
                             rf'\(group {re.escape(prefix)}\.{re.escape(prefix)}\.requests\.iad\)', w.log_text())
    finally:
        every.close()
        for w in workers:
            assert w.stop() == 0, w.log_text()[-3000:]


def test_offsets_committed_by_the_old_single_group_carry_over(stack_env):
    """Workers before per-topic groups committed both topics' offsets under
    SANDQ_GROUP_ID itself. A new worker's per-topic groups start where that
    group left off — not at the earliest offset, which would run every request
    still in the topics again."""
    prefix = private_prefix(stack_env["brokers"], "carry", partitions=3)
    client = Sandq(stack_env["brokers"], prefix)
    topics = list(worker_groups(prefix, prefix))
    # Requests an old worker handled, and its commits past them.
    old = [new_id("sbx") for _ in range(6)]
    for i, sbx in enumerate(old):
        client.send(client.envelope("sandbox.create", sbx, {}), topic=topics[i % 2])
    legacy = Consumer({"bootstrap.servers": client.brokers, "group.id": prefix, "enable.auto.commit": False})
    ends = {(t, p): end_offset(legacy, t, p) for t in topics for p in range(3)}
    legacy.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in ends.items()], asynchronous=False)
    legacy.close()

    every = client.stream(None)
    w = Worker("w-carry", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix}).start()
    try:
        for topic in topics:
            assert f"carried the committed offsets of 3 partitions of {topic} over from group {prefix}" in w.log_text()
        # New requests, one on each partition of each topic: served.
        new = []
        for topic in topics:
            for p in range(3):
                sbx = next(s for s in iter(lambda: new_id("sbx"), None) if partition_for(s, 3) == p)
                client.send(client.envelope("sandbox.create", sbx, {}), topic=topic)
                new.append((sbx, topic))
        for sbx, _ in new:
            every.wait_for(lambda e, s=sbx: e["type"] == "sandbox.ready" and e["sandboxId"] == s, timeout=90)
        time.sleep(2)
        while every.poll(0.2):
            pass
        # The old requests, before them in the same partitions, never ran again.
        assert [e for e in every.seen if e["sandboxId"] in old] == []
        # The per-topic groups committed past both.
        for topic, group in worker_groups(prefix, prefix).items():
            c = Consumer({"bootstrap.servers": client.brokers, "group.id": group, "enable.auto.commit": False})
            deadline = time.monotonic() + 30
            while True:
                got = {tp.partition: tp.offset for tp in c.committed([TopicPartition(topic, p) for p in range(3)],
                                                                     timeout=10)}
                if all(got[p] > ends[(topic, p)] for p in range(3)) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            c.close()
            assert all(got[p] > ends[(topic, p)] for p in range(3)), (topic, got, ends)
        for sbx, topic in new:
            kill = client.send(client.envelope("sandbox.kill", sbx), topic=topic)
            every.wait_for(lambda e, r=kill["requestId"]: e.get("requestId") == r and e["type"] == "sandbox.ended",
                           timeout=60)
    finally:
        every.close()
        assert w.stop() == 0, w.log_text()[-3000:]


def test_a_worker_says_so_when_old_workers_still_consume_the_old_group(stack_env):
    """An upgrade must stop every worker of the version before per-topic
    groups first: one still in the old group consumes the same partitions. A
    new worker that finds members in the old group logs it as an error."""
    prefix = private_prefix(stack_env["brokers"], "oldgrp", partitions=3)
    topics = list(worker_groups(prefix, prefix))
    # An old worker, as Kafka sees it: a member of the group SANDQ_GROUP_ID
    # itself, subscribed to both requests topics.
    old = Consumer({"bootstrap.servers": stack_env["brokers"], "group.id": prefix,
                    "partition.assignment.strategy": "cooperative-sticky"})
    old.subscribe(topics)
    deadline = time.monotonic() + 60
    while not old.assignment() and time.monotonic() < deadline:
        old.poll(0.2)
    assert old.assignment()
    w = Worker("w-oldgrp", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix}).start()
    try:
        for topic in topics:
            assert (f"group {prefix} (workers before one group per requests topic) still has 1 members: they consume "
                    f"{topic} as well") in w.log_text(), w.log_text()[-3000:]
    finally:
        old.close()
        assert w.stop() == 0, w.log_text()[-3000:]
    # Without them, a worker says nothing of the kind.
    w = Worker("w-oldgrp", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix}).start()
    try:
        assert "still has" not in w.log_text()
    finally:
        assert w.stop() == 0, w.log_text()[-3000:]
