"""Sandboxes that outlive their worker (issue 13, docs/persistence.md).

sandbox.pause {persist: true} on worker A checkpoints the workspace, seals the
create spec (env included) into PostgreSQL, ends the processes and gives the
sandbox up. A then stops; B owns the partition and brings the sandbox up at
its resume: same files byte for byte, the env still visible to a command, the
env never in clear in PostgreSQL or Redis. A persisted sandbox is killed from
any worker. Both workers share one artifact store (a directory) and the
worker key, as a deployment's workers do."""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import signal
import tempfile
import time

from harness import Worker, pg_eventually, private_prefix
from mixed_load import FAST, both_hold_partitions, place
from sandbox_host import procs_of
from sandq_client import Sandq, new_id

TERMINAL = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}
KEY = base64.b64encode(secrets.token_bytes(32)).decode()
# Small files, a 4 MiB file of random bytes, a mode and a symlink.
MAKE = ("set -e; cd /workspace; mkdir -p tree/a tree/b; for f in $(seq 0 49); do echo \"f$f $RANDOM\" > tree/a/$f; "
        "done; head -c 4194304 /dev/urandom > blob.bin; echo secretfile > mode.txt; chmod 0640 mode.txt; "
        "ln -s tree/a/1 link")
# The env as a command sees it, hashed: the output (an event, a PostgreSQL row)
# must not hold the value itself, or the "never in clear" check below would
# find the test's own echo.
ENV_SHA = 'printf %s "$API_TOKEN" | sha256sum'
MANIFEST = ("cd /workspace && find . -printf '%y %m %p %l\\n' | LC_ALL=C sort && "
            "find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum")


class Pair:
    """Two workers on topics of their own, sharing a store and the worker key."""

    def __init__(self, stack_env, name: str, a_env: dict | None = None):
        self.store = tempfile.mkdtemp(prefix="sandq-persist-store-")
        self.prefix = private_prefix(stack_env["brokers"], name, partitions=6)
        self.client = Sandq(stack_env["brokers"], self.prefix)
        env = {"SANDQ_TOPIC_PREFIX": self.prefix, "SANDQ_GROUP_ID": self.prefix, **FAST,
               "SANDQ_ARTIFACT_STORE": f"file://{self.store}", "SANDQ_WEBHOOK_SECRET_KEY": KEY}
        self.a = Worker(f"w-{name}-a", {**env, "SANDQ_UID_BASE": "2500000000", **(a_env or {})}).start()
        self.b = Worker(f"w-{name}-b", {**env, "SANDQ_UID_BASE": "2600000000"}).start()
        self.owned = both_hold_partitions(stack_env["brokers"], self.prefix, self.prefix, self.a.worker_id,
                                          self.b.worker_id)

    def create_on(self, worker: Worker, body: dict) -> tuple[str, str, object]:
        (sbx, topic), = place(self.owned, worker.worker_id, 1)
        stream = self.client.stream(sbx)
        self.client.send(self.client.envelope("sandbox.create", sbx, body, tenant="acme"), topic=topic)
        ready = stream.wait_for(lambda e: e["type"] in {"sandbox.ready", "sandbox.failed", "request.rejected"},
                                timeout=120)
        assert ready["type"] == "sandbox.ready" and ready["workerId"] == worker.worker_id, ready
        return sbx, topic, stream

    def close(self) -> None:
        for w in (self.a, self.b):
            w.stop(signal.SIGKILL)
        shutil.rmtree(self.store, ignore_errors=True)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest() + "  -\n"


def request(client, stream, sbx, topic, type_, body, timeout=120):
    """Send a request; its first outcome: a task's, or the lifecycle event that answers a pause, resume or kill."""
    req = client.send(client.envelope(type_, sbx, body, tenant="acme"), topic=topic)
    lifecycle = {"sandbox.paused", "sandbox.resumed", "sandbox.ended", "sandbox.failed", "sandbox.ready"}
    done = stream.for_request(req["requestId"], TERMINAL | (set() if type_.startswith(("task.", "checkpoint."))
                                                            else lifecycle), timeout=timeout)
    return req, done


