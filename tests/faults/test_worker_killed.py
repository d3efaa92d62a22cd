"""Fault tests: a worker killed with SIGKILL, idle or in the middle of a mixed
load. Its sandboxes are failed by a surviving worker's reaper within the
heartbeat TTL plus one sweep, the survivors take its partitions, every request
still gets exactly one outcome, and no task runs twice."""
from __future__ import annotations

import json
import os
import re
import signal
import time

from harness import Worker, pg_eventually, private_prefix, worker_cgroup_dirs
from sandbox_host import procs_of
from mixed_load import (FAST, TASK_OUTCOMES, execs_ran_once_in_order, no_task_started_twice, one_outcome_each,
                        both_hold_partitions, partitions_of, place, send_mixed_load, settle)
from sandq_client import Sandq, new_id

def test_worker_killed_with_sigkill(client, worker, rds, pg):
    a = Worker("w-fault-a", FAST).start()
    b = Worker("w-fault-b", FAST).start()
    try:
        # Place sandboxes only once the group has settled with both newcomers
        # holding partitions (a sandbox placed before would move with its partition).
        both_hold_partitions(client.brokers, os.environ.get("SANDQ_GROUP_ID", "sandq-workers"), client.prefix,
                             a.worker_id, b.worker_id)
        streams = {}
        for _ in range(16):
            sbx = new_id("sbx")
            s = client.stream(sbx)
            client.send(client.envelope("sandbox.create", sbx, {}))
            streams[sbx] = s
        owner = {}
        for sbx, s in streams.items():
            s.wait_type("sandbox.ready", timeout=60)
            owner[sbx] = next(e for e in s.seen if e["type"] == "sandbox.assigned")["data"]["workerId"]
        victims = [x for x, wid in owner.items() if wid == a.worker_id]
        survivors = [x for x, wid in owner.items() if wid != a.worker_id]
        assert victims and survivors, owner  # 16 sandboxes over 4 workers' partitions

        a.stop(signal.SIGKILL)
        killed_at = time.monotonic()
        # The reaper of a surviving worker fails each of the dead worker's sandboxes.
        for sbx in victims:
            ev = streams[sbx].wait_type("sandbox.failed", timeout=30)
            assert ev["data"]["reason"] == "worker_lost" and ev["data"]["previous"] == "ready"
            assert ev["workerId"] != a.worker_id
            assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "failed"
            assert pg_eventually(pg, "SELECT state, failure_reason FROM sandboxes WHERE id = %s", (sbx,),
                                 ("failed", "worker_lost")) == ("failed", "worker_lost")
        bound = 3 + 0.5 + 3  # heartbeat TTL + one sweep + margin for this shared machine
        assert time.monotonic() - killed_at < bound + 10

        # Sandboxes of the living workers keep working.
        for sbx in survivors:
            ex = client.send(client.envelope("task.exec", sbx, {"command": "true"}))
            assert streams[sbx].for_request(ex["requestId"], {"sandbox.task.completed"}, timeout=60)

        # The dead worker's partitions are served again once the group drops it
        # (static membership: after the session timeout): a request to a lost
        # sandbox gets exactly one outcome, invalid_state.
        for sbx in victims:
            ex = client.send(client.envelope("task.exec", sbx, {"command": "true"}))
            ev = streams[sbx].for_request(ex["requestId"], {"request.rejected", "sandbox.task.completed"}, timeout=60)
            assert ev["type"] == "request.rejected" and ev["data"]["code"] == "invalid_state"

        # seq stays gap-free per sandbox across the hand-over; one failed event each.
        for sbx, s in streams.items():
            kill = client.send(client.envelope("sandbox.kill", sbx))
            s.for_request(kill["requestId"], {"sandbox.ended", "request.rejected"}, timeout=60)
            assert [e["seq"] for e in s.seen] == list(range(1, len(s.seen) + 1)), sbx
            assert [e["type"] for e in s.seen].count("sandbox.failed") == (1 if sbx in victims else 0)
            s.close()
        # The dead worker is forgotten once its sandboxes are settled.
        deadline = time.monotonic() + 10
        while rds.sismember(f"sandq:workers:{client.events_topic}", a.worker_id) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not rds.sismember(f"sandq:workers:{client.events_topic}", a.worker_id)
    finally:
        a.stop(signal.SIGKILL)
        assert b.stop() == 0


