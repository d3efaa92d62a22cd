"""Checkpoints (issue 13, docs/checkpoints.md): checkpoint.create archives the
workspace (tar --zstd inside the sandbox) into the artifact store, and
checkpoint.restore puts it back, byte for byte, owners and modes included.

Both stores are real: a directory, and versitygw (tests/integration/s3_server.py),
which checks every SigV4 signature. Each test runs its own worker on topics of
its own, so the store settings are its own."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

from harness import BUILD, Worker, private_prefix
from s3_server import S3Server
from sandq_client import Sandq, new_id
from sandbox_host import procs_of

TERMINAL = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}

# 1,000 small files in 10 directories, a 100 MiB file of random bytes, a 1 GiB
# sparse file, a file with mode 0640, a symlink and an empty directory. (A
# sandbox has no CAP_CHOWN: everything in it is owned by its root, uid 0
# inside, whatever host uid range its slot maps that to.)
MAKE = (
    "set -e; cd /workspace; for d in $(seq 0 9); do mkdir -p tree/d$d; "
    "for f in $(seq 0 99); do echo \"file $d/$f $RANDOM\" > tree/d$d/f$f.txt; done; done; "
    "head -c 104857600 /dev/urandom > big.bin; truncate -s 1G sparse.img; printf 'mid' | dd of=sparse.img "
    "bs=1 seek=536870912 conv=notrunc status=none; echo owned > owned.txt; "
    "chmod 0640 owned.txt; ln -s tree/d1/f1.txt link; mkdir -p empty/dir"
)
# What "the same workspace" means, computed inside the sandbox: every path with
# its type, owner, group and mode, the target of each symlink, and the sha256
# of every regular file's bytes.
MANIFEST = (
    "cd /workspace && find . -path ./.browser -prune -o -printf '%y %U %G %m %p %l\\n' | LC_ALL=C sort && "
    "find . -path ./.browser -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum"
)


class Box:
    """One worker on topics of its own and a sandbox on it."""

    def __init__(self, stack_env, name: str, env: dict, uid_base: str, create: dict | None = None,
                 sbx: str | None = None):
        self.prefix = private_prefix(stack_env["brokers"], name)
        self.client = Sandq(stack_env["brokers"], self.prefix)
        self.worker = Worker(f"w-{name}", {"SANDQ_TOPIC_PREFIX": self.prefix, "SANDQ_GROUP_ID": self.prefix,
                                           "SANDQ_UID_BASE": uid_base, **env}).start()
        self.sbx = sbx or new_id("sbx")
        self.stream = self.client.stream(self.sbx)
        self.client.send(self.client.envelope("sandbox.create", self.sbx, create or {}, tenant="acme"))
        ready = self.stream.wait_for(lambda e: e["type"] in {"sandbox.ready", "sandbox.failed", "request.rejected"},
                                     timeout=120)
        assert ready["type"] == "sandbox.ready", ready

    def request(self, type_: str, body: dict, timeout: float = 300) -> tuple[dict, dict, list[dict]]:
        # checkpoints.list is a task too: it needs a taskId (sandq_client adds
        # one for task.*, files.* and checkpoint.* only).
        req = self.client.send(self.client.envelope(type_, self.sbx, body, tenant="acme",
                                                    task_id=new_id("tsk") if type_ == "checkpoints.list" else None))
        done = self.stream.for_request(req["requestId"], TERMINAL, timeout=timeout)
        if done["type"] != "request.rejected":  # the sandbox is back to ready after the task
            self.stream.wait_for(lambda e: e.get("requestId") == req["requestId"] and e["type"] == "sandbox.ready",
                                 timeout=60)
        mine = [e for e in self.stream.seen if e.get("requestId") == req["requestId"]]
        return req, done, mine

    def sh(self, script: str, timeout: float = 300) -> str:
        _, done, mine = self.request("task.exec", {"command": "sh", "args": ["-c", script]}, timeout)
        err = "".join(e["data"].get("data", "") for e in mine
                      if e["type"] == "sandbox.task.output" and e["data"]["stream"] == "stderr")
        assert done["type"] == "sandbox.task.completed" and done["data"]["exitCode"] == 0, (done["data"], err)
        return "".join(e["data"].get("data", "") for e in mine
                       if e["type"] == "sandbox.task.output" and e["data"]["stream"] == "stdout")

    def checkpoint(self, label: str | None = None) -> tuple[str, dict, list[dict]]:
        cid = new_id("chk")
        body = {"checkpointId": cid} | ({"label": label} if label else {})
        _, done, mine = self.request("checkpoint.create", body)
        assert done["type"] == "sandbox.task.completed", done
        return cid, done, mine

    def stop(self) -> None:
        k = self.client.send(self.client.envelope("sandbox.kill", self.sbx, tenant="acme"))
        self.stream.for_request(k["requestId"], {"sandbox.ended", "request.rejected"}, timeout=60)
        self.close()

    def close(self) -> None:
        assert self.worker.stop() == 0, self.worker.log_text()[-3000:]
        if not os.environ.get("SANDQ_KEEP_LOGS"):
            shutil.rmtree(self.worker.dir, ignore_errors=True)


def dir_stored_at(store: pathlib.Path):
    """stored_at(key) for a directory store: the object's size, None when absent."""
    def stored_at(key: str):
        p = store / key
        return p.stat().st_size if p.exists() else None
    return stored_at


