"""The cgroup v1 fallback through a real worker: a second worker started with
SANDQ_CGROUP_MODE=v1 kills and freezes with the v1 freezer (freeze, SIGKILL
every pid, thaw) instead of cgroup v2's cgroup.kill / cgroup.freeze. It gets
its own topic prefix and consumer group, so the session's worker is not
disturbed. The same behaviours as the main tests: pause keeps processes and
stops them, a task timeout kills its whole tree, kill leaves nothing."""
from __future__ import annotations

import shutil
import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Worker
from sandbox_host import cgroup_dirs, create, kill, procs_of, run, run_measuring, wait_until
from sandq_client import Sandq
from test_pause_resume import COUNTER, read_count

PREFIX = "sandqv1"


@pytest.fixture(scope="module")
def v1(stack_env):
    admin = AdminClient({"bootstrap.servers": stack_env["brokers"]})
    futures = admin.create_topics([NewTopic(f"{PREFIX}.{t}", 3, 1) for t in ("requests", "events", "dlq")])
    for f in futures.values():
        try:
            f.result(15)
        except Exception as e:  # already there from an earlier run
            assert "TOPIC_ALREADY_EXISTS" in str(e), e
    # Its own uid base: its run directory (slot locks) is not the session worker's.
    w = Worker("w-test-v1", {"SANDQ_TOPIC_PREFIX": PREFIX, "SANDQ_GROUP_ID": "sandq-workers-v1",
                             "SANDQ_CGROUP_MODE": "v1", "SANDQ_UID_BASE": "2000000000"}).start()
    yield w, Sandq(stack_env["brokers"], PREFIX)
    assert w.stop() == 0
    shutil.rmtree(w.dir, ignore_errors=True)


def test_worker_chose_the_v1_freezer(v1):
    w, _ = v1
    assert "kill/freeze: cgroup v1 freezer" in w.log_text()


def test_pause_resume_with_the_v1_freezer(v1, rds):
    w, client = v1
    sbx, s, _ = create(client, {})
    run(client, s, sbx, COUNTER)
    assert wait_until(lambda: read_count(w, sbx) > 5, 5)
    pause = client.send(client.envelope("sandbox.pause", sbx))
    s.for_request(pause["requestId"], {"sandbox.paused"})
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "paused"
    at_pause = read_count(w, sbx)
    time.sleep(0.8)
    assert read_count(w, sbx) == at_pause
    resume = client.send(client.envelope("sandbox.resume", sbx))
    s.for_request(resume["requestId"], {"sandbox.resumed"})
    assert wait_until(lambda: read_count(w, sbx) > at_pause + 5, 5)
    # Kill while paused again: freeze, kill, thaw leaves nothing.
    pause = client.send(client.envelope("sandbox.pause", sbx))
    s.for_request(pause["requestId"], {"sandbox.paused"})
    assert kill(client, s, sbx)["type"] == "sandbox.ended"
    assert wait_until(lambda: procs_of(sbx) == [], 5), procs_of(sbx)
    assert cgroup_dirs(sbx) == []


def test_task_timeout_and_fork_bomb_with_the_v1_freezer(v1):
    w, client = v1
    sbx, s, _ = create(client, {"limits": {"pids": 48}})
    end, _, _ = run(client, s, sbx, "setsid sleep 300 >/dev/null 2>&1 & sleep 100", timeoutMs=800)
    assert end["data"]["code"] == "timed_out"
    _, out, _ = run(client, s, sbx, "ps -e -o args= | grep -c '^sleep' || true")
    assert out == "0\n"
    end, peak = run_measuring(client, s, sbx, ":(){ :|:& };:; sleep 30", timeoutMs=3000)
    assert end["data"]["code"] == "timed_out"
    assert 24 <= peak <= 48, peak
    # The freeze-then-kill of the task cgroup took the whole bomb.
    assert wait_until(lambda: len(procs_of(sbx)) == 1, 5), procs_of(sbx)
    assert kill(client, s, sbx)["type"] == "sandbox.ended"
    assert wait_until(lambda: procs_of(sbx) == [], 5), procs_of(sbx)
    assert cgroup_dirs(sbx) == []
    assert w.alive()
