"""Recording (issue 15 item 2, docs/recording.md): a sandbox created with
`capabilities.recording.enabled` keeps an audit trail in PostgreSQL (`audit`,
one redacted row per event, in seq order) and each exec's output as an
asciicast v2 artifact that `asciinema cat` plays. Secrets (create-time and
task env values) never appear in either, nor in the tasks' summaries, even when
a command line carries one verbatim or a command prints one across two
chunks. Without the capability nothing is recorded."""
from __future__ import annotations

import json
import os
import pathlib
import shlex
import shutil
import subprocess
import tempfile

import pytest

from harness import BUILD, Worker, private_prefix
from sandq_client import Sandq, new_id
from schemas import event_errors

TERMINAL = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}
CLI = str(BUILD / "producer" / "sandq")
SECRET = "s3cr3t-tok-XYZ123"       # create-time env value
TASK_SECRET = "pw-abcdef-987654"    # task env value
CAST_MAX = 65536                    # SANDQ_RECORDING_MAX_BYTES for this file's worker


@pytest.fixture(scope="module")
def rec(stack_env):
    """One worker with a directory artifact store; yields (client, store dir, stack env)."""
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-rec-"))
    prefix = private_prefix(stack_env["brokers"], "rec")
    client = Sandq(stack_env["brokers"], prefix)
    w = Worker("w-rec", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, "SANDQ_UID_BASE": "3850000000",
                         "SANDQ_ARTIFACT_STORE": f"file://{store}",
                         "SANDQ_RECORDING_MAX_BYTES": str(CAST_MAX)}).start()
    yield client, store, stack_env
    assert w.stop() == 0, w.log_text()[-3000:]
    shutil.rmtree(store, ignore_errors=True)


def schema_errors(e: dict) -> list[str]:
    """schema/ on an event as published (EventStream already validates each
    one it reads; this says so in the test, without the stream's own _fields)."""
    return event_errors({k: v for k, v in e.items() if not k.startswith("_")})


def launch(client: Sandq, create: dict):
    sbx = new_id("sbx")
    stream = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, create, tenant="acme"))
    first = stream.wait_for(lambda e: e["type"] in ("sandbox.ready", "request.rejected", "sandbox.failed"),
                            timeout=60)
    return sbx, stream, first


def run(client: Sandq, stream, sbx: str, type_: str, body: dict):
    req = client.send(client.envelope(type_, sbx, body, tenant="acme"))
    done = stream.for_request(req["requestId"], TERMINAL, timeout=120)
    return req, done


def kill(client: Sandq, stream, sbx: str):
    req = client.send(client.envelope("sandbox.kill", sbx, tenant="acme"))
    stream.for_request(req["requestId"], {"sandbox.ended", "request.rejected"}, timeout=60)


def cast_of(store: pathlib.Path, sbx: str, done: dict) -> pathlib.Path:
    casts = [a for a in done["data"]["artifacts"] if a["path"] == f".sandq/recording/{done['taskId']}.cast"]
    assert len(casts) == 1, done
    a = casts[0]
    assert a["contentType"] == "application/x-asciicast"
    path = store / "acme" / sbx / a["artifactId"] / ".sandq" / "recording" / f"{done['taskId']}.cast"
    assert path.stat().st_size == a["sizeBytes"]
    return path


def asciinema_cat(path: pathlib.Path) -> str:
    """`asciinema cat FILE` (Debian's asciinema 2.2). It opens /dev/tty, so it
    runs under script(1)'s pseudo-terminal; -e passes its exit code on."""
    r = subprocess.run(["script", "-q", "-e", "-c", f"asciinema cat {shlex.quote(str(path))}", "/dev/null"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr)
    return r.stdout.decode().replace("\r\n", "\n")


def sandq_cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, timeout=60,
                          env={**os.environ, "SANDQ_TENANT": "acme", "SANDQ_DATABASE_URL": env["database_url"]})


