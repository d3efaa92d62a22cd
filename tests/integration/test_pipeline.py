"""The worker pipeline: key-ordered parallelism inside one partition, offsets
committed only up to the lowest unfinished message, dedupe of in-flight copies."""
from __future__ import annotations

import time

from confluent_kafka import Consumer, TopicPartition

from harness import pg_eventually, worker_groups
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
    group = worker_groups("sandq-workers", client.prefix)[client.requests_topic]
    c = Consumer({"bootstrap.servers": client.brokers, "group.id": group, "enable.auto.commit": False})
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


def replays_of(s, first: list[dict], timeout: float = 30.0) -> list[dict]:
    """Read until the stream has seen every event of `first` again (a replay), or time is up."""
    want = {e["eventId"] for e in first}
    deadline = time.monotonic() + timeout
    while want - {e["eventId"] for e in s.replayed} and time.monotonic() < deadline:
        s.poll(0.2)
    return [e for e in s.replayed if e["eventId"] in want]


def same(events: list[dict]) -> list[tuple]:
    return [(e["eventId"], e["seq"], e["type"], e.get("requestId"), e["data"]) for e in events]


def wait_done(rds, request_id: str, timeout: float = 15.0) -> None:
    """Until the worker has marked the request done: its effects are durable and
    a copy now gets the stored answer (before, a copy is dropped as in flight:
    the first copy's own events are still on their way)."""
    deadline = time.monotonic() + timeout
    while rds.get(f"sandq:req:{{{request_id}}}") != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rds.get(f"sandq:req:{{{request_id}}}") == "done"


def events_rows(pg, request_id: str) -> int:
    return pg.execute("SELECT count(*) FROM events WHERE request_id = %s", (request_id,)).fetchone()[0]


def test_a_request_replayed_after_it_finished_gets_the_same_events(client, launched, pg, rds):
    sbx, s = launched
    ex = client.envelope("task.exec", sbx, {"command": "echo", "args": ["once"]})
    client.send(ex)
    s.for_request(ex["requestId"], {"sandbox.task.completed"})
    s.wait_type("sandbox.ready", requestId=ex["requestId"])
    first = [e for e in s.seen if e.get("requestId") == ex["requestId"]]
    assert pg_eventually(pg, "SELECT count(*) FROM events WHERE request_id = %s", (ex["requestId"],),
                         (len(first),)) == (len(first),)
    wait_done(rds, ex["requestId"])
    client.send(ex)  # a producer retry, long after the first copy finished
    # The very same events again: same eventIds, same seqs, same order; nothing new ran.
    assert same(replays_of(s, first)) == same(first)
    # The next request's events continue the stream where it was: the replay took no seq.
    nxt = client.send(client.envelope("task.exec", sbx, {"command": "true"}))
    s.for_request(nxt["requestId"], {"sandbox.task.completed"})
    assert [e["seq"] for e in s.seen] == list(range(1, len(s.seen) + 1))
    assert not [e for e in s.seen if e.get("requestId") == ex["requestId"] and e not in first]
    assert pg_eventually(pg, "SELECT count(*) FROM tasks WHERE id = %s", (ex["taskId"],), (1,)) == (1,)
    # Kafka only: no second history row (and so no second webhook delivery, which the
    # outbox trigger on that table would have queued).
    assert events_rows(pg, ex["requestId"]) == len(first)


