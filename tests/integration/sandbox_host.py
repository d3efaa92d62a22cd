"""sandbox_host.py — helpers for the limits, pause/resume and timeout tests:
driving a sandbox through the worker (create, exec and wait) and looking at it
from the host (its processes by host uid, its cgroup directories, a file in its
workspace). Nothing is mocked: these read /proc and /sys/fs/cgroup."""
from __future__ import annotations

import os
import pathlib
import time

from sandq_client import EventStream, Sandq, new_id

TASK_END = {"sandbox.task.completed", "sandbox.task.failed"}


def create(client: Sandq, body: dict | None = None, timeout: float = 60) -> tuple[str, EventStream, dict]:
    """Create a sandbox; returns (id, its stream, the sandbox.ready event)."""
    sbx = new_id("sbx")
    s = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, body or {}))
    ready = s.wait_for(lambda e: e["type"] in {"sandbox.ready", "sandbox.failed", "request.rejected"}, timeout)
    assert ready["type"] == "sandbox.ready", ready
    return sbx, s, ready


def kill(client: Sandq, s: EventStream, sbx: str) -> dict:
    k = client.send(client.envelope("sandbox.kill", sbx))
    return s.for_request(k["requestId"], {"sandbox.ended", "request.rejected"}, timeout=60)


def run(client: Sandq, s: EventStream, sbx: str, script: str, timeout: float = 60, **body) -> tuple[dict, str, dict]:
    """Run `sh -c script`; returns (the task's final event, its stdout, the request)."""
    req = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", script], **body}))
    end = s.for_request(req["requestId"], TASK_END | {"request.rejected"}, timeout=timeout)
    out = "".join(e["data"].get("data", "") for e in s.seen
                  if e["type"] == "sandbox.task.output" and e["requestId"] == req["requestId"]
                  and e["data"]["stream"] == "stdout")
    return end, out, req


def run_measuring(client: Sandq, s: EventStream, sbx: str, script: str, timeout: float = 60,
                  **body) -> tuple[dict, int]:
    """Run `bash -c script` and sample the sandbox's process count while it
    runs; returns (the task's final event, the largest count seen)."""
    req = client.send(client.envelope("task.exec", sbx, {"command": "bash", "args": ["-c", script], **body}))
    peak, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        peak = max(peak, len(procs_of(sbx)))
        ev = s.poll(0.02)
        if ev is not None and ev.get("requestId") == req["requestId"] and ev["type"] in TASK_END:
            return ev, peak
    raise TimeoutError(f"task did not end within {timeout}s")


def host_uid(worker, sbx: str) -> int:
    """The host uid the sandbox's root maps to: the owner of its workspace."""
    return os.stat(worker.dir / "workspaces" / sbx).st_uid


def workspace_file(worker, sbx: str, name: str) -> pathlib.Path:
    return worker.dir / "workspaces" / sbx / name


def procs_of(sbx: str) -> list[int]:
    """Host pids of the sandbox's processes: those whose cgroup path (as the
    host sees it) names the sandbox. Host uids alone would not do: workers
    with separate run directories may reuse a uid range."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cgroup") as f:
                if f"/{sbx}" in f.read():
                    pids.append(int(d))
        except OSError:
            continue
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes, in seconds (those still alive)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / tick


def cgroup_dirs(name: str) -> list[str]:
    """Every directory called `name` under /sys/fs/cgroup (any hierarchy)."""
    found = []
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        if name in dirs:
            found.append(os.path.join(root, name))
        # The sandbox cgroups sit a few levels under the worker's own cgroup.
        if root.count("/") > 12:
            dirs[:] = []
    return found


def zombie_children(pid: int) -> list[int]:
    """Children of pid that have exited and were not reaped."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == pid:
            found.append(int(d))
    return found


def leftovers(worker, sbx: str) -> dict:
    """What a killed sandbox must not leave behind; {} when nothing is left:
    processes, cgroups, zombies of the worker, host mounts naming it, its
    workspace directory."""
    left = {}
    if procs_of(sbx):
        left["processes"] = procs_of(sbx)
    if cgroup_dirs(sbx):
        left["cgroups"] = cgroup_dirs(sbx)
    if worker.proc and zombie_children(worker.proc.pid):
        left["zombies"] = zombie_children(worker.proc.pid)
    for mi in ("/proc/self/mountinfo", f"/proc/{worker.proc.pid}/mountinfo" if worker.proc else None):
        if mi and os.path.exists(mi) and sbx in open(mi).read():
            left.setdefault("mounts", []).append(mi)
    if (worker.dir / "workspaces" / sbx).exists():
        left["workspace"] = str(worker.dir / "workspaces" / sbx)
    return left


def wait_until(pred, timeout: float = 10.0, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
