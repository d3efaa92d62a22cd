"""The live preview and hand-off from a person's side (issue 14), against the real
stack: a sandbox with a browser, a hand-off whose event carries the control URL,
and a real browser on the host (viewer_browser.py, Debian's Chromium over its
DevTools pipe) that opens the viewer page. It receives frames; a click in the
viewer changes the DOM of the sandbox's page; typed text arrives in an input; a
forged, expired or view-only URL cannot send input (403), nor can a control URL
before a hand-off is accepted; a viewer that reads nothing does not stop another
from receiving frames."""
from __future__ import annotations

import http.client
import json
import os
import pathlib
import subprocess
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from sandbox_host import TASK_END, create, kill, wait_until, workspace_file
from sandq_client import new_id
from viewer_browser import ViewerBrowser

VIEWPORT = {"width": 800, "height": 600}
BROWSER = {"capabilities": {"browser": {"viewport": VIEWPORT}}, "limits": {"memoryMb": 1024}}

# A button near the top left, an input below it, and a clock that changes every
# 100 ms so that the screencast always has new frames to send.
PAGE = """<!doctype html><html><head><title>preview test</title><style>
body{margin:0;font:20px sans-serif} #btn{position:absolute;left:100px;top:100px;width:200px;height:80px}
#name{position:absolute;left:100px;top:300px;width:300px;height:40px;font-size:20px}
#clock{position:absolute;left:500px;top:100px}</style></head><body>
<button id="btn" onclick="document.getElementById('out').textContent = 'clicked ' + (++window.n)">Go</button>
<div id="out" style="position:absolute;left:100px;top:220px">not yet</div>
<input id="name">
<div id="clock">0</div>
<script>window.n = 0; window.inputAt = 0;
document.getElementById('name').addEventListener('input', () => { window.inputAt = Date.now(); });
setInterval(() => { document.getElementById('clock').textContent = Date.now(); }, 100);</script>
</body></html>"""


def browse(client, s, sbx, actions, wait=90):
    req = client.send(client.envelope("task.browser", sbx, {"actions": actions}))
    end = s.for_request(req["requestId"], TASK_END | {"request.rejected"}, timeout=wait)
    assert end["type"] == "sandbox.task.completed", end
    return end["data"]["result"]["actions"]


def evaluate(client, s, sbx, expression):
    return browse(client, s, sbx, [{"op": "evaluate", "expression": expression}])[0]["value"]


def handoff(client, s, sbx, type_, body):
    req = client.send(client.envelope(type_, sbx, body))
    return s.for_request(req["requestId"], {"sandbox.handoff.requested", "sandbox.handoff.accepted",
                                            "sandbox.handoff.completed", "sandbox.handoff.cancelled",
                                            "request.rejected"}, timeout=30)


def post_input(url: str, body: dict) -> int:
    u = urllib.parse.urlsplit(url)
    req = urllib.request.Request(f"{u.scheme}://{u.netloc}{u.path}/input?{u.query}", data=json.dumps(body).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def with_query(url: str, **changes) -> str:
    u = urllib.parse.urlsplit(url)
    q = dict(urllib.parse.parse_qsl(u.query))
    q.update(changes)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, u.path, urllib.parse.urlencode(q), ""))


class Stream:
    """A raw MJPEG reader: counts the parts it receives (X-Frame-Seq)."""

    def __init__(self, url: str):
        u = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=10)
        self.sock.sendall(f"GET {u.path}/stream?{u.query} HTTP/1.0\r\nHost: {u.netloc}\r\n\r\n".encode())
        self.buf = b""
        self.seqs: list[int] = []

    def status(self) -> int:
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return int(head.split()[1])

    def read_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        self.sock.settimeout(0.5)
        while time.monotonic() < end:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            self.buf += chunk
            for line in self.buf.split(b"\r\n"):
                if line.startswith(b"X-Frame-Seq: "):
                    n = int(line.split()[1])
                    if not self.seqs or n > self.seqs[-1]:
                        self.seqs.append(n)
            self.buf = self.buf[-200:]  # keep only what a split header may need

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def psbx(client, worker):
    sbx, s, _ = create(client, BROWSER, timeout=120)
    p = workspace_file(worker, sbx, "preview.html")
    p.write_text(PAGE)
    os.chmod(p, 0o644)
    browse(client, s, sbx, [{"op": "goto", "url": "file:///workspace/preview.html"}])
    yield sbx, s
    kill(client, s, sbx)


@pytest.fixture(scope="module")
def viewer():
    b = ViewerBrowser()
    yield b
    b.close()


