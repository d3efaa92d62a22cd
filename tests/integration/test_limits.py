"""Resource limits through the worker: limits from sandbox.create reach the
cgroups (and Redis and PostgreSQL), values over the operator's maximum are
refused, a memory bomb is OOM-killed and reported as such, a fork bomb stops at
the pids limit without hurting the worker or other sandboxes, a CPU hog is held
to its share, and killing leaves no process or cgroup behind."""
from __future__ import annotations

import time

from sandbox_host import cgroup_dirs, cpu_seconds, create, kill, leftovers, procs_of, run, run_measuring, wait_until
from sandq_client import new_id


def test_limits_are_recorded_and_defaults_filled_in(client, worker, rds, pg):
    sbx, s, _ = create(client, {"limits": {"memoryMb": 128, "cpus": 0.5, "pids": 64}})
    h = rds.hgetall(f"sandq:{{{sbx}}}:sandbox")
    assert (h["memoryMb"], h["cpus"], h["pids"]) == ("128", "0.5", "64")
    (lim,) = pg.execute("SELECT limits FROM sandboxes WHERE id = %s", (sbx,)).fetchone()
    assert lim == {"memoryMb": 128, "cpus": 0.5, "pids": 64}
    # The cgroups exist while it runs (limits in one or more hierarchies, and the kill/freeze one).
    assert len(cgroup_dirs(sbx)) >= 2
    kill(client, s, sbx)
    assert wait_until(lambda: cgroup_dirs(sbx) == [], 5) or cgroup_dirs(sbx) == []

    sbx2, s2, _ = create(client, {})
    (lim,) = pg.execute("SELECT limits FROM sandboxes WHERE id = %s", (sbx2,)).fetchone()
    assert lim == {"memoryMb": 512, "cpus": 1, "pids": 512}  # the documented defaults
    kill(client, s2, sbx2)


def test_over_the_maximum_is_refused(client, worker, rds, pg):
    for body, field in [({"limits": {"memoryMb": 999_999}}, "body.limits.memoryMb"),
                        ({"limits": {"cpus": 64}}, "body.limits.cpus"),
                        ({"limits": {"pids": 100_000}}, "body.limits.pids"),
                        ({"timeoutMs": 30 * 86_400_000}, "body.timeoutMs")]:
        sbx = new_id("sbx")
        s = client.stream(sbx)
        req = client.send(client.envelope("sandbox.create", sbx, body))
        rej = s.for_request(req["requestId"], {"request.rejected", "sandbox.created"})
        s.close()
        assert rej["type"] == "request.rejected", rej
        assert rej["data"]["code"] == "limit_exceeded" and rej["data"]["field"] == field, rej
        assert "maximum" in rej["data"]["message"]
        # Nothing was created anywhere.
        assert rds.exists(f"sandq:{{{sbx}}}:sandbox") == 0
        assert pg.execute("SELECT count(*) FROM sandboxes WHERE id = %s", (sbx,)).fetchone() == (0,)
        assert pg.execute("SELECT envelope->'data'->>'code' FROM events WHERE request_id = %s",
                          (req["requestId"],)).fetchone() == ("limit_exceeded",)


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
