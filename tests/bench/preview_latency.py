#!/usr/bin/env python3
"""preview_latency.py — the live preview's frame and input latency (docs/handoff.md,
"Measured"), against the same Chromium driven directly over CDP in the same run.

One browser sandbox (800x600) shows a page that flips, every 600 ms, between a plain
white page and one full of coloured text (so a frame of either state is told apart by
its JPEG size alone, no image decoding), recording Date.now() of each flip; a click
anywhere records Date.now() too. The baseline is the same page in a host
chromium-headless-shell (the same binary) driven over its DevTools pipe from this
script (tests/integration/viewer_browser.py): Page.startScreencast with every frame
acked, and Input.dispatchMouseEvent. Both run one after the other so they see the
same machine load. Clocks: the page's Date.now() and this script's time.time() are the
same host clock.

  * frame latency: a flip in the page -> the first frame of the new state read by
    this script: from the worker's MJPEG stream (sandq), or as a
    Page.screencastFrame event on the pipe (direct);
  * input latency: a click sent -> its handler ran in the page: POST of
    {"t":"mouse","a":"down"/"up"} to the control URL's input endpoint (sandq; a hand-off
    is accepted first), or Input.dispatchMouseEvent on the pipe (direct).
Prints p50/p99 and the ratios. Not a test: nothing here asserts a number.

usage: preview_latency.py [-n N]
       (env: SANDQ_KAFKA_BROKERS, SANDQ_TOPIC_PREFIX; a worker must be consuming the stack)
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import pathlib
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
from sandbox_host import TASK_END, kill  # noqa: E402
from sandq_client import Sandq, new_id  # noqa: E402
from viewer_browser import ViewerBrowser  # noqa: E402

BIG = 30000  # bytes: a frame of the text-filled state is well above, a plain one well below

PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;width:800px;height:600px;overflow:hidden;font:bold 18px monospace}
#noise{display:none;word-break:break-all}</style></head><body>
<div id="noise"></div><script>
const n = document.getElementById('noise'); let s = '';
for (let i = 0; i < 2600; i++) s += '<span style="color:hsl(' + (i * 47 % 360) + ',80%,40%)">' +
  String.fromCharCode(33 + (i * 7919 % 90)) + '</span>';
n.innerHTML = s;
window.flips = []; window.clicks = []; let on = false;
document.addEventListener('mousedown', () => window.clicks.push(Date.now()));
setInterval(() => { on = !on; n.style.display = on ? 'block' : 'none'; window.flips.push([Date.now(), on]); }, 600);
</script></body></html>"""


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def match_frames(flips, frames):
    """For each flip (ms, on), the first frame after it whose size says the new state."""
    out = []
    for i, (t, on) in enumerate(flips):
        nxt = flips[i + 1][0] if i + 1 < len(flips) else float("inf")
        for at, size in frames:
            if t <= at < nxt and (size > BIG) == on:
                out.append(at - t)
                break
    return out


class MjpegReader(threading.Thread):
    def __init__(self, url):
        super().__init__(daemon=True)
        u = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=30)
        self.sock.sendall(f"GET {u.path}/stream?{u.query} HTTP/1.0\r\nHost: {u.netloc}\r\n\r\n".encode())
        self.frames: list[tuple[float, int]] = []
        self.stop = False

    def run(self):
        buf = b""
        while not self.stop:
            try:
                chunk = self.sock.recv(1 << 20)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while True:
                i = buf.find(b"Content-Length: ")
                if i < 0:
                    break
                j = buf.find(b"\r\n\r\n", i)
                if j < 0:
                    break
                n = int(buf[i + 16:buf.index(b"\r\n", i)])
                if len(buf) < j + 4 + n:
                    break
                self.frames.append((time.time() * 1000, n))
                buf = buf[j + 4 + n:]


