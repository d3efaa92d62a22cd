"""The browser capability (issue 11) against the real stack: a Chromium
headless shell inside the sandbox, driven over its DevTools pipe. Pages are
written into the workspace and opened as file:// URLs, or served by a tiny
HTTP server started inside the sandbox (cookies need an http origin; the
sandbox's own loopback needs no network). Few browsers at once: the machine
has two shared cores."""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import signal
import struct
import subprocess
import time

import pytest

from harness import pg_eventually
from sandbox_host import TASK_END, create, kill, leftovers, procs_of, run, wait_until, workspace_file
from sandq_client import new_id

VIEWPORT = {"width": 800, "height": 600}
BROWSER = {"capabilities": {"browser": {"viewport": VIEWPORT}}, "limits": {"memoryMb": 1024}}

PAGE = """<!doctype html><html><head><title>sandq test page</title></head><body>
<h1 id="title">Hello from the sandbox browser</h1>
<button id="btn" onclick="document.getElementById('out').textContent = 'clicked ' + (++window.n)">Go</button>
<div id="out">not yet</div>
<input id="name" onkeydown="if (event.key === 'Enter') document.getElementById('out').textContent = 'entered ' + this.value">
<script>window.n = 0; setTimeout(() => { const d = document.createElement('p'); d.id = 'late';
document.body.appendChild(d); }, 600);</script>
</body></html>"""


def browse(client, s, sbx, actions, timeout_ms=None, wait=90):
    body = {"actions": actions}
    if timeout_ms:
        body["timeoutMs"] = timeout_ms
    req = client.send(client.envelope("task.browser", sbx, body))
    end = s.for_request(req["requestId"], TASK_END | {"request.rejected"}, timeout=wait)
    progress = [e["data"] for e in s.seen if e["type"] == "sandbox.task.progress" and e["requestId"] == req["requestId"]]
    return end, progress, req


def write_page(worker, sbx, name, html):
    p = workspace_file(worker, sbx, name)
    p.write_text(html)
    os.chmod(p, 0o644)
    return f"file:///workspace/{name}"


@pytest.fixture(scope="module")
def bsbx(client, worker):
    sbx, s, ready = create(client, BROWSER, timeout=120)
    yield sbx, s, ready
    kill(client, s, sbx)


def test_create_reports_the_browser_ready(bsbx):
    sbx, s, ready = bsbx
    types = [e["type"] for e in s.seen]
    assert "sandbox.browser.ready" in types
    br = next(e for e in s.seen if e["type"] == "sandbox.browser.ready")
    # sandbox.ready waits for the browser.
    assert types.index("sandbox.browser.ready") < types.index("sandbox.ready")
    assert br["data"]["viewport"] == VIEWPORT
    assert br["data"]["version"].startswith("HeadlessChrome/")
    assert br["data"]["startupMs"] > 0 and br["data"]["persistentProfile"] is True
    assert ready["data"]["capabilities"]["browser"] is True


def test_navigate_click_type_press(bsbx, client, worker):
    sbx, s, _ = bsbx
    url = write_page(worker, sbx, "page.html", PAGE)
    end, progress, _ = browse(client, s, sbx, [
        {"op": "goto", "url": url},
        {"op": "evaluate", "expression": "document.title"},
        {"op": "click", "selector": "#btn"},
        {"op": "click", "selector": "#btn"},
        {"op": "evaluate", "expression": "document.getElementById('out').textContent"},
        {"op": "type", "selector": "#name", "text": "héllo world"},
        {"op": "evaluate", "expression": "document.getElementById('name').value"},
        {"op": "press", "key": "Enter"},
        {"op": "content"},
    ])
    assert end["type"] == "sandbox.task.completed", end["data"]
    assert [p["index"] for p in progress] == list(range(9))
    assert [p["op"] for p in progress][:3] == ["goto", "evaluate", "click"]
    res = end["data"]["result"]["actions"]
    assert res[0]["url"] == url
    assert res[1]["value"] == "sandq test page"
    assert res[4]["value"] == "clicked 2"  # each click ran the handler once
    assert res[6]["value"] == "héllo world"
    assert "entered héllo world" in res[8]["text"]
    assert '<h1 id="title">' in res[8]["html"]


