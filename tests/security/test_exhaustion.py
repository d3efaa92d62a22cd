"""test_exhaustion.py — the escape suite's resource exhaustion group: a memory
bomb is OOM-killed and reported as such, a fork bomb stops at the pids limit
without hurting the worker or other sandboxes, and a CPU hog is held to its
share while the host and other sandboxes stay responsive. Real sandboxes
through the real worker, limits from sandbox.create (tests/integration/
test_limits.py checks that the limits reach the cgroups)."""
from __future__ import annotations

import time

from sandbox_host import cpu_seconds, create, kill, leftovers, procs_of, run, run_measuring, wait_until


def test_memory_bomb_is_oom_killed_and_reported(client, worker, rds, pg):
    sbx, s, _ = create(client, {"limits": {"memoryMb": 64}})
    req = client.send(client.envelope("task.code", sbx, {
        "language": "python", "code": "chunks = []\nwhile True:\n    chunks.append(bytearray(8 << 20))\n"}))
    end = s.for_request(req["requestId"], {"sandbox.task.completed", "sandbox.task.failed"}, timeout=60)
    assert end["type"] == "sandbox.task.failed", end
    assert end["data"]["code"] == "limit_exceeded"
    assert end["data"]["reason"] == "oom_killed"
    assert "out of memory" in end["data"]["message"] and "64" in end["data"]["message"]
    assert end["data"]["exitCode"] == 137
    assert rds.hget(f"sandq:{{{sbx}}}:task:{req['taskId']}", "state") == "failed"
    assert pg.execute("SELECT state, error_code, error_message LIKE 'out of memory%%' FROM tasks WHERE id = %s",
                      (req["taskId"],)).fetchone() == ("failed", "limit_exceeded", True)
    # The sandbox is fine afterwards, and memory under the limit works.
    s.wait_type("sandbox.ready", requestId=req["requestId"])
    end, out, _ = run(client, s, sbx, "python3 -c 'b = bytearray(16 << 20); print(len(b))'")
    assert end["type"] == "sandbox.task.completed" and out == f"{16 << 20}\n", end
    kill(client, s, sbx)


def test_fork_bomb_stops_at_the_pids_limit(client, worker, rds):
    other, so, _ = create(client, {})
    sbx, s, _ = create(client, {"limits": {"pids": 64}})
    # The classic bomb, in bash (which retries a failed fork rather than
    # giving up): its processes keep forking until the task's timeout kills
    # the whole tree.
    end, peak = run_measuring(client, s, sbx, ":(){ :|:& };:; sleep 30", timeoutMs=4000)
    assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "timed_out", end
    print(f"\nfork bomb under pids=64: peak {peak} processes in the sandbox")
    assert 32 <= peak <= 64, peak  # it did run, and the kernel held it at pids.max
    # The worker and the other sandbox did not notice; the bomb is gone with its task.
    assert worker.alive()
    e2, out, _ = run(client, so, other, "echo fine")
    assert e2["type"] == "sandbox.task.completed" and out == "fine\n"
    assert wait_until(lambda: len(procs_of(sbx)) == 1, 5), procs_of(sbx)  # the init only
    e3, out, _ = run(client, s, sbx, "echo usable")
    assert out == "usable\n", e3
    # Kill leaves no process, cgroup, zombie, mount or workspace.
    run(client, s, sbx, "for i in $(seq 20); do sleep 100 & done")
    ended = kill(client, s, sbx)
    assert ended["type"] == "sandbox.ended"
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 5), leftovers(worker, sbx)
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "ended"
    kill(client, so, other)


def test_cpu_hog_is_held_to_its_share(client, worker):
    """Measured, not a timing assertion: a 0.5-CPU sandbox running four busy
    loops gets about half a CPU, and another sandbox's work still completes."""
    hog, sh, _ = create(client, {"limits": {"cpus": 0.5}})
    other, so, _ = create(client, {})
    work = "python3 -c 'import time; t = time.time(); sum(i * i for i in range(3_000_000)); print(time.time() - t)'"
    e, base, _ = run(client, so, other, work)
    assert e["type"] == "sandbox.task.completed"

    e, _, _ = run(client, sh, hog, "for i in 1 2 3 4; do (while :; do :; done) >/dev/null 2>&1 & done")
    assert e["type"] == "sandbox.task.completed"
    pids = procs_of(hog)
    c0, t0 = cpu_seconds(pids), time.monotonic()
    e, loaded, _ = run(client, so, other, work)
    time.sleep(max(0.0, 2.0 - (time.monotonic() - t0)))
    share = (cpu_seconds(pids) - c0) / (time.monotonic() - t0)
    assert e["type"] == "sandbox.task.completed"  # the other sandbox was not starved
    print(f"\ncpu hog (limit 0.5 CPU, 4 busy loops): {share:.2f} CPU; other sandbox's work "
          f"{float(base):.3f}s alone, {float(loaded):.3f}s beside the hog ({float(loaded) / float(base):.2f}x)")
    # CFS bandwidth control is an upper bound: load elsewhere can only lower it.
    assert share < 0.75, share
    kill(client, sh, hog)
    kill(client, so, other)
    assert wait_until(lambda: procs_of(hog) == [], 5)
