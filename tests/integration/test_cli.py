"""The sandq CLI (producer/cli) against the real stack and a real worker: exit codes,
streamed output, --json shapes, one-line error messages, files on disk, and the
Redis/PostgreSQL state the commands read or cause. Includes `batch submit` with
--wait, Ctrl-C and resume."""
from __future__ import annotations

import collections
import hashlib
import json
import os
import pathlib
import signal
import subprocess
import time

import pytest
import schemas
from confluent_kafka import Consumer, Producer, TopicPartition
from harness import private_prefix
from sandq_client import new_id

BUILD = pathlib.Path(os.environ.get("SANDQ_BUILD_DIR", pathlib.Path(__file__).resolve().parents[2] / "build"))
CLI = str(BUILD / "producer" / "sandq")


def sandq(*args: str, input: bytes | None = None, timeout: float = 180, check_rc: int | None = None,
          env: dict | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run([CLI, *args], input=input, capture_output=True, timeout=timeout,
                       env={**os.environ, **(env or {})})
    if check_rc is not None:
        assert p.returncode == check_rc, (args, p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return p


def jout(p: subprocess.CompletedProcess):
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


def one_line_error(p: subprocess.CompletedProcess, cmd: str, code: str) -> str:
    lines = [ln for ln in p.stderr.decode().splitlines() if ln.strip()]
    assert lines and lines[0].startswith(f"sandq: {cmd}: {code}: "), p.stderr
    return lines[0]


@pytest.fixture
def sbx(worker):
    p = sandq("launch", "--json", check_rc=0)
    sid = jout(p)["id"]
    yield sid
    sandq("kill", sid)


def test_every_command_has_help_with_examples():
    for cmd in ["launch", "create", "get", "list", "history", "exec", "sh", "run-code", "cp", "ls", "rm",
                "pause", "resume", "kill", "set-timeout", "events", "files", "batch", "browser", "artifacts", "cancel",
                "handoff", "preview"]:
        p = sandq(cmd, "--help", check_rc=0)
        text = p.stdout.decode()
        assert text.startswith("usage: sandq"), cmd
        assert "Examples:" in text, cmd
        assert "--json" in text or cmd == "batch", cmd
    top = sandq("--help", check_rc=0).stdout.decode()
    for cmd in ["create", "get", "list", "history", "sh", "run-code", "cp", "pause", "resume", "batch submit",
                "browser SBX", "handoff ...", "preview SBX"]:
        assert cmd in top


def test_usage_errors_exit_2_with_one_line_reason():
    p = sandq("get", "not-an-id", check_rc=2)
    assert p.stderr.decode().startswith('sandq: get: "not-an-id" is not a sandbox id')
    p = sandq("list", "--state", "sleeping", check_rc=2)
    assert "bad --state value" in p.stderr.decode()
    sandq("launch", "--browser", "huge", check_rc=2)
    sandq("cp", "a", "b", check_rc=2)
    sandq("sh", "sbx_01ARZ3NDEKTSV4RRFFQ69G5FAW", "echo", "a", check_rc=2)
    sandq("run-code", "sbx_01ARZ3NDEKTSV4RRFFQ69G5FAW", "--language", "cobol", "-", check_rc=2)
    sandq("nonsense", check_rc=2)


def test_launch_get_list_history_kill(worker, rds, pg):
    p = sandq("launch", "--json", "--metadata", "who=cli-test", check_rc=0)
    info = jout(p)
    sid = info["id"]
    assert info["state"] == "ready" and info["workerId"] == worker.worker_id
    assert info["requestId"].startswith("req_")

    g = jout(sandq("get", sid, "--json", check_rc=0))
    h = rds.hgetall(f"sandq:{{{sid}}}:sandbox")
    assert g["state"] == h["state"] == "ready"
    assert g["workerId"] == h["workerId"] and g["seq"] == int(h["seq"]) and g["createdAt"] == int(h["createdAt"])
    human = sandq("get", sid, check_rc=0).stdout.decode()
    assert f"id:        {sid}" in human and "state:     ready" in human

    listed = [json.loads(ln) for ln in sandq("list", "--state", "ready", "--json", check_rc=0).stdout.splitlines()]
    assert sid in [x["id"] for x in listed]
    assert all(x["state"] == "ready" for x in listed)
    ended = [json.loads(ln)["id"] for ln in sandq("list", "--state", "ended", "--json").stdout.splitlines()]
    assert sid not in ended

    k = jout(sandq("kill", sid, "--json", check_rc=0))
    assert k == {"id": sid, "state": "ended"}
    assert jout(sandq("get", sid, "--json", check_rc=0))["state"] == "ended"

    hist = jout(sandq("history", sid, "--json", check_rc=0))
    types = [e["type"] for e in hist["events"]]
    assert types[:3] == ["sandbox.created", "sandbox.assigned", "sandbox.ready"]
    assert types[-2:] == ["sandbox.ending", "sandbox.ended"]
    assert [e["seq"] for e in hist["events"]] == list(range(1, len(types) + 1))
    assert hist["sandbox"]["id"] == sid and hist["sandbox"]["state"] == "ended"
    assert hist["sandbox"]["metadata"] == {"who": "cli-test"}
    n_pg = pg.execute("SELECT count(*) FROM events WHERE sandbox_id = %s", (sid,)).fetchone()[0]
    assert n_pg == len(types)
    text = sandq("history", sid, check_rc=0).stdout.decode()
    assert "sandbox.ready" in text and "sandbox.ended" in text

    # killing it again: the worker's rejection, one line, exit 1
    p = sandq("kill", sid, check_rc=1)
    one_line_error(p, "kill", "invalid_state")


def test_get_and_history_of_unknown_sandbox(worker):
    unknown = "sbx_01ARZ3NDEKTSV4RRFFQ69G5FAW"
    p = sandq("get", unknown, "--json", check_rc=1)
    one_line_error(p, "get", "sandbox_not_found")
    assert jout(p)["error"]["code"] == "sandbox_not_found"
    one_line_error(sandq("history", unknown, check_rc=1), "history", "sandbox_not_found")


def test_get_with_redis_down_is_a_clear_error():
    p = sandq("get", "sbx_01ARZ3NDEKTSV4RRFFQ69G5FAW", env={"SANDQ_REDIS_URL": "redis://127.0.0.1:1/0"},
              check_rc=1)
    one_line_error(p, "get", "redis_error")
    p = sandq("history", "sbx_01ARZ3NDEKTSV4RRFFQ69G5FAW",
              env={"SANDQ_DATABASE_URL": "postgresql://sandq@127.0.0.1:1/sandq"}, check_rc=1)
    one_line_error(p, "history", "database_error")


def test_create_returns_queued_then_becomes_ready(worker):
    p = sandq("create", "--json", check_rc=0)
    info = jout(p)
    assert info["state"] == "queued"
    sid = info["id"]
    deadline = time.monotonic() + 60
    state = None
    while time.monotonic() < deadline:
        g = sandq("get", sid, "--json")
        if g.returncode == 0:
            state = jout(g)["state"]
            if state == "ready":
                break
        time.sleep(0.2)
    assert state == "ready"
    sandq("kill", sid, check_rc=0)


def test_sh_exec_and_run_code(sbx, tmp_path):
    p = sandq("sh", sbx, "echo one two | wc -w; echo oops >&2; exit 3", check_rc=3)
    assert p.stdout.decode().strip() == "2"
    assert p.stderr.decode() == "oops\n"
    j = jout(sandq("sh", sbx, "printf hi", "--json", check_rc=0))
    assert j["stdout"] == "hi" and j["exitCode"] == 0 and j["taskId"].startswith("tsk_")

    # exec forwards stdin
    p = sandq("exec", sbx, "--", "tr", "a-z", "A-Z", input=b"shout\n", check_rc=0)
    assert p.stdout == b"SHOUT\n"

    src = tmp_path / "calc.py"
    src.write_text("import sys\nprint(sum(range(10)))\nsys.exit(4)\n")
    p = sandq("run-code", sbx, str(src), check_rc=4)  # language from the extension
    assert p.stdout == b"45\n"
    j = jout(sandq("run-code", sbx, "--language", "bash", "-", "--json", input=b"echo $((6*7))", check_rc=0))
    assert j["stdout"] == "42\n" and j["exitCode"] == 0
    p = sandq("run-code", sbx, "--language", "python", "-", input=b"raise SystemExit('bad')", check_rc=1)
    assert b"bad" in p.stderr
    one_line_error(sandq("run-code", sbx, str(tmp_path / "missing.py"), check_rc=1), "run-code", "io_error")


def test_exec_on_unknown_sandbox_fails_125(worker):
    p = sandq("sh", "sbx_01ARZ3NDEKTSV4RRFFQ69G5FAW", "true", "--json", check_rc=125)
    one_line_error(p, "sh", "sandbox_not_found")
    assert jout(p)["error"]["code"] == "sandbox_not_found"


def test_cp_50_mib_round_trip_ls_rm(sbx, tmp_path, worker, pg):
    src = tmp_path / "big.bin"
    data = os.urandom(50 * 1024 * 1024)
    src.write_bytes(data)
    up = jout(sandq("cp", str(src), f"{sbx}:in/big.bin", "--json", check_rc=0, timeout=600))
    assert up["sizeBytes"] == len(data)
    assert up["sha256"] == hashlib.sha256(data).hexdigest()
    assert up["chunks"] == 100
    # it really is in the sandbox's workspace on the worker's disk
    on_disk = list(pathlib.Path(worker.dir, "workspaces").rglob("in/big.bin"))
    assert len(on_disk) == 1 and on_disk[0].stat().st_size == len(data)

    dst = tmp_path / "back.bin"
    sandq("cp", f"{sbx}:in/big.bin", str(dst), check_rc=0, timeout=600)
    assert dst.read_bytes() == data
    # A worker returns at most 4 MiB per files.read (SANDQ_FILES_READ_MAX_BYTES):
    # the whole file came as 13 ranges, the last one short (no empty read after it).
    from harness import pg_eventually
    assert pg_eventually(pg, "SELECT count(*) FROM requests WHERE sandbox_id = %s AND type = 'files.read'",
                         (sbx,), (13,)) == (13,)

    listing = jout(sandq("ls", sbx, "in", "--json", check_rc=0))
    assert [(e["name"], e["sizeBytes"], e["type"]) for e in listing["entries"]] == [("big.bin", len(data), "file")]
    assert "in/big.bin" in sandq("ls", sbx, "-r", check_rc=0).stdout.decode()

    r = jout(sandq("rm", sbx, "in", "-r", "--json", check_rc=0))
    assert r["removed"] is True
    assert jout(sandq("ls", sbx, "--json", check_rc=0))["entries"] == []
    one_line_error(sandq("rm", sbx, "in", check_rc=1), "rm", "not_found")
    # stdout as the destination
    sandq("cp", "-", f"{sbx}:small.txt", input=b"piped\n", check_rc=0)
    assert sandq("cp", f"{sbx}:small.txt", "-", check_rc=0).stdout == b"piped\n"


def test_get_of_a_huge_sparse_file_stops_at_the_limit(sbx, tmp_path):
    """`get` of a 100 GB sparse file: the first range's sizeBytes is over --max,
    so it fails at once with limit_exceeded instead of pulling 256 MiB first."""
    sandq("sh", sbx, "truncate -s 100G /workspace/huge", check_rc=0)
    p = sandq("files", "get", f"{sbx}:huge", str(tmp_path / "huge"), "--max", "64M", check_rc=1, timeout=120)
    assert "larger than the read limit" in one_line_error(p, "files get", "limit_exceeded")
    assert not list(tmp_path.iterdir())
    # A range of it is fine: 5 MiB from the middle takes two requests and is all zeros.
    p = sandq("files", "get", f"{sbx}:huge", "-", "--offset", str(50 << 30), "--length", "5M", check_rc=0,
              timeout=120)
    assert p.stdout == bytes(5 << 20)


def test_ls_follows_the_pages_of_a_big_listing(sbx, pg):
    """9,999 names of 250 characters come as pages from the worker; `ls` shows them all."""
    sandq("sh", sbx, "mkdir /workspace/many && cd /workspace/many && seq -f '%0250g' 0 9998 | xargs touch",
          check_rc=0)
    names = [f"{i:0250d}" for i in range(9999)]
    listing = jout(sandq("ls", sbx, "many", "--json", check_rc=0))
    assert [e["name"] for e in listing["entries"]] == names and "nextCursor" not in listing
    assert sandq("files", "ls", f"{sbx}:many", check_rc=0).stdout.decode().splitlines() == \
        [f"many/{n}" for n in names]
    # two listings of at least 6 pages each (~2.6 MB of entries, ≤ ~512 KiB a page)
    deadline = time.monotonic() + 30
    while (pages := pg.execute("SELECT count(*) FROM requests WHERE sandbox_id = %s AND type = 'files.list'",
                               (sbx,)).fetchone()[0]) < 2 * 6 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pages >= 2 * 6, pages


def test_names_that_are_not_utf8_can_be_listed_and_copied(sbx, tmp_path):
    """A file named with bytes that are not UTF-8: `ls` shows it, and the same
    bytes as an argument copy it out and in (libsandq sends them as pathB64)."""
    sandq("sh", sbx, r"mkdir /workspace/odd && printf x > /workspace/odd/caf$(printf '\351')", check_rc=0)
    assert sandq("ls", sbx, "odd", check_rc=0).stdout == b"odd/caf\xe9\n"
    assert jout(sandq("ls", sbx, "odd", "--json", check_rc=0))["entries"][0]["nameB64"] == "Y2Fm6Q=="
    name = os.fsdecode(b"odd/caf\xe9")  # argv carries the raw bytes
    assert sandq("cp", f"{sbx}:{name}", "-", check_rc=0).stdout == b"x"
    src = tmp_path / "up.txt"
    src.write_bytes(b"up")
    sandq("cp", str(src), f"{sbx}:" + os.fsdecode(b"odd/n\xfe"), check_rc=0)
    assert sandq("sh", sbx, r"cat /workspace/odd/n$(printf '\376')", check_rc=0).stdout == b"up"
    # --json output gives such a path as base64 (pathB64), as the worker does
    assert jout(sandq("rm", sbx, os.fsdecode(b"odd/n\xfe"), "--json", check_rc=0))["pathB64"] == "b2RkL27+"
    assert sandq("ls", sbx, "odd", check_rc=0).stdout == b"odd/caf\xe9\n"


def test_pause_resume_set_timeout(sbx, rds):
    """Pause, resume and setTimeout round trips, and what each leaves in Redis."""
    assert jout(sandq("pause", sbx, "--json", check_rc=0)) == {"id": sbx, "state": "paused"}
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "paused"
    one_line_error(sandq("pause", sbx, check_rc=1), "pause", "invalid_state")  # paused already
    assert jout(sandq("resume", sbx, "--json", check_rc=0))["state"] == "ready"
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "ready"
    one_line_error(sandq("resume", sbx, check_rc=1), "resume", "invalid_state")  # ready: nothing to resume
    assert jout(sandq("set-timeout", sbx, "1h", "--json", check_rc=0)) == {"id": sbx, "timeoutMs": 3600000}


def test_a_pause_that_bounces_back_fails_at_once(stack_env):
    """A worker that cannot freeze a sandbox returns it to ready (reason
    pause_failed) as the pause's answer. The CLI must report that at once, not
    wait out its timeout. The test plays the worker on topics of its own."""
    prefix = private_prefix(stack_env["brokers"], "bounce", partitions=1)
    sbx = new_id("sbx")
    cli = subprocess.Popen([CLI, "pause", sbx, "--timeout", "10m", "--json"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env={**os.environ, "SANDQ_TOPIC_PREFIX": prefix})
    try:
        c = Consumer({"bootstrap.servers": stack_env["brokers"], "group.id": "unused", "enable.auto.commit": False,
                      "auto.offset.reset": "earliest"})
        c.assign([TopicPartition(f"{prefix}.requests", 0, 0)])
        pause, deadline = None, time.monotonic() + 60
        while pause is None and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                req = json.loads(m.value())
                if req["type"] == "sandbox.pause" and req["sandboxId"] == sbx:
                    pause = req
        c.close()
        assert pause, "the CLI never published its sandbox.pause"
        event = {"v": 1, "eventId": new_id("evt"), "type": "sandbox.ready", "sandboxId": sbx, "taskId": None,
                 "requestId": pause["requestId"], "seq": 7, "at": int(time.time() * 1000),
                 "workerId": "w-pretend", "region": "iad", "tenant": "default",
                 "data": {"state": "ready", "previous": "pausing", "reason": "pause_failed",
                          "message": "cgroup freeze did not complete"}}
        schemas.validate_event(event)
        p = Producer({"bootstrap.servers": stack_env["brokers"]})
        p.produce(f"{prefix}.events", json.dumps(event).encode(), key=sbx.encode(), partition=0)
        assert p.flush(15) == 0
        out, err = cli.communicate(timeout=60)  # well before the CLI's own 10 minutes
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 1, (out, err)
    line = err.decode().splitlines()[0]
    assert line.startswith("sandq: pause: internal: ") and "pause_failed" in line, line
    assert "cgroup freeze did not complete" in line, line


def test_launch_capability_flags_reach_the_create_body(worker, pg):
    # 512M: a browser sandbox's memory floor (docs/browser.md).
    p = sandq("launch", "--json", "--browser", "1280x800", "--documents", "--agent", "--memory", "512M",
              "--timeout", "30m")
    if p.returncode != 0:  # a worker may refuse a capability it lacks: then it must say so
        assert b"capability" in p.stderr, p.stderr
        return
    sid = jout(p)["id"]
    caps, limits = pg.execute("SELECT capabilities, limits FROM sandboxes WHERE id = %s", (sid,)).fetchone()
    assert caps["browser"]["viewport"] == {"width": 1280, "height": 800}
    assert caps["documents"] == {"libreofficeHeadless": True}
    assert caps["agent"]["enabled"] is True
    assert limits.get("memoryMb") == 512
    sandq("kill", sid, check_rc=0)


# ---- batch submit ------------------------------------------------------------------


@pytest.fixture
def salt():
    """Fresh ids per test: the plain and the ASan pass of `make test` share one stack,
    and a re-run of the same lines with the same salt is (by design) a no-op."""
    return os.urandom(8).hex()


def write_jobs(path: pathlib.Path, n: int, extra: list[dict] | None = None) -> None:
    with path.open("w") as f:
        f.write("# generated by test_cli.py\n")
        for i in range(n):
            f.write(json.dumps({"create": {}, "tasks": [{"exec": ["echo", f"job-{i}"]}],
                                "metadata": {"i": str(i)}}) + "\n")
        for e in extra or []:
            f.write(json.dumps(e) + "\n")


def results(path: pathlib.Path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text().splitlines()]


def test_batch_submit_wait_writes_results(worker, pg, tmp_path, salt):
    jobs = tmp_path / "jobs.jsonl"
    write_jobs(jobs, 20, extra=[
        {"create": {}, "tasks": [{"sh": "echo out; echo err >&2; exit 5"}]},
        {"create": {"runtime": "python"}, "tasks": [{"code": "print(6*7)", "language": "python"},
                                                    {"type": "files.write",
                                                     "body": {"path": "r.txt", "content": "x"}}]},
    ])
    out = tmp_path / "out.jsonl"
    p = sandq("batch", "submit", str(jobs), "--wait", "-o", str(out), "--max-sandboxes", "8", "--rate", "100/s",
              "--salt", salt, "--json", timeout=300)
    assert p.returncode == 1, p.stderr  # one job's command exits 5
    summary = jout(p)
    assert summary["total"] == 22 and summary["succeeded"] == 21 and summary["failed"] == 1
    # not a TTY: plain progress lines, never a carriage-return bar
    assert b"\r" not in p.stderr and b"batch: " in p.stderr
    rows = results(out)
    assert sorted(r["line"] for r in rows) == list(range(2, 24))
    by_line = {r["line"]: r for r in rows}
    for i in range(20):
        r = by_line[i + 2]
        assert r["status"] == "succeeded"
        assert r["tasks"][0]["stdout"] == f"job-{i}\n" and r["tasks"][0]["exitCode"] == 0
    bad = by_line[22]
    assert bad["status"] == "failed"
    assert bad["tasks"][0] == {**bad["tasks"][0], "exitCode": 5, "stdout": "out\n", "stderr": "err\n"}
    py = by_line[23]
    assert py["tasks"][0]["stdout"] == "42\n" and py["tasks"][1]["result"]["sizeBytes"] == 1
    # every job's sandbox was created once and ended (jobs kill their sandbox)
    ids = [r["sandboxId"] for r in rows]
    states = dict(pg.execute("SELECT id, state FROM sandboxes WHERE id = ANY(%s)", (ids,)).fetchall())
    assert len(states) == 22 and set(states.values()) == {"ended"}
    meta = pg.execute("SELECT metadata FROM sandboxes WHERE id = %s", (by_line[2]["sandboxId"],)).fetchone()[0]
    assert meta == {"i": "0", "batchLine": "2"}


def test_batch_job_over_the_workers_maximum_fails_without_retries(worker, tmp_path, salt):
    """A create whose own limits are above the operator's maximum is refused
    with limit_exceeded naming the field: no retry can help, so the job fails at
    once (a full worker's limit_exceeded, with no field, is retried)."""
    jobs = tmp_path / "jobs.jsonl"
    write_jobs(jobs, 1, extra=[{"create": {"limits": {"memoryMb": 1_000_000}}, "tasks": [{"exec": ["true"]}]}])
    out = tmp_path / "out.jsonl"
    p = sandq("batch", "submit", str(jobs), "--wait", "-o", str(out), "--job-timeout", "10m", "--salt", salt,
              "--json", timeout=120)  # a retry loop would run for the 10 minutes
    assert p.returncode == 1, p.stderr
    assert jout(p)["succeeded"] == 1 and jout(p)["failed"] == 1
    bad = {r["line"]: r for r in results(out)}[3]
    assert bad["status"] == "failed" and bad["error"]["code"] == "limit_exceeded", bad
    assert "memoryMb" in bad["error"]["message"], bad


def test_batch_interrupt_then_resume_does_not_duplicate(worker, pg, tmp_path, salt):
    jobs = tmp_path / "jobs.jsonl"
    n = 120
    write_jobs(jobs, n)
    out = tmp_path / "out.jsonl"
    args = [CLI, "batch", "submit", str(jobs), "--wait", "-o", str(out), "--max-sandboxes", "10", "--salt", salt]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 5):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"run the same command again to resume" in err
    first = len(results(out))
    assert 5 <= first < n

    p = sandq("batch", "submit", str(jobs), "--wait", "-o", str(out), "--max-sandboxes", "10", "--json",
              "--salt", salt, check_rc=0, timeout=300)
    s = jout(p)
    assert s["skipped"] == first and s["succeeded"] == n - first
    rows = results(out)
    assert collections.Counter(r["line"] for r in rows) == {i + 2: 1 for i in range(n)}
    assert all(r["status"] == "succeeded" for r in rows)
    assert all(r["tasks"][0]["stdout"] == f"job-{r['line'] - 2}\n" for r in rows)
    # the worker saw each sandbox and each task exactly once
    ids = [r["sandboxId"] for r in rows]
    assert pg.execute("SELECT count(*) FROM sandboxes WHERE id = ANY(%s)", (ids,)).fetchone()[0] == n
    per = pg.execute("SELECT sandbox_id, count(*) FROM tasks WHERE sandbox_id = ANY(%s) GROUP BY 1",
                     (ids,)).fetchall()
    assert len(per) == n and {c for _, c in per} == {1}
    # a third run has nothing left to do
    s = jout(sandq("batch", "submit", str(jobs), "--wait", "-o", str(out), "--salt", salt, "--json", check_rc=0))
    assert s["skipped"] == n and s["submitted"] == 0
    assert len(results(out)) == n
    # the results file lost (another -o): every request is a duplicate the worker drops,
    # so the outcomes are re-learned from the sandboxes' past events; nothing new runs
    out2 = tmp_path / "again.jsonl"
    s = jout(sandq("batch", "submit", str(jobs), "--wait", "-o", str(out2), "--salt", salt, "--json", check_rc=0,
                   timeout=300))
    assert s["succeeded"] == n
    assert sorted(r["tasks"][0]["stdout"] for r in results(out2)) == sorted(f"job-{i}\n" for i in range(n))
    assert pg.execute("SELECT count(*) FROM tasks WHERE sandbox_id = ANY(%s)", (ids,)).fetchone()[0] == n


def test_batch_without_wait_and_raw_requests(worker, pg, tmp_path, salt):
    jobs = tmp_path / "raw.jsonl"
    sid = "sbx_01ARZ3NDEKTSV4RRFFQ69G5FA0"  # never created: the kill is rejected by the worker
    with jobs.open("w") as f:
        f.write(json.dumps({"create": {}, "tasks": [{"exec": ["true"]}]}) + "\n")
        f.write(json.dumps({"type": "sandbox.kill", "sandboxId": sid, "body": {}}) + "\n")
    out = tmp_path / "out.jsonl"
    s = jout(sandq("batch", "submit", str(jobs), "-o", str(out), "--salt", salt, "--json", check_rc=0, timeout=120))
    assert s["submitted"] == 2
    rows = {r["line"]: r for r in results(out)}
    assert rows[1]["status"] == "submitted" and rows[2]["status"] == "submitted"
    assert rows[2]["sandboxId"] == sid and rows[2]["requestId"].startswith("req_")
    # with --wait the raw kill's rejection is its outcome
    out2 = tmp_path / "out2.jsonl"
    p = sandq("batch", "submit", str(jobs), "--wait", "-o", str(out2), "--salt", salt + "-2", "--json", check_rc=1)
    rows = {r["line"]: r for r in results(out2)}
    assert rows[1]["status"] == "succeeded"
    assert rows[2]["status"] == "failed" and rows[2]["error"]["code"] == "sandbox_not_found"
    assert rows[2]["event"] == "request.rejected"


def test_batch_malformed_line_sends_nothing(worker, tmp_path):
    jobs = tmp_path / "bad.jsonl"
    jobs.write_text('{"create": {}}\n{"create": {}, "tasks": [{"exec": "not-a-list"}]}\nnot json\n')
    out = tmp_path / "out.jsonl"
    p = sandq("batch", "submit", str(jobs), "--wait", "-o", str(out), check_rc=2)
    err = p.stderr.decode()
    assert f"{jobs}:2: tasks[0].exec must be" in err and f"{jobs}:3: not JSON" in err
    assert not out.exists()


def test_kafka_only_commands_need_no_redis_or_postgres(worker, tmp_path):
    """Only get/list/history read Redis/PostgreSQL: everything else works with both unreachable."""
    dead = {"SANDQ_REDIS_URL": "redis://127.0.0.1:1/0", "SANDQ_DATABASE_URL": "postgresql://x@127.0.0.1:1/x"}
    sid = jout(sandq("launch", "--json", env=dead, check_rc=0))["id"]
    assert sandq("sh", sid, "echo ok", env=dead, check_rc=0).stdout == b"ok\n"
    f = tmp_path / "f.txt"
    f.write_text("data")
    sandq("cp", str(f), f"{sid}:f.txt", env=dead, check_rc=0)
    assert sandq("cp", f"{sid}:f.txt", "-", env=dead, check_rc=0).stdout == b"data"
    sandq("kill", sid, env=dead, check_rc=0)
    one_line_error(sandq("get", sid, env=dead, check_rc=1), "get", "redis_error")


def test_batch_rate_limit_and_tty_progress_bar(worker, tmp_path, salt):
    import pty
    jobs = tmp_path / "rate.jsonl"
    with jobs.open("w") as f:
        for _ in range(10):  # raw kills of sandboxes that never existed: cheap for the worker
            f.write(json.dumps({"type": "sandbox.kill", "body": {}}) + "\n")
    out = tmp_path / "out.jsonl"
    master, slave = pty.openpty()
    t0 = time.monotonic()
    p = subprocess.run([CLI, "batch", "submit", str(jobs), "-o", str(out), "--rate", "5/s", "--salt", salt, "--json"],
                       stdout=subprocess.PIPE, stderr=slave, timeout=60)
    took = time.monotonic() - t0
    os.close(slave)
    tty = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        tty += chunk
    os.close(master)
    assert p.returncode == 0
    assert jout(p)["submitted"] == 10
    # 10 lines at 5/s with a burst of 1: the 10th starts 1.8 s after the first
    assert took >= 1.7, took
    # on a terminal: a live bar redrawn in place
    assert b"\r\x1b[K[" in tty and b"submitted |" in tty and b"ETA" in tty
    assert len(results(out)) == 10


def test_kill_interrupts_a_running_exec(sbx):
    # The report: `sandq exec SBX -- sleep 45`, then `sandq kill SBX --timeout 15s`.
    ex = subprocess.Popen([CLI, "exec", sbx, "--", "sleep", "45"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2)  # the sleep is running (a kill before it started would be just as good)
    t0 = time.monotonic()
    k = sandq("kill", sbx, "--timeout", "15s", "--json", check_rc=0, timeout=60)
    assert jout(k) == {"id": sbx, "state": "ended"}
    _, err = ex.communicate(timeout=30)
    assert time.monotonic() - t0 < 15
    assert ex.returncode not in (0, 124), err
    assert b"canceled" in err, err


def test_cancel_a_task_by_its_id(sbx, client, rds):
    """`sandq cancel SBX TASK_ID` for tasks another client started: a running
    one is stopped, a queued one never starts; ended and unknown tasks are
    refused with their protocol codes."""
    s = client.stream(sbx)
    ex = client.send(client.envelope("task.exec", sbx, {"command": "sleep", "args": ["45"]}))
    st = s.for_request(ex["requestId"], {"sandbox.task.started", "sandbox.task.failed", "request.rejected"}, timeout=30)
    assert st["type"] == "sandbox.task.started", st
    queued = client.send(client.envelope("task.exec", sbx, {"command": "touch", "args": ["/workspace/ran"]}))
    t0 = time.monotonic()
    p = sandq("cancel", sbx, queued["taskId"], "--json", check_rc=0, timeout=60)
    assert jout(p) == {"id": sbx, "taskId": queued["taskId"], "state": "canceled"}
    p = sandq("cancel", sbx, ex["taskId"], "--json", check_rc=0, timeout=60)
    assert jout(p) == {"id": sbx, "taskId": ex["taskId"], "state": "canceled"}
    assert time.monotonic() - t0 < 30  # the sleep 45 did not run to its end
    for req in (queued, ex):
        end = s.for_request(req["requestId"], {"sandbox.task.completed", "sandbox.task.failed"}, timeout=15)
        assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "canceled", end
        assert rds.hget(f"sandq:{{{sbx}}}:task:{req['taskId']}", "state") == "failed"
    assert [e["type"] for e in s.seen if e.get("requestId") == queued["requestId"]] == ["sandbox.task.failed"]
    # The sandbox carries on; the queued touch never ran.
    p = sandq("exec", sbx, "--", "sh", "-c", "test -e /workspace/ran || echo absent", check_rc=0)
    assert p.stdout == b"absent\n"
    # An ended task, a task the sandbox never had, a bad id.
    one_line_error(sandq("cancel", sbx, ex["taskId"], check_rc=1), "cancel", "invalid_state")
    one_line_error(sandq("cancel", sbx, new_id("tsk"), check_rc=1), "cancel", "not_found")
    p = sandq("cancel", sbx, "nope", check_rc=2)
    assert p.stderr.decode().startswith('sandq: cancel: "nope" is not a task id')
    sandq("cancel", sbx, check_rc=2)
    s.close()


def test_ctrl_c_on_exec_cancels_the_remote_command(sbx):
    ex = subprocess.Popen([CLI, "exec", sbx, "--", "sh", "-c", "sleep 45"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    time.sleep(2)
    ex.send_signal(signal.SIGINT)
    _, err = ex.communicate(timeout=30)
    assert ex.returncode == 130, err
    assert b"canceled" in err and b"not confirmed" not in err, err
    # The sandbox carries on.
    p = sandq("exec", sbx, "--", "echo", "after", check_rc=0)
    assert p.stdout == b"after\n"
