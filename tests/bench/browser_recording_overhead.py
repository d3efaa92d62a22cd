#!/usr/bin/env python3
"""browser_recording_overhead.py — what capabilities.recording.browser (the
browser as MP4, docs/recording.md) costs a task.browser.

One worker of its own (directory artifact store), two browser sandboxes on it,
both with recording.enabled; one also with recording.browser. Each round runs
the same task.browser in both, one after the other (the order alternates), so
both see the same machine load. Two tasks:

  still  goto about:blank (fixed costs: ffmpeg's start in the sandbox, the
         first frame, the finish, the MP4's export)
  anim   goto a page that changes every 40 ms, waitFor an element it adds
         after --anim-ms (default 1500): the screencast runs the whole time

Timed at the client from send to the task's outcome; the worker's durationMs
is printed too, and the CPU the sandbox's cgroup used over all rounds
(cpu.stat usage_usec, or v1 cpuacct.usage: ffmpeg's CPU counts there) per task. Warm-up rounds are
not counted. Prints p50/p99 and the ratio against the sandbox without the
video. Not a test: nothing here asserts a number.

usage: browser_recording_overhead.py [-n N] [--warmup W] [--anim-ms MS]
       (env: the stack's, as tests/integration needs)
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
from harness import Worker, private_prefix  # noqa: E402
from sandbox_host import TASK_END, kill, procs_of  # noqa: E402
from sandq_client import Sandq, new_id  # noqa: E402

PAGE = """<!doctype html><html><body style="margin:0;font:40px sans-serif"><div id="n">0</div><script>
let n = 0; setInterval(() => { document.getElementById('n').textContent = ++n; }, 40);
setTimeout(() => { const d = document.createElement('p'); d.id = 'done'; document.body.appendChild(d); }, %MS%);
</script></body></html>"""


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def cgroup_cpu_us(sbx: str) -> int:
    """CPU time of the sandbox's top cgroup, found through one of its processes:
    cgroup v2 cpu.stat usage_usec, else the v1 cpuacct.usage."""
    for pid in procs_of(sbx):
        try:
            lines = open(f"/proc/{pid}/cgroup").read().splitlines()
        except OSError:
            continue
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if f"/{sbx}" not in path:
                continue
            top = path[:path.index(f"/{sbx}") + len(sbx) + 1]
            if controllers == "":
                for base in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
                    try:
                        for x in open(f"{base}{top}/cpu.stat"):
                            if x.startswith("usage_usec "):
                                return int(x.split()[1])
                    except OSError:
                        pass
            elif "cpuacct" in controllers.split(","):
                try:
                    return int(open(f"/sys/fs/cgroup/{controllers}{top}/cpuacct.usage").read()) // 1000
                except OSError:
                    pass
    raise SystemExit(f"no cgroup CPU counter found for {sbx}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--anim-ms", type=int, default=1500)
    args = ap.parse_args()
    store = tempfile.mkdtemp(prefix="sandq-bench-vid-")
    prefix = private_prefix(os.environ["SANDQ_KAFKA_BROKERS"], "benchvid")
    client = Sandq(os.environ["SANDQ_KAFKA_BROKERS"], prefix)
    w = Worker("w-bench-vid", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix,
                               "SANDQ_UID_BASE": "3880000000", "SANDQ_ARTIFACT_STORE": f"file://{store}"}).start()
    boxes = {}
    tasks = {"still": [{"op": "goto", "url": "about:blank"}],
             "anim": [{"op": "goto", "url": "file:///workspace/anim.html"},
                      {"op": "waitFor", "selector": "#done", "timeoutMs": 30000}]}
    res = {(k, v): ([], []) for k in tasks for v in ("off", "on")}
    cpu = {}
    try:
        for name, video in (("off", False), ("on", True)):
            sbx = new_id("sbx")
            s = client.stream(sbx)
            client.send(client.envelope("sandbox.create", sbx, {
                "capabilities": {"recording": {"enabled": True, "browser": video},
                                 "browser": {"viewport": {"width": 1280, "height": 720}}},
                "limits": {"memoryMb": 1024}}))
            ready = s.wait_for(lambda e: e["type"] in {"sandbox.ready", "sandbox.failed", "request.rejected"}, 90)
            if ready["type"] != "sandbox.ready":
                sys.exit(f"no sandbox: {ready}")
            req = client.send(client.envelope("files.write", sbx, {
                "path": "anim.html", "content": PAGE.replace("%MS%", str(args.anim_ms))}))
            s.for_request(req["requestId"], TASK_END, 60)
            boxes[name] = (sbx, s)

        def one(task: str, name: str) -> tuple[float, int]:
            sbx, s = boxes[name]
            t0 = time.perf_counter()
            req = client.send(client.envelope("task.browser", sbx, {"actions": tasks[task]}))
            end = s.for_request(req["requestId"], TASK_END, 120)
            ms = (time.perf_counter() - t0) * 1000
            if end["type"] != "sandbox.task.completed":
                sys.exit(f"task failed: {end}")
            videos = [a for a in end["data"]["artifacts"] if a["path"].endswith(".mp4")]
            if (name == "on") != bool(videos):
                sys.exit(f"video {name} but artifacts {end['data']['artifacts']}")
            return ms, end["data"]["durationMs"]

        for i in range(args.warmup + args.n):
            if i == args.warmup:
                cpu = {name: cgroup_cpu_us(sbx) for name, (sbx, _) in boxes.items()}
            for task in tasks:
                order = ("off", "on") if i % 2 == 0 else ("on", "off")
                for name in order:
                    ms, dur = one(task, name)
                    if i >= args.warmup:
                        res[(task, name)][0].append(ms)
                        res[(task, name)][1].append(dur)
        cpu = {name: (cgroup_cpu_us(sbx) - cpu[name]) / 1000 / (args.n * len(tasks))
               for name, (sbx, _) in boxes.items()}
    finally:
        for sbx, s in boxes.values():
            kill(client, s, sbx)
        w.stop()
        shutil.rmtree(store, ignore_errors=True)

    print(f"task.browser, 1280x720, n={args.n} (+{args.warmup} warm-up) per task, alternating, same worker")
    for task in tasks:
        off_c, off_w = res[(task, "off")]
        on_c, on_w = res[(task, "on")]
        label = "still (goto about:blank)" if task == "still" else f"anim ({args.anim_ms} ms of animation)"
        print(f"{label}")
        print(f"  {'without video (baseline), send -> completed':<46} p50 {pct(off_c, 50):8.1f} ms   "
              f"p99 {pct(off_c, 99):8.1f} ms   durationMs p50 {pct(off_w, 50):7.1f}")
        print(f"  {'with video, send -> completed':<46} p50 {pct(on_c, 50):8.1f} ms   "
              f"p99 {pct(on_c, 99):8.1f} ms   durationMs p50 {pct(on_w, 50):7.1f}"
              f"   x{pct(on_c, 50) / pct(off_c, 50):.2f} p50, +{pct(on_c, 50) - pct(off_c, 50):.1f} ms")
    print(f"sandbox cgroup CPU per task (both kinds): without video {cpu['off']:.1f} ms, with video "
          f"{cpu['on']:.1f} ms (x{cpu['on'] / cpu['off']:.2f})")


if __name__ == "__main__":
    main()
