"""Fault tests: a worker killed with SIGKILL. Its sandboxes are failed by a
surviving worker's reaper within the heartbeat TTL plus one sweep, the
survivors take its partitions, every request still gets exactly one outcome."""
from __future__ import annotations

import signal
import time

from conftest import Worker, pg_eventually
from sandq_client import new_id

FAST = {"SANDQ_HEARTBEAT_TTL_S": "3", "SANDQ_REAPER_INTERVAL_MS": "500", "SANDQ_SESSION_TIMEOUT_MS": "6000"}


def test_worker_killed_with_sigkill(client, worker, rds, pg):
    a = Worker("w-fault-a", FAST).start()
    b = Worker("w-fault-b", FAST).start()
    try:
        time.sleep(8)  # let the group settle with four members' assignments
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
        while rds.sismember("sandq:workers", a.worker_id) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not rds.sismember("sandq:workers", a.worker_id)
    finally:
        a.stop(signal.SIGKILL)
        assert b.stop() == 0