def test_worker_killed_mid_task_under_mixed_load(stack_env):
    """Two workers share six partitions and a mixed load (execs that sleep,
    execs that fail, file writes, code); one is killed with SIGKILL while its
    sandboxes are mid-task. Every request gets exactly one outcome, no task
    runs twice, the dead worker's sandboxes are failed within the bound, and
    the survivor ends up owning every partition."""
    prefix = private_prefix(stack_env["brokers"], "kill", partitions=6)
    client = Sandq(stack_env["brokers"], prefix)
    env = {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, **FAST}
    a = Worker("w-kill-a", env).start()
    b = Worker("w-kill-b", env).start()
    every = client.stream(None)
    try:
        # Both members hold partitions before any sandbox is placed.
        owned = both_hold_partitions(client.brokers, prefix, prefix, a.worker_id, b.worker_id)
        all_partitions = owned[a.worker_id] | owned[b.worker_id]
        assert len(all_partitions) == 12, owned  # requests and requests.iad, six each

        placed = place(owned, a.worker_id, 6) + place(owned, b.worker_id, 6)
        topic_of = dict(placed)
        sandboxes = [sbx for sbx, _ in placed]
        for sbx, topic in placed:
            client.send(client.envelope("sandbox.create", sbx, {}), topic=topic)
        owner = {}
        for sbx in sandboxes:
            ev = every.wait_for(lambda e, s=sbx: e["type"] == "sandbox.ready" and e["sandboxId"] == s, timeout=90)
            owner[sbx] = ev["workerId"]
        victims = {s for s, wid in owner.items() if wid == a.worker_id}
        survivors = {s for s, wid in owner.items() if wid == b.worker_id}
        assert len(victims) == 6 and len(survivors) == 6, owner

        sent = send_mixed_load(client, topic_of, 25)
        by_request = {r["requestId"]: r for r in sent}

        # Kill A while its sandboxes are mid-task: some of their work done, an
        # exec that sleeps just started (it runs for 0.3 s), more queued.
        sleepers = {r["taskId"] for r in sent if r["sandboxId"] in victims and "sleep" in str(r["body"])}
        done_on_a = 0

        def mid_task(e):
            nonlocal done_on_a
            if e["type"] in TASK_OUTCOMES and e.get("sandboxId") in victims:
                done_on_a += 1
            return done_on_a >= 2 * len(victims) and e["type"] == "sandbox.task.started" and e["taskId"] in sleepers

        every.wait_for(mid_task, timeout=120)
        a.stop(signal.SIGKILL)
        killed_at = time.monotonic()

        # Every request gets an outcome: the survivor's sandboxes finish their
        # work, the victim's get theirs (done before the kill) or a rejection.
        settle(every, by_request)
        for sbx in victims:
            ev = every.wait_for(lambda e, s=sbx: e["type"] == "sandbox.failed" and e["sandboxId"] == s, timeout=60)
            assert ev["data"]["reason"] == "worker_lost" and ev["workerId"] == b.worker_id, ev
        # Within the bound: the heartbeat TTL (3 s) plus one sweep (0.5 s), with
        # a generous margin for this shared machine (not a timing assertion on
        # speed: a reaper that never runs would miss it by minutes).
        assert time.monotonic() - killed_at < 3 + 0.5 + 20

        outcomes = one_outcome_each(every, by_request)
        kinds: dict[tuple[str, str], int] = {}
        for rid, ev in outcomes.items():
            who = "victim" if by_request[rid]["sandboxId"] in victims else "survivor"
            kinds[(who, ev["type"])] = kinds.get((who, ev["type"]), 0) + 1
        print(f"outcomes: {sorted(kinds.items())}; events published again: {len(every.replayed)}")
        # What the survivor ran, it ran to completion and in order; what the
        # victim's sandboxes had not done is refused, not silently dropped.
        for rid, ev in outcomes.items():
            if by_request[rid]["sandboxId"] in survivors:
                assert ev["type"] in ("sandbox.task.completed", "sandbox.task.failed"), ev
            elif ev["type"] == "request.rejected":
                assert ev["data"]["code"] == "invalid_state", ev
        no_task_started_twice(every)
        for sbx in survivors:
            execs_ran_once_in_order(client, every, sbx, topic_of[sbx], sent)

        # The survivor owns every partition once the group has dropped the dead
        # static member (after its session timeout).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            owned = partitions_of(client.brokers, prefix, prefix)
            if owned == {b.worker_id: all_partitions}:
                break
            time.sleep(0.5)
        assert owned == {b.worker_id: all_partitions}, owned
    finally:
        every.close()
        a.stop(signal.SIGKILL)
        assert b.stop() == 0


