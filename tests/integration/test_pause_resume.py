"""sandbox.pause / sandbox.resume through the worker: the lifecycle events,
Redis and PostgreSQL state, requests refused while paused, processes, memory
and open files surviving (a background counter keeps its value and does not
advance while paused), persist refused by a worker without the key (persist
itself: tests/faults/test_persist.py), and killing a paused sandbox."""
from __future__ import annotations

import time

from sandbox_host import create, kill, leftovers, procs_of, run, wait_until, workspace_file

# A background counter: its value lives in the shell's memory, it appends to a
# file it opened once (fd 3) and rewrites `count` every 20 ms.
COUNTER = ("(exec 3>>/workspace/log; i=0; while :; do i=$((i+1)); echo $i >&3; echo $i > /workspace/count.new; "
           "mv /workspace/count.new /workspace/count; sleep 0.02; done) >/dev/null 2>&1 &")


def read_count(worker, sbx) -> int:
    try:
        return int(workspace_file(worker, sbx, "count").read_text() or 0)
    except (OSError, ValueError):
        return -1


def types_of(s, request_id):
    return [e["type"] for e in s.seen if e.get("requestId") == request_id]


def test_pause_freezes_and_resume_continues(client, worker, rds, pg):
    sbx, s, _ = create(client, {})
    end, _, _ = run(client, s, sbx, COUNTER)
    assert end["type"] == "sandbox.task.completed"
    assert wait_until(lambda: read_count(worker, sbx) > 5, 5)
    pids_before = sorted(procs_of(sbx))

    pause = client.send(client.envelope("sandbox.pause", sbx))
    paused = s.for_request(pause["requestId"], {"sandbox.paused", "request.rejected"})
    assert types_of(s, pause["requestId"]) == ["sandbox.pausing", "sandbox.paused"]
    assert paused["data"]["previous"] == "pausing"
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "paused"
    assert pg.execute("SELECT state FROM sandboxes WHERE id = %s", (sbx,)).fetchone() == ("paused",)
    # The deadline stops while paused: none is published, the time used is kept.
    h = rds.hgetall(f"sandq:{{{sbx}}}:sandbox")
    assert h["deadlineAt"] == "" and int(h["usedMs"]) > 0

    at_pause = read_count(worker, sbx)
    time.sleep(1.0)
    assert read_count(worker, sbx) == at_pause  # nothing ran while paused

    # Work is refused while paused: invalid_state, nothing runs.
    ex = client.send(client.envelope("task.exec", sbx, {"command": "true"}))
    rej = s.for_request(ex["requestId"], {"request.rejected", "sandbox.task.queued"})
    assert rej["type"] == "request.rejected" and rej["data"]["code"] == "invalid_state", rej
    again = client.send(client.envelope("sandbox.pause", sbx))
    rej = s.for_request(again["requestId"], {"request.rejected", "sandbox.pausing"})
    assert rej["data"]["code"] == "invalid_state"

    resume = client.send(client.envelope("sandbox.resume", sbx))
    resumed = s.for_request(resume["requestId"], {"sandbox.resumed", "sandbox.failed", "request.rejected"})
    assert types_of(s, resume["requestId"]) == ["sandbox.assigned", "sandbox.resumed"]
    assert resumed["data"]["state"] == "ready" and resumed["data"]["previous"] == "assigning"
    assert resumed["data"]["capabilities"]["exec"] is True
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "ready"
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "deadlineAt") != ""
    assert pg.execute("SELECT state FROM sandboxes WHERE id = %s", (sbx,)).fetchone() == ("ready",)

    # The same processes count on from where they stopped: memory survived.
    assert wait_until(lambda: read_count(worker, sbx) > at_pause + 5, 5)
    assert sorted(procs_of(sbx)) != [] and set(pids_before) & set(procs_of(sbx))
    # The file opened before the pause is still the one written: one line per
    # count, no gap and no restart.
    lines = [int(x) for x in workspace_file(worker, sbx, "log").read_text().split()]
    assert lines[:len(lines) - 1] == list(range(1, len(lines)))
    # And the sandbox takes work again.
    end, out, _ = run(client, s, sbx, "echo back")
    assert end["type"] == "sandbox.task.completed" and out == "back\n"
    kill(client, s, sbx)


def test_persist_without_a_worker_key_is_refused_and_resume_needs_a_pause(client, worker, rds):
    # The session worker has no SANDQ_WEBHOOK_SECRET_KEY: the env could not be sealed.
    sbx, s, _ = create(client, {})
    p = client.send(client.envelope("sandbox.pause", sbx, {"persist": True}))
    rej = s.for_request(p["requestId"], {"request.rejected", "sandbox.pausing"})
    assert rej["type"] == "request.rejected", rej
    assert rej["data"]["code"] == "capability_unavailable" and rej["data"]["field"] == "body.persist"
    assert "SANDQ_WEBHOOK_SECRET_KEY" in rej["data"]["message"]
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "ready"

    r = client.send(client.envelope("sandbox.resume", sbx))
    rej = s.for_request(r["requestId"], {"request.rejected", "sandbox.assigned"})
    assert rej["data"]["code"] == "invalid_state", rej
    kill(client, s, sbx)


def test_killing_a_paused_sandbox_leaves_nothing(client, worker, rds, pg):
    sbx, s, _ = create(client, {})
    run(client, s, sbx, COUNTER)
    assert wait_until(lambda: procs_of(sbx), 5)
    pause = client.send(client.envelope("sandbox.pause", sbx))
    s.for_request(pause["requestId"], {"sandbox.paused"})
    ended = kill(client, s, sbx)
    assert ended["type"] == "sandbox.ended" and ended["data"]["previous"] == "ending"
    assert [e["data"]["previous"] for e in s.seen if e["type"] == "sandbox.ending"] == ["paused"]
    # Nothing left: no process, cgroup, zombie, mount or workspace.
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 5), leftovers(worker, sbx)
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "ended"
    assert pg.execute("SELECT state FROM sandboxes WHERE id = %s", (sbx,)).fetchone() == ("ended",)
