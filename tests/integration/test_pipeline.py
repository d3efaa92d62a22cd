"""The worker pipeline: key-ordered parallelism inside one partition, offsets
committed only up to the lowest unfinished message, dedupe of in-flight copies."""
from __future__ import annotations

import time

from confluent_kafka import Consumer, TopicPartition

from harness import pg_eventually
from sandq_client import new_id, partition_for


def ids_in_one_partition(client, n: int) -> list[str]:
    """n fresh sandbox ids whose requests share one partition of sandq.requests."""
    c = Consumer({"bootstrap.servers": client.brokers, "group.id": "unused"})
    parts = len(c.list_topics(client.requests_topic, timeout=10).topics[client.requests_topic].partitions)
    c.close()
    first = new_id("sbx")
    want = partition_for(first, parts)
    out = [first]
    while len(out) < n:
        cand = new_id("sbx")
        if partition_for(cand, parts) == want:
            out.append(cand)
    return out


def committed(client, partition: int) -> int:
    c = Consumer({"bootstrap.servers": client.brokers, "group.id": "sandq-workers", "enable.auto.commit": False})
    (tp,) = c.committed([TopicPartition(client.requests_topic, partition)], timeout=10)
    c.close()
    return tp.offset


def test_long_task_does_not_delay_another_sandbox_in_the_same_partition(client, worker):
    a, b = ids_in_one_partition(client, 2)
    sa, sb = client.stream(a), client.stream(b)
    for sbx, s in ((a, sa), (b, sb)):
        client.send(client.envelope("sandbox.create", sbx, {}))
        s.wait_type("sandbox.ready", timeout=60)

    slow = client.send(client.envelope("task.exec", a, {"command": "sleep", "args": ["4"]}))
    fast = client.send(client.envelope("task.exec", b, {"command": "echo", "args": ["quick"]}))
    assert slow["_partition"] == fast["_partition"] and fast["_offset"] > slow["_offset"]

    done_b = sb.for_request(fast["requestId"], {"sandbox.task.completed"}, timeout=30)
    assert time.monotonic() and done_b["data"]["exitCode"] == 0
    # B finished while A is still running: A has no completion yet.
    sa.wait_type("sandbox.task.started", requestId=slow["requestId"], timeout=10)
    assert not any(e["type"] == "sandbox.task.completed" and e.get("requestId") == slow["requestId"]
                   for e in sa.seen)

    # The committed offset never passes the unfinished slow request, though the
    # later fast one is complete (auto-commit runs every second: give it two).
    time.sleep(2.0)
    assert committed(client, slow["_partition"]) <= slow["_offset"]

    sa.for_request(slow["requestId"], {"sandbox.task.completed"}, timeout=30)
    deadline = time.monotonic() + 15
    while committed(client, slow["_partition"]) <= fast["_offset"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert committed(client, slow["_partition"]) > fast["_offset"]

    for sbx, s in ((a, sa), (b, sb)):
        kill = client.send(client.envelope("sandbox.kill", sbx))
        s.wait_type("sandbox.ended", requestId=kill["requestId"])
        s.close()


def test_requests_of_one_sandbox_run_in_order(client, launched):
    sbx, s = launched
    reqs = [client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", f"echo {i} >> /workspace/order"]}))
            for i in range(8)]
    for r in reqs:
        s.for_request(r["requestId"], {"sandbox.task.completed"})
    rd = client.send(client.envelope("files.read", sbx, {"path": "order"}))
    done = s.for_request(rd["requestId"], {"sandbox.task.completed"})
    import base64
    data = b"".join(base64.b64decode(e["data"]["dataB64"]) for e in s.seen
                    if e["type"] == "sandbox.task.output" and e["requestId"] == rd["requestId"])
    assert data.decode().split() == [str(i) for i in range(8)]
    assert done["data"]["result"]["length"] == len(data)
    # One task at a time: every task's events are contiguous (queued … ready) in seq order.
    started = [e["requestId"] for e in s.seen if e["type"] == "sandbox.task.started"]
    completed = [e["requestId"] for e in s.seen if e["type"] == "sandbox.task.completed"]
    assert started == completed


def test_a_duplicate_sent_while_the_first_copy_runs_has_no_effect(client, launched, pg):
    sbx, s = launched
    ex = client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", "sleep 1; echo once >> /workspace/n"]})
    client.send(ex)
    client.send(ex)
    s.for_request(ex["requestId"], {"sandbox.task.completed"})
    chk = client.send(client.envelope("task.exec", sbx, {"command": "wc", "args": ["-l", "/workspace/n"]}))
    s.for_request(chk["requestId"], {"sandbox.task.completed"})
    out = "".join(e["data"].get("data", "") for e in s.seen
                  if e["type"] == "sandbox.task.output" and e["requestId"] == chk["requestId"])
    assert out.split()[0] == "1"
    assert pg_eventually(pg, "SELECT count(*) FROM tasks WHERE id = %s", (ex["taskId"],), (1,)) == (1,)


def test_a_request_replayed_after_it_finished_gets_the_same_events(client, launched, pg):
    sbx, s = launched
    ex = client.envelope("task.exec", sbx, {"command": "echo", "args": ["once"]})
    client.send(ex)
    s.for_request(ex["requestId"], {"sandbox.task.completed"})
    s.wait_type("sandbox.ready", requestId=ex["requestId"])
    first = [e for e in s.seen if e.get("requestId") == ex["requestId"]]
    client.send(ex)  # a producer retry, long after the first copy finished
    deadline = time.monotonic() + 30
    while len(s.replayed) < len(first) and time.monotonic() < deadline:
        s.poll(0.2)
    # The very same events again: same eventIds, same seqs, same order; nothing new ran.
    assert [(e["eventId"], e["seq"], e["type"]) for e in s.replayed] == \
        [(e["eventId"], e["seq"], e["type"]) for e in first]
    assert not [e for e in s.seen if e.get("requestId") == ex["requestId"] and e not in first]
    assert pg_eventually(pg, "SELECT count(*) FROM tasks WHERE id = %s", (ex["taskId"],), (1,)) == (1,)


def test_creates_wait_in_queued_when_the_worker_is_full(client, stack_env):
    from harness import Worker
    from harness import private_prefix
    from sandq_client import Sandq
    prefix = private_prefix(stack_env["brokers"], "cap")
    c = Sandq(stack_env["brokers"], prefix)
    w = Worker("w-capacity", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix,
                              "SANDQ_MAX_SANDBOXES": "1", "SANDQ_UID_BASE": "3000000000"}).start()
    try:
        a, b, k = new_id("sbx"), new_id("sbx"), new_id("sbx")
        sa, sb, sk = c.stream(a), c.stream(b), c.stream(k)
        c.send(c.envelope("sandbox.create", a, {}))
        sa.wait_type("sandbox.ready", timeout=60)
        c.send(c.envelope("sandbox.create", b, {}))
        queued = sb.wait_type("sandbox.created", timeout=30)
        assert queued["data"]["state"] == "queued"
        time.sleep(1.0)
        assert [e["type"] for e in sb.seen] == ["sandbox.created"]  # waiting, not rejected
        # A third one, killed while it waits: it ends without ever running.
        c.send(c.envelope("sandbox.create", k, {}))
        sk.wait_type("sandbox.created", timeout=30)
        # (k waits behind nothing: it is its own actor; kill it while both wait)
        kill_k = c.send(c.envelope("sandbox.kill", k))
        sk.wait_type("sandbox.ended", requestId=kill_k["requestId"], timeout=30)
        assert [e["data"]["state"] for e in sk.seen] == ["queued", "ending", "ended"]
        # Freeing the slot lets b proceed: queued → assigning → ready.
        kill_a = c.send(c.envelope("sandbox.kill", a))
        sa.wait_type("sandbox.ended", requestId=kill_a["requestId"], timeout=30)
        sb.wait_type("sandbox.ready", timeout=60)
        assert [e["data"]["state"] for e in sb.seen] == ["queued", "assigning", "ready"]
        kill_b = c.send(c.envelope("sandbox.kill", b))
        sb.wait_type("sandbox.ended", requestId=kill_b["requestId"], timeout=30)
    finally:
        assert w.stop() == 0