def test_evaluate_value_promise_and_thrown_error(bsbx, client):
    sbx, s, _ = bsbx
    end, _, _ = browse(client, s, sbx, [
        {"op": "evaluate", "expression": "({a: [1, 2, 3], b: 'x'})"},
        {"op": "evaluate", "expression": "new Promise(r => setTimeout(() => r(6 * 7), 300))"},
    ])
    assert end["type"] == "sandbox.task.completed", end["data"]
    assert end["data"]["result"]["actions"][0]["value"] == {"a": [1, 2, 3], "b": "x"}
    assert end["data"]["result"]["actions"][1]["value"] == 42

    end, progress, _ = browse(client, s, sbx, [
        {"op": "evaluate", "expression": "1 + 1"},
        {"op": "evaluate", "expression": "(() => { throw new Error('boom from the page') })()"},
        {"op": "evaluate", "expression": "'never runs'"},
    ])
    assert end["type"] == "sandbox.task.failed", end
    d = end["data"]
    assert d["kind"] == "browser" and d["actionIndex"] == 1 and d["op"] == "evaluate"
    assert d["reason"] == "evaluate_threw" and "boom from the page" in d["message"]
    assert "action 1" in d["message"]
    assert [p["index"] for p in progress] == [0, 1]  # the third never started

    end, _, _ = browse(client, s, sbx, [{"op": "evaluate", "expression": "Promise.reject(new Error('rejected!'))"}])
    assert end["type"] == "sandbox.task.failed" and "rejected!" in end["data"]["message"], end


