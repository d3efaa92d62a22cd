"""Launch → exec → files → kill through real Kafka, a real worker, real sandboxes:
the events (types, order, seq, schema), the PostgreSQL rows and the Redis state."""
from __future__ import annotations

import base64
import hashlib
import json
import os

from harness import pg_eventually
from sandq_client import new_id, partition_for


def types_of(events, request_id):
    return [e["type"] for e in events if e.get("requestId") == request_id]


def test_launch_exec_files_kill(client, worker, rds, pg):
    sbx = new_id("sbx")
    s = client.stream(sbx)
    create = client.send(client.envelope("sandbox.create", sbx, {"env": {"GREETING": "hello"}},
                                         tenant="acme", metadata={"jobId": "42"}))
    ready = s.wait_type("sandbox.ready", timeout=60)
    assert types_of(s.seen, create["requestId"]) == ["sandbox.created", "sandbox.assigned", "sandbox.ready"]
    assert [e["data"]["state"] for e in s.seen] == ["queued", "assigning", "ready"]
    assert [e["data"]["previous"] for e in s.seen] == [None, "queued", "assigning"]
    assert s.seen[1]["data"]["workerId"] == worker.worker_id
    assert ready["data"]["capabilities"]["exec"] is True
    assert all(e["tenant"] == "acme" and e["metadata"] == {"jobId": "42"} for e in s.seen)
    # The event's partition is the murmur2 partition of the sandbox id (Java-compatible).
    assert {e["_partition"] for e in s.seen} == {s.partitions[0]}

    h = rds.hgetall(f"sandq:{{{sbx}}}:sandbox")
    assert h["state"] == "ready" and h["tenant"] == "acme" and h["workerId"] == worker.worker_id
    want = ("ready", "acme", worker.worker_id, True)
    assert pg_eventually(pg, "SELECT state, tenant, worker_id, ready_at IS NOT NULL FROM sandboxes WHERE id = %s",
                         (sbx,), want) == want

    # exec: the sandbox env reaches the command; output streams as task.output.
    ex = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", "echo $GREETING; echo err >&2"]},
                                     tenant="acme"))
    done = s.for_request(ex["requestId"], {"sandbox.task.completed", "sandbox.task.failed"})
    s.wait_type("sandbox.ready", requestId=ex["requestId"])
    assert types_of(s.seen, ex["requestId"]) == [
        "sandbox.task.queued", "sandbox.active", "sandbox.task.started",
        *[t for t in types_of(s.seen, ex["requestId"]) if t == "sandbox.task.output"],
        "sandbox.task.completed", "sandbox.ready"]
    out = [e for e in s.seen if e["type"] == "sandbox.task.output" and e["requestId"] == ex["requestId"]]
    assert "".join(e["data"]["data"] for e in out if e["data"]["stream"] == "stdout") == "hello\n"
    assert "".join(e["data"]["data"] for e in out if e["data"]["stream"] == "stderr") == "err\n"
    assert done["data"]["exitCode"] == 0 and done["data"]["kind"] == "exec"
    assert done["taskId"] == ex["taskId"]
    assert rds.hget(f"sandq:{{{sbx}}}:task:{ex['taskId']}", "state") == "completed"
    assert pg_eventually(pg, "SELECT state, exit_code, kind FROM tasks WHERE id = %s",
                         (ex["taskId"],), ("completed", 0, "exec")) == ("completed", 0, "exec")

    # files: write, read back, list, remove.
    payload = os.urandom(100_000)
    wr = client.send(client.envelope("files.write", sbx, {"path": "dir/data.bin",
                                                          "contentB64": base64.b64encode(payload).decode()},
                                     tenant="acme"))
    wdone = s.for_request(wr["requestId"], {"sandbox.task.completed", "sandbox.task.failed"})
    assert wdone["type"] == "sandbox.task.completed", wdone
    assert wdone["data"]["result"]["sha256"] == hashlib.sha256(payload).hexdigest()
    assert wdone["data"]["result"]["sizeBytes"] == len(payload)
    # The file is on disk in the worker's workspace directory, owned by the sandbox's host uid.
    host_file = worker.dir / "workspaces" / sbx / "dir" / "data.bin"
    assert host_file.read_bytes() == payload
    assert host_file.stat().st_uid == int(os.stat(worker.dir / "workspaces" / sbx).st_uid) != 0

    # ...and the sandbox sees it at /workspace.
    chk = client.send(client.envelope("task.exec", sbx, {"command": "sha256sum", "args": ["/workspace/dir/data.bin"]},
                                      tenant="acme"))
    s.for_request(chk["requestId"], {"sandbox.task.completed"})
    seen = "".join(e["data"].get("data", "") for e in s.seen
                   if e["type"] == "sandbox.task.output" and e["requestId"] == chk["requestId"])
    assert seen.split()[0] == hashlib.sha256(payload).hexdigest()

    rd = client.send(client.envelope("files.read", sbx, {"path": "/workspace/dir/data.bin"}, tenant="acme"))
    rdone = s.for_request(rd["requestId"], {"sandbox.task.completed", "sandbox.task.failed"})
    chunks = [e for e in s.seen if e["type"] == "sandbox.task.output" and e["requestId"] == rd["requestId"]]
    got = b"".join(base64.b64decode(e["data"]["dataB64"]) for e in chunks)
    assert got == payload and [e["data"]["offset"] for e in chunks][0] == 0
    assert rdone["data"]["result"]["sha256"] == hashlib.sha256(payload).hexdigest()

    ls = client.send(client.envelope("files.list", sbx, {"path": "/workspace", "recursive": True}, tenant="acme"))
    ldone = s.for_request(ls["requestId"], {"sandbox.task.completed"})
    entries = {e["path"]: e for e in ldone["data"]["result"]["entries"]}
    assert entries["dir"]["type"] == "dir" and entries["dir/data.bin"]["sizeBytes"] == len(payload)

    rm = client.send(client.envelope("files.remove", sbx, {"path": "dir", "recursive": True}, tenant="acme"))
    assert s.for_request(rm["requestId"], {"sandbox.task.completed", "sandbox.task.failed"})["type"] == \
        "sandbox.task.completed"
    assert not host_file.exists()

    # kill: ending → ended; the workspace is gone from disk; Redis and PostgreSQL agree.
    kill = client.send(client.envelope("sandbox.kill", sbx, tenant="acme"))
    s.wait_type("sandbox.ended", requestId=kill["requestId"])
    assert types_of(s.seen, kill["requestId"]) == ["sandbox.ending", "sandbox.ended"]
    assert not (worker.dir / "workspaces" / sbx).exists()
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "ended"
    assert rds.ttl(f"sandq:{{{sbx}}}:sandbox") > 0
    assert pg_eventually(pg, "SELECT state, ended_at IS NOT NULL FROM sandboxes WHERE id = %s", (sbx,),
                         ("ended", True)) == ("ended", True)

    # seq: 1..N without gaps, in the order consumed; the audit log holds exactly these events.
    assert [e["seq"] for e in s.seen] == list(range(1, len(s.seen) + 1))
    want = [(e["eventId"], e["seq"], e["type"]) for e in s.seen]
    assert pg_eventually(pg, "SELECT event_id, seq, type FROM events WHERE sandbox_id = %s ORDER BY seq", (sbx,),
                         want, many=True) == want
    s.close()


