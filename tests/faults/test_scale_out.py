"""Fault test: scaling out from one worker to three under a steady load of
requests on many sandboxes. Partitions move to the newcomers, but sandboxes
stay where they run: the partitions' new owners forward their requests to the
worker that hosts them (<prefix>.worker.<id>, worker/src/pipeline/forward.h).
Nothing fails, every request is answered exactly once, in order per sandbox,
and a command running through the scale-out is not killed. A host killed with
SIGKILL still loses its sandboxes (worker_lost), as before."""
from __future__ import annotations

import signal
import time

from harness import Worker, metric, private_prefix
from mixed_load import (FAST, TASK_OUTCOMES, execs_ran_once_in_order, no_task_started_twice, one_outcome_each,
                        partitions_of, send_mixed_load, settle)
from sandq_client import Sandq, new_id, partition_for


def place_everywhere(client) -> dict[str, str]:
    """Two sandboxes on each of the six partitions of both requests topics:
    {sandbox id: its requests topic}. Whichever partitions move, many
    sandboxes move with them."""
    out: dict[str, str] = {}
    for topic in (client.requests_topic, f"{client.requests_topic}.iad"):
        want = {p: 2 for p in range(6)}
        while want:
            sbx = new_id("sbx")
            p = partition_for(sbx, 6)
            if p in want:
                out[sbx] = topic
                want[p] -= 1
                if not want[p]:
                    del want[p]
    return out


def test_scale_out_one_to_three_fails_nothing(stack_env, rds):
    prefix = private_prefix(stack_env["brokers"], "scale", partitions=6)
    client = Sandq(stack_env["brokers"], prefix)
    env = {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, **FAST}
    a = Worker("w-scale-a", env).start()
    every = client.stream(None)
    b = c = None
    try:
        topic_of = place_everywhere(client)
        for sbx, topic in topic_of.items():
            client.send(client.envelope("sandbox.create", sbx, {}), topic=topic)
        for sbx in topic_of:
            every.wait_for(lambda e, s=sbx: e["type"] == "sandbox.ready" and e["sandboxId"] == s, timeout=120)

        # A command that runs through the whole scale-out.
        sleeper = next(iter(topic_of))
        long_run = client.send(client.envelope("task.exec", sleeper, {"command": "sleep", "args": ["20"]}),
                               topic=topic_of[sleeper])
        every.wait_for(lambda e: e["type"] == "sandbox.task.started" and e.get("requestId") == long_run["requestId"],
                       timeout=60)

        # A steady load: a wave before each worker joins, one after the last.
        sent = send_mixed_load(client, topic_of, 5)
        b = Worker("w-scale-b", env).start()
        sent += send_mixed_load(client, topic_of, 5)
        c = Worker("w-scale-c", env).start()
        sent += send_mixed_load(client, topic_of, 5)
        by_request = {r["requestId"]: r for r in sent}
        by_request[long_run["requestId"]] = long_run
        settle(every, by_request)

        owned = partitions_of(client.brokers, prefix, prefix)
        moved = {s for s, t in topic_of.items() if (t, partition_for(s, 6)) not in owned.get(a.worker_id, set())}
        assert moved and moved != set(topic_of), owned  # both kinds: some moved, some stayed

        # Nothing failed; every request has exactly one outcome, and every one
        # completed (the mixed load's failing execs fail as tasks, exit 3).
        time.sleep(1)
        while every.poll(0.2):
            pass
        assert [e for e in every.seen if e["type"] == "sandbox.failed" and e["sandboxId"] in topic_of] == []
        outcomes = one_outcome_each(every, by_request)
        assert {ev["type"] for ev in outcomes.values()} <= {"sandbox.task.completed", "sandbox.task.failed"}
        assert all(ev["type"] == "sandbox.task.completed" or ev["data"].get("exitCode") == 3
                   for ev in outcomes.values()), [ev for ev in outcomes.values() if ev["type"] != "sandbox.task.completed"]
        no_task_started_twice(every)
        # The running command was not killed by the scale-out: it ran its 20 s and exited 0.
        done = outcomes[long_run["requestId"]]
        assert done["type"] == "sandbox.task.completed" and done["data"]["exitCode"] == 0, done
        # Each sandbox's events are gap-free and in order (seq), and it ran each
        # side-effecting exec once, in the order sent — moved or not.
        for sbx in topic_of:
            seqs = [e["seq"] for e in every.seen if e.get("sandboxId") == sbx and e.get("seq")]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (sbx, seqs)
            execs_ran_once_in_order(client, every, sbx, topic_of[sbx], sent)
        # Every sandbox is still served by the worker that created it; the
        # newcomers forwarded the moved sandboxes' requests to it.
        for sbx in topic_of:
            assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "workerId") == a.worker_id
        assert metric(b, "sandq_forwarded_requests_total") + metric(c, "sandq_forwarded_requests_total") > 0
        assert metric(a, "sandq_forward_received_total") > 0

        # A new sandbox goes to its partition's new owner and runs there.
        (topic, part), = [tp for tp in sorted(owned[b.worker_id])][:1]
        sbx = next(s for s in iter(lambda: new_id("sbx"), None) if partition_for(s, 6) == part)
        client.send(client.envelope("sandbox.create", sbx, {}), topic=topic)
        ev = every.wait_for(lambda e: e["type"] == "sandbox.ready" and e["sandboxId"] == sbx, timeout=60)
        assert ev["workerId"] == b.worker_id

        # The host killed with SIGKILL: its sandboxes fail worker_lost (the
        # reaper), moved or not; a request to one is then answered invalid_state.
        a.stop(signal.SIGKILL)
        for sbx in topic_of:
            ev = every.wait_for(lambda e, s=sbx: e["type"] == "sandbox.failed" and e["sandboxId"] == s, timeout=60)
            assert ev["data"]["reason"] == "worker_lost", ev
        probe = next(iter(moved))
        ex = client.send(client.envelope("task.exec", probe, {"command": "true"}), topic=topic_of[probe])
        ev = every.wait_for(lambda e: e.get("requestId") == ex["requestId"] and e["type"] in TASK_OUTCOMES, timeout=60)
        assert ev["type"] == "request.rejected" and ev["data"]["code"] == "invalid_state", ev
    finally:
        every.close()
        a.stop(signal.SIGKILL)
        for w in (b, c):
            if w:
                assert w.stop() == 0


