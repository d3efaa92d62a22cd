"""Automatic checkpoints (issue 13, docs/checkpoints.md "Automatic checkpoints"):
a sandbox created with checkpoint {auto: true, intervalMs} is checkpointed by
its worker every intervalMs, through checkpoint.create's code, with
sandbox.checkpoint.created {auto: true}, a row marked auto in PostgreSQL and the
archive in the store; automatic ones have their own retention
(SANDQ_CHECKPOINT_AUTO_KEEP), an unchanged workspace is not stored again, a
running task is waited for, a paused sandbox is not checkpointed, and a kill
stops one that runs.

Both stores are real: a directory, and versitygw (s3_server.py), which checks
every SigV4 signature. Each test runs its own worker, whose
SANDQ_CHECKPOINT_AUTO_MIN_MS is lowered to 1 s so that intervals of 2 s are
allowed."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

from harness import BUILD
from s3_server import S3Server
from sandq_client import new_id
from sandbox_host import procs_of
from test_checkpoints import Box, dir_stored_at, s3_stored_at

INTERVAL = 2000
AUTO_ENV = {"SANDQ_CHECKPOINT_AUTO_MIN_MS": "1000", "SANDQ_CHECKPOINT_AUTO_KEEP": "2", "SANDQ_CHECKPOINT_KEEP": "5"}
CREATE = {"limits": {"memoryMb": 1024}, "checkpoint": {"auto": True, "intervalMs": INTERVAL}}


def is_auto_created(e: dict) -> bool:
    return e["type"] == "sandbox.checkpoint.created" and e["data"].get("auto") is True


def next_auto(box: Box, after_seq: int, timeout: float = 60) -> dict:
    """The first automatic checkpoint event after seq `after_seq`."""
    return box.stream.wait_for(lambda e: is_auto_created(e) and e["seq"] > after_seq, timeout=timeout)


def write(box: Box, name: str) -> int:
    """Write a file in the workspace; returns the seq of the task's completion."""
    req, done, _ = box.request("task.exec", {"command": "sh", "args": ["-c", f"echo {name} > /workspace/{name}"]})
    assert done["type"] == "sandbox.task.completed" and done["data"]["exitCode"] == 0, done
    return done["seq"]


def files(box: Box) -> set[str]:
    return set(box.sh("cd /workspace && ls -1").split())


def restore(box: Box, cid: str) -> None:
    _, done, _ = box.request("checkpoint.restore", {"checkpointId": cid})
    assert done["type"] == "sandbox.task.completed", done