def sh(client, stream, sbx, topic, script) -> str:
    req, done = request(client, stream, sbx, topic, "task.exec", {"command": "sh", "args": ["-c", script]})
    assert done["type"] == "sandbox.task.completed" and done["data"]["exitCode"] == 0, done
    return "".join(e["data"].get("data", "") for e in stream.seen
                   if e.get("requestId") == req["requestId"] and e["type"] == "sandbox.task.output"
                   and e["data"]["stream"] == "stdout")


def mine(stream, req) -> list[dict]:
    return [e for e in stream.seen if e.get("requestId") == req["requestId"]]


def redis_dump(rds, sbx) -> str:
    """Every value Redis keeps of the sandbox, as text."""
    out = []
    for k in rds.scan_iter(f"sandq:{{{sbx}}}*"):
        t = rds.type(k)
        if t == "hash":
            out.append(repr(rds.hgetall(k)))
        elif t == "string":
            out.append(repr(rds.get(k)))
        elif t == "list":
            out.append(repr(rds.lrange(k, 0, -1)))
        elif t == "zset":
            out.append(repr(rds.zrange(k, 0, -1)))
        elif t == "set":
            out.append(repr(rds.smembers(k)))
    return "\n".join(out)


def pg_holds(pg, needle: str) -> list[str]:
    """The tables whose rows contain needle anywhere (as text)."""
    tables = [r[0] for r in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()]
    return [t for t in tables
            if pg.execute(f"SELECT count(*) FROM {t} AS x WHERE x::text LIKE %s", (f"%{needle}%",)).fetchone()[0]]


def test_pause_persist_on_a_resume_on_b(stack_env, pg, rds):
    pair = Pair(stack_env, "persist")
    client = pair.client
    token = f"tok-{secrets.token_hex(12)}"
    try:
        sbx, topic, stream = pair.create_on(pair.a, {"env": {"API_TOKEN": token}, "limits": {"memoryMb": 256}})
        sh(client, stream, sbx, topic, MAKE)
        before = sh(client, stream, sbx, topic, MANIFEST)
        assert "./blob.bin" in before and "f 640 ./mode.txt" in before, before[:1000]
        assert sh(client, stream, sbx, topic, ENV_SHA) == sha(token)
        # A background process: it ends with the persist (no CRIU).
        sh(client, stream, sbx, topic, "nohup sleep 1000 >/dev/null 2>&1 &")
        assert procs_of(sbx)

        pause, done = request(client, stream, sbx, topic, "sandbox.pause", {"persist": True})
        assert done["type"] == "sandbox.paused", done
        assert [e["type"] for e in mine(stream, pause)] == ["sandbox.pausing", "sandbox.checkpoint.created",
                                                             "sandbox.paused"]
        cid = done["data"]["checkpointId"]
        assert done["data"]["persisted"] is True and mine(stream, pause)[1]["data"]["checkpointId"] == cid
        assert "taskId" not in mine(stream, pause)[1] or mine(stream, pause)[1]["taskId"] is None
        # Nothing of it runs on A any more; no worker holds it.
        assert procs_of(sbx) == []
        assert not os.path.exists(os.path.join(pair.a.dir, "workspaces", sbx))
        h = rds.hgetall(f"sandq:{{{sbx}}}:sandbox")
        assert (h["state"], h["persisted"], h["checkpointId"], h["workerId"]) == ("paused", "1", cid, ""), h
        assert not rds.sismember(f"sandq:worker:{{{pair.a.worker_id}}}:sandboxes", sbx)
        spec, ck = pg.execute("SELECT spec_sealed, checkpoint_id FROM sandbox_specs WHERE sandbox_id = %s",
                              (sbx,)).fetchone()
        assert spec.startswith("v1:") and ck == cid and token not in spec and "API_TOKEN" not in spec
        assert pg_eventually(pg, "SELECT state FROM sandboxes WHERE id = %s", (sbx,), ("paused",)) == ("paused",)
        assert pg.execute("SELECT sandbox_id FROM checkpoints WHERE id = %s", (cid,)).fetchone() == (sbx,)

        # While persisted, a task is refused as for a frozen pause.
        _, done = request(client, stream, sbx, topic, "task.exec", {"command": "true"})
        assert done["type"] == "request.rejected" and done["data"]["code"] == "invalid_state", done

        # A goes away; B takes the partition and brings the sandbox up at its resume.
        assert pair.a.stop() == 0
        resume, done = request(client, stream, sbx, topic, "sandbox.resume", {}, timeout=180)
        assert done["type"] == "sandbox.resumed", done
        assert [e["type"] for e in mine(stream, resume)] == ["sandbox.assigned", "sandbox.checkpoint.restored",
                                                              "sandbox.resumed"]
        assigned = mine(stream, resume)[0]
        assert assigned["data"]["workerId"] == pair.b.worker_id and assigned["data"]["previous"] == "paused"
        assert done["workerId"] == pair.b.worker_id
        assert done["data"]["restored"] is True and done["data"]["checkpointId"] == cid
        assert done["data"]["capabilities"]["exec"] is True

        after = sh(client, stream, sbx, topic, MANIFEST)
        assert after == before  # byte for byte, modes and links
        assert sh(client, stream, sbx, topic, ENV_SHA) == sha(token)
        assert "sleep 1000" not in sh(client, stream, sbx, topic, "ps -eo args")

        h = rds.hgetall(f"sandq:{{{sbx}}}:sandbox")
        assert (h["state"], h["persisted"], h["workerId"]) == ("ready", "0", pair.b.worker_id), h
        assert rds.sismember(f"sandq:worker:{{{pair.b.worker_id}}}:sandboxes", sbx)
        assert pg_eventually(pg, "SELECT state, worker_id FROM sandboxes WHERE id = %s", (sbx,),
                             ("ready", pair.b.worker_id))[0] == "ready"

        # The env never at rest in clear: not in any table, not in Redis.
        assert pg_holds(pg, token) == []
        assert token not in redis_dump(rds, sbx)

        kill, done = request(client, stream, sbx, topic, "sandbox.kill", {})
        assert done["type"] == "sandbox.ended", done
        assert [e["seq"] for e in stream.seen] == list(range(1, len(stream.seen) + 1))
        stream.close()
    finally:
        pair.close()