def test_scale_in_gives_the_partitions_back_and_fails_nothing(stack_env):
    """1 → 2 → 1: the newcomer forwards the moved sandboxes' requests while it
    holds their partitions, then leaves (SIGTERM) under load; the partitions
    come back to the host, which reads them directly again. The host's
    sandboxes never fail; every request is answered once, in order."""
    prefix = private_prefix(stack_env["brokers"], "scalein", partitions=6)
    client = Sandq(stack_env["brokers"], prefix)
    env = {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, **FAST}
    a = Worker("w-scalein-a", env).start()
    every = client.stream(None)
    b = None
    try:
        topic_of = place_everywhere(client)
        for sbx, topic in topic_of.items():
            client.send(client.envelope("sandbox.create", sbx, {}), topic=topic)
        for sbx in topic_of:
            every.wait_for(lambda e, s=sbx: e["type"] == "sandbox.ready" and e["sandboxId"] == s, timeout=120)
        b = Worker("w-scalein-b", env).start()
        sent = send_mixed_load(client, topic_of, 5)
        every.wait_for(lambda e: metric(b, "sandq_forwarded_requests_total") > 0, timeout=60)
        assert b.stop() == 0  # mid-load: its partitions go back to a
        b = None
        sent += send_mixed_load(client, topic_of, 5)
        by_request = {r["requestId"]: r for r in sent}
        settle(every, by_request)
        time.sleep(1)
        while every.poll(0.2):
            pass
        assert [e for e in every.seen if e["type"] == "sandbox.failed" and e["sandboxId"] in topic_of] == []
        outcomes = one_outcome_each(every, by_request)
        assert all(ev["type"] == "sandbox.task.completed" or ev["data"].get("exitCode") == 3
                   for ev in outcomes.values())
        no_task_started_twice(every)
        for sbx in topic_of:
            execs_ran_once_in_order(client, every, sbx, topic_of[sbx], sent)
    finally:
        every.close()
        if b:
            b.stop()
        assert a.stop() == 0