def s3_stored_at(s3: S3Server, bucket: str, prefix: str):
    """stored_at(key) for an S3 store, by a signed HEAD: the object's size, None when absent."""
    def stored_at(key: str):
        r = s3.curl("-I", f"{s3.endpoint}/{bucket}/{prefix}/{key}")
        if r.stdout.endswith(b"404"):
            return None
        for line in r.stdout.decode(errors="replace").splitlines():
            if line.lower().startswith("content-length:"):
                return int(line.split(":")[1])
        raise AssertionError(r.stdout)
    return stored_at


def types_of(mine: list[dict]) -> list[str]:
    return [e["type"] for e in mine]


def round_trip(box: Box, pg, stored_at) -> None:
    """The workspace survives checkpoint → damage → restore, byte for byte;
    retention keeps the newest two; an unknown id is checkpoint_not_found."""
    box.sh(MAKE)
    before = box.sh(MANIFEST)
    assert before.count(" ./tree/d") >= 2000 and "f 0 0 640 ./owned.txt" in before, before[:2000]

    cid, done, mine = box.checkpoint("first")
    assert types_of(mine) == ["sandbox.task.queued", "sandbox.active", "sandbox.task.started",
                              "sandbox.checkpoint.created", "sandbox.task.completed", "sandbox.ready"], types_of(mine)
    created = mine[3]["data"]
    assert created["checkpointId"] == cid and created["label"] == "first" and created["expired"] == []
    assert created["sizeBytes"] > 100 << 20 and created["durationMs"] >= 0
    assert done["data"]["kind"] == "checkpoint" and done["data"]["result"]["checkpointId"] == cid
    row = pg.execute("SELECT sandbox_id, label, size_bytes, storage_key, tenant, task_id, sha256 FROM checkpoints "
                     "WHERE id = %s", (cid,)).fetchone()
    assert row[:3] == (box.sbx, "first", created["sizeBytes"]) and row[4] == "acme"
    assert row[3] == f"acme/{box.sbx}/checkpoints/{cid}.tar.zst" and row[5] == done["taskId"]
    assert row[6] == created["sha256"] and len(row[6]) == 64
    assert stored_at(row[3]) == created["sizeBytes"]

    # Damage: files removed and changed, an owner and a mode changed, a new file.
    box.sh("cd /workspace && rm -rf tree/d3 empty && echo changed > tree/d1/f1.txt && "
           "dd if=/dev/zero of=big.bin bs=1M count=1 seek=7 conv=notrunc status=none && "
           "chmod 0600 owned.txt && echo junk > junk.txt")
    assert box.sh(MANIFEST) != before

    _, done, mine = box.request("checkpoint.restore", {"checkpointId": cid})
    assert done["type"] == "sandbox.task.completed", done
    assert types_of(mine) == ["sandbox.task.queued", "sandbox.active", "sandbox.task.started",
                              "sandbox.checkpoint.restored", "sandbox.task.completed", "sandbox.ready"], types_of(mine)
    assert mine[3]["data"]["checkpointId"] == cid and mine[3]["data"]["sizeBytes"] == created["sizeBytes"]
    assert box.sh(MANIFEST) == before  # byte for byte, owners, modes, links, the sparse file's contents

    # An id is used once.
    _, done, _ = box.request("checkpoint.create", {"checkpointId": cid})
    assert done["type"] == "sandbox.task.failed" and done["data"]["code"] == "invalid_request", done
    assert pg.execute("SELECT size_bytes FROM checkpoints WHERE id = %s", (cid,)).fetchone()[0] == created["sizeBytes"]

    # Unknown id: a clear code, and the sandbox carries on.
    _, done, _ = box.request("checkpoint.restore", {"checkpointId": new_id("chk")})
    assert done["type"] == "sandbox.task.failed" and done["data"]["code"] == "checkpoint_not_found", done
    assert box.sh("cat /workspace/tree/d0/f0.txt").startswith("file 0/0")

    # Retention: SANDQ_CHECKPOINT_KEEP=2, so the third removes the first
    # (row and object), and restoring it is checkpoint_not_found.
    c2, _, _ = box.checkpoint()
    c3, _, mine = box.checkpoint("third")
    assert mine[3]["data"]["expired"] == [cid], mine[3]["data"]
    assert pg.execute("SELECT id FROM checkpoints WHERE sandbox_id = %s ORDER BY created_at",
                      (box.sbx,)).fetchall() == [(c2,), (c3,)]
    assert stored_at(row[3]) is None
    _, done, _ = box.request("checkpoint.restore", {"checkpointId": cid})
    assert done["type"] == "sandbox.task.failed" and done["data"]["code"] == "checkpoint_not_found", done

    _, done, mine = box.request("checkpoints.list", {})
    assert done["type"] == "sandbox.task.completed", done
    listed = done["data"]["result"]["checkpoints"]
    assert [c["checkpointId"] for c in listed] == [c3, c2] and listed[0]["label"] == "third"
    assert "label" not in listed[1] or listed[1]["label"] is None
    assert done["data"]["result"]["keep"] == 2