def test_wait_for_and_its_timeout(bsbx, client, worker):
    sbx, s, _ = bsbx
    url = write_page(worker, sbx, "page.html", PAGE)
    end, _, _ = browse(client, s, sbx, [
        {"op": "goto", "url": url},
        {"op": "evaluate", "expression": "!!document.getElementById('late')"},
        {"op": "waitFor", "selector": "#late", "timeoutMs": 10000},
    ])
    assert end["type"] == "sandbox.task.completed", end["data"]
    assert end["data"]["result"]["actions"][1]["value"] is False  # added 600 ms after load

    t0 = time.monotonic()
    end, _, _ = browse(client, s, sbx, [{"op": "waitFor", "selector": "#never", "timeoutMs": 800}])
    assert end["type"] == "sandbox.task.failed", end
    assert end["data"]["code"] == "timed_out" and end["data"]["reason"] == "wait_timeout"
    assert end["data"]["actionIndex"] == 0 and "#never" in end["data"]["message"]
    assert time.monotonic() - t0 < 30

    end, _, _ = browse(client, s, sbx, [{"op": "click", "selector": "#missing"}])
    assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "not_found", end
    assert end["data"]["reason"] == "selector_not_found"

    end, _, _ = browse(client, s, sbx, [{"op": "goto", "url": "file:///workspace/no-such-page.html"}])
    assert end["type"] == "sandbox.task.failed" and end["data"]["reason"] == "navigation_failed", end


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_screenshot_pdf_and_set_viewport(bsbx, client, worker):
    sbx, s, _ = bsbx
    url = write_page(worker, sbx, "page.html", PAGE)
    end, _, req = browse(client, s, sbx, [
        {"op": "goto", "url": url},
        {"op": "screenshot", "path": "shots/page.png"},
        {"op": "pdf", "path": "/workspace/page.pdf"},
        {"op": "setViewport", "width": 640, "height": 480},
        {"op": "screenshot"},
        {"op": "setViewport", "width": 800, "height": 600},
    ])
    assert end["type"] == "sandbox.task.completed", end["data"]
    res = end["data"]["result"]["actions"]
    assert res[1]["path"] == "/workspace/shots/page.png"
    shot = workspace_file(worker, sbx, "shots/page.png").read_bytes()
    assert res[1]["sizeBytes"] == len(shot)
    assert png_size(shot) == (800, 600)
    assert res[4]["path"].startswith("/workspace/screenshots/")
    assert png_size(workspace_file(worker, sbx, res[4]["path"][len("/workspace/"):]).read_bytes()) == (640, 480)
    pdf = workspace_file(worker, sbx, "page.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Hello from the sandbox browser" in text
    # Written as the sandbox's root, like the sandbox's own files.
    assert pdf.stat().st_uid == workspace_file(worker, sbx, ".").stat().st_uid

    # The screenshots and the PDF are artifacts too (issue 13): one
    # sandbox.artifacts.updated before the completion, each file's bytes hashed.
    mine = [e for e in s.seen if e.get("requestId") == req["requestId"]]
    types = [e["type"] for e in mine]
    assert types.count("sandbox.artifacts.updated") == 1, types
    assert types.index("sandbox.artifacts.updated") < types.index("sandbox.task.completed"), types
    arts = {a["path"]: a for a in end["data"]["artifacts"]}
    assert set(arts) == {"shots/page.png", "page.pdf", res[4]["path"][len("/workspace/"):]}, arts
    assert arts["shots/page.png"]["sha256"] == hashlib.sha256(shot).hexdigest()
    assert arts["shots/page.png"]["contentType"] == "image/png"
    assert arts["page.pdf"]["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert arts["page.pdf"]["contentType"] == "application/pdf"

    end, _, _ = browse(client, s, sbx, [{"op": "screenshot", "path": "../outside.png"}])
    assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "path_outside_workspace", end


SERVER = ("mkdir -p /workspace/site && cd /workspace/site && echo '<html><body>served</body></html>' > p.html && "
          "(python3 -m http.server 8765 --bind 127.0.0.1 >/dev/null 2>&1 &) && "
          "for i in $(seq 50); do python3 -c 'import urllib.request as u; u.urlopen(\"http://127.0.0.1:8765/p.html\")' "
          "2>/dev/null && exit 0; sleep 0.2; done; exit 1")
READ_STATE = "[document.cookie, localStorage.getItem('k')]"


def test_cookies_and_local_storage_survive_tasks_and_pause(bsbx, client):
    sbx, s, _ = bsbx
    end, _, _ = run(client, s, sbx, SERVER)
    assert end["type"] == "sandbox.task.completed" and end["data"]["exitCode"] == 0, end
    site = "http://127.0.0.1:8765/p.html"
    end, _, _ = browse(client, s, sbx, [
        {"op": "goto", "url": site},
        {"op": "evaluate", "expression": "document.cookie = 'k=v1; max-age=3600'; localStorage.setItem('k', 'v2'); 1"},
    ])
    assert end["type"] == "sandbox.task.completed", end["data"]

    end, _, _ = browse(client, s, sbx, [{"op": "goto", "url": "about:blank"}, {"op": "goto", "url": site},
                                        {"op": "evaluate", "expression": READ_STATE}])
    assert end["type"] == "sandbox.task.completed", end["data"]
    assert end["data"]["result"]["actions"][2]["value"] == ["k=v1", "v2"]

    pause = client.send(client.envelope("sandbox.pause", sbx))
    s.for_request(pause["requestId"], {"sandbox.paused"}, timeout=60)
    resume = client.send(client.envelope("sandbox.resume", sbx))
    s.for_request(resume["requestId"], {"sandbox.resumed"}, timeout=60)
    end, _, _ = browse(client, s, sbx, [{"op": "goto", "url": site}, {"op": "evaluate", "expression": READ_STATE}])
    assert end["type"] == "sandbox.task.completed", end["data"]
    assert end["data"]["result"]["actions"][1]["value"] == ["k=v1", "v2"]


def browser_pid(sbx) -> int | None:
    """The host pid of the sandbox's main browser process (not a renderer)."""
    for pid in procs_of(sbx):
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"chromium-headless-shell") and b"--remote-debugging-pipe" in argv:
            return pid
    return None


def test_browser_killed_mid_task_fails_clearly_and_the_next_task_restarts_it(bsbx, client, worker):
    sbx, s, _ = bsbx
    old = browser_pid(sbx)
    assert old
    req = client.send(client.envelope("task.browser", sbx, {"actions": [
        {"op": "evaluate", "expression": "1"},
        {"op": "evaluate", "expression": "new Promise(r => setTimeout(r, 20000))"},
    ]}))
    s.wait_for(lambda e: e["type"] == "sandbox.task.progress" and e["requestId"] == req["requestId"]
               and e["data"]["index"] == 1, 60)
    time.sleep(0.3)
    os.kill(old, signal.SIGKILL)
    end = s.for_request(req["requestId"], TASK_END, timeout=30)
    assert end["type"] == "sandbox.task.failed", end
    assert end["data"]["reason"] == "browser_exited" and end["data"]["actionIndex"] == 1, end
    failed = s.wait_for(lambda e: e["type"] == "sandbox.browser.failed" and e["requestId"] == req["requestId"], 10)
    assert failed["data"]["reason"] == "exited"

    end, _, req2 = browse(client, s, sbx, [{"op": "goto", "url": "about:blank"},
                                           {"op": "evaluate", "expression": "6 * 7"}], wait=120)
    assert end["type"] == "sandbox.task.completed", end["data"]
    assert end["data"]["result"]["actions"][1]["value"] == 42
    assert any(e["type"] == "sandbox.browser.ready" and e["requestId"] == req2["requestId"] for e in s.seen)
    new = browser_pid(sbx)
    assert new and new != old

    # Killed while idle: the next task notices, reports it and starts another,
    # on the same profile even though a stale lock naming another host is there.
    os.kill(new, signal.SIGKILL)
    assert wait_until(lambda: browser_pid(sbx) is None, 10)
    lock = workspace_file(worker, sbx, ".browser/SingletonLock")
    if os.path.lexists(lock):
        os.unlink(lock)
    os.symlink("otherhost-4242", lock)
    end, _, req3 = browse(client, s, sbx, [{"op": "evaluate", "expression": "'again'"}], wait=120)
    assert end["type"] == "sandbox.task.completed", end["data"]
    assert end["data"]["result"]["actions"][0]["value"] == "again"
    mine = [e["type"] for e in s.seen if e["requestId"] == req3["requestId"]]
    assert mine.index("sandbox.browser.failed") < mine.index("sandbox.browser.ready") < mine.index(
        "sandbox.task.completed"), mine
    assert os.readlink(lock) != "otherhost-4242" if os.path.lexists(lock) else True


def test_profile_not_persistent_stays_out_of_the_workspace(client, worker):
    sbx, s, _ = create(client, {"capabilities": {"browser": {"persistentProfile": False}}}, timeout=120)
    try:
        br = next(e for e in s.seen if e["type"] == "sandbox.browser.ready")
        assert br["data"]["persistentProfile"] is False
        assert br["data"]["viewport"] == {"width": 1280, "height": 720}  # the default
        end, _, _ = browse(client, s, sbx, [{"op": "goto", "url": "about:blank"},
                                            {"op": "evaluate", "expression": "innerWidth + 'x' + innerHeight"}])
        assert end["type"] == "sandbox.task.completed", end["data"]
        assert end["data"]["result"]["actions"][1]["value"] == "1280x720"
        assert not workspace_file(worker, sbx, ".browser/Default").exists()
        end, out, _ = run(client, s, sbx, "test -d /tmp/.browser-profile/Default && echo in-tmp")
        assert out.strip() == "in-tmp", (end, out)
    finally:
        kill(client, s, sbx)


def test_five_browser_sandboxes_at_once_each_with_its_own_state(client, worker):
    """Created together and driven together; each browser is its own: a value one
    page stores is not in another's storage. Five, as issue 11 asks, at the
    browser's memory floor (512 MiB each)."""
    ids, streams = [new_id("sbx") for _ in range(5)], {}
    for sbx in ids:
        streams[sbx] = client.stream(sbx)
        client.send(client.envelope("sandbox.create", sbx, {**BROWSER, "limits": {"memoryMb": 512}}))
    try:
        for sbx in ids:
            ready = streams[sbx].wait_for(lambda e: e["type"] in {"sandbox.ready", "sandbox.failed",
                                                                  "request.rejected"}, 180)
            assert ready["type"] == "sandbox.ready" and ready["data"]["capabilities"]["browser"] is True, ready
        reqs = {}
        for i, sbx in enumerate(ids):
            url = write_page(worker, sbx, "same.html", "<html><body>the same page in each</body></html>")
            reqs[sbx] = client.send(client.envelope("task.browser", sbx, {"actions": [
                {"op": "goto", "url": url},
                {"op": "evaluate", "expression": f"localStorage.getItem('who') + '|' + "
                                                 f"(localStorage.setItem('who', 'sandbox {i}'), 'set')"}]}))
        for i, sbx in enumerate(ids):
            end = streams[sbx].for_request(reqs[sbx]["requestId"], TASK_END, timeout=120)
            assert end["type"] == "sandbox.task.completed", end["data"]
            # Nothing another sandbox's browser stored is here.
            assert end["data"]["result"]["actions"][1]["value"] == "null|set"
        for i, sbx in enumerate(ids):
            end, _, _ = browse(client, streams[sbx], sbx, [{"op": "evaluate", "expression": "localStorage.getItem('who')"}])
            assert end["type"] == "sandbox.task.completed", end["data"]
            assert end["data"]["result"]["actions"][0]["value"] == f"sandbox {i}"
    finally:
        for sbx in ids:
            kill(client, streams[sbx], sbx)
        for sbx in ids:
            assert wait_until(lambda: leftovers(worker, sbx) == {}, 15), leftovers(worker, sbx)


def test_browser_task_without_the_capability_is_rejected(client, worker):
    sbx, s, _ = create(client, {})
    try:
        end, _, _ = browse(client, s, sbx, [{"op": "evaluate", "expression": "1"}])
        assert end["type"] == "request.rejected" and end["data"]["code"] == "capability_disabled", end
    finally:
        kill(client, s, sbx)


def test_memory_below_the_browser_floor_is_rejected(client, worker):
    sbx = new_id("sbx")
    s = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, {"capabilities": {"browser": {}}, "limits": {"memoryMb": 256}}))
    rej = s.wait_for(lambda e: e["type"] in {"request.rejected", "sandbox.created"}, 30)
    assert rej["type"] == "request.rejected", rej
    assert rej["data"]["code"] == "limit_exceeded" and rej["data"]["field"] == "body.limits.memoryMb"
    assert "512" in rej["data"]["message"]