def test_persisted_sandbox_killed_from_another_worker(stack_env, pg, rds):
    pair = Pair(stack_env, "pkill")
    client = pair.client
    try:
        sbx, topic, stream = pair.create_on(pair.a, {"env": {"K": "v"}})
        sh(client, stream, sbx, topic, "echo keep > /workspace/f")
        _, done = request(client, stream, sbx, topic, "sandbox.pause", {"persist": True})
        assert done["type"] == "sandbox.paused" and done["data"]["persisted"] is True, done
        cid = done["data"]["checkpointId"]
        assert pair.a.stop() == 0
        kill, done = request(client, stream, sbx, topic, "sandbox.kill", {}, timeout=180)
        assert done["type"] == "sandbox.ended", done
        assert [e["type"] for e in mine(stream, kill)] == ["sandbox.ending", "sandbox.ended"]
        assert done["workerId"] == pair.b.worker_id and done["data"]["reason"] == "killed"
        assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "ended"
        # The checkpoint stays (the user's); the sealed spec goes.
        assert pg.execute("SELECT count(*) FROM checkpoints WHERE id = %s", (cid,)).fetchone()[0] == 1
        assert pg.execute("SELECT count(*) FROM sandbox_specs WHERE sandbox_id = %s", (sbx,)).fetchone()[0] == 0
        _, done = request(client, stream, sbx, topic, "sandbox.resume", {})
        assert done["type"] == "request.rejected" and done["data"]["code"] == "invalid_state", done
        stream.close()
    finally:
        pair.close()