def test_audit_trail_in_order_without_secrets(rec, pg):
    client, store, env = rec
    sbx, stream, ready = launch(client, {"env": {"API_TOKEN": SECRET, "SHORT": "ab"},
                                         "capabilities": {"recording": {"enabled": True}}})
    assert ready["type"] == "sandbox.ready", ready
    # The secret on the command line verbatim (as a caller that expanded it would send it).
    _, ex = run(client, stream, sbx, "task.exec",
                {"command": "sh", "args": ["-c", "mkdir -p d && cd d && echo ran; exit 3", SECRET, TASK_SECRET],
                 "env": {"DB_PASSWORD": TASK_SECRET}, "cwd": "/workspace"})
    assert ex["type"] == "sandbox.task.completed" and ex["data"]["exitCode"] == 3, ex
    _, wr = run(client, stream, sbx, "files.write", {"path": "notes.txt", "content": f"has {SECRET}"})
    assert wr["type"] == "sandbox.task.completed", wr
    _, rd = run(client, stream, sbx, "files.read", {"path": "notes.txt"})
    assert rd["type"] == "sandbox.task.completed", rd
    pause = client.send(client.envelope("sandbox.pause", sbx, tenant="acme"))
    stream.for_request(pause["requestId"], {"sandbox.paused", "request.rejected"}, timeout=60)
    resume = client.send(client.envelope("sandbox.resume", sbx, tenant="acme"))
    stream.for_request(resume["requestId"], {"sandbox.resumed", "request.rejected"}, timeout=60)
    kill(client, stream, sbx)

    events = [e for e in stream.seen if e.get("sandboxId") == sbx]
    for e in events:
        assert schema_errors(e) == [], (e["type"], schema_errors(e))
    rows = pg.execute("SELECT seq, category, event_type, request_type, task_id, detail::text FROM audit "
                      "WHERE sandbox_id = %s ORDER BY seq", (sbx,)).fetchall()
    # Complete and in order: one row per event of the sandbox but its output chunks, same seq.
    want = [(e["seq"], e["type"]) for e in sorted(events, key=lambda e: e["seq"])
            if e["type"] != "sandbox.task.output"]
    assert [(r[0], r[2]) for r in rows] == want
    cats = [r[1] for r in rows]
    assert cats[0] == "state" and rows[0][2] == "sandbox.created"
    assert "command" in cats and "file" in cats and "request" in cats and cats[-1] == "state"
    assert rows[-1][2] == "sandbox.ended"
    states = [r[2] for r in rows if r[1] == "state"]
    assert states.index("sandbox.paused") < states.index("sandbox.resumed") < states.index("sandbox.ended")
    for r in rows:
        assert SECRET not in r[5] and TASK_SECRET not in r[5], r
    cmd = [json.loads(r[5]) for r in rows if r[1] == "command" and r[2] == "sandbox.task.completed"]
    assert len(cmd) == 1
    assert cmd[0]["argv"] == ["sh", "-c", "mkdir -p d && cd d && echo ran; exit 3", "[redacted]", "[redacted]"]
    assert cmd[0]["cwd"] == "/workspace" and cmd[0]["exitCode"] == 3 and cmd[0]["durationMs"] >= 0
    files = [json.loads(r[5]) for r in rows if r[1] == "file" and r[2] == "sandbox.task.completed"]
    assert [(f["op"], f["path"]) for f in files] == [("files.write", "notes.txt"), ("files.read", "notes.txt")]
    # A request row keeps the parameters, never env or file content.
    reqs = [json.loads(r[5]) for r in rows if r[1] == "request"]
    assert all("env" not in q["request"] and "content" not in q["request"] for q in reqs), reqs
    # tasks.summary (all sandboxes, recording or not) has the secret redacted too.
    summaries = pg.execute("SELECT summary::text FROM tasks WHERE sandbox_id = %s", (sbx,)).fetchall()
    assert summaries and all(SECRET not in s[0] and TASK_SECRET not in s[0] for s in summaries)

    # `sandq audit` prints the same trail, from PostgreSQL.
    cli = sandq_cli(env, "audit", sbx, "--json")
    assert cli.returncode == 0, cli.stderr
    printed = json.loads(cli.stdout)
    assert [(p["seq"], p["eventType"]) for p in printed] == want
    text = sandq_cli(env, "audit", sbx)
    assert text.returncode == 0, text.stderr
    out = text.stdout.decode()
    assert "$ sh -c mkdir -p d && cd d && echo ran; exit 3 [redacted] [redacted]  (cwd /workspace, exit 3," in out
    assert "files.write notes.txt" in out and SECRET not in out and TASK_SECRET not in out
    assert len(out.splitlines()) == len(want)


