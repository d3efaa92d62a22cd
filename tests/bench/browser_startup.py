#!/usr/bin/env python3
"""browser_startup.py — what the sandbox costs the browser capability, on a
running stack + worker (docs/browser.md, "Measured").

Measures, in the same run:
  * create with capabilities.browser → sandbox.browser.ready (wall time at the
    client, and the worker's own startupMs: launch inside the sandbox to page
    attached), each sandbox killed outside the timing;
  * baseline: the same Chromium binary launched directly on the host with
    --remote-debugging-pipe and a fresh profile, timed to the same point
    (Browser.getVersion answered and its page attached);
  * memory of one idle browser sandbox (its memory cgroup: all, and anonymous),
    and how many would fit in 24 GiB by that figure.
Prints p50/p99 and the ratios. Not a test: nothing here asserts a number.

usage: browser_startup.py [-n N]   (env: SANDQ_KAFKA_BROKERS, SANDQ_TOPIC_PREFIX;
                                     a worker must be consuming the stack)
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
from sandbox_host import kill, procs_of  # noqa: E402
from sandq_client import Sandq, new_id  # noqa: E402

BIN = os.environ.get("SANDQ_BROWSER_BIN", "/usr/lib/chromium/chromium-headless-shell")
FLAGS = ["--no-sandbox", "--remote-debugging-pipe", "--window-size=1280,720", "--no-first-run",
         "--no-default-browser-check", "--disable-gpu", "--disable-crash-reporter", "--disable-breakpad",
         "--hide-scrollbars", "--mute-audio", "--noerrdialogs", "about:blank"]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Pipe:
    """The host-side baseline's DevTools pipe: NUL-delimited JSON on two fds."""

    def __init__(self, to_fd: int, from_fd: int):
        self.to, self.frm, self.buf, self.next_id = to_fd, from_fd, b"", 0

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                m = json.loads(raw)
                if m.get("id") == self.next_id:
                    return m["result"]
            chunk = os.read(self.frm, 1 << 20)
            if not chunk:
                raise RuntimeError("browser exited")
            self.buf += chunk


def host_launch() -> float:
    """ms from spawning the browser on the host to its page attached."""
    profile = tempfile.mkdtemp(prefix="sandq-bench-profile-")
    cmd_r, cmd_w = os.pipe()
    out_r, out_w = os.pipe()

    def child_fds():  # the browser reads calls on fd 3 and writes answers on fd 4
        a, b = os.dup(cmd_r), os.dup(out_w)
        os.dup2(a, 3)
        os.dup2(b, 4)

    t0 = time.perf_counter()
    p = subprocess.Popen([BIN, f"--user-data-dir={profile}", *FLAGS], preexec_fn=child_fds, close_fds=False,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(cmd_r)
    os.close(out_w)
    pipe = Pipe(cmd_w, out_r)
    try:
        pipe.call("Browser.getVersion")
        page = next(t for t in pipe.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        sid = pipe.call("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        pipe.call("Page.enable", session=sid)
        ms = (time.perf_counter() - t0) * 1000
        pipe.call("Browser.close")
    finally:
        p.wait(10)
        os.close(cmd_w)
        os.close(out_r)
        shutil.rmtree(profile, ignore_errors=True)
    return ms


def sandbox_memory(sbx: str) -> tuple[int, int]:
    """(charged, anonymous) bytes of the sandbox's memory cgroup: cgroup v2's
    memory.current and anon, or v1's usage_in_bytes and total_rss."""
    for pid in procs_of(sbx):
        try:
            lines = open(f"/proc/{pid}/cgroup").read().splitlines()
        except OSError:
            continue
        for ln in lines:
            _, ctrl, path = ln.split(":", 2)
            if ctrl == "memory":
                d, files = pathlib.Path("/sys/fs/cgroup/memory" + path), ("memory.usage_in_bytes", "total_rss")
            elif ctrl == "":
                d, files = pathlib.Path("/sys/fs/cgroup" + path), ("memory.current", "anon")
            else:
                continue
            while d.name and sbx not in d.name:  # the browser sits in a task cgroup below the sandbox's
                d = d.parent
            if (d / files[0]).exists():
                stat = dict(x.split() for x in (d / "memory.stat").read_text().splitlines())
                return int((d / files[0]).read_text()), int(stat[files[1]])
    return 0, 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10)
    args = ap.parse_args()
    client = Sandq(os.environ["SANDQ_KAFKA_BROKERS"], os.environ.get("SANDQ_TOPIC_PREFIX", "sandq"))
    body = {"capabilities": {"browser": {"viewport": {"width": 1280, "height": 720}}}, "limits": {"memoryMb": 1024}}

    host = [host_launch() for _ in range(args.n)]
    wall, startup, mem = [], [], None
    for i in range(args.n):
        sbx = new_id("sbx")
        s = client.stream(sbx)
        t0 = time.perf_counter()
        client.send(client.envelope("sandbox.create", sbx, body))
        ev = s.wait_for(lambda e: e["type"] in {"sandbox.browser.ready", "sandbox.browser.failed",
                                                "request.rejected", "sandbox.failed"}, 120)
        wall.append((time.perf_counter() - t0) * 1000)
        if ev["type"] != "sandbox.browser.ready":
            sys.exit(f"no browser: {ev}")
        startup.append(ev["data"]["startupMs"])
        s.wait_for(lambda e: e["type"] == "sandbox.ready", 60)
        if i == args.n - 1:
            time.sleep(2)  # idle
            mem = sandbox_memory(sbx)
        kill(client, s, sbx)

    def row(name, xs, base=None):
        ratio = f"   x{pct(xs, 50) / pct(base, 50):.2f} p50 vs host" if base else ""
        print(f"{name:<44} p50 {pct(xs, 50):7.0f} ms   p99 {pct(xs, 99):7.0f} ms{ratio}")

    print(f"browser startup, n={args.n} ({BIN})")
    row("host: spawn -> page attached (baseline)", host)
    row("sandbox: worker's startupMs", startup, host)
    row("sandbox: create sent -> browser.ready", wall, host)
    if mem and mem[0]:
        cur, anon = mem
        print(f"idle browser sandbox memory: {cur / 2**20:.0f} MiB charged ({anon / 2**20:.0f} MiB anonymous); "
              f"by that, {int(24 * 2**30 // cur)} fit in 24 GiB ({int(24 * 2**30 // anon)} counting anonymous only)")


if __name__ == "__main__":
    main()
