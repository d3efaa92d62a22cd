"""Timeouts through the worker: a task's timeoutMs kills its whole process
tree (even what left its process group) but not the sandbox's other
processes; the sandbox's timeoutMs and idleTimeoutMs end it or pause it
following onTimeout, with paused time not counted; sandbox.setTimeout moves the
deadline; the deadlines are in Redis."""
from __future__ import annotations

import time

from sandbox_host import create, kill, leftovers, run, wait_until


def test_task_timeout_kills_the_whole_tree(client, worker, rds, pg):
    sbx, s, _ = create(client, {})
    # A background process of an earlier task: not this task's, must survive.
    run(client, s, sbx, "sleep 200 >/dev/null 2>&1 &")
    end, _, req = run(client, s, sbx, "setsid sleep 300 >/dev/null 2>&1 & sleep 100", timeoutMs=1000)
    assert end["type"] == "sandbox.task.failed", end
    assert end["data"]["code"] == "timed_out" and "reason" not in end["data"]
    assert 1000 <= end["data"]["durationMs"] < 10_000
    assert pg.execute("SELECT state, error_code FROM tasks WHERE id = %s",
                      (req["taskId"],)).fetchone() == ("failed", "timed_out")
    assert rds.hget(f"sandq:{{{sbx}}}:task:{req['taskId']}", "state") == "failed"
    end, out, _ = run(client, s, sbx, "ps -e -o args= | grep '^sleep' | sort")
    assert out == "sleep 200\n", out  # setsid'd `sleep 300` went with its task
    kill(client, s, sbx)


def test_sandbox_timeout_ends_it(client, worker, rds, pg):
    t0 = time.time() * 1000
    sbx, s, _ = create(client, {"timeoutMs": 2000})
    h = rds.hgetall(f"sandq:{{{sbx}}}:sandbox")
    assert h["timeoutMs"] == "2000" and h["onTimeout"] == "kill" and h["idleTimeoutMs"] == ""
    assert t0 + 2000 <= int(h["deadlineAt"]) <= t0 + 2000 + 30_000
    ending = s.wait_type("sandbox.ending", timeout=30)
    ended = s.wait_type("sandbox.ended", timeout=30)
    assert ending["data"]["reason"] == "timeout" and ended["data"]["reason"] == "timeout"
    assert "timeoutMs" in ending["data"]["message"]
    assert ending["requestId"] is None
    assert ending["at"] - t0 >= 2000
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "ended"
    assert pg.execute("SELECT state, failure_reason FROM sandboxes WHERE id = %s",
                      (sbx,)).fetchone() == ("ended", "timeout")
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 5), leftovers(worker, sbx)


def test_sandbox_timeout_cuts_a_running_command(client, worker, rds, pg):
    """A command cannot outlive its sandbox's lifetime (onTimeout kill): it is
    killed when the lifetime runs out, then the sandbox ends."""
    sbx, s, ready = create(client, {"timeoutMs": 2500})
    end, _, req = run(client, s, sbx, "sleep 60", timeoutMs=600_000)
    assert end["type"] == "sandbox.task.failed", end
    assert end["data"]["code"] == "timed_out" and end["data"]["reason"] == "sandbox_timeout", end
    assert "timeoutMs" in end["data"]["message"]
    assert end["data"]["durationMs"] < 10_000
    ending = s.wait_type("sandbox.ending", timeout=30)
    assert ending["data"]["reason"] == "timeout"
    assert ending["at"] - ready["at"] >= 2500
    s.wait_type("sandbox.ended")
    assert pg.execute("SELECT error_code FROM tasks WHERE id = %s", (req["taskId"],)).fetchone() == ("timed_out",)


def test_paused_time_does_not_count(client, worker, rds):
    sbx, s, _ = create(client, {"timeoutMs": 3000})
    pause = client.send(client.envelope("sandbox.pause", sbx))
    s.for_request(pause["requestId"], {"sandbox.paused"})
    time.sleep(4)  # longer than the whole lifetime: it must not end while paused
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "paused"
    resume = client.send(client.envelope("sandbox.resume", sbx))
    resumed_at = s.for_request(resume["requestId"], {"sandbox.resumed"})["at"]
    used = int(rds.hget(f"sandq:{{{sbx}}}:sandbox", "usedMs"))
    assert used < 3000
    ending = s.wait_type("sandbox.ending", timeout=30)
    assert ending["data"]["reason"] == "timeout"
    # It ran out the rest of its 3 s after the resume, not before.
    assert ending["at"] - resumed_at >= 3000 - used - 50
    s.wait_type("sandbox.ended")


def test_idle_timeout_pauses_when_asked(client, worker, rds, pg):
    sbx, s, _ = create(client, {"idleTimeoutMs": 1500, "onTimeout": "pause"})
    # A task longer than the idle timeout: busy is not idle.
    end, _, req = run(client, s, sbx, "sleep 2.5; echo done")
    assert end["type"] == "sandbox.task.completed"
    assert not [e for e in s.seen if e["type"] == "sandbox.pausing"]
    ready_at = s.wait_type("sandbox.ready", requestId=req["requestId"])["at"]
    pausing = s.wait_type("sandbox.pausing", timeout=30)
    paused = s.wait_type("sandbox.paused", timeout=30)
    assert pausing["data"]["reason"] == "idle_timeout" and paused["data"]["reason"] == "idle_timeout"
    assert pausing["at"] - ready_at >= 1500 - 50  # the idle clock starts as the task ends, a moment before "ready"
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "paused"
    assert pg.execute("SELECT state FROM sandboxes WHERE id = %s", (sbx,)).fetchone() == ("paused",)
    # Resume brings it back, and it works.
    resume = client.send(client.envelope("sandbox.resume", sbx))
    s.for_request(resume["requestId"], {"sandbox.resumed"})
    end, out, _ = run(client, s, sbx, "echo awake")
    assert out == "awake\n"
    kill(client, s, sbx)


def test_set_timeout_moves_the_deadline(client, worker, rds):
    sbx, s, _ = create(client, {"timeoutMs": 600_000})
    before = int(rds.hget(f"sandq:{{{sbx}}}:sandbox", "deadlineAt"))
    too_long = client.send(client.envelope("sandbox.setTimeout", sbx, {"timeoutMs": 100_000_000}))
    rej = s.for_request(too_long["requestId"], {"request.rejected"})
    assert rej["data"]["code"] == "limit_exceeded" and rej["data"]["field"] == "body.timeoutMs"
    assert int(rds.hget(f"sandq:{{{sbx}}}:sandbox", "deadlineAt")) == before

    t0 = int(time.time() * 1000)  # whole ms, as deadlineAt is (a fraction would make the bound flaky)
    st = client.send(client.envelope("sandbox.setTimeout", sbx, {"timeoutMs": 1500}))
    assert wait_until(lambda: int(rds.hget(f"sandq:{{{sbx}}}:sandbox", "deadlineAt")) < before, 10)
    deadline = int(rds.hget(f"sandq:{{{sbx}}}:sandbox", "deadlineAt"))
    assert t0 + 1500 <= deadline <= t0 + 1500 + 10_000
    ending = s.wait_type("sandbox.ending", timeout=30)
    assert ending["data"]["reason"] == "timeout" and ending["at"] >= deadline
    s.wait_type("sandbox.ended")
    assert st["requestId"]  # acknowledged without an event of its own