def scenario(box: Box, pg, stored_at) -> None:
    # A manual checkpoint first: automatic retention never removes it.
    manual, _, _ = box.checkpoint("manual")

    # Several automatic checkpoints over time, each after the file written before it.
    s_a = write(box, "a.txt")
    a1 = next_auto(box, s_a)
    assert a1["requestId"] is None and a1["taskId"] is None, a1
    s_b = write(box, "b.txt")
    a2 = next_auto(box, s_b)
    c1, c2 = a1["data"]["checkpointId"], a2["data"]["checkpointId"]
    assert c1 != c2 and a1["data"]["sizeBytes"] > 0 and a1["data"]["label"] is None
    for cid in (c1, c2):
        row = pg.execute("SELECT sandbox_id, auto, task_id, tenant, storage_key, sha256 FROM checkpoints "
                         "WHERE id = %s", (cid,)).fetchone()
        assert row is not None and row[:4] == (box.sbx, True, None, "acme"), row
        assert row[4] == f"acme/{box.sbx}/checkpoints/{cid}.tar.zst"
        assert stored_at(row[4]) is not None
    assert a2["data"]["sha256"] == pg.execute("SELECT sha256 FROM checkpoints WHERE id = %s", (c2,)).fetchone()[0]
    # No automatic checkpoint is taken while a task runs: it waits for the task to end.
    req, done, mine = box.request("task.exec", {"command": "sleep", "args": ["4"]})
    started = next(e for e in mine if e["type"] == "sandbox.task.started")
    assert not [e for e in box.stream.seen if is_auto_created(e) and started["seq"] < e["seq"] < done["seq"]]
    # Nothing changed meanwhile: the workspace is not stored again (skipped, logged).
    time.sleep(3 * INTERVAL / 1000)
    assert not [e for e in box.stream.seen if is_auto_created(e) and e["seq"] > a2["seq"]]
    assert "automatic checkpoint skipped" in box.worker.log_text()

    # The later archive has b.txt, the earlier one not (restored to look).
    restore(box, c1)
    got = files(box)
    assert "a.txt" in got and "b.txt" not in got, got
    restore(box, c2)
    got = files(box)
    assert {"a.txt", "b.txt"} <= got, got

    # Retention: keep the newest 2 automatic ones; the oldest go, row and object.
    last = max(e["seq"] for e in box.stream.seen)
    write(box, "c.txt")
    a3 = next_auto(box, last)
    write(box, "d.txt")
    a4 = next_auto(box, a3["seq"])
    expired = set()
    for e in box.stream.seen:
        if is_auto_created(e):
            expired |= set(e["data"]["expired"])
    assert c1 in expired and c2 in expired, expired
    autos = [r[0] for r in pg.execute("SELECT id FROM checkpoints WHERE sandbox_id = %s AND auto "
                                      "ORDER BY created_at DESC, id DESC", (box.sbx,)).fetchall()]
    assert len(autos) == 2 and autos[0] == a4["data"]["checkpointId"], autos
    for cid in (c1, c2):
        assert pg.execute("SELECT count(*) FROM checkpoints WHERE id = %s", (cid,)).fetchone()[0] == 0
        assert stored_at(f"acme/{box.sbx}/checkpoints/{cid}.tar.zst") is None
    # The manual one stays, and checkpoints.list marks which are which.
    assert manual not in expired
    _, done, _ = box.request("checkpoints.list", {})
    listed = done["data"]["result"]["checkpoints"]
    assert [c["checkpointId"] for c in listed if c["auto"]] == autos
    assert [c["checkpointId"] for c in listed if not c["auto"]] == [manual]
    assert done["data"]["result"]["keepAuto"] == 2 and done["data"]["result"]["keep"] == 5

    # Paused: no automatic checkpoint (nothing can change), until resumed.
    write(box, "e.txt")
    p = box.client.send(box.client.envelope("sandbox.pause", box.sbx, tenant="acme"))
    paused = box.stream.for_request(p["requestId"], {"sandbox.paused", "request.rejected"}, timeout=60)
    assert paused["type"] == "sandbox.paused", paused
    time.sleep(3 * INTERVAL / 1000)
    r = box.client.send(box.client.envelope("sandbox.resume", box.sbx, tenant="acme"))
    resumed = box.stream.for_request(r["requestId"], {"sandbox.resumed", "request.rejected"}, timeout=60)
    assert resumed["type"] == "sandbox.resumed", resumed
    assert not [e for e in box.stream.seen if is_auto_created(e) and paused["seq"] < e["seq"] < resumed["seq"]]
    a5 = next_auto(box, resumed["seq"])  # e.txt, written before the pause, is checkpointed after it
    assert a5["data"]["auto"] is True
    # An automatic checkpoint is no task: no task events, no sandbox.active of its own.
    assert all(e["requestId"] for e in box.stream.seen
               if e["type"].startswith("sandbox.task.") or e["type"] == "sandbox.active")


def test_auto_checkpoints_on_the_directory_store(stack_env, pg):
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-autockpt-"))
    box = Box(stack_env, "akdir", {"SANDQ_ARTIFACT_STORE": f"file://{store}", **AUTO_ENV}, "3410000000", CREATE)
    try:
        scenario(box, pg, dir_stored_at(store))
    finally:
        box.stop()
        shutil.rmtree(store, ignore_errors=True)


def test_auto_checkpoints_on_s3(stack_env, pg):
    with S3Server() as s3:
        s3.create_bucket("sandq-ckpt")
        box = Box(stack_env, "aks3", {**s3.env("sandq-ckpt", "fleet"), **AUTO_ENV}, "3420000000", CREATE)
        try:
            scenario(box, pg, s3_stored_at(s3, "sandq-ckpt", "fleet"))
        finally:
            box.stop()