def test_killed_browser_sandbox_leaves_nothing(client, worker):
    sbx, s, _ = create(client, {"capabilities": {"browser": {"viewport": {"width": 320, "height": 240}}},
                                "limits": {"memoryMb": 768}}, timeout=120)
    end, _, _ = browse(client, s, sbx, [{"op": "goto", "url": "about:blank"}, {"op": "screenshot", "path": "s.png"}])
    assert end["type"] == "sandbox.task.completed", end["data"]
    assert png_size(workspace_file(worker, sbx, "s.png").read_bytes()) == (320, 240)
    assert browser_pid(sbx)
    # The profile is in the workspace while the browser runs.
    assert workspace_file(worker, sbx, ".browser/Default").is_dir(), sorted(
        os.listdir(workspace_file(worker, sbx, ".browser")))
    ended = kill(client, s, sbx)
    assert ended["type"] == "sandbox.ended"
    # No process, no cgroup, no workspace (so no profile and no lock), no mount.
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 15), leftovers(worker, sbx)
    assert browser_pid(sbx) is None


def test_worker_without_a_browser_rejects_the_capability(client, stack_env):
    from harness import Worker, private_prefix
    from sandq_client import Sandq
    prefix = private_prefix(stack_env["brokers"], "nobrowser", partitions=1)
    c = Sandq(stack_env["brokers"], prefix)
    w = Worker("w-nobrowser", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix,
                               "SANDQ_BROWSER_BIN": "/usr/lib/chromium/not-installed",
                               "SANDQ_UID_BASE": "3100000000"}).start()
    try:
        assert "browser: unavailable" in w.log_text()
        sbx = new_id("sbx")
        s = c.stream(sbx)
        c.send(c.envelope("sandbox.create", sbx, {"capabilities": {"browser": {}}}))
        rej = s.wait_for(lambda e: e["type"] in {"request.rejected", "sandbox.created"}, 60)
        assert rej["type"] == "request.rejected", rej
        assert rej["data"]["code"] == "capability_unavailable"
        assert rej["data"]["field"] == "body.capabilities.browser"
        assert w.alive()
    finally:
        assert w.stop() == 0


