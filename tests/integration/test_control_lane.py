"""The control lane (issue #10, items 1 and 2): sandbox.kill and task.cancel
do not queue behind a running command; a lifetime deadline with onTimeout
"pause" freezes a running command with its sandbox and a resume lets it carry
on, a kill ends it."""
from __future__ import annotations

import time

from harness import pg_eventually
from sandbox_host import create, kill, leftovers, procs_of, run, wait_until, workspace_file
from sandq_client import new_id

TASK_END = {"sandbox.task.completed", "sandbox.task.failed"}


def started(s, req, timeout=30):
    return s.for_request(req["requestId"], {"sandbox.task.started"} | TASK_END | {"request.rejected"}, timeout)


def types_after(s, seq, skip=("sandbox.task.output",)):
    return [e["type"] for e in s.seen if e["seq"] > seq and e["type"] not in skip]


def comms(sbx):
    out = []
    for pid in procs_of(sbx):
        try:
            out.append(open(f"/proc/{pid}/comm").read().strip())
        except OSError:
            pass
    return out


def test_kill_stops_a_running_command_at_once(client, worker, rds, pg):
    sbx, s, _ = create(client, {})
    ex = client.send(client.envelope("task.exec", sbx, {"command": "sleep", "args": ["45"]}))
    st = started(s, ex)
    assert st["type"] == "sandbox.task.started", st
    behind = client.send(client.envelope("task.exec", sbx, {"command": "true"}))  # queued behind the sleep
    t0 = time.monotonic()
    k = client.send(client.envelope("sandbox.kill", sbx))
    ended = s.for_request(k["requestId"], {"sandbox.ended", "request.rejected"}, timeout=15)
    assert ended["type"] == "sandbox.ended" and ended["data"]["reason"] == "killed"
    assert time.monotonic() - t0 < 10, "the kill waited for the command"
    # The running task fails `canceled`, then the sandbox ends; no "ready" between.
    assert types_after(s, st["seq"])[:3] == ["sandbox.task.failed", "sandbox.ending", "sandbox.ended"], s.seen
    failed = next(e for e in s.seen if e["type"] == "sandbox.task.failed")
    assert failed["requestId"] == ex["requestId"] and failed["data"]["code"] == "canceled"
    assert "sandbox.kill" in failed["data"]["message"]
    # What was queued behind it never runs: the sandbox has ended.
    rej = s.for_request(behind["requestId"], {"request.rejected", "sandbox.task.started"})
    assert rej["type"] == "request.rejected" and rej["data"]["code"] == "invalid_state"
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "ended"
    assert rds.hget(f"sandq:{{{sbx}}}:task:{ex['taskId']}", "state") == "failed"
    assert pg_eventually(pg, "SELECT state, error_code FROM tasks WHERE id = %s", (ex["taskId"],),
                         ("failed", "canceled")) == ("failed", "canceled")
    assert pg_eventually(pg, "SELECT state FROM sandboxes WHERE id = %s", (sbx,), ("ended",)) == ("ended",)
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 10), leftovers(worker, sbx)
    # Each outcome was published once; a replayed kill is answered from the record.
    assert [e["type"] for e in s.seen].count("sandbox.task.failed") == 1
    assert [e["type"] for e in s.seen].count("sandbox.ended") == 1
    deadline = time.monotonic() + 15
    while rds.get(f"sandq:req:{{{k['requestId']}}}") != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    client.send(k)
    deadline = time.monotonic() + 30
    while ended["eventId"] not in {e["eventId"] for e in s.replayed} and time.monotonic() < deadline:
        s.poll(0.2)
    again = [e for e in s.replayed if e["eventId"] == ended["eventId"]]
    assert again and again[0]["seq"] == ended["seq"], s.replayed
    assert [e["type"] for e in s.seen].count("sandbox.ended") == 1  # nothing new happened