def test_persist_resume_on_the_same_worker_and_without_a_key(stack_env, pg, rds):
    """The worker that persisted it also brings it up (a new actor); a worker
    without the key refuses persist: true and keeps the sandbox running."""
    prefix = private_prefix(stack_env["brokers"], "pself")
    client = Sandq(stack_env["brokers"], prefix)
    store = tempfile.mkdtemp(prefix="sandq-persist-store-")
    base = {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, "SANDQ_ARTIFACT_STORE": f"file://{store}",
            "SANDQ_UID_BASE": "2700000000"}
    w = Worker("w-pself", {**base, "SANDQ_WEBHOOK_SECRET_KEY": KEY}).start()
    try:
        sbx = new_id("sbx")
        stream = client.stream(sbx)
        client.send(client.envelope("sandbox.create", sbx, {"env": {"X": "1"}}, tenant="acme"))
        stream.wait_type("sandbox.ready", timeout=120)
        sh(client, stream, sbx, None, "echo same > /workspace/s")
        _, done = request(client, stream, sbx, None, "sandbox.pause", {"persist": True})
        assert done["type"] == "sandbox.paused" and done["data"]["persisted"] is True, done
        for _ in range(2):  # a second resume is invalid_state (it is ready)
            resume, done = request(client, stream, sbx, None, "sandbox.resume", {})
        assert done["type"] == "request.rejected" and done["data"]["code"] == "invalid_state", done
        resumed = [e for e in stream.seen if e["type"] == "sandbox.resumed"]
        assert len(resumed) == 1 and resumed[0]["data"]["restored"] is True
        assert sh(client, stream, sbx, None, "cat /workspace/s; echo $X") == "same\n1\n"
        _, done = request(client, stream, sbx, None, "sandbox.kill", {})
        assert done["type"] == "sandbox.ended"
        assert w.stop() == 0

        # No key: refused, and the sandbox stays ready.
        w = Worker("w-pself2", base).start()
        sbx = new_id("sbx")
        stream = client.stream(sbx)
        client.send(client.envelope("sandbox.create", sbx, {}, tenant="acme"))
        stream.wait_type("sandbox.ready", timeout=120)
        _, done = request(client, stream, sbx, None, "sandbox.pause", {"persist": True})
        assert done["type"] == "request.rejected", done
        assert done["data"]["code"] == "capability_unavailable" and done["data"]["field"] == "body.persist"
        assert sh(client, stream, sbx, None, "echo up") == "up\n"
        _, done = request(client, stream, sbx, None, "sandbox.kill", {})
        assert done["type"] == "sandbox.ended"
    finally:
        w.stop(signal.SIGKILL)
        shutil.rmtree(store, ignore_errors=True)


OUTCOMES = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}


