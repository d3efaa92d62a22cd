"""Fault test: a worker joins while another is under a mixed load. The
cooperative rebalance moves some partitions; their sandboxes keep running on
the first worker, which the newcomer forwards their requests to
(pipeline/forward.h). Every request still gets exactly one outcome, nothing
runs twice, nothing fails, and every sandbox — moved or not — runs what it
was sent in order."""
from __future__ import annotations

import time

from harness import Worker, metric, private_prefix
from mixed_load import (FAST, TASK_OUTCOMES, execs_ran_once_in_order, no_task_started_twice, one_outcome_each,
                        both_hold_partitions, send_mixed_load, settle)
from sandq_client import Sandq, new_id, partition_for


def test_worker_joins_mid_load(stack_env):
    prefix = private_prefix(stack_env["brokers"], "join", partitions=6)
    client = Sandq(stack_env["brokers"], prefix)
    env = {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, **FAST}
    a = Worker("w-join-a", env).start()
    every = client.stream(None)
    b = None
    try:
        # Twelve sandboxes on all six partitions of both request topics, so
        # whichever partitions the rebalance moves, some sandboxes move too.
        placed: list[tuple[str, str]] = []
        for topic in (client.requests_topic, f"{client.requests_topic}.iad"):
            want = set(range(6))
            while want:
                sbx = new_id("sbx")
                if partition_for(sbx, 6) in want:
                    want.discard(partition_for(sbx, 6))
                    placed.append((sbx, topic))
        topic_of = dict(placed)
        for sbx, topic in placed:
            client.send(client.envelope("sandbox.create", sbx, {}), topic=topic)
        for sbx in topic_of:
            every.wait_for(lambda e, s=sbx: e["type"] == "sandbox.ready" and e["sandboxId"] == s, timeout=90)

        sent = send_mixed_load(client, topic_of, 20)
        by_request = {r["requestId"]: r for r in sent}
        done = 0

        def some_done(e):
            nonlocal done
            done += e["type"] in TASK_OUTCOMES
            return done >= len(sent) // 5

        every.wait_for(some_done, timeout=120)
        b = Worker("w-join-b", env).start()  # mid-load

        settle(every, by_request)
        owned = both_hold_partitions(client.brokers, prefix, prefix, a.worker_id, b.worker_id)
        assert len(owned[a.worker_id] | owned[b.worker_id]) == 12 and not owned[a.worker_id] & owned[b.worker_id]
        moved = {s for s, t in topic_of.items() if (t, partition_for(s, 6)) in owned[b.worker_id]}
        stayed = set(topic_of) - moved
        assert moved and stayed, owned

        # No sandbox fails, moved or not.
        time.sleep(1)
        while every.poll(0.2):
            pass
        # (Only this test's sandboxes: the stream is the whole events topic.)
        assert [e for e in every.seen if e["type"] == "sandbox.failed" and e["sandboxId"] in topic_of] == []

        # Exactly one outcome per request; no task started twice; every
        # sandbox ran everything it was sent, each exec once, in order — a
        # moved one through the newcomer's forwarding.
        outcomes = one_outcome_each(every, by_request)
        no_task_started_twice(every)
        for rid, ev in outcomes.items():
            assert ev["type"] == "sandbox.task.completed" or ev["data"].get("exitCode") == 3, ev
        for sbx in topic_of:
            execs_ran_once_in_order(client, every, sbx, topic_of[sbx], sent)
        assert metric(b, "sandq_forwarded_requests_total") > 0

        # The newcomer serves its partitions: a new sandbox there becomes ready on it.
        topic, part = sorted(owned[b.worker_id])[0]
        sbx = next(s for s in iter(lambda: new_id("sbx"), None) if partition_for(s, 6) == part)
        client.send(client.envelope("sandbox.create", sbx, {}), topic=topic)
        ev = every.wait_for(lambda e: e["type"] == "sandbox.ready" and e["sandboxId"] == sbx, timeout=60)
        assert ev["workerId"] == b.worker_id
    finally:
        every.close()
        assert a.stop() == 0
        if b:
            assert b.stop() == 0