def cli(*args, check_rc=None, timeout=180):
    build = pathlib.Path(os.environ.get("SANDQ_BUILD_DIR", pathlib.Path(__file__).resolve().parents[2] / "build"))
    p = subprocess.run([str(build / "producer" / "sandq"), *args], capture_output=True, timeout=timeout)
    if check_rc is not None:
        assert p.returncode == check_rc, (args, p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return p


def test_cli_launch_with_a_browser_and_drive_it(worker, tmp_path):
    """`sandq launch --browser WxH` and `sandq browser SBX …` (libsandq's sandq_browser_run)."""
    sbx = json.loads(cli("launch", "--browser", "640x400", "--memory", "768M", "--json", check_rc=0).stdout)["id"]
    try:
        page = workspace_file(worker, sbx, "cli.html")
        page.write_text("<html><head><title>cli page</title></head><body><h1>Printed by the CLI</h1>"
                        "<input id=q><button id=b onclick=\"document.title='clicked '+q.value\">b</button></body></html>")
        os.chmod(page, 0o644)
        assert cli("browser", sbx, "goto", "file:///workspace/cli.html", check_rc=0).stdout.decode().strip() == \
            "file:///workspace/cli.html"
        cli("browser", sbx, "type", "#q", "abc", check_rc=0)
        cli("browser", sbx, "click", "#b", check_rc=0)
        assert cli("browser", sbx, "eval", "document.title", check_rc=0).stdout.decode().strip() == '"clicked abc"'
        assert "Printed by the CLI" in cli("browser", sbx, "content", "--text", check_rc=0).stdout.decode()
        cli("browser", sbx, "wait", "h1", "--timeout", "5s", check_rc=0)
        shot = tmp_path / "out.png"
        cli("browser", sbx, "screenshot", str(shot), check_rc=0)
        assert png_size(shot.read_bytes()) == (640, 400)
        pdf = tmp_path / "out.pdf"
        cli("browser", sbx, "pdf", str(pdf), check_rc=0)
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "Printed by the CLI" in text
        # The fetched files do not stay in the sandbox.
        assert not any(workspace_file(worker, sbx, ".sandq-cli").iterdir())
        # A failing action: exit 1 and one line naming the code, the action and the reason.
        p = cli("browser", sbx, "click", "#nothing", check_rc=1)
        assert p.stderr.decode().startswith("sandq: browser: not_found: action 0 (click #nothing) failed"), p.stderr
        p = cli("browser", sbx, "eval", "(() => { throw new Error('cli boom') })()", "--json", check_rc=1)
        assert "cli boom" in p.stdout.decode() + p.stderr.decode()
        # The wait's timeout: exit 124.
        cli("browser", sbx, "wait", "#never", "--timeout", "1s", check_rc=124)
        # A clean restart keeps the profile (the cookie), not the page.
        cli("browser", sbx, "eval", "document.cookie = 'c=1; max-age=60'; location.href", check_rc=0)
        r = json.loads(cli("browser", sbx, "restart", "--json", check_rc=0).stdout)
        assert r["op"] == "restart" and r["clean"] is True, r
        assert cli("browser", sbx, "eval", "location.href", check_rc=0).stdout.decode().strip() == '"about:blank"'
        cli("browser", sbx, "frobnicate", check_rc=2)
        cli("browser", sbx, "goto", check_rc=2)
    finally:
        cli("kill", sbx)


# --- The control lane and the sandbox's lifetime (kill, task.cancel and
# timeoutMs preempt a running browser task, as they do a command).

NEVER = "new Promise(() => {})"  # an evaluate that never resolves


def started_action(s, req, index, timeout=60):
    return s.wait_for(lambda e: e["type"] == "sandbox.task.progress" and e["requestId"] == req["requestId"]
                      and e["data"]["index"] == index, timeout)


def test_kill_stops_a_running_browser_task_at_once(client, worker, rds, pg):
    sbx, s, _ = create(client, BROWSER, timeout=120)
    url = write_page(worker, sbx, "page.html", PAGE)
    req = client.send(client.envelope("task.browser", sbx, {"actions": [
        {"op": "goto", "url": url},
        {"op": "waitFor", "selector": "#never", "timeoutMs": 120000},
    ], "timeoutMs": 300000}))
    st = started_action(s, req, 1)
    time.sleep(0.5)  # inside the wait's polling
    t0 = time.monotonic()
    k = client.send(client.envelope("sandbox.kill", sbx))
    ended = s.for_request(k["requestId"], {"sandbox.ended", "request.rejected"}, timeout=30)
    assert ended["type"] == "sandbox.ended" and ended["data"]["reason"] == "killed", ended
    # A generous bound: without the control lane it waited for the wait's 120 s.
    assert time.monotonic() - t0 < 20, "the kill waited for the browser task"
    after = [e["type"] for e in s.seen if e["seq"] > st["seq"]]
    assert after[:3] == ["sandbox.task.failed", "sandbox.ending", "sandbox.ended"], after
    failed = next(e for e in s.seen if e["type"] == "sandbox.task.failed")
    assert failed["requestId"] == req["requestId"]
    assert failed["data"]["code"] == "canceled" and "sandbox.kill" in failed["data"]["message"], failed
    assert failed["data"]["kind"] == "browser" and failed["data"]["actionIndex"] == 1 and failed["data"]["op"] == "waitFor"
    assert pg_eventually(pg, "SELECT state, error_code FROM tasks WHERE id = %s", (req["taskId"],),
                         ("failed", "canceled")) == ("failed", "canceled")
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 15), leftovers(worker, sbx)
    assert browser_pid(sbx) is None