def test_sigterm_persists_its_sandboxes_and_they_resume_on_the_other(stack_env, pg, rds):
    """SIGTERM of A under a load of execs: the running tasks finish within the
    drain's task grace (or fail worker_draining: a `sleep 60`), A persists
    every sandbox it hosts (browser closed cleanly), and B brings each up at
    its next request (sandbox.assigned → sandbox.resumed, reason
    worker_drained) and serves it: every request answered once, no exec run
    twice, the files there."""
    pair = Pair(stack_env, "pdrain", {"SANDQ_DRAIN_TASK_GRACE_MS": "3000"})
    client = pair.client
    try:
        boxes = [pair.create_on(pair.a, {"env": {"N": str(i)}}) for i in range(3)]
        for i, (sbx, topic, stream) in enumerate(boxes):
            sh(client, stream, sbx, topic, f"echo box{i} > /workspace/mine; : > /workspace/log")
        long_sbx, long_topic, long_stream = boxes[2]
        long_req = client.send(client.envelope("task.exec", long_sbx, {"command": "sleep", "args": ["60"]},
                                               tenant="acme"), topic=long_topic)
        long_stream.wait_for(lambda e: e.get("requestId") == long_req["requestId"]
                             and e["type"] == "sandbox.task.started", timeout=60)
        sent = {}
        for n in range(6):
            for sbx, topic, stream in boxes[:2]:
                tid = new_id("tsk")
                r = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": [
                    "-c", 'echo "$0" >> /workspace/log; sleep 0.3', tid]}, task_id=tid, tenant="acme"), topic=topic)
                sent[r["requestId"]] = sbx
        assert pair.a.stop() == 0  # SIGTERM: drained within the shutdown grace

        # The long task did not finish in the grace: worker_draining, retriable.
        failed = long_stream.for_request(long_req["requestId"], OUTCOMES, timeout=60)
        assert failed["type"] == "sandbox.task.failed" and failed["data"]["code"] == "worker_draining", failed
        streams = {sbx: stream for sbx, _, stream in boxes}
        for i, (sbx, topic, stream) in enumerate(boxes):
            paused = stream.wait_type("sandbox.paused", timeout=60)
            assert paused["workerId"] == pair.a.worker_id and paused["data"]["persisted"] is True
            assert paused["data"]["reason"] == "worker_drained"
        # Every exec of the load gets exactly one outcome (those A did not run
        # are served by B after it brings the sandbox up).
        outcome = {}
        for rid, sbx in sent.items():
            outcome[rid] = streams[sbx].for_request(rid, OUTCOMES, timeout=240)
        for rid, ev in outcome.items():
            assert ev["type"] == "sandbox.task.completed" or ev["data"]["code"] == "worker_draining", ev
        for sbx, stream in streams.items():
            for rid in (r for r, s in sent.items() if s == sbx):
                assert sum(1 for e in stream.seen if e.get("requestId") == rid and e["type"] in OUTCOMES) == 1
        for i, (sbx, topic, stream) in enumerate(boxes):
            out = sh(client, stream, sbx, topic, "cat /workspace/mine; echo $N; sort /workspace/log | uniq -d")
            assert out == f"box{i}\n{i}\n", out  # the file, the env, no exec line twice
            assigned = [e for e in stream.seen if e["type"] == "sandbox.assigned"][-1]
            resumed = [e for e in stream.seen if e["type"] == "sandbox.resumed"][-1]
            assert assigned["data"]["workerId"] == pair.b.worker_id and assigned["data"]["reason"] == "worker_drained"
            assert resumed["data"]["reason"] == "worker_drained" and resumed["data"]["restored"] is True
            assert [e["seq"] for e in stream.seen] == list(range(1, len(stream.seen) + 1))
            assert not [e for e in stream.seen if e["type"] == "sandbox.failed"]
            h = rds.hgetall(f"sandq:{{{sbx}}}:sandbox")
            assert (h["state"], h["workerId"], h["persisted"]) == ("ready", pair.b.worker_id, "0"), h
        # The completed execs each left one line, on whichever worker ran them.
        for sbx, topic, stream in boxes[:2]:
            done = sum(1 for r, s in sent.items() if s == sbx and outcome[r]["type"] == "sandbox.task.completed")
            assert sh(client, stream, sbx, topic, "wc -l < /workspace/log").strip() == str(done)
        for sbx, topic, stream in boxes:
            _, done = request(client, stream, sbx, topic, "sandbox.kill", {})
            assert done["type"] == "sandbox.ended"
            stream.close()
    finally:
        pair.close()


def test_kill9_auto_checkpointed_sandbox_is_restored_others_fail(stack_env, pg, rds):
    pair = Pair(stack_env, "pcrash")
    client = pair.client
    try:
        auto, auto_topic, auto_stream = pair.create_on(pair.a, {"checkpoint": {"auto": True, "intervalMs": 600000},
                                                                "env": {"TOKEN": "crash-env"}})
        plain, plain_topic, plain_stream = pair.create_on(pair.a, {})
        spec = pg.execute("SELECT spec_sealed FROM sandbox_specs WHERE sandbox_id = %s", (auto,)).fetchone()[0]
        assert spec.startswith("v1:") and "crash-env" not in spec
        assert rds.hget(f"sandq:{{{auto}}}:sandbox", "autoCheckpoint") == "1"
        sh(client, auto_stream, auto, auto_topic, "echo kept > /workspace/kept")
        cid = new_id("chk")
        _, done = request(client, auto_stream, auto, auto_topic, "checkpoint.create", {"checkpointId": cid})
        assert done["type"] == "sandbox.task.completed", done
        sh(client, auto_stream, auto, auto_topic, "echo late > /workspace/late")  # after the latest checkpoint

        pair.a.stop(signal.SIGKILL)
        lost = plain_stream.wait_type("sandbox.failed", timeout=60)
        assert lost["data"]["reason"] == "worker_lost"
        # The auto-checkpointed one is not failed: persisted for the next owner.
        deadline = time.monotonic() + 60
        while rds.hget(f"sandq:{{{auto}}}:sandbox", "persisted") != "1" and time.monotonic() < deadline:
            time.sleep(0.2)
        h = rds.hgetall(f"sandq:{{{auto}}}:sandbox")
        assert (h["persisted"], h["persistReason"], h["checkpointId"], h["workerId"]) == (
            "1", "restored_from_checkpoint", cid, ""), h

        out = sh(client, auto_stream, auto, auto_topic, "cat /workspace/kept; ls /workspace; echo $TOKEN")
        assert out == "kept\nkept\ncrash-env\n", out  # the late file is gone: the latest checkpoint's workspace
        assigned = [e for e in auto_stream.seen if e["type"] == "sandbox.assigned"][-1]
        resumed = [e for e in auto_stream.seen if e["type"] == "sandbox.resumed"][-1]
        assert assigned["data"]["workerId"] == pair.b.worker_id
        assert assigned["data"]["reason"] == resumed["data"]["reason"] == "restored_from_checkpoint"
        assert resumed["data"]["checkpointId"] == cid and resumed["data"]["restored"] is True
        assert not [e for e in auto_stream.seen if e["type"] == "sandbox.failed"]
        assert [e["seq"] for e in auto_stream.seen] == list(range(1, len(auto_stream.seen) + 1))

        ex = client.send(client.envelope("task.exec", plain, {"command": "true"}, tenant="acme"), topic=plain_topic)
        ev = plain_stream.for_request(ex["requestId"], OUTCOMES, timeout=60)
        assert ev["type"] == "request.rejected" and ev["data"]["code"] == "invalid_state"
        _, done = request(client, auto_stream, auto, auto_topic, "sandbox.kill", {})
        assert done["type"] == "sandbox.ended"
    finally:
        pair.close()