def test_an_answer_left_by_a_dead_run_is_published_again(client, launched, rds, pg):
    """The window the test above can only hit by chance, made certain: a run
    answered a request (the answer is on the request's dedupe key, written
    before the publish) and died before committing it. The next consumer of
    the request publishes that very answer again — same eventId and seq —
    instead of running the request a second time."""
    sbx, s = launched
    ex = client.send(client.envelope("task.exec", sbx, {"command": "echo", "args": ["once"]}))
    first = s.for_request(ex["requestId"], {"sandbox.task.completed"}, timeout=60)
    key = f"sandq:req:{{{ex['requestId']}}}"
    deadline = time.monotonic() + 15
    while rds.get(key) != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rds.get(key) == "done"
    # What a run that died right after publishing leaves behind.
    envelope = {k: v for k, v in first.items() if not k.startswith("_")}
    rds.set(key, "a:run_01JD0000000000000000000DEAD:" + json.dumps(envelope), ex=3600)

    client.send({k: v for k, v in ex.items() if not k.startswith("_")})  # the redelivery
    deadline = time.monotonic() + 30
    while not s.replayed and time.monotonic() < deadline:
        s.poll(0.2)
    assert [(e["eventId"], e["seq"], e["type"]) for e in s.replayed] == \
        [(first["eventId"], first["seq"], "sandbox.task.completed")]
    # Nothing ran again, and the request is done now.
    time.sleep(1)
    while s.poll(0.2):
        pass
    assert [e["type"] for e in s.seen if e.get("requestId") == ex["requestId"]].count("sandbox.task.started") == 1
    assert rds.get(key) == "done"
    assert pg_eventually(pg, "SELECT count(*) FROM events WHERE event_id = %s", (first["eventId"],), (1,)) == (1,)
    assert pg_eventually(pg, "SELECT count(*) FROM tasks WHERE id = %s", (ex["taskId"],), (1,)) == (1,)


def test_a_killed_workers_cgroups_are_swept_when_the_next_worker_starts(stack_env):
    """A worker killed with SIGKILL leaves empty cgroup trees (its sandboxes die
    with it, their directories do not). The next worker to start on the host,
    whatever its id, removes them: the dead worker's owner lock is free."""
    prefix = private_prefix(stack_env["brokers"], "sweep")
    client = Sandq(stack_env["brokers"], prefix)
    env = {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, **FAST}
    a = Worker("w-sweep-a", env).start()
    b = None
    try:
        sbx = new_id("sbx")
        s = client.stream(sbx)
        client.send(client.envelope("sandbox.create", sbx, {}))
        s.wait_type("sandbox.ready", timeout=60)
        ex = client.send(client.envelope("task.exec", sbx, {"command": "true"}))
        s.for_request(ex["requestId"], {"sandbox.task.completed"}, timeout=60)
        s.close()

        a.stop(signal.SIGKILL, clean_cgroups=False)
        left = worker_cgroup_dirs(a.worker_id)
        assert left and any(os.path.isdir(os.path.join(d, sbx)) for d in left), left
        # The sandbox's processes die with the worker (PR_SET_PDEATHSIG).
        deadline = time.monotonic() + 15
        while procs_of(sbx) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert procs_of(sbx) == []

        b = Worker("w-sweep-b", env).start()
        assert worker_cgroup_dirs(a.worker_id) == []
        # b says how many it removed: a's, unless a worker of another suite on
        # this machine started in between and removed them first.
        m = re.search(r"(\d+) dead workers' cgroups removed", b.log_text())
        assert m, b.log_text()[-2000:]
        # A live worker's trees are never swept: b's own are still there.
        assert worker_cgroup_dirs(b.worker_id)
    finally:
        a.stop(signal.SIGKILL)
        if b:
            assert b.stop() == 0
        assert worker_cgroup_dirs(a.worker_id) == []