def direct_frames(b: ViewerBrowser, seconds: float):
    """Screencast straight from the host browser: (arrival ms, jpeg bytes), every frame acked."""
    b.page("Page.startScreencast", {"format": "jpeg", "quality": 60, "everyNthFrame": 1})
    frames = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        msg = b._read(0.2)
        if not msg or msg.get("method") != "Page.screencastFrame":
            continue
        frames.append((time.time() * 1000, len(base64.b64decode(msg["params"]["data"]))))
        b._id += 1
        os.write(b._to, json.dumps({"id": b._id, "method": "Page.screencastFrameAck", "sessionId": b.session,
                                    "params": {"sessionId": msg["params"]["sessionId"]}}).encode() + b"\0")
    b.page("Page.stopScreencast")
    return frames


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=30, help="flips and clicks per side")
    args = ap.parse_args()
    client = Sandq(os.environ["SANDQ_KAFKA_BROKERS"], os.environ.get("SANDQ_TOPIC_PREFIX", "sandq"))
    sbx = new_id("sbx")
    s = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, {
        "capabilities": {"browser": {"viewport": {"width": 800, "height": 600}}}, "limits": {"memoryMb": 1024}}))
    ready = s.wait_for(lambda e: e["type"] in {"sandbox.ready", "sandbox.failed", "request.rejected"}, 120)
    if ready["type"] != "sandbox.ready" or not ready["data"]["capabilities"]["browser"]:
        sys.exit(f"no browser sandbox: {ready}")
    tmp = tempfile.mkdtemp(prefix="sandq-bench-preview-")
    direct = None
    try:
        def task(actions):
            req = client.send(client.envelope("task.browser", sbx, {"actions": actions}))
            end = s.for_request(req["requestId"], TASK_END, 120)
            if end["type"] != "sandbox.task.completed":
                sys.exit(f"task failed: {end}")
            return end["data"]["result"]["actions"]

        w = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", "cat > /workspace/p.html"],
                                                           "stdin": PAGE}))
        s.for_request(w["requestId"], TASK_END, 60)
        task([{"op": "goto", "url": "file:///workspace/p.html"}])
        hnd = new_id("hnd")
        req = client.send(client.envelope("handoff.request", sbx, {"handoffId": hnd, "reason": "custom",
                                                                   "message": "bench"}))
        url = s.for_request(req["requestId"], {"sandbox.handoff.requested"}, 30)["data"]["previewUrl"]
        req = client.send(client.envelope("handoff.accept", sbx, {"handoffId": hnd, "controller": "bench"}))
        s.for_request(req["requestId"], {"sandbox.handoff.accepted"}, 30)

        # ---- sandq: frames ----
        seconds = args.n * 0.6 + 2
        reader = MjpegReader(url)
        reader.start()
        time.sleep(1.0)
        t_from = time.time() * 1000
        time.sleep(seconds)
        reader.stop = True
        flips = [f for f in task([{"op": "evaluate", "expression": "window.flips"}])[0]["value"] if f[0] >= t_from]
        sq_frame = match_frames(flips, reader.frames)

        # ---- sandq: input ----
        u = urllib.parse.urlsplit(url)
        input_url = f"{u.scheme}://{u.netloc}{u.path}/input?{u.query}"
        task([{"op": "evaluate", "expression": "window.clicks = []"}])
        sent = []
        for i in range(args.n):
            for a in ("down", "up"):
                body = json.dumps({"t": "mouse", "a": a, "x": 0.5, "y": 0.5, "b": "left"}).encode()
                if a == "down":
                    sent.append(time.time() * 1000)
                urllib.request.urlopen(urllib.request.Request(input_url, data=body, method="POST"), timeout=10).read()
            time.sleep(0.25)
        time.sleep(1)
        clicks = task([{"op": "evaluate", "expression": "window.clicks"}])[0]["value"]
        sq_input = [c - t for t, c in zip(sent, clicks)] if len(clicks) == len(sent) else []
        if len(clicks) != len(sent):
            print(f"sandq: {len(clicks)} clicks arrived of {len(sent)} sent", file=sys.stderr)

        # ---- direct CDP on the host: the same page ----
        host_page = pathlib.Path(tmp) / "p.html"
        host_page.write_text(PAGE)
        direct = ViewerBrowser(800, 600)
        direct.page("Emulation.setDeviceMetricsOverride", {"width": 800, "height": 600, "deviceScaleFactor": 1,
                                                           "mobile": False})
        direct.goto(host_page.as_uri())
        time.sleep(1.0)
        t_from = time.time() * 1000
        frames = direct_frames(direct, seconds)
        flips = [f for f in direct.eval("window.flips") if f[0] >= t_from]
        d_frame = match_frames(flips, frames)
        direct.eval("window.clicks = []")
        sent = []
        for i in range(args.n):
            sent.append(time.time() * 1000)
            direct.mouse("mousePressed", 400, 300)
            direct.mouse("mouseReleased", 400, 300)
            time.sleep(0.25)
        clicks = direct.eval("window.clicks")
        d_input = [c - t for t, c in zip(sent, clicks)]
    finally:
        if direct:
            direct.close()
        kill(client, s, sbx)

    def row(name, xs):
        print(f"{name:<44} n={len(xs):3d}  p50 {pct(xs, 50):7.1f} ms  p99 {pct(xs, 99):7.1f} ms")
    print(f"preview latency, {args.n} flips/clicks per side (page flips every 600 ms)")
    row("frame: sandq preview (MJPEG at a viewer)", sq_frame)
    row("frame: CDP screencast direct (baseline)", d_frame)
    row("input: sandq preview (POST input -> DOM)", sq_input)
    row("input: CDP Input.dispatch direct (baseline)", d_input)
    for what, a, b in (("frame", sq_frame, d_frame), ("input", sq_input, d_input)):
        if a and b:
            print(f"ratio {what}: p50 {pct(a, 50) / max(pct(b, 50), 0.1):.2f}x  p99 {pct(a, 99) / max(pct(b, 99), 0.1):.2f}x")


if __name__ == "__main__":
    main()