def test_a_create_replayed_after_its_sandbox_ended_gets_the_same_events(client, worker, pg, rds):
    sbx = new_id("sbx")
    reply = f"it.replay.{sbx.lower()}"
    s = client.stream(sbx)
    create = client.envelope("sandbox.create", sbx, {}, replyTo=reply)
    client.send(create)
    s.wait_type("sandbox.ready", requestId=create["requestId"], timeout=60)
    kill = client.send(client.envelope("sandbox.kill", sbx))
    s.wait_type("sandbox.ended", requestId=kill["requestId"])
    first = [e for e in s.seen if e.get("requestId") == create["requestId"]]
    assert [e["type"] for e in first] == ["sandbox.created", "sandbox.assigned", "sandbox.ready"]
    assert pg_eventually(pg, "SELECT count(*) FROM events WHERE request_id = %s", (create["requestId"],),
                         (len(first),)) == (len(first),)
    rs = client.stream(sbx, topic=reply)  # the reply topic exists now (the first events created it)
    wait_done(rds, create["requestId"])
    client.send(create)
    assert same(replays_of(s, first)) == same(first)
    # The replyTo topic gets the replay too, as it got the original.
    deadline = time.monotonic() + 30
    while len(rs.seen) < len(first) and time.monotonic() < deadline:
        rs.poll(0.2)
    assert same(rs.seen) == same(first)
    # No second sandbox: it stays ended, once, in Redis and PostgreSQL.
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "ended"
    assert pg.execute("SELECT count(*), min(state) FROM sandboxes WHERE id = %s", (sbx,)).fetchone() == (1, "ended")
    assert events_rows(pg, create["requestId"]) == len(first)
    assert not [e for e in s.seen if e not in first and e.get("requestId") == create["requestId"]]
    # Redis forgot the request id (TTL, a restart without AOF): the PostgreSQL ledger
    # still knows it, and the copy gets the same answer.
    s.replayed.clear()
    assert rds.delete(f"sandq:req:{{{create['requestId']}}}") == 1
    client.send(create)
    assert same(replays_of(s, first)) == same(first)
    assert pg.execute("SELECT count(*) FROM sandboxes WHERE id = %s", (sbx,)).fetchone() == (1,)
    rs.close()
    s.close()


def test_a_rejected_request_replayed_gets_the_same_rejection(client, launched, pg, rds):
    sbx, s = launched
    # Rejected when routed (files.read of a path outside the workspace) and rejected
    # when parsed (a body field the type does not know): each takes the sandbox's
    # next seq once, and a copy gets that very event again.
    routed = client.send(client.envelope("files.read", sbx, {"path": "../etc/passwd"}))
    parsed = client.send(client.envelope("task.exec", sbx, {"command": "true", "nonsense": 1}))
    firsts = []
    for r in (routed, parsed):
        ev = s.for_request(r["requestId"], {"request.rejected"})
        assert ev["seq"] > 0, ev
        firsts.append(ev)
    assert firsts[0]["data"]["code"] == "path_outside_workspace"
    assert firsts[1]["data"]["code"] == "invalid_request"
    for r in (routed, parsed):
        assert pg_eventually(pg, "SELECT count(*) FROM events WHERE request_id = %s", (r["requestId"],),
                             (1,)) == (1,)
        wait_done(rds, r["requestId"])
        client.send({k: v for k, v in r.items() if not k.startswith("_")})
    assert same(replays_of(s, firsts)) == same(firsts)
    nxt = client.send(client.envelope("task.exec", sbx, {"command": "true"}))
    s.for_request(nxt["requestId"], {"sandbox.task.completed"})
    # (the parse-time rejection is decided on the polling thread, the routed one on the
    # sandbox's actor: their seqs are gap-free, but may be published in either order)
    assert sorted(e["seq"] for e in s.seen) == list(range(1, len(s.seen) + 1))
    assert [e["type"] for e in s.seen].count("request.rejected") == 2
    for r in (routed, parsed):
        assert events_rows(pg, r["requestId"]) == 1


def test_creates_wait_in_queued_when_the_worker_is_full(client, stack_env, rds):
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
        # The kill's events were emitted by the waiting create; a copy of the kill
        # still gets exactly them again.
        killed = [e for e in sk.seen if e["requestId"] == kill_k["requestId"]]
        assert len(killed) == 2
        # Only once the kill is done (a copy that arrives while the first is in
        # flight is dropped: the first's own events are still on their way).
        wait_done(rds, kill_k["requestId"])
        c.send({k_: v for k_, v in kill_k.items() if not k_.startswith("_")})
        assert same(replays_of(sk, killed)) == same(killed)
        # Freeing the slot lets b proceed: queued → assigning → ready.
        kill_a = c.send(c.envelope("sandbox.kill", a))
        sa.wait_type("sandbox.ended", requestId=kill_a["requestId"], timeout=30)
        sb.wait_type("sandbox.ready", timeout=60)
        assert [e["data"]["state"] for e in sb.seen] == ["queued", "assigning", "ready"]
        kill_b = c.send(c.envelope("sandbox.kill", b))
        sb.wait_type("sandbox.ended", requestId=kill_b["requestId"], timeout=30)
    finally:
        assert w.stop() == 0