def tar_running(sbx: str) -> bool:
    for pid in procs_of(sbx):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() in ("tar", "zstd"):
                    return True
        except OSError:
            continue
    return False


def test_kill_during_an_auto_checkpoint_and_bad_intervals(stack_env, pg):
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-autockpt-"))
    box = Box(stack_env, "akkill", {"SANDQ_ARTIFACT_STORE": f"file://{store}", **AUTO_ENV}, "3430000000", CREATE)
    try:
        # A big workspace: the first automatic checkpoint (due 2 s after ready,
        # taken once this task ends) runs for a while.
        box.sh("head -c 400000000 /dev/urandom > /workspace/big.bin")
        deadline = time.monotonic() + 60
        while not tar_running(box.sbx):
            assert time.monotonic() < deadline, "no automatic checkpoint started"
            time.sleep(0.05)
        t0 = time.monotonic()
        k = box.client.send(box.client.envelope("sandbox.kill", box.sbx, tenant="acme"))
        ended = box.stream.for_request(k["requestId"], {"sandbox.ended", "request.rejected"}, timeout=60)
        assert time.monotonic() - t0 < 30  # liveness: the kill did not wait for the archive
        assert ended["type"] == "sandbox.ended", ended
        assert not [e for e in box.stream.seen if e["type"] == "sandbox.checkpoint.created"]
        assert pg.execute("SELECT count(*) FROM checkpoints WHERE sandbox_id = %s", (box.sbx,)).fetchone()[0] == 0
        assert not list(store.rglob("*.tar.zst"))
        spool = pathlib.Path(box.worker.dir) / "checkpoint-tmp"
        assert spool.is_dir() and list(spool.iterdir()) == []
        assert not procs_of(box.sbx)

        # Intervals the worker does not take are rejected, naming the field;
        # the worker carries on.
        for ck in ({"auto": True, "intervalMs": 999},            # below SANDQ_CHECKPOINT_AUTO_MIN_MS
                   {"auto": True, "intervalMs": 86400001},       # above SANDQ_CHECKPOINT_AUTO_MAX_MS
                   {"auto": True},                               # auto without an interval
                   {"auto": True, "intervalMs": 0},              # not positive (the request validator)
                   {"auto": True, "intervalMs": "2000"}):        # not an integer
            sbx = new_id("sbx")
            s = box.client.stream(sbx)
            req = box.client.send(box.client.envelope("sandbox.create", sbx, {"checkpoint": ck}, tenant="acme"))
            rej = s.for_request(req["requestId"], {"request.rejected", "sandbox.ready"}, timeout=60)
            assert rej["type"] == "request.rejected", (ck, rej)
            assert rej["data"]["code"] == "invalid_request" and rej["data"]["field"] == "body.checkpoint.intervalMs", \
                (ck, rej["data"])
            s.close()
        sbx = new_id("sbx")
        s = box.client.stream(sbx)
        box.client.send(box.client.envelope("sandbox.create", sbx, {"checkpoint": {"auto": False}}, tenant="acme"))
        s.wait_type("sandbox.ready", timeout=60)
        k2 = box.client.send(box.client.envelope("sandbox.kill", sbx, tenant="acme"))
        s.for_request(k2["requestId"], {"sandbox.ended"}, timeout=60)
        s.close()
    finally:
        box.close()
        shutil.rmtree(store, ignore_errors=True)