def test_checkpoint_and_restore_on_the_directory_store(stack_env, pg):
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-ckpt-"))
    box = Box(stack_env, "ckdir", {"SANDQ_ARTIFACT_STORE": f"file://{store}", "SANDQ_CHECKPOINT_KEEP": "2"},
              "3700000000", {"limits": {"memoryMb": 1024}})
    try:
        round_trip(box, pg, dir_stored_at(store))
    finally:
        box.stop()
        shutil.rmtree(store, ignore_errors=True)


def test_checkpoint_and_restore_on_s3(stack_env, pg):
    with S3Server() as s3:
        s3.create_bucket("sandq-ckpt")
        box = Box(stack_env, "cks3", {**s3.env("sandq-ckpt", "fleet"), "SANDQ_CHECKPOINT_KEEP": "2",
                                      "SANDQ_S3_PART_BYTES": str(16 << 20)}, "3800000000",
                  {"limits": {"memoryMb": 1024}})
        try:
            round_trip(box, pg, s3_stored_at(s3, "sandq-ckpt", "fleet"))
        finally:
            box.stop()


def test_kill_during_a_checkpoint_ends_cleanly(stack_env, pg):
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-ckpt-"))
    box = Box(stack_env, "ckkill", {"SANDQ_ARTIFACT_STORE": f"file://{store}"}, "3900000000",
              {"limits": {"memoryMb": 1024}})
    try:
        box.sh("head -c 400000000 /dev/urandom > /workspace/big.bin")
        cid = new_id("chk")
        req = box.client.send(box.client.envelope("checkpoint.create", box.sbx, {"checkpointId": cid}, tenant="acme"))
        box.stream.wait_for(lambda e: e.get("requestId") == req["requestId"] and e["type"] == "sandbox.task.started",
                            timeout=60)
        t0 = time.monotonic()
        k = box.client.send(box.client.envelope("sandbox.kill", box.sbx, tenant="acme"))
        done = box.stream.for_request(req["requestId"], TERMINAL, timeout=60)
        ended = box.stream.for_request(k["requestId"], {"sandbox.ended", "request.rejected"}, timeout=60)
        assert time.monotonic() - t0 < 30  # liveness: the kill did not wait for the archive
        assert done["type"] == "sandbox.task.failed" and done["data"]["code"] == "canceled", done
        assert ended["type"] == "sandbox.ended", ended
        assert pg.execute("SELECT count(*) FROM checkpoints WHERE id = %s", (cid,)).fetchone()[0] == 0
        assert not list(store.rglob(f"{cid}*"))
        # Nothing spooled is left on the host (the archives are O_TMPFILEs).
        spool = pathlib.Path(box.worker.dir) / "checkpoint-tmp"
        assert spool.is_dir() and list(spool.iterdir()) == []
        # The worker carries on: a new sandbox checkpoints fine.
        sbx2 = new_id("sbx")
        s2 = box.client.stream(sbx2)
        box.client.send(box.client.envelope("sandbox.create", sbx2, {}, tenant="acme"))
        s2.wait_type("sandbox.ready", timeout=60)
        r = box.client.send(box.client.envelope("checkpoint.create", sbx2, {"checkpointId": new_id("chk")},
                                                tenant="acme"))
        assert s2.for_request(r["requestId"], TERMINAL, timeout=60)["type"] == "sandbox.task.completed"
        k2 = box.client.send(box.client.envelope("sandbox.kill", sbx2, tenant="acme"))
        s2.for_request(k2["requestId"], {"sandbox.ended"}, timeout=60)
    finally:
        box.close()
        shutil.rmtree(store, ignore_errors=True)