def test_asciicast_plays_with_the_output_redacted(rec, pg):
    client, store, env = rec
    sbx, stream, ready = launch(client, {"env": {"API_TOKEN": SECRET},
                                         "capabilities": {"recording": {"enabled": True}}})
    assert ready["type"] == "sandbox.ready", ready
    # stdout and stderr, a UTF-8 character, and the secret printed in two writes
    # far enough apart to arrive as two chunks.
    script = ("echo hello-from-exec; echo to-stderr >&2; printf 'caf\\303\\251\\n'; "
              "printf 's3cr3t-'; sleep 0.5; printf 'tok-XYZ123 end\\n'; echo \"$DB_PASSWORD\"")
    req, done = run(client, stream, sbx, "task.exec",
                    {"command": "sh", "args": ["-c", script], "env": {"DB_PASSWORD": TASK_SECRET}})
    assert done["type"] == "sandbox.task.completed" and done["data"]["exitCode"] == 0, done
    mine = [e for e in stream.seen if e.get("requestId") == req["requestId"]]
    for e in mine:
        assert schema_errors(e) == [], (e["type"], schema_errors(e))
    assert [e["type"] for e in mine].count("sandbox.artifacts.updated") == 1
    path = cast_of(store, sbx, done)
    raw = path.read_text()
    lines = raw.splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2 and header["width"] > 0 and header["height"] > 0 and header["timestamp"] > 0
    assert header["title"] == req["taskId"] and header["command"].startswith("sh -c echo hello-from-exec")
    frames = [json.loads(x) for x in lines[1:]]
    assert frames and all(f[1] == "o" and isinstance(f[0], float) for f in frames)
    assert [f[0] for f in frames] == sorted(f[0] for f in frames)
    played = asciinema_cat(path)
    for want in ("hello-from-exec", "to-stderr", "café", "[redacted] end", "[redacted]"):
        assert want in played, played
    assert SECRET not in raw and TASK_SECRET not in raw
    assert "s3cr3t-" not in "".join(f[2] for f in frames)  # the secret's first half, held back, was redacted whole
    # The audit trail lists the recording among the task's artifacts.
    arts = pg.execute("SELECT detail::text FROM audit WHERE sandbox_id = %s AND category = 'artifacts'",
                      (sbx,)).fetchall()
    assert len(arts) == 1 and f"{req['taskId']}.cast" in arts[0][0]
    assert '"url"' not in arts[0][0]  # download URLs are credentials until they expire
    # task.code is recorded the same way.
    _, code = run(client, stream, sbx, "task.code", {"language": "python", "code": "print('from python')"})
    assert code["type"] == "sandbox.task.completed", code
    assert "from python" in asciinema_cat(cast_of(store, sbx, code))
    kill(client, stream, sbx)


def test_asciicast_is_bounded(rec):
    client, store, _ = rec
    sbx, stream, ready = launch(client, {"capabilities": {"recording": {"enabled": True}}})
    assert ready["type"] == "sandbox.ready", ready
    _, done = run(client, stream, sbx, "task.exec", {"command": "sh", "args": ["-c", "seq 1 100000"]})
    assert done["type"] == "sandbox.task.completed" and done["data"]["exitCode"] == 0, done
    path = cast_of(store, sbx, done)
    assert path.stat().st_size <= CAST_MAX
    played = asciinema_cat(path)
    assert played.startswith("1\n2\n3\n"), played[:40]
    assert "recording truncated at SANDQ_RECORDING_MAX_BYTES" in played
    assert "100000\n" not in played
    kill(client, stream, sbx)