def test_a_failing_auto_checkpoint_leaves_the_sandbox_running(stack_env, pg):
    """The store refuses the archive (here: a file where the sandbox's
    directory in the directory store must go): the failure is logged with its
    code, the sandbox keeps running, and the next one, once the store takes
    it again, is stored."""
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-autockpt-"))
    sbx = new_id("sbx")
    (store / "acme").mkdir()
    blocker = store / "acme" / sbx
    blocker.write_text("not a directory")
    box = Box(stack_env, "akfail", {"SANDQ_ARTIFACT_STORE": f"file://{store}", **AUTO_ENV}, "3440000000", CREATE,
              sbx=sbx)
    try:
        write(box, "a.txt")
        deadline = time.monotonic() + 60
        while "automatic checkpoint failed: code=internal" not in box.worker.log_text():
            assert time.monotonic() < deadline, box.worker.log_text()[-3000:]
            time.sleep(0.2)
        assert not [e for e in box.stream.seen if e["type"] == "sandbox.checkpoint.created"]
        assert pg.execute("SELECT count(*) FROM checkpoints WHERE sandbox_id = %s", (sbx,)).fetchone()[0] == 0
        # Still running and answering.
        assert box.sh("cat /workspace/a.txt").strip() == "a.txt"
        blocker.unlink()
        last = max(e["seq"] for e in box.stream.seen)
        ev = next_auto(box, last)
        cid = ev["data"]["checkpointId"]
        assert (store / "acme" / sbx / "checkpoints" / f"{cid}.tar.zst").is_file()
        assert pg.execute("SELECT auto FROM checkpoints WHERE id = %s", (cid,)).fetchone()[0] is True
    finally:
        box.stop()
        shutil.rmtree(store, ignore_errors=True)


def test_auto_checkpoints_are_not_activity(stack_env, pg):
    """A sandbox whose workspace a background process keeps changing gets
    automatic checkpoints, and still ends at its idleTimeoutMs: they do not
    touch the idle clock."""
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-autockpt-"))
    create = CREATE | {"idleTimeoutMs": 8000, "checkpoint": {"auto": True, "intervalMs": 1000}}
    box = Box(stack_env, "akidle", {"SANDQ_ARTIFACT_STORE": f"file://{store}", **AUTO_ENV}, "3460000000", create)
    try:
        _, done, _ = box.request("task.exec", {"command": "sh", "args": [
            "-c", "nohup sh -c 'while :; do date +%s%N > /workspace/tick; sleep 0.2; done' >/dev/null 2>&1 &"]})
        assert done["type"] == "sandbox.task.completed", done
        ended = box.stream.wait_for(lambda e: e["type"] in ("sandbox.ended", "sandbox.failed"), timeout=90)
        assert ended["type"] == "sandbox.ended" and ended["data"]["reason"] == "idle_timeout", ended
        autos = [e for e in box.stream.seen if is_auto_created(e) and done["seq"] < e["seq"] < ended["seq"]]
        assert len(autos) >= 2, [e["type"] for e in box.stream.seen]
    finally:
        box.close()
        shutil.rmtree(store, ignore_errors=True)


def test_cli_launch_with_auto_checkpoints(stack_env):
    """sandq launch --auto-checkpoint D (libsandq's auto_checkpoint_ms): the
    sandbox gets automatic checkpoints, `sandq checkpoint ls --json` marks
    them; an interval below the worker's minimum is refused."""
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-autockpt-"))
    box = Box(stack_env, "akcli", {"SANDQ_ARTIFACT_STORE": f"file://{store}", **AUTO_ENV}, "3470000000")
    env = {**os.environ, "SANDQ_TOPIC_PREFIX": box.prefix, "SANDQ_TENANT": "acme"}

    def cli(*args):
        return subprocess.run([str(BUILD / "producer" / "sandq"), *args], capture_output=True, text=True,
                              timeout=300, env=env)
    try:
        r = cli("launch", "--auto-checkpoint", "1s", "--json")
        assert r.returncode == 0, r.stderr
        sbx = json.loads(r.stdout)["id"]
        deadline = time.monotonic() + 60
        while True:
            r = cli("checkpoint", "ls", sbx, "--json")
            assert r.returncode == 0, r.stderr
            listed = json.loads(r.stdout)["checkpoints"]
            if listed:
                break
            assert time.monotonic() < deadline, "no automatic checkpoint listed"
            time.sleep(0.5)
        assert all(c["auto"] is True for c in listed), listed
        assert cli("kill", sbx).returncode == 0
        r = cli("launch", "--auto-checkpoint", "500ms", "--json")
        assert r.returncode == 1 and "body.checkpoint.intervalMs" in r.stdout + r.stderr, r
    finally:
        box.stop()
        shutil.rmtree(store, ignore_errors=True)