def test_cancel_stops_a_running_browser_task_and_the_next_one_works(client, worker, rds):
    sbx, s, _ = create(client, BROWSER, timeout=120)
    try:
        pid = browser_pid(sbx)
        for actions in ([{"op": "evaluate", "expression": "1"}, {"op": "evaluate", "expression": NEVER}],
                        # A busy page: the script is stopped too, or the next task's page would not answer.
                        [{"op": "evaluate", "expression": "1"},
                         {"op": "evaluate", "expression": "(() => { for (;;) {} })()"}]):
            req = client.send(client.envelope("task.browser", sbx, {"actions": actions, "timeoutMs": 300000}))
            started_action(s, req, 1)
            time.sleep(0.5)
            t0 = time.monotonic()
            client.send(client.envelope("task.cancel", sbx, {"targetTaskId": req["taskId"]}))
            end = s.for_request(req["requestId"], TASK_END, timeout=30)
            assert time.monotonic() - t0 < 20, "the cancel waited for the browser task"
            assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "canceled", end
            assert "task.cancel" in end["data"]["message"] and end["data"]["actionIndex"] == 1, end
            assert rds.hget(f"sandq:{{{sbx}}}:task:{req['taskId']}", "state") == "failed"
            # The sandbox and its browser carry on: the same browser answers the next task.
            end, _, _ = browse(client, s, sbx, [{"op": "goto", "url": "about:blank"},
                                                {"op": "evaluate", "expression": "6 * 7"}])
            assert end["type"] == "sandbox.task.completed", end["data"]
            assert end["data"]["result"]["actions"][1]["value"] == 42
            assert browser_pid(sbx) == pid
        assert not [e for e in s.seen if e["type"] in ("sandbox.browser.failed", "sandbox.ending")]
    finally:
        kill(client, s, sbx)


