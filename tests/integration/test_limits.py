"""Resource limits through the worker: limits from sandbox.create reach the
cgroups (and Redis and PostgreSQL), values over the operator's maximum are
refused, and killing leaves no cgroup behind. What the limits hold back — a
memory bomb, a fork bomb, a CPU hog — is tried in tests/security/."""
from __future__ import annotations

from sandbox_host import cgroup_dirs, create, kill, wait_until
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
