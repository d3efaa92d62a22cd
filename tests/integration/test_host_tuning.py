"""The worker's host tuning: cgroup2's favordynmods, which keeps a migration
into a cgroup (every launch, every task) from waiting for an RCU grace
period (worker/sandbox/cgroup_dynmods.c)."""
from __future__ import annotations

import pathlib


def cgroup2_super_options() -> list[list[str]]:
    found = []
    for line in pathlib.Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields = right.split()
        if fields and fields[0] == "cgroup2" and left.split()[3] == "/":
            found.append(fields[2].split(","))
    return found


def test_the_worker_sets_favordynmods_and_says_so(worker):
    mounts = cgroup2_super_options()
    if not mounts:
        # A host without cgroup2 has nothing to tune; the worker must say so, not fail.
        assert "no cgroup2 mount" in worker.log_text()
        return
    assert "favordynmods" in mounts[0], mounts
    assert "favordynmods" in worker.log_text()
