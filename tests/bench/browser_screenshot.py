#!/usr/bin/env python3
"""browser_screenshot.py — `goto` + `screenshot` on a local page through
sandq's task.browser, against Playwright driving the same Chromium in the same
run (docs/browser.md, "Measured").

Each round, one after the other so both see the same machine load:
  * sandq: a task.browser {goto file:///workspace/bench.html, screenshot} on one
    browser sandbox (1280x720), timed at the client from send to
    sandbox.task.completed (Kafka both ways, the worker's task lifecycle, the
    CDP calls and the PNG written into the workspace); the worker's own
    durationMs is printed too;
  * baseline: playwright-core (tests/bench/playwright, installed by its
    setup.sh) with the same binary, the same page (a copy on the host) and
    viewport: page.goto + page.screenshot to a PNG file, timed in Node.
Warm-up rounds are not counted. Prints p50/p99 and the ratios. Not a test:
nothing here asserts a number.

usage: browser_screenshot.py [-n N] [--warmup W]
       (env: SANDQ_KAFKA_BROKERS, SANDQ_TOPIC_PREFIX; a worker must be consuming
        the stack. The page goes into the sandbox with a task.exec.)
"""
from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
from sandbox_host import TASK_END, kill  # noqa: E402
from sandq_client import Sandq, new_id  # noqa: E402

BIN = os.environ.get("SANDQ_BROWSER_BIN", "/usr/lib/chromium/chromium-headless-shell")
WIDTH, HEIGHT = 1280, 720

# A small page with some layout, text and an inline SVG: something to paint.
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>bench page</title><style>
body { font: 16px/1.4 sans-serif; margin: 2em; background: linear-gradient(#fafafa, #e8eef5); }
table { border-collapse: collapse; } td, th { border: 1px solid #889; padding: 4px 10px; }
.card { display: inline-block; width: 180px; margin: 8px; padding: 12px; border-radius: 8px;
        background: #fff; box-shadow: 0 2px 6px rgba(0,0,0,.2); }
</style></head><body><h1>sandq browser bench</h1>
<p>""" + "A paragraph of text to lay out and paint. " * 20 + """</p>
<table><tr><th>#</th><th>name</th><th>value</th></tr>""" + "".join(
    f"<tr><td>{i}</td><td>row {i}</td><td>{i * i}</td></tr>" for i in range(12)) + """</table>
<div>""" + "".join(f'<div class="card"><b>card {i}</b><br>some text</div>' for i in range(8)) + """</div>
<svg width="300" height="120"><circle cx="60" cy="60" r="50" fill="#4a8"/>
<rect x="130" y="20" width="150" height="80" fill="#a48" rx="10"/></svg>
</body></html>"""


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Playwright:
    def __init__(self, url: str, outdir: str):
        subprocess.run([str(HERE / "playwright" / "setup.sh")], check=True)
        self.p = subprocess.Popen(["node", str(HERE / "playwright" / "shot.mjs"), BIN, url, outdir, str(WIDTH),
                                   str(HEIGHT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().strip()
        if line != "ready":
            sys.exit(f"playwright did not start: {line!r}")

    def shot(self) -> float:
        self.p.stdin.write("go\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            sys.exit("playwright exited")
        return float(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    client = Sandq(os.environ["SANDQ_KAFKA_BROKERS"], os.environ.get("SANDQ_TOPIC_PREFIX", "sandq"))

    sbx = new_id("sbx")
    s = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, {
        "capabilities": {"browser": {"viewport": {"width": WIDTH, "height": HEIGHT}}}, "limits": {"memoryMb": 1024}}))
    ready = s.wait_for(lambda e: e["type"] in {"sandbox.ready", "sandbox.failed", "request.rejected"}, 120)
    if ready["type"] != "sandbox.ready" or not ready["data"]["capabilities"]["browser"]:
        sys.exit(f"no browser sandbox: {ready}")
    tmp = tempfile.mkdtemp(prefix="sandq-bench-shot-")
    try:
        # The same page in the sandbox's workspace (written by a command there) and on the host.
        w = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", "cat > /workspace/bench.html"],
                                                           "stdin": PAGE}))
        end = s.for_request(w["requestId"], TASK_END, 60)
        if end["type"] != "sandbox.task.completed" or end["data"]["exitCode"] != 0:
            sys.exit(f"could not write the page: {end}")
        host_page = pathlib.Path(tmp) / "bench.html"
        host_page.write_text(PAGE)
        pw = Playwright(host_page.as_uri(), tmp)

        def sandq_shot(i: int) -> tuple[float, int]:
            t0 = time.perf_counter()
            req = client.send(client.envelope("task.browser", sbx, {"actions": [
                {"op": "goto", "url": "file:///workspace/bench.html"},
                {"op": "screenshot", "path": f"shots/sandq-{i}.png"}]}))
            end = s.for_request(req["requestId"], TASK_END, 120)
            ms = (time.perf_counter() - t0) * 1000
            if end["type"] != "sandbox.task.completed":
                sys.exit(f"task.browser failed: {end}")
            return ms, end["data"]["durationMs"]

        sq, sq_worker, base = [], [], []
        for i in range(args.warmup + args.n):
            a, b = sandq_shot(i), pw.shot()
            if i >= args.warmup:
                sq.append(a[0])
                sq_worker.append(a[1])
                base.append(b)
        pw.close()
    finally:
        kill(client, s, sbx)
        subprocess.run(["rm", "-rf", tmp])

    def row(name, xs, ratio=True):
        r = f"   x{pct(xs, 50) / pct(base, 50):.2f} p50, x{pct(xs, 99) / pct(base, 99):.2f} p99 vs playwright" \
            if ratio else ""
        print(f"{name:<52} p50 {pct(xs, 50):7.1f} ms   p99 {pct(xs, 99):7.1f} ms{r}")

    print(f"goto + screenshot of a local page, {WIDTH}x{HEIGHT}, n={args.n} (+{args.warmup} warm-up), {BIN}")
    row("playwright-core: page.goto + page.screenshot (baseline)", base, ratio=False)
    row("sandq: task.browser, send -> task.completed at client", sq)
    row("sandq: the worker's durationMs of that task", sq_worker)


if __name__ == "__main__":
    main()