def test_failing_command_exit_code_and_output(client, launched):
    sbx, s = launched
    ex = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", "echo oops >&2; exit 3"]}))
    done = s.for_request(ex["requestId"], {"sandbox.task.completed", "sandbox.task.failed"})
    assert done["type"] == "sandbox.task.completed" and done["data"]["exitCode"] == 3
    err = [e["data"]["data"] for e in s.seen if e["type"] == "sandbox.task.output" and e["requestId"] == ex["requestId"]]
    assert "".join(err) == "oops\n"

    missing = client.send(client.envelope("task.exec", sbx, {"command": "no-such-command-xyz"}))
    done = s.for_request(missing["requestId"], {"sandbox.task.completed", "sandbox.task.failed"})
    assert done["data"]["exitCode"] == 127


def test_exec_stdin_cwd_and_timeout(client, launched):
    sbx, s = launched
    ex = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", "pwd; cat"],
                                                        "cwd": "/tmp", "stdin": "from stdin"}))
    s.for_request(ex["requestId"], {"sandbox.task.completed"})
    out = "".join(e["data"]["data"] for e in s.seen if e["type"] == "sandbox.task.output"
                  and e["requestId"] == ex["requestId"])
    assert out == "/tmp\nfrom stdin"

    slow = client.send(client.envelope("task.exec", sbx, {"command": "sleep", "args": ["30"], "timeoutMs": 500}))
    failed = s.for_request(slow["requestId"], {"sandbox.task.completed", "sandbox.task.failed"})
    assert failed["type"] == "sandbox.task.failed" and failed["data"]["code"] == "timed_out"
    s.wait_type("sandbox.ready", requestId=slow["requestId"])


