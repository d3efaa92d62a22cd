"""Files tasks watch the control lane (issue #10): a files.* request runs on
the worker's own thread, not in the exec loop, so it asks the sandbox's
control lane between bounded steps (worker/src/handlers/files.c). A
sandbox.kill or a task.cancel then stops it at once, however large the
sandbox made the tree: the task fails `canceled`, and a kill goes on to
sandbox.ending → sandbox.ended.

The long operation here is files.remove of a tree of 60,000 files (as many as
the default 1 GiB workspace has inodes for) while a process in the sandbox
keeps adding files to it: removing it takes the worker seconds, and without
the control lane the kill would wait for it."""
from __future__ import annotations

import time

from harness import pg_eventually
from sandbox_host import create, kill, leftovers, procs_of, run, wait_until

TASK_END = {"sandbox.task.completed", "sandbox.task.failed"}
# Empty files, from inside the sandbox; then a writer that keeps adding more.
FILL = "mkdir -p /workspace/tree && cd /workspace/tree && seq 1 60000 | xargs touch && ls | wc -l"
FEEDER = ("(cd /workspace/tree && i=0; while :; do i=$((i+1)); : > f$i 2>/dev/null; done) >/dev/null 2>&1 & "
          "echo $! > /workspace/feeder.pid")


def big_tree(client, s, sbx):
    end, out, _ = run(client, s, sbx, FILL, timeout=300)
    assert end["type"] == "sandbox.task.completed" and int(out) == 60000, (end, out)
    end, _, _ = run(client, s, sbx, FEEDER)
    assert end["type"] == "sandbox.task.completed", end


def start_remove(client, s, sbx):
    req = client.send(client.envelope("files.remove", sbx, {"path": "tree", "recursive": True}))
    st = s.for_request(req["requestId"], {"sandbox.task.started"} | TASK_END | {"request.rejected"}, timeout=30)
    assert st["type"] == "sandbox.task.started", st
    return req, st


def test_kill_stops_a_running_files_remove(client, worker, rds, pg):
    sbx, s, _ = create(client, {})
    big_tree(client, s, sbx)
    rm, st = start_remove(client, s, sbx)
    t0 = time.monotonic()
    k = client.send(client.envelope("sandbox.kill", sbx))
    ended = s.for_request(k["requestId"], {"sandbox.ended", "request.rejected"}, timeout=30)
    assert ended["type"] == "sandbox.ended" and ended["data"]["reason"] == "killed", ended
    assert time.monotonic() - t0 < 30  # a liveness bound, not a measure
    failed = s.for_request(rm["requestId"], TASK_END, timeout=5)
    # Stopped, not run to its end: canceled, then the sandbox ends, no "ready" between.
    assert failed["type"] == "sandbox.task.failed" and failed["data"]["code"] == "canceled", failed
    assert "sandbox.kill" in failed["data"]["message"]
    after = [e["type"] for e in s.seen if e["seq"] > st["seq"] and e["type"] != "sandbox.task.output"]
    assert after[:3] == ["sandbox.task.failed", "sandbox.ending", "sandbox.ended"], after
    assert rds.hget(f"sandq:{{{sbx}}}:task:{rm['taskId']}", "state") == "failed"
    assert pg_eventually(pg, "SELECT state, error_code FROM tasks WHERE id = %s", (rm["taskId"],),
                         ("failed", "canceled")) == ("failed", "canceled")
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 20), leftovers(worker, sbx)
    assert [e["type"] for e in s.seen].count("sandbox.task.failed") == 1


def test_cancel_stops_a_running_files_remove_and_the_sandbox_carries_on(client, worker, rds, pg):
    sbx, s, _ = create(client, {})
    big_tree(client, s, sbx)
    rm, st = start_remove(client, s, sbx)
    c = client.send(client.envelope("task.cancel", sbx, {"targetTaskId": rm["taskId"]}))
    failed = s.for_request(rm["requestId"], TASK_END, timeout=30)
    assert failed["type"] == "sandbox.task.failed" and failed["data"]["code"] == "canceled", failed
    assert "task.cancel" in failed["data"]["message"]
    s.wait_for(lambda e: e["type"] == "sandbox.ready" and e["seq"] > failed["seq"], timeout=10)
    deadline = time.monotonic() + 15
    while rds.get(f"sandq:req:{{{c['requestId']}}}") != "done" and time.monotonic() < deadline:
        s.poll(0.1)
    assert rds.get(f"sandq:req:{{{c['requestId']}}}") == "done"
    assert pg_eventually(pg, "SELECT state, error_code FROM tasks WHERE id = %s", (rm["taskId"],),
                         ("failed", "canceled")) == ("failed", "canceled")
    # The sandbox serves the next request; the remove stopped part-way, so
    # the tree is still there (the feeder is stopped first).
    end, out, _ = run(client, s, sbx, "kill $(cat /workspace/feeder.pid); sleep 0.2; ls /workspace/tree | wc -l")
    assert end["type"] == "sandbox.task.completed", end
    assert int(out) > 0, out
    # A second cancel finds the task ended.
    again = client.send(client.envelope("task.cancel", sbx, {"targetTaskId": rm["taskId"]}))
    assert s.for_request(again["requestId"], {"request.rejected"})["data"]["code"] == "invalid_state"
    kill(client, s, sbx)
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 20), leftovers(worker, sbx)
    assert not procs_of(sbx)