def test_sandbox_timeout_cuts_a_running_browser_task(client, worker, pg):
    """onTimeout kill: a browser task cannot outlive its sandbox's timeoutMs."""
    sbx, s, ready = create(client, {**BROWSER, "timeoutMs": 4000}, timeout=120)
    req = client.send(client.envelope("task.browser", sbx, {"actions": [
        {"op": "evaluate", "expression": "1"}, {"op": "evaluate", "expression": NEVER}], "timeoutMs": 600000}))
    end = s.for_request(req["requestId"], TASK_END, timeout=60)
    assert end["type"] == "sandbox.task.failed", end
    assert end["data"]["code"] == "timed_out" and end["data"]["reason"] == "sandbox_timeout", end
    assert end["data"]["actionIndex"] == 1 and "timeoutMs" in end["data"]["message"]
    ending = s.wait_type("sandbox.ending", timeout=30)
    # Not before its lifetime (less a little: "at" of ready is stamped after the clock starts).
    assert ending["data"]["reason"] == "timeout" and ending["at"] - ready["at"] >= 4000 - 50
    s.wait_type("sandbox.ended", timeout=30)
    assert pg_eventually(pg, "SELECT error_code FROM tasks WHERE id = %s", (req["taskId"],),
                         ("timed_out",)) == ("timed_out",)
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 15), leftovers(worker, sbx)


def test_pause_timeout_freezes_a_browser_task_and_resume_continues_it(client, worker, rds):
    """onTimeout pause: the sandbox is frozen under the browser task (the
    browser with it), as under a command; a resume lets the task finish."""
    sbx, s, _ = create(client, {**BROWSER, "timeoutMs": 4000, "onTimeout": "pause"}, timeout=120)
    try:
        # About 6 s of page time: it outlives the 4 s lifetime, not the fresh one a resume gives.
        req = client.send(client.envelope("task.browser", sbx, {"actions": [
            {"op": "evaluate", "expression": "1"},
            {"op": "evaluate", "expression": "new Promise(r => setTimeout(() => r('late'), 6000))"}],
            "timeoutMs": 60000}))
        paused = s.wait_for(lambda e: e["type"] in {"sandbox.paused"} | TASK_END, timeout=60)
        assert paused["type"] == "sandbox.paused" and paused["data"]["reason"] == "timeout", paused
        assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "paused"
        time.sleep(1)
        assert not [e for e in s.seen if e.get("requestId") == req["requestId"] and e["type"] in TASK_END]
        resume = client.send(client.envelope("sandbox.resume", sbx))
        resumed = s.for_request(resume["requestId"], {"sandbox.resumed", "sandbox.failed", "request.rejected"})
        assert resumed["type"] == "sandbox.resumed", resumed
        end = s.for_request(req["requestId"], TASK_END, timeout=60)
        assert end["type"] == "sandbox.task.completed", end["data"]
        assert end["data"]["result"]["actions"][1]["value"] == "late"
        # The browser was frozen, not restarted.
        assert not [e for e in s.seen if e["type"] in ("sandbox.browser.failed",)]
    finally:
        kill(client, s, sbx)


# --- New tabs and popups are followed; a clean restart keeps the profile.

MAIN = """<!doctype html><html><head><title>main page</title></head><body>
<a id="tab" href="popup.html" target="_blank">a new tab</a>
<button id="pop" onclick="window.open('popup.html', 'pop', 'width=400,height=300')">a popup</button>
</body></html>"""
POPUP = """<!doctype html><html><head><title>popup page</title></head><body>
<button id="close" onclick="window.close()">close me</button><p id="opener"></p>
<button id="closenow" onmousedown="window.close()">close at once</button>
<script>document.getElementById('opener').textContent = window.opener ? 'has opener' : 'no opener';</script>
</body></html>"""


