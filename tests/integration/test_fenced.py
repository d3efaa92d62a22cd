"""A sandbox taken over by another owner (fenced: its epoch in Redis moved
past this worker's, as another worker's reaper does) is torn down on this
worker at once, without events, and its later requests get an explicit
answer from the state the new owner recorded (issue #10, item 3)."""
from __future__ import annotations

import time

from sandbox_host import create, leftovers, procs_of, run, wait_until


def fence(rds, sbx):
    """What another worker's reaper does to a sandbox it takes over: a higher
    epoch, itself as the owner, and the sandbox failed (worker_lost)."""
    key = f"sandq:{{{sbx}}}:sandbox"
    rds.hincrby(key, "epoch", 1)
    rds.hset(key, mapping={"workerId": "w-reaper", "state": "failed"})


def test_a_fenced_sandbox_is_torn_down_and_its_requests_answered(client, worker, rds, pg):
    # An idle deadline too: its check must not spin on the refused state write.
    sbx, s, _ = create(client, {"idleTimeoutMs": 1500})
    end, _, _ = run(client, s, sbx, "sleep 300 >/dev/null 2>&1 &")
    last = s.wait_for(lambda e: e["type"] == "sandbox.ready" and e["seq"] > end["seq"], timeout=10)["seq"]
    assert procs_of(sbx)
    fence(rds, sbx)
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 15), leftovers(worker, sbx)
    time.sleep(2)
    s.poll(0.5)
    assert [e["type"] for e in s.seen if e["seq"] > last] == []  # the fenced worker published nothing
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "workerId") == "w-reaper"
    # A later request gets an explicit answer from the state the new owner recorded.
    ex = client.send(client.envelope("task.exec", sbx, {"command": "true"}))
    rej = s.for_request(ex["requestId"], {"request.rejected", "sandbox.task.started"}, timeout=10)
    assert rej["type"] == "request.rejected" and rej["data"]["code"] == "invalid_state", rej
    # It did not retry its refused writes in a loop.
    log = [line for line in worker.log_text().splitlines() if sbx in line]
    assert sum("could not act on" in line for line in log) <= 3, log[-10:]


def test_a_request_that_meets_the_fence_is_answered(client, worker, rds):
    sbx, s, _ = create(client, {})
    fence(rds, sbx)
    # Sent at once: its first state write is refused (FENCED) before the
    # periodic owner check could notice.
    ex = client.send(client.envelope("task.exec", sbx, {"command": "true"}))
    rej = s.for_request(ex["requestId"], {"request.rejected", "sandbox.task.completed"}, timeout=15)
    assert rej["type"] == "request.rejected" and rej["data"]["code"] == "invalid_state", rej
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 15), leftovers(worker, sbx)


def test_a_sandbox_fenced_while_a_command_runs(client, worker, rds):
    sbx, s, _ = create(client, {})
    ex = client.send(client.envelope("task.exec", sbx, {"command": "sleep", "args": ["45"]}))
    started = s.for_request(ex["requestId"], {"sandbox.task.started"})
    fence(rds, sbx)
    # The command does not run on to its end: the sandbox goes within seconds.
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 15), leftovers(worker, sbx)
    # Its outcome is not this worker's to publish; the request is answered from
    # the new owner's record.
    rej = s.for_request(ex["requestId"], {"request.rejected", "sandbox.task.completed", "sandbox.task.failed"},
                        timeout=15)
    assert rej["type"] == "request.rejected" and rej["data"]["code"] == "invalid_state", rej
    time.sleep(1)
    s.poll(0.5)
    assert [e["type"] for e in s.seen if e["seq"] > started["seq"]] == ["request.rejected"], s.seen[-5:]