def test_cancel_stops_the_running_task_and_the_sandbox_carries_on(client, worker, rds, pg):
    sbx, s, _ = create(client, {})
    run(client, s, sbx, "sleep 300 >/dev/null 2>&1 &")  # an earlier task's process: not the target's
    ex = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", "sleep 45; echo never"]}))
    st = started(s, ex)
    assert st["type"] == "sandbox.task.started", st
    t0 = time.monotonic()
    c = client.send(client.envelope("task.cancel", sbx, {"targetTaskId": ex["taskId"]}))
    failed = s.for_request(ex["requestId"], TASK_END, timeout=15)
    assert time.monotonic() - t0 < 10
    assert failed["type"] == "sandbox.task.failed" and failed["data"]["code"] == "canceled", failed
    assert "task.cancel" in failed["data"]["message"] and failed["data"]["exitCode"] == 137
    s.wait_for(lambda e: e["type"] == "sandbox.ready" and e["seq"] > failed["seq"], timeout=10)
    assert types_after(s, st["seq"])[:2] == ["sandbox.task.failed", "sandbox.ready"]
    # The cancel itself has no event when it succeeds, and is done.
    deadline = time.monotonic() + 15
    while rds.get(f"sandq:req:{{{c['requestId']}}}") != "done" and time.monotonic() < deadline:
        s.poll(0.1)
    assert rds.get(f"sandq:req:{{{c['requestId']}}}") == "done"
    assert not [e for e in s.seen if e.get("requestId") == c["requestId"]]
    # Its whole tree is gone, the other task's process is not.
    assert wait_until(lambda: "sh" not in comms(sbx), 10), comms(sbx)
    assert comms(sbx).count("sleep") == 1, comms(sbx)
    assert pg_eventually(pg, "SELECT state, error_code FROM tasks WHERE id = %s", (ex["taskId"],),
                         ("failed", "canceled")) == ("failed", "canceled")
    end, out, _ = run(client, s, sbx, "echo still here")
    assert end["type"] == "sandbox.task.completed" and out == "still here\n"
    # Cancelling it again, or a task that never was: refused with a protocol code.
    again = client.send(client.envelope("task.cancel", sbx, {"targetTaskId": ex["taskId"]}))
    rej = s.for_request(again["requestId"], {"request.rejected"})
    assert rej["data"]["code"] == "invalid_state" and rej["data"]["field"] == "body.targetTaskId"
    nobody = client.send(client.envelope("task.cancel", sbx, {"targetTaskId": new_id("tsk")}))
    rej = s.for_request(nobody["requestId"], {"request.rejected"})
    assert rej["data"]["code"] == "not_found"
    assert [e["type"] for e in s.seen].count("sandbox.task.failed") == 1
    kill(client, s, sbx)
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 10), leftovers(worker, sbx)


def test_cancel_of_a_queued_task_means_it_never_starts(client, worker, rds, pg):
    sbx, s, _ = create(client, {})
    first = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", "sleep 4; echo first"]}))
    assert started(s, first)["type"] == "sandbox.task.started"
    queued = client.send(client.envelope("task.exec", sbx, {"command": "touch", "args": ["/workspace/ran"]}))
    c = client.send(client.envelope("task.cancel", sbx, {"targetTaskId": queued["taskId"]}))
    failed = s.for_request(queued["requestId"], TASK_END | {"request.rejected"}, timeout=30)
    assert failed["type"] == "sandbox.task.failed" and failed["data"]["code"] == "canceled", failed
    assert failed["data"]["durationMs"] == 0
    # At once, not after the running task: that one is untouched and completes.
    assert not [e for e in s.seen if e.get("requestId") == first["requestId"] and e["type"] in TASK_END]
    done = s.for_request(first["requestId"], TASK_END, timeout=30)
    assert done["type"] == "sandbox.task.completed" and done["data"]["exitCode"] == 0
    assert [e["type"] for e in s.seen if e.get("requestId") == queued["requestId"]] == ["sandbox.task.failed"]
    assert not workspace_file(worker, sbx, "ran").exists()
    assert rds.hget(f"sandq:{{{sbx}}}:task:{queued['taskId']}", "state") == "failed"
    assert pg_eventually(pg, "SELECT state, error_code FROM tasks WHERE id = %s", (queued["taskId"],),
                         ("failed", "canceled")) == ("failed", "canceled")
    deadline = time.monotonic() + 15
    while rds.get(f"sandq:req:{{{c['requestId']}}}") != "done" and time.monotonic() < deadline:
        s.poll(0.1)
    assert rds.get(f"sandq:req:{{{c['requestId']}}}") == "done"
    # The order of everything else is kept: the next request runs normally.
    end, out, _ = run(client, s, sbx, "echo next")
    assert end["type"] == "sandbox.task.completed" and out == "next\n"
    kill(client, s, sbx)


COUNTING = "i=0; while [ $i -lt 15 ]; do i=$((i+1)); echo $i > /workspace/n; sleep 0.2; done; echo done"


def read_n(worker, sbx) -> int:
    try:
        return int(workspace_file(worker, sbx, "n").read_text() or 0)
    except (OSError, ValueError):
        return -1