def test_run_code_python(client, launched):
    sbx, s = launched
    code = client.send(client.envelope("task.code", sbx, {"code": "print(sum(range(10)))",
                                                          "language": "python"}))
    done = s.for_request(code["requestId"], {"sandbox.task.completed", "sandbox.task.failed"})
    assert done["type"] == "sandbox.task.completed", done
    out = "".join(e["data"]["data"] for e in s.seen if e["type"] == "sandbox.task.output"
                  and e["requestId"] == code["requestId"])
    assert out == "45\n"


def test_reply_to_topic_gets_every_event(client, worker):
    sbx = new_id("sbx")
    reply = f"it.results.{sbx.lower()}"
    main = client.stream(sbx)
    create = client.send(client.envelope("sandbox.create", sbx, {}, replyTo=reply))
    main.wait_type("sandbox.ready", timeout=60)
    kill = client.send(client.envelope("sandbox.kill", sbx))
    main.wait_type("sandbox.ended", requestId=kill["requestId"])
    # The reply topic is auto-created by the first event; read it from the start.
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": client.brokers, "group.id": new_id("grp"), "auto.offset.reset": "earliest"})
    c.subscribe([reply])
    got = []
    import time
    deadline = time.monotonic() + 30
    while len(got) < len(main.seen) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(json.loads(m.value()))
    c.close()
    assert [e["eventId"] for e in got] == [e["eventId"] for e in main.seen]
    assert create["requestId"] == got[0]["requestId"]


def test_duplicate_request_has_one_effect(client, worker, pg):
    sbx = new_id("sbx")
    s = client.stream(sbx)
    create = client.envelope("sandbox.create", sbx, {})
    client.send(create)
    client.send(create)  # the same requestId again: acknowledged, no second effect
    s.wait_type("sandbox.ready", timeout=60)
    ex = client.envelope("task.exec", sbx, {"command": "true"})
    client.send(ex)
    client.send(ex)
    s.for_request(ex["requestId"], {"sandbox.task.completed"})
    kill = client.send(client.envelope("sandbox.kill", sbx))
    s.wait_type("sandbox.ended", requestId=kill["requestId"])
    assert [e["type"] for e in s.seen].count("sandbox.created") == 1
    assert [e["type"] for e in s.seen].count("sandbox.task.completed") == 1
    assert pg_eventually(pg, "SELECT count(*) FROM tasks WHERE id = %s", (ex["taskId"],), (1,)) == (1,)
    assert [e["seq"] for e in s.seen] == list(range(1, len(s.seen) + 1))


def test_secrets_in_env_stay_out_of_logs_events_and_postgres(client, worker, pg):
    secret = "s3cr3t-" + new_id("req")[4:]
    sbx = new_id("sbx")
    s = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, {"env": {"API_TOKEN": secret}}))
    s.wait_type("sandbox.ready", timeout=60)
    ex = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", "test -n \"$API_TOKEN\""],
                                                        "env": {"OTHER_SECRET": secret + "x"}}))
    done = s.for_request(ex["requestId"], {"sandbox.task.completed"})
    assert done["data"]["exitCode"] == 0  # the command did see it
    kill = client.send(client.envelope("sandbox.kill", sbx))
    s.wait_type("sandbox.ended", requestId=kill["requestId"])
    assert secret not in json.dumps(s.seen)
    assert secret not in worker.log_text()
    # Let the history writer land every row of this sandbox before searching them.
    assert pg_eventually(pg, "SELECT count(*) FROM events WHERE sandbox_id = %s", (sbx,), (len(s.seen),)) == \
        (len(s.seen),)
    for table in ("sandboxes", "tasks", "events", "requests"):
        (n,) = pg.execute(f"SELECT count(*) FROM {table} t WHERE t::text LIKE %s", (f"%{secret}%",)).fetchone()
        assert n == 0, f"secret found in {table}"