def test_recording_off_records_nothing(rec, pg):
    client, store, env = rec
    sbx, stream, ready = launch(client, {"env": {"API_TOKEN": SECRET}})
    assert ready["type"] == "sandbox.ready", ready
    _, done = run(client, stream, sbx, "task.exec", {"command": "echo", "args": ["plain"]})
    assert done["type"] == "sandbox.task.completed" and done["data"]["artifacts"] == [], done
    kill(client, stream, sbx)
    for e in stream.seen:
        assert schema_errors(e) == [], (e["type"], schema_errors(e))
    assert pg.execute("SELECT count(*) FROM audit WHERE sandbox_id = %s", (sbx,)).fetchone() == (0,)
    assert pg.execute("SELECT count(*) FROM artifacts WHERE sandbox_id = %s", (sbx,)).fetchone() == (0,)
    assert not (store / "acme" / sbx).exists()
    cli = sandq_cli(env, "audit", sbx)
    assert cli.returncode == 0 and cli.stdout == b"", cli
    assert b"not created with capabilities.recording.enabled" in cli.stderr


def test_browser_video_needs_the_browser(rec):
    """recording.browser without capabilities.browser has nothing to record
    (the video itself: test_recording_browser.py)."""
    client, _, _ = rec
    sbx, stream, first = launch(client, {"capabilities": {"recording": {"enabled": True, "browser": True}}})
    assert first["type"] == "request.rejected", first
    assert first["data"]["code"] == "invalid_request"
    assert first["data"]["field"] == "body.capabilities.recording.browser"
    assert schema_errors(first) == []


PAGE = """<!doctype html><html><head><title>form</title></head><body>
<input id="name"><button id="btn" onclick="document.title = 'clicked'">go</button></body></html>"""


@pytest.mark.skipif(not pathlib.Path("/usr/lib/chromium/chromium-headless-shell").exists(),
                    reason="the browser is not installed (scripts/setup installs it)")
def test_browser_actions_are_in_the_trail(rec, pg):
    client, _, env = rec
    sbx, stream, ready = launch(client, {"env": {"SITE_PASSWORD": SECRET},
                                         "capabilities": {"recording": {"enabled": True},
                                                          "browser": {"viewport": {"width": 800, "height": 600}}},
                                         "limits": {"memoryMb": 1024}})
    assert ready["type"] == "sandbox.ready" and ready["data"]["capabilities"]["browser"], ready
    _, wr = run(client, stream, sbx, "files.write", {"path": "form.html", "content": PAGE})
    assert wr["type"] == "sandbox.task.completed", wr
    actions = [{"op": "goto", "url": "file:///workspace/form.html"},
               {"op": "type", "selector": "#name", "text": f"user {SECRET}"},
               {"op": "click", "selector": "#btn"}]
    req, done = run(client, stream, sbx, "task.browser", {"actions": actions})
    assert done["type"] == "sandbox.task.completed", done
    kill(client, stream, sbx)
    rows = pg.execute("SELECT event_type, detail::text FROM audit WHERE sandbox_id = %s AND category = 'browser' "
                      "AND task_id = %s ORDER BY seq", (sbx, req["taskId"])).fetchall()
    steps = [json.loads(d) for t, d in rows if t == "sandbox.task.progress"]
    assert [s["action"] for s in steps] == [actions[0], {**actions[1], "text": "user [redacted]"}, actions[2]]
    assert rows[-1][0] == "sandbox.task.completed" and json.loads(rows[-1][1])["actions"] == 3
    assert all(SECRET not in d for _, d in rows)
    # A browser task has no terminal recording.
    assert not [a for a in done["data"]["artifacts"] if a["path"].endswith(".cast")]