def any_frozen(sbx: str) -> bool:
    """Whether a cgroup holding one of the sandbox's processes is frozen: the
    v2 freezer's cgroup.events says `frozen 1`, the v1 freezer.state FROZEN."""
    for pid in procs_of(sbx):
        try:
            lines = open(f"/proc/{pid}/cgroup").read().splitlines()
        except OSError:
            continue
        for line in lines:
            _, controllers, path = line.split(":", 2)
            files = []
            if controllers == "":
                files = [f"{base}{path}/cgroup.events" for base in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")]
            elif "freezer" in controllers.split(","):
                files = [f"/sys/fs/cgroup/freezer{path}/freezer.state"]
            for name in files:
                try:
                    text = open(name).read()
                except OSError:
                    continue
                if "frozen 1" in text.split("\n") or text.strip() == "FROZEN":
                    return True
    return False


@pytest.mark.parametrize("cgroup_mode", ["auto", "v1"])
def test_background_processes_are_frozen_while_tar_reads(stack_env, cgroup_mode):
    """A process the sandbox left running (a counter rewriting a workspace file
    as fast as it can) does not run while the checkpoint's tar does, and runs
    again after it — with the cgroup v2 freezer and with the v1 freezer
    (SANDQ_CGROUP_MODE=v1)."""
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-ckpt-"))
    box = Box(stack_env, "ckfrz", {"SANDQ_ARTIFACT_STORE": f"file://{store}", "SANDQ_CGROUP_MODE": cgroup_mode},
              "3480000000" if cgroup_mode == "auto" else "3490000000", {"limits": {"memoryMb": 1024}})
    count = box.worker.dir / "workspaces" / box.sbx / "count"
    try:
        box.sh("head -c 400000000 /dev/urandom > /workspace/big.bin && "
               "(i=0; while :; do i=$((i+1)); echo $i > /workspace/count.tmp; mv /workspace/count.tmp /workspace/count;"
               " done) >/dev/null 2>&1 &")

        def read() -> int:
            for _ in range(1000):  # the loop may take a moment to start on a loaded machine
                try:
                    return int(count.read_text())
                except (FileNotFoundError, ValueError):
                    time.sleep(0.01)
            raise AssertionError("no counter")
        a = read()
        wait_until = time.monotonic() + 30
        while read() == a and time.monotonic() < wait_until:
            time.sleep(0.05)
        assert read() > a  # it runs
        req = box.client.send(box.client.envelope("checkpoint.create", box.sbx, {"checkpointId": new_id("chk")},
                                                  tenant="acme"))
        box.stream.wait_for(lambda e: e.get("requestId") == req["requestId"] and e["type"] == "sandbox.task.started",
                            timeout=60)
        # Until the outcome arrives, look at the freezer of every cgroup the
        # sandbox's processes are in (as the host sees them): the counter's
        # must be frozen while tar reads. (The counter itself is no witness:
        # tar starves it of the sandbox's one CPU even when nothing freezes it.)
        frozen_seen = False
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            frozen_seen = frozen_seen or any_frozen(box.sbx)
            if any(e.get("requestId") == req["requestId"] and e["type"] in TERMINAL for e in box.stream.seen):
                break
            box.stream.poll(0.01)  # reads the next event into .seen, or waits 10 ms
        done = box.stream.for_request(req["requestId"], TERMINAL, timeout=300)
        assert done["type"] == "sandbox.task.completed", done
        assert frozen_seen, "the sandbox's background processes were never frozen while tar read"
        assert not any_frozen(box.sbx)  # and thawed after
        b = read()
        wait_until = time.monotonic() + 30
        while read() == b and time.monotonic() < wait_until:
            time.sleep(0.05)
        assert read() > b  # thawed after
    finally:
        box.stop()
        shutil.rmtree(store, ignore_errors=True)


SERVER = ("mkdir -p /tmp/site && cd /tmp/site && echo '<html><body>served</body></html>' > p.html && "
          "(python3 -m http.server 8765 --bind 127.0.0.1 >/dev/null 2>&1 &) && "
          "for i in $(seq 50); do python3 -c 'import urllib.request as u; u.urlopen(\"http://127.0.0.1:8765/p.html\")' "
          "2>/dev/null && exit 0; sleep 0.2; done; exit 1")


def test_browser_cookies_survive_a_restore(stack_env):
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-ckpt-"))
    box = Box(stack_env, "ckbr", {"SANDQ_ARTIFACT_STORE": f"file://{store}"}, "4000000000",
              {"capabilities": {"browser": {"viewport": {"width": 800, "height": 600}}}, "limits": {"memoryMb": 1024}})
    site = "http://127.0.0.1:8765/p.html"
    read = {"op": "evaluate", "expression": "[document.cookie, localStorage.getItem('k')]"}
    try:
        box.sh(SERVER)

        def browse(*actions):
            _, done, _ = box.request("task.browser", {"actions": [{"op": "goto", "url": site}, *actions]})
            assert done["type"] == "sandbox.task.completed", done
            return done["data"]["result"]["actions"][-1].get("value")

        browse({"op": "evaluate", "expression": "document.cookie = 'k=v1; max-age=3600'; localStorage.setItem('k', 'v2'); 1"})
        cid, _, mine = box.checkpoint()
        # The browser was closed for the snapshot and started again.
        assert types_of(mine).index("sandbox.browser.ready") < types_of(mine).index("sandbox.checkpoint.created")
        assert browse(read) == ["k=v1", "v2"]
        browse({"op": "evaluate", "expression": "document.cookie = 'k=; max-age=0'; localStorage.clear(); 1"})
        assert browse(read) == ["", None]
        _, done, mine = box.request("checkpoint.restore", {"checkpointId": cid})
        assert done["type"] == "sandbox.task.completed", done
        assert "sandbox.browser.ready" in types_of(mine)
        assert browse(read) == ["k=v1", "v2"]
    finally:
        box.stop()
        shutil.rmtree(store, ignore_errors=True)


def test_cli_checkpoint_create_ls_restore(stack_env):
    """sandq checkpoint create|ls|restore, through libsandq, as an operator runs them."""
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-ckpt-"))
    box = Box(stack_env, "ckcli", {"SANDQ_ARTIFACT_STORE": f"file://{store}"}, "3450000000")
    env = {**os.environ, "SANDQ_TOPIC_PREFIX": box.prefix, "SANDQ_TENANT": "acme"}

    def cli(*args):
        return subprocess.run([str(BUILD / "producer" / "sandq"), "checkpoint", *args], capture_output=True,
                              text=True, timeout=300, env=env)
    try:
        box.sh("echo one > /workspace/a.txt")
        r = cli("create", box.sbx, "--label", "v1")
        assert r.returncode == 0, r.stderr
        cid = r.stdout.strip()
        assert cid.startswith("chk_") and len(cid) == 30, r.stdout
        r = cli("ls", box.sbx)
        assert r.returncode == 0 and r.stdout.startswith(cid + "\t") and r.stdout.rstrip().endswith("\tv1"), r
        box.sh("echo two > /workspace/a.txt")
        r = cli("restore", box.sbx, cid)
        assert r.returncode == 0, r.stderr
        assert box.sh("cat /workspace/a.txt") == "one\n"
        r = cli("restore", box.sbx, "chk_01JD0000000000000000000000", "--json")
        assert r.returncode == 1 and "checkpoint_not_found" in r.stdout + r.stderr, r
    finally:
        box.stop()
        shutil.rmtree(store, ignore_errors=True)