def image_box(v: ViewerBrowser) -> dict:
    return v.eval("(() => { const r = document.getElementById('screen').getBoundingClientRect();"
                  " const i = document.getElementById('screen');"
                  " return {x: r.left, y: r.top, w: r.width, h: r.height, nw: i.naturalWidth}; })()")


def test_handoff_url_viewer_click_and_type(psbx, client, viewer):
    sbx, s = psbx
    hnd = new_id("hnd")
    ev = handoff(client, s, sbx, "handoff.request", {"handoffId": hnd, "reason": "login_failed",
                                                     "message": "log in for me", "expiresInMs": 600000})
    assert ev["type"] == "sandbox.handoff.requested", ev
    url = ev["data"]["previewUrl"]
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert f"/preview/{sbx}" in url and q["m"] == "control" and int(q["e"]) == ev["data"]["expiresAt"]

    # The viewer page shows frames.
    viewer.goto(url)
    assert wait_until(lambda: image_box(viewer)["nw"] > 0, 20), "no frame reached the viewer"
    assert viewer.eval("document.title").startswith("sandq preview")

    # Before accept the control mode is ai: a person may not act.
    assert post_input(url, {"t": "mouse", "a": "move", "x": 0.5, "y": 0.5}) == 403
    ev = handoff(client, s, sbx, "handoff.accept", {"handoffId": hnd, "controller": "ada"})
    assert ev["data"]["controlMode"] == "human"

    # A click on the picture of the button (page 100..300 x 100..180 of 800x600).
    box = image_box(viewer)
    viewer.click(box["x"] + box["w"] * 200 / 800, box["y"] + box["h"] * 140 / 600)
    assert wait_until(lambda: evaluate(client, s, sbx, "document.getElementById('out').textContent") == "clicked 1",
                      20), "the click in the viewer did not reach the sandbox's page"

    # Click the input, then type into the viewer: the keys arrive in the sandbox's input.
    viewer.click(box["x"] + box["w"] * 250 / 800, box["y"] + box["h"] * 320 / 600)
    for ch in "hi there":
        viewer.page("Input.dispatchKeyEvent", {"type": "keyDown", "key": ch, "text": ch,
                                               "code": "Space" if ch == " " else f"Key{ch.upper()}"})
        viewer.page("Input.dispatchKeyEvent", {"type": "keyUp", "key": ch})
    assert wait_until(lambda: evaluate(client, s, sbx, "document.getElementById('name').value") == "hi there", 20), \
        evaluate(client, s, sbx, "document.getElementById('name').value")

    # Input over the endpoint directly: text.
    assert post_input(url, {"t": "text", "text": "!"}) == 204
    assert wait_until(lambda: evaluate(client, s, sbx, "document.getElementById('name').value") == "hi there!", 20)
    assert post_input(url, {"t": "bogus"}) == 400

    # Complete: control returns to ai, and input is refused again.
    ev = handoff(client, s, sbx, "handoff.complete", {"handoffId": hnd, "note": "logged in"})
    assert ev["data"]["controlMode"] == "ai"
    assert post_input(url, {"t": "text", "text": "late"}) == 403


def test_forged_expired_and_view_only_urls(psbx, client, viewer):
    sbx, s = psbx
    viewer.goto("about:blank")  # nobody watches: input is still delivered
    hnd = new_id("hnd")
    ev = handoff(client, s, sbx, "handoff.request", {"handoffId": hnd, "reason": "mfa", "message": "code"})
    url = ev["data"]["previewUrl"]
    handoff(client, s, sbx, "handoff.accept", {"handoffId": hnd, "controller": "ada"})
    evaluate(client, s, sbx, "(() => { const i = document.getElementById('name'); i.value = ''; i.focus(); })()")
    assert post_input(url, {"t": "text", "text": "zz"}) == 204  # the genuine URL may act
    # Delivered by the preview itself, not by the next browser task (which also
    # carries queued input): it happened before the check below was even sent.
    time.sleep(5)
    checked_at = time.time() * 1000
    assert evaluate(client, s, sbx, "document.getElementById('name').value") == "zz"
    assert 0 < evaluate(client, s, sbx, "window.inputAt") < checked_at
    sig = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["s"]
    forged = with_query(url, s=("0" if sig[0] != "0" else "1") + sig[1:])
    assert post_input(forged, {"t": "text", "text": "x"}) == 403
    assert post_input(with_query(url, e=str(int(time.time() * 1000) + 10**9)), {"t": "text", "text": "x"}) == 403
    assert post_input(with_query(url, m="view"), {"t": "text", "text": "x"}) == 403  # signed as control
    # Another sandbox's id with this signature.
    other = url.replace(sbx, new_id("sbx"))
    assert post_input(other, {"t": "text", "text": "x"}) == 403
    # A genuine view URL and a genuine expired control URL.
    view = preview_url(client, s, sbx, "view", 60000)
    assert post_input(view, {"t": "text", "text": "x"}) == 403
    with urllib.request.urlopen(view, timeout=10) as r:  # but it shows the page
        assert r.status == 200 and b"view only" in r.read()
    short = preview_url(client, s, sbx, "control", 1000)
    time.sleep(1.5)
    assert post_input(short, {"t": "text", "text": "x"}) == 403
    try:
        urllib.request.urlopen(short, timeout=10)
        raise AssertionError("an expired URL was served")
    except urllib.error.HTTPError as e:
        assert e.code == 403 and b"expired" in e.read()
    handoff(client, s, sbx, "handoff.cancel", {"handoffId": hnd})
    assert post_input(url, {"t": "text", "text": "x"}) == 403