SERVER = ("mkdir -p /tmp/site && cd /tmp/site && echo '<html><body>served</body></html>' > p.html && "
          "(python3 -m http.server 8765 --bind 127.0.0.1 >/dev/null 2>&1 &) && "
          "for i in $(seq 50); do python3 -c 'import urllib.request as u; u.urlopen(\"http://127.0.0.1:8765/p.html\")' "
          "2>/dev/null && exit 0; sleep 0.2; done; exit 1")


def test_sigterm_closes_the_browser_cleanly_and_its_profile_comes_back(stack_env):
    """A drained browser sandbox: Chromium is closed cleanly before the snapshot
    (it flushes its cookie store and localStorage only then), and the browser
    that starts on B finds them."""
    pair = Pair(stack_env, "pbrdrain")
    client = pair.client
    site = "http://127.0.0.1:8765/p.html"
    try:
        sbx, topic, stream = pair.create_on(pair.a, {"capabilities": {"browser": {"viewport": {"width": 800,
                                                                                             "height": 600}}},
                                                     "limits": {"memoryMb": 1024}})

        def browse(*actions):
            _, done = request(client, stream, sbx, topic, "task.browser",
                              {"actions": [{"op": "goto", "url": site}, *actions]})
            assert done["type"] == "sandbox.task.completed", done
            return done["data"]["result"]["actions"][-1].get("value")

        sh(client, stream, sbx, topic, SERVER)
        browse({"op": "evaluate", "expression": "document.cookie = 'k=v1; max-age=3600'; "
                                                "localStorage.setItem('k', 'v2'); 1"})
        assert pair.a.stop() == 0
        paused = stream.wait_type("sandbox.paused", timeout=60)
        assert paused["data"]["persisted"] is True and paused["data"]["reason"] == "worker_drained"
        i = stream.seen.index(paused)
        # Closed for the snapshot and not started again on A.
        assert "sandbox.browser.ready" not in [e["type"] for e in stream.seen[i - 3:i]]
        sh(client, stream, sbx, topic, SERVER)  # its processes start afresh on B
        resumed = [e for e in stream.seen if e["type"] == "sandbox.resumed"][-1]
        assert resumed["workerId"] == pair.b.worker_id and resumed["data"]["capabilities"]["browser"] is True
        assert browse({"op": "evaluate", "expression": "[document.cookie, localStorage.getItem('k')]"}) == [
            "k=v1", "v2"]
        _, done = request(client, stream, sbx, topic, "sandbox.kill", {})
        assert done["type"] == "sandbox.ended"
    finally:
        pair.close()
