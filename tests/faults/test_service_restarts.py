"""Restart Redis, PostgreSQL and the Kafka broker, one at a time, while requests
keep arriving. The same worker process recovers each time: every request gets
exactly one outcome, no event is lost, and no history row is lost."""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import threading
import time

import pytest

from harness import ROOT, pg_eventually
from sandq_client import new_id

TERMINAL = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}


def stack_dir() -> pathlib.Path:
    d = os.environ.get("SANDQ_STACK_DIR")
    if not d:
        pytest.fail("SANDQ_STACK_DIR is not set: run through `make test`")
    return pathlib.Path(d)


def pid_of(path: pathlib.Path) -> int:
    return int(path.read_text().split()[0])


PIDFILES = {"redis": "redis/redis.pid", "postgres": "pg/data/postmaster.pid", "kafka": "kafka/kafka.pid"}


def stop_service(service: str) -> None:
    """Stop one service of the stack and wait until its process is gone."""
    pid = pid_of(stack_dir() / PIDFILES[service])
    # SIGTERM: Redis and Kafka shut down cleanly; for PostgreSQL it is "smart"
    # shutdown, which waits for clients — SIGINT is "fast" (disconnects them).
    os.kill(pid, signal.SIGINT if service == "postgres" else signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"{service} did not stop")


def stack_up() -> None:
    """Bring the stopped services back; a broker's port can stay busy a moment after it exited."""
    for _ in range(3):
        p = subprocess.run([str(ROOT / "scripts" / "stack"), "up"], capture_output=True, timeout=180)
        if p.returncode == 0:
            return
        time.sleep(5)
    raise AssertionError(f"stack up failed: {p.stderr.decode(errors='replace')[-2000:]}")


def restart(service: str) -> None:
    stop_service(service)
    time.sleep(1.0)  # the worker notices the outage
    stack_up()


def test_restarts_under_load(client, worker, pg):
    sandboxes = [new_id("sbx") for _ in range(3)]
    streams = {s: client.stream(s) for s in sandboxes}
    for sbx in sandboxes:
        client.send(client.envelope("sandbox.create", sbx, {}))
    for sbx in sandboxes:
        streams[sbx].wait_type("sandbox.ready", timeout=60)

    sent: list[dict] = []
    stop = threading.Event()

    def load():
        i = 0
        while not stop.is_set():
            sbx = sandboxes[i % len(sandboxes)]
            try:
                sent.append(client.send(client.envelope("task.exec", sbx, {"command": "echo", "args": [str(i)]})))
            except AssertionError:
                # Kafka itself is restarting: the producer gave up this once; try again.
                time.sleep(0.5)
                continue
            i += 1
            time.sleep(0.05)

    t = threading.Thread(target=load, daemon=True)
    t.start()
    try:
        for service in ("redis", "postgres", "kafka"):
            time.sleep(2)
            restart(service)
            assert worker.alive(), f"worker died when {service} restarted"
        time.sleep(2)
    finally:
        stop.set()
        t.join(30)
    assert len(sent) > 20

    # Every request gets exactly one outcome, with its output.
    for req in sent:
        s = streams[req["sandboxId"]]
        ev = s.for_request(req["requestId"], TERMINAL, timeout=120)
        assert ev["type"] == "sandbox.task.completed", ev
    for sbx, s in streams.items():
        outcomes = [e["requestId"] for e in s.seen if e["type"] in TERMINAL]
        assert len(outcomes) == len(set(outcomes)), "a request had two outcomes"
        assert [e["seq"] for e in s.seen] == list(range(1, len(s.seen) + 1)), "seq has a gap or a repeat"

    # No history row lost: the audit log has every event that was published.
    for sbx, s in streams.items():
        kill = client.send(client.envelope("sandbox.kill", sbx))
        s.wait_type("sandbox.ended", requestId=kill["requestId"], timeout=60)
        want = [(e["eventId"], e["seq"]) for e in s.seen]
        got = pg_eventually(pg, "SELECT event_id, seq FROM events WHERE sandbox_id = %s ORDER BY seq", (sbx,),
                            want, timeout=60, many=True)
        assert got == want
        s.close()
    assert worker.alive()