def test_new_tabs_and_popups_are_followed_and_a_closed_one_returns_to_its_opener(client, worker):
    sbx, s, _ = create(client, BROWSER, timeout=120)
    try:
        main = write_page(worker, sbx, "main.html", MAIN)
        write_page(worker, sbx, "popup.html", POPUP)
        title = {"op": "evaluate", "expression": "document.title"}
        end, _, _ = browse(client, s, sbx, [
            {"op": "goto", "url": main},
            {"op": "click", "selector": "#pop"},          # window.open: the popup becomes current
            {"op": "waitFor", "selector": "#close", "timeoutMs": 15000},
            title,
            {"op": "evaluate", "expression": "document.getElementById('opener').textContent"},
            {"op": "click", "selector": "#close"},        # it closes itself: back to its opener
            title,
            {"op": "click", "selector": "#tab"},          # target=_blank: the new tab becomes current
            {"op": "waitFor", "selector": "#close", "timeoutMs": 15000},
            title,
            {"op": "evaluate", "expression": "location.pathname"},
        ])
        assert end["type"] == "sandbox.task.completed", end["data"]
        res = end["data"]["result"]["actions"]
        assert res[3]["value"] == "popup page"
        assert res[4]["value"] == "has opener"
        assert res[6]["value"] == "main page"
        assert res[9]["value"] == "popup page" and res[10]["value"] == "/workspace/popup.html"

        # The next task starts on the page the last one left current (the tab);
        # a page that closes itself between tasks is not taken for a crash.
        end, _, _ = browse(client, s, sbx, [title, {"op": "evaluate", "expression": "setTimeout(() => window.close(), 0); 1"}])
        assert end["type"] == "sandbox.task.completed", end["data"]
        assert end["data"]["result"]["actions"][0]["value"] == "popup page"
        time.sleep(1)
        end, _, req = browse(client, s, sbx, [title, {"op": "screenshot", "path": "after.png"}])
        assert end["type"] == "sandbox.task.completed", end["data"]
        # The tab closed: back to its opener, or the page seen last (target=_blank
        # implies noopener); either is the main page here.
        assert end["data"]["result"]["actions"][0]["value"] == "main page"
        assert png_size(workspace_file(worker, sbx, "after.png").read_bytes()) == (800, 600)

        # A page that closes on mousedown is often gone before the browser
        # answers the release: the click still worked, and the task goes on
        # on the opener.
        end, _, _ = browse(client, s, sbx, [
            {"op": "click", "selector": "#pop"},
            {"op": "waitFor", "selector": "#closenow", "timeoutMs": 15000},
            {"op": "click", "selector": "#closenow"},
            title,
        ])
        assert end["type"] == "sandbox.task.completed", end["data"]
        res = end["data"]["result"]["actions"]
        assert res[2].get("closedPage", True) is True and res[3]["value"] == "main page"
        assert not [e for e in s.seen if e["type"] == "sandbox.browser.failed"]
    finally:
        kill(client, s, sbx)


def test_cookies_and_local_storage_survive_a_clean_browser_restart(client, worker):
    sbx, s, _ = create(client, BROWSER, timeout=120)
    try:
        end, _, _ = run(client, s, sbx, SERVER)
        assert end["type"] == "sandbox.task.completed" and end["data"]["exitCode"] == 0, end
        site = "http://127.0.0.1:8765/p.html"
        old = browser_pid(sbx)
        end, _, req = browse(client, s, sbx, [
            {"op": "goto", "url": site},
            {"op": "evaluate", "expression": "document.cookie = 'k=v1; max-age=3600'; localStorage.setItem('k', 'v2'); 1"},
            {"op": "restart"},
            {"op": "evaluate", "expression": "location.href"},
            {"op": "goto", "url": site},
            {"op": "evaluate", "expression": READ_STATE},
        ])
        assert end["type"] == "sandbox.task.completed", end["data"]
        res = end["data"]["result"]["actions"]
        assert res[2]["clean"] is True and res[2]["version"].startswith("HeadlessChrome/") and res[2]["startupMs"] > 0
        assert res[3]["value"] == "about:blank"  # a new browser: the page is gone…
        assert res[5]["value"] == ["k=v1", "v2"]  # …the profile is not
        new = browser_pid(sbx)
        assert new and new != old
        mine = [e["type"] for e in s.seen if e["requestId"] == req["requestId"]]
        assert "sandbox.browser.ready" in mine and "sandbox.browser.failed" not in mine
    finally:
        kill(client, s, sbx)