def test_pause_timeout_freezes_a_running_command_and_resume_continues_it(client, worker, rds, pg):
    sbx, s, _ = create(client, {"timeoutMs": 2000, "onTimeout": "pause"})
    # About 3 s of work and no timeoutMs of its own: it outlives the 2 s
    # lifetime (and needs less than the fresh one a resume gives).
    ex = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", COUNTING]}))
    assert started(s, ex)["type"] == "sandbox.task.started"
    paused = s.wait_for(lambda e: e["type"] in {"sandbox.paused"} | TASK_END, timeout=30)
    assert paused["type"] == "sandbox.paused", paused
    assert paused["data"]["reason"] == "timeout" and paused["requestId"] is None
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "paused"
    at = read_n(worker, sbx)
    assert 0 < at < 15
    time.sleep(1.5)
    assert read_n(worker, sbx) == at  # frozen with its sandbox
    assert not [e for e in s.seen if e.get("requestId") == ex["requestId"] and e["type"] in TASK_END]
    # Work is refused while paused, as always.
    other = client.send(client.envelope("task.exec", sbx, {"command": "true"}))
    rej = s.for_request(other["requestId"], {"request.rejected", "sandbox.task.started"})
    assert rej["type"] == "request.rejected" and rej["data"]["code"] == "invalid_state"
    resume = client.send(client.envelope("sandbox.resume", sbx))
    resumed = s.for_request(resume["requestId"], {"sandbox.resumed", "sandbox.failed", "request.rejected"})
    assert resumed["type"] == "sandbox.resumed", resumed
    # The command carries on from where it stopped and completes.
    end = s.for_request(ex["requestId"], TASK_END, timeout=60)
    assert end["type"] == "sandbox.task.completed" and end["data"]["exitCode"] == 0, end
    out = "".join(e["data"].get("data", "") for e in s.seen
                  if e["type"] == "sandbox.task.output" and e["requestId"] == ex["requestId"])
    assert out == "done\n"
    assert read_n(worker, sbx) == 15
    seq = [e["type"] for e in s.seen if e["type"] not in ("sandbox.task.output",) and e.get("requestId") != other["requestId"]]
    i = seq.index("sandbox.pausing")
    assert seq[i:i + 6] == ["sandbox.pausing", "sandbox.paused", "sandbox.assigned", "sandbox.resumed",
                            "sandbox.active", "sandbox.task.completed"], seq
    ready = s.wait_for(lambda e: e["type"] == "sandbox.ready" and e["seq"] > end["seq"], timeout=10)
    assert ready["requestId"] == ex["requestId"]
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") in ("ready", "paused")
    kill(client, s, sbx)
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 10), leftovers(worker, sbx)


def test_kill_of_a_sandbox_frozen_under_its_command(client, worker, rds, pg):
    sbx, s, _ = create(client, {"timeoutMs": 1500, "onTimeout": "pause"})
    ex = client.send(client.envelope("task.exec", sbx, {"command": "sleep", "args": ["60"]}))
    assert started(s, ex)["type"] == "sandbox.task.started"
    assert s.wait_type("sandbox.paused", timeout=30)["data"]["reason"] == "timeout"
    k = client.send(client.envelope("sandbox.kill", sbx))
    ended = s.for_request(k["requestId"], {"sandbox.ended", "request.rejected"}, timeout=15)
    assert ended["type"] == "sandbox.ended"
    failed = s.for_request(ex["requestId"], TASK_END, timeout=5)
    assert failed["type"] == "sandbox.task.failed" and failed["data"]["code"] == "canceled"
    assert failed["seq"] < ended["seq"]
    assert pg_eventually(pg, "SELECT state FROM sandboxes WHERE id = %s", (sbx,), ("ended",)) == ("ended",)
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 10), leftovers(worker, sbx)


def test_a_kill_sent_in_order_waits_for_the_tasks_before_it(client, worker):
    sbx, s, _ = create(client, {})
    ex = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", "sleep 2; echo finished"]}))
    k = client.send(client.envelope("sandbox.kill", sbx, {"inOrder": True}))
    ended = s.for_request(k["requestId"], {"sandbox.ended", "request.rejected"}, timeout=60)
    assert ended["type"] == "sandbox.ended"
    done = next(e for e in s.seen if e.get("requestId") == ex["requestId"] and e["type"] in TASK_END)
    assert done["type"] == "sandbox.task.completed" and done["data"]["exitCode"] == 0
    assert done["seq"] < ended["seq"]
