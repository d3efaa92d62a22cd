#!/usr/bin/env python3
"""artifact_upload.py — artifact upload rate (issue 13) against `curl -T` to the same store.

Starts a real S3-compatible server (versitygw, tests/integration/s3_server.py)
and two sandq-workers of its own — one on an s3:// store, one on a file:// store
— creates a sandbox on each, writes a file of --mib MiB of random bytes into
/workspace and exports it with `outputs` (task.exec). The upload time is the
worker's own measurement of the store put (its log line "artifact art_…: … in N
ms": read, sha256, sign, send, and for S3 the multipart requests; for the
directory, the copy and fdatasync). Baseline, same run, a host file of the same
size of random bytes: `curl -T` to the same store — for S3 one SigV4-signed PUT with
UNSIGNED-PAYLOAD (no hashing at all), for the directory `curl -T file:///…`
(no fsync), and that followed by `sync --data` of the file (the worker fdatasyncs). Rounds alternate sandq and curl. Prints MiB/s medians and the
ratio; asserts nothing (timings on a shared machine are noisy).

usage: artifact_upload.py [--mib 256] [--rounds 3] [--part-mib 8]
  env: the stack's SANDQ_* (set -a; . .stack/env; set +a), SANDQ_BUILD_DIR
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
from harness import Worker, private_prefix  # noqa: E402
from s3_server import ACCESS, REGION, SECRET, S3Server  # noqa: E402
from sandq_client import Sandq, new_id  # noqa: E402

TERMINAL = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}


def start(name: str, env: dict, uid_base: str, mib: int):
    brokers = os.environ["SANDQ_KAFKA_BROKERS"]
    prefix = private_prefix(brokers, name)
    client = Sandq(brokers, prefix)
    w = Worker(f"w-{name}", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, "SANDQ_UID_BASE": uid_base,
                             "SANDQ_LOG_LEVEL": "info", **env}).start()
    sbx = new_id("sbx")
    stream = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, {"limits": {"diskMb": mib * 2 + 256}}))
    stream.wait_type("sandbox.ready", timeout=120)
    return client, sbx, stream, w


def export_once(client, sbx, stream, w, i: int) -> float:
    req = client.send(client.envelope("task.exec", sbx, {"command": "true", "outputs": ["big.bin"]}))
    done = stream.for_request(req["requestId"], TERMINAL, timeout=600)
    assert done["type"] == "sandbox.task.completed", done
    (art,) = done["data"]["artifacts"]
    m = re.search(r"artifact %s: big.bin \((\d+) bytes\) in (\d+) ms" % art["artifactId"], w.log_text())
    assert m, "no upload timing in the worker log"
    return int(m.group(1)) / (1 << 20) / max(int(m.group(2)), 1) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--part-mib", type=int, default=0, help="SANDQ_S3_PART_BYTES in MiB (default: the worker's 8)")
    a = ap.parse_args()
    host_copy = pathlib.Path(tempfile.mkdtemp(prefix="sandq-bench-art-"))
    store_dir = pathlib.Path(tempfile.mkdtemp(prefix="sandq-bench-store-"))
    workers = []
    try:
        src = host_copy / "big.bin"
        with open(src, "wb") as f:
            for _ in range(a.mib):
                f.write(os.urandom(1 << 20))
        with S3Server() as s3:
            s3.create_bucket("bench")
            setups = {
                "s3": start("bencharts3", {**s3.env("bench"), **({"SANDQ_S3_PART_BYTES": str(a.part_mib << 20)}
                                                                      if a.part_mib else {})}, "3800000000", a.mib),
                "file": start("benchartfile", {"SANDQ_ARTIFACT_STORE": f"file://{store_dir}"}, "3900000000", a.mib),
            }
            for client, sbx, stream, w in setups.values():
                workers.append(w)
                # A file of the same size of random bytes inside the sandbox.
                req = client.send(client.envelope("task.exec", sbx, {
                    "command": "sh", "args": ["-c", f"head -c {a.mib << 20} /dev/urandom > big.bin"]}))
                assert stream.for_request(req["requestId"], TERMINAL, timeout=600)["type"] == "sandbox.task.completed"
            results: dict[str, dict[str, list[float]]] = {k: {"sandq": [], "curl": []} for k in setups}
            synced: list[float] = []  # directory: curl -T then fdatasync of the file, as the worker does
            for i in range(a.rounds):
                for kind, (client, sbx, stream, w) in setups.items():
                    results[kind]["sandq"].append(export_once(client, sbx, stream, w, i))
                    if kind == "s3":
                        t0 = time.monotonic()
                        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--aws-sigv4",
                                            f"aws:amz:{REGION}:s3", "-u", f"{ACCESS}:{SECRET}", "-H",
                                            "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-T", str(src),
                                            f"{s3.endpoint}/bench/curl-{i}.bin"], capture_output=True, timeout=600)
                        assert r.stdout == b"200", r
                    else:
                        t0 = time.monotonic()
                        r = subprocess.run(["curl", "-sS", "-T", str(src), f"file://{store_dir}/curl-{i}.bin"],
                                           capture_output=True, timeout=600)
                        assert r.returncode == 0, r
                        t1 = time.monotonic()
                        subprocess.run(["sync", "--data", f"{store_dir}/curl-{i}.bin"], check=True, timeout=600)
                        synced.append(a.mib / (time.monotonic() - t0))
                        results[kind]["curl"].append(a.mib / (t1 - t0))
                        continue
                    results[kind]["curl"].append(a.mib / (time.monotonic() - t0))
            out = {}
            for kind, r in results.items():
                sq, cu = statistics.median(r["sandq"]), statistics.median(r["curl"])
                out[kind] = {"sandq_mib_s": round(sq, 1), "curl_mib_s": round(cu, 1), "ratio": round(sq / cu, 2),
                             "rounds": {k: [round(x, 1) for x in v] for k, v in r.items()}}
                print(f"{kind:5s} store: sandq artifact upload {sq:7.1f} MiB/s, curl -T {cu:7.1f} MiB/s, "
                      f"ratio {sq / cu:.2f} (medians of {a.rounds}, {a.mib} MiB)")
            cs = statistics.median(synced)
            sq = out["file"]["sandq_mib_s"]
            out["file"]["curl_fdatasync_mib_s"] = round(cs, 1)
            out["file"]["ratio_fdatasync"] = round(sq / cs, 2)
            print(f"file  store: against curl -T + fdatasync {cs:7.1f} MiB/s, ratio {sq / cs:.2f}")
            print(json.dumps(out))
    finally:
        for w in workers:
            w.stop()
        shutil.rmtree(host_copy, ignore_errors=True)
        shutil.rmtree(store_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