def preview_url(client, s, sbx, mode, ttl_ms):
    req = client.send(client.envelope("preview.url", sbx, {"mode": mode, "ttlMs": ttl_ms}))
    ev = s.for_request(req["requestId"], {"sandbox.preview.url", "request.rejected"}, timeout=30)
    assert ev["type"] == "sandbox.preview.url", ev
    assert ev["data"]["mode"] == mode and ev["data"]["expiresAt"] > ev["at"]
    return ev["data"]["url"]


def test_a_slow_viewer_does_not_stop_another(psbx, client):
    sbx, s = psbx
    url = preview_url(client, s, sbx, "view", 120000)
    slow = Stream(url)
    assert slow.status() == 200
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and then reads nothing at all
    fast = Stream(url)
    assert fast.status() == 200
    fast.read_for(10)  # the slow one reads nothing for these 10 s
    # Frames kept arriving at the reading viewer the whole time (liveness, not speed).
    assert len(fast.seqs) >= 5, fast.seqs
    fast.read_for(3)
    assert len(fast.seqs) >= 6
    slow.close()
    fast.close()


def test_preview_url_is_answered_while_a_browser_task_runs(psbx, client):
    sbx, s = psbx
    req = client.send(client.envelope("task.browser", sbx, {"actions": [
        {"op": "evaluate", "expression": "new Promise(r => setTimeout(() => r(1), 5000))"}]}))
    s.for_request(req["requestId"], {"sandbox.task.started"}, timeout=30)
    url = preview_url(client, s, sbx, "view", 60000)
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200
    end = s.for_request(req["requestId"], TASK_END, timeout=60)
    assert end["type"] == "sandbox.task.completed", end
    answered = next(e for e in s.seen if e["type"] == "sandbox.preview.url" and e["data"]["url"] == url)
    assert answered["seq"] < end["seq"]  # answered while the task still ran


def test_preview_url_needs_a_browser_and_viewers_see_the_end(client, worker):
    sbx, s, _ = create(client, {})
    req = client.send(client.envelope("preview.url", sbx, {"mode": "view"}))
    rej = s.for_request(req["requestId"], {"sandbox.preview.url", "request.rejected"})
    assert rej["type"] == "request.rejected" and rej["data"]["code"] == "capability_disabled", rej
    # A hand-off on a sandbox without a browser has no URL.
    ev = handoff(client, s, sbx, "handoff.request", {"handoffId": new_id("hnd"), "reason": "approval",
                                                     "message": "approve"})
    assert "previewUrl" not in ev["data"]
    kill(client, s, sbx)


def test_cli_and_library_preview_url(psbx):
    sbx, _ = psbx
    cli = str(pathlib.Path(os.environ.get("SANDQ_BUILD_DIR", pathlib.Path(__file__).resolve().parents[2] / "build"))
              / "producer" / "sandq")
    p = subprocess.run([cli, "preview", sbx, "--json", "--ttl", "2m"], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["mode"] == "view" and f"/preview/{sbx}?m=view&" in out["url"]
    assert 110_000 < out["expiresAt"] - time.time() * 1000 <= 120_000
    p = subprocess.run([cli, "preview", sbx, "--control"], capture_output=True, timeout=120)
    assert p.returncode == 0 and "m=control" in p.stdout.decode()
    with urllib.request.urlopen(p.stdout.decode().strip(), timeout=10) as r:
        assert r.status == 200 and b'id="screen"' in r.read()
    p = subprocess.run([cli, "preview", sbx, "--ttl", "25h"], capture_output=True, timeout=60)
    assert p.returncode == 2
