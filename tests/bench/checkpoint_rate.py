#!/usr/bin/env python3
"""checkpoint_rate.py — checkpoint and restore MiB/s (issue 13) against `tar --zstd`
of the same directory in the same run.

Starts a real S3-compatible server (versitygw, tests/integration/s3_server.py)
and two sandq-workers of its own — one on a file:// store, one on an s3:// store —
creates a sandbox on each and fills its workspace with 1,000 small files and
--mib MiB of random bytes. Then, in alternating rounds:

  sandq   checkpoint.create (its durationMs: browser-less, so tar --zstd --sparse
          inside the sandbox, spooled to the host, put into the store) and
          checkpoint.restore (fetch, remove the workspace's entries, tar -x inside);
  tar     on the host, the same workspace directory: `tar --zstd --sparse -cf` to a
          file beside the worker's spool, and `tar --zstd -xf` of it into an empty
          directory (no store, no sandbox, no fsync).

MiB/s is the workspace's bytes (du --apparent-size) over the time. Prints
medians and the ratio sandq/tar; asserts nothing (timings on a shared machine
are noisy). Not measured: a persisted sandbox resuming on another worker —
`sandbox.pause {persist: true}` is not built (docs/checkpoints.md).

usage: checkpoint_rate.py [--mib 100] [--rounds 3]
  env: the stack's SANDQ_* (set -a; . .stack/env; set +a), SANDQ_BUILD_DIR
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
from harness import Worker, private_prefix  # noqa: E402
from s3_server import S3Server  # noqa: E402
from sandq_client import Sandq, new_id  # noqa: E402

TERMINAL = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}


def start(name: str, env: dict, uid_base: str):
    brokers = os.environ["SANDQ_KAFKA_BROKERS"]
    prefix = private_prefix(brokers, name)
    client = Sandq(brokers, prefix)
    w = Worker(f"w-{name}", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, "SANDQ_UID_BASE": uid_base,
                             "SANDQ_LOG_LEVEL": "info", "SANDQ_CHECKPOINT_KEEP": "2", **env}).start()
    sbx = new_id("sbx")
    stream = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, {"limits": {"memoryMb": 1024}}))
    stream.wait_type("sandbox.ready", timeout=120)
    return client, sbx, stream, w


def request(client, sbx, stream, type_: str, body: dict) -> dict:
    req = client.send(client.envelope(type_, sbx, body))
    done = stream.for_request(req["requestId"], TERMINAL, timeout=900)
    assert done["type"] == "sandbox.task.completed", done
    return done


def fill(client, sbx, stream, mib: int) -> None:
    request(client, sbx, stream, "task.exec", {"command": "sh", "args": ["-c", (
        "set -e; cd /workspace; for d in $(seq 0 9); do mkdir -p tree/d$d; for f in $(seq 0 99); do "
        "echo \"file $d/$f $RANDOM\" > tree/d$d/f$f.txt; done; done; head -c %d /dev/urandom > big.bin" % (mib << 20))]})


def host_tar(ws: pathlib.Path, scratch: pathlib.Path) -> tuple[float, float]:
    out = scratch / "baseline.tar.zst"
    t0 = time.monotonic()
    subprocess.run(["tar", "--zstd", "--sparse", "-cf", str(out), "-C", str(ws), "."], check=True)
    create = time.monotonic() - t0
    dest = scratch / "restore"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir()
    t0 = time.monotonic()
    subprocess.run(["tar", "--zstd", "-xf", str(out), "-C", str(dest)], check=True)
    restore = time.monotonic() - t0
    out.unlink()
    shutil.rmtree(dest, ignore_errors=True)
    return create, restore


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-ckbench-"))
    workers = []
    try:
        with S3Server() as s3:
            s3.create_bucket("ckbench")
            boxes = {"file": start("ckbf", {"SANDQ_ARTIFACT_STORE": f"file://{store}"}, "3460000000"),
                     "s3": start("ckbs", {**s3.env("ckbench", "b"), "SANDQ_S3_PART_BYTES": str(16 << 20)},
                                 "3470000000")}
            workers = [b[3] for b in boxes.values()]
            out = {}
            for kind, (client, sbx, stream, w) in boxes.items():
                fill(client, sbx, stream, a.mib)
                ws = w.dir / "workspaces" / sbx
                size = int(subprocess.run(["du", "-s", "--apparent-size", "-B1", str(ws)], capture_output=True,
                                          text=True, check=True).stdout.split()[0])
                scratch = pathlib.Path(tempfile.mkdtemp(prefix="ckb-", dir=w.dir))
                mib = size / (1 << 20)
                r = {"sq_create": [], "sq_restore": [], "tar_create": [], "tar_restore": [], "archive": 0}
                for _ in range(a.rounds):
                    cid = new_id("chk")
                    done = request(client, sbx, stream, "checkpoint.create", {"checkpointId": cid})
                    r["sq_create"].append(done["data"]["result"]["durationMs"] / 1000)
                    r["archive"] = done["data"]["result"]["sizeBytes"]
                    done = request(client, sbx, stream, "checkpoint.restore", {"checkpointId": cid})
                    r["sq_restore"].append(done["data"]["result"]["durationMs"] / 1000)
                    c, rs = host_tar(ws, scratch)
                    r["tar_create"].append(c)
                    r["tar_restore"].append(rs)
                shutil.rmtree(scratch, ignore_errors=True)
                med = {k: statistics.median(v) for k, v in r.items() if isinstance(v, list)}
                rate = {k: mib / v for k, v in med.items()}
                out[kind] = {"workspaceMiB": round(mib, 1), "archiveMiB": round(r["archive"] / (1 << 20), 1),
                             **{k + "MiBs": round(v, 1) for k, v in rate.items()},
                             "createRatio": round(rate["sq_create"] / rate["tar_create"], 2),
                             "restoreRatio": round(rate["sq_restore"] / rate["tar_restore"], 2)}
                print(f"{kind:4s} store, {mib:.0f} MiB workspace: checkpoint {rate['sq_create']:6.1f} MiB/s vs "
                      f"tar --zstd -c {rate['tar_create']:6.1f} MiB/s (ratio {out[kind]['createRatio']}); restore "
                      f"{rate['sq_restore']:6.1f} MiB/s vs tar --zstd -x {rate['tar_restore']:6.1f} MiB/s "
                      f"(ratio {out[kind]['restoreRatio']})", flush=True)
                k = client.send(client.envelope("sandbox.kill", sbx))
                stream.for_request(k["requestId"], {"sandbox.ended"}, timeout=60)
            print(json.dumps(out))
    finally:
        for w in workers:
            w.stop()
            shutil.rmtree(w.dir, ignore_errors=True)
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
