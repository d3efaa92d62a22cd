#!/usr/bin/env python3
"""doc_convert.py — what a task.document costs, on a running stack + worker
(docs/documents.md, "Costs").

Measures, in the same run, a generated .docx (a few pages of paragraphs) → PDF:
  * sandbox cold: the first conversion in a fresh sandbox (created with
    capabilities.documents; its LibreOffice profile does not exist yet) — the
    worker's durationMs (the converter inside the sandbox) and the client's
    wall time (task.document sent → sandbox.task.completed read);
  * sandbox warm: the next conversions in the same sandbox (profile made);
  * baseline: the same soffice command run directly on the host, cold (a
    fresh profile each time) and warm (one profile reused).
Prints p50/p99 and the ratios against the host. Not a test: nothing here
asserts a number.

usage: doc_convert.py [-n N] [--warm W] [--cpus C]   (env: SANDQ_KAFKA_BROKERS, SANDQ_TOPIC_PREFIX;
                                            a worker must be consuming the stack)
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
from sandbox_host import kill  # noqa: E402
from sandq_client import Sandq, new_id  # noqa: E402
from test_documents import docx_bytes  # noqa: E402

SOFFICE = os.environ.get("SANDQ_SOFFICE_BIN", "/usr/bin/soffice")
TEXT = " ".join(["The documents capability converts files inside the sandbox."] * 400)
DOCS = {"capabilities": {"documents": {"libreofficeHeadless": True}}, "limits": {"memoryMb": 512}}
END = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def host_convert(src: pathlib.Path, profile: str, outdir: str) -> float:
    """ms of the worker's command line, run on the host."""
    t0 = time.perf_counter()
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--invisible", "--nologo",
                    "--norestore", "--nolockcheck", "--nodefault", "--infilter=MS Word 2007 XML",
                    "--convert-to", "pdf", "--outdir", outdir, str(src)],
                   check=True, capture_output=True, env={**os.environ, "HOME": profile + "-home"}, timeout=300)
    ms = (time.perf_counter() - t0) * 1000
    if not (pathlib.Path(outdir) / (src.stem + ".pdf")).exists():
        sys.exit("host soffice wrote no PDF")
    return ms


def upload(client: Sandq, s, sbx: str, data: bytes) -> None:
    import base64
    req = client.send(client.envelope("files.write", sbx, {"path": "in.docx",
                                                           "contentB64": base64.b64encode(data).decode()}))
    ev = s.for_request(req["requestId"], END, 60)
    if ev["type"] != "sandbox.task.completed":
        sys.exit(f"upload failed: {ev}")


def convert(client: Sandq, s, sbx: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    req = client.send(client.envelope("task.document", sbx, {"input": "in.docx", "to": "pdf"}))
    ev = s.for_request(req["requestId"], END, 300)
    wall = (time.perf_counter() - t0) * 1000
    if ev["type"] != "sandbox.task.completed":
        sys.exit(f"conversion failed: {ev}")
    return wall, ev["data"]["result"]["durationMs"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5, help="sandboxes (cold conversions)")
    ap.add_argument("--warm", type=int, default=2, help="warm conversions per sandbox")
    ap.add_argument("--cpus", type=float, default=0,
                    help="the sandboxes' limits.cpus (default: the worker's, 1; the host run is not limited)")
    args = ap.parse_args()
    body = {**DOCS, "limits": {**DOCS["limits"], **({"cpus": args.cpus} if args.cpus else {})}}
    client = Sandq(os.environ["SANDQ_KAFKA_BROKERS"], os.environ.get("SANDQ_TOPIC_PREFIX", "sandq"))
    data = docx_bytes(TEXT)
    work = pathlib.Path(tempfile.mkdtemp(prefix="sandq-bench-doc-"))
    try:
        src = work / "in.docx"
        src.write_bytes(data)
        host_cold, host_warm = [], []
        warm_profile = str(work / "warm-profile")
        host_convert(src, warm_profile, str(work / "out"))  # makes the warm profile
        cold_wall, cold_dur, warm_wall, warm_dur = [], [], [], []
        # Rounds interleave the host and the sandbox, so that the load of a
        # shared machine weighs on both alike.
        for i in range(args.n):
            host_cold.append(host_convert(src, str(work / f"cold-{i}"), str(work / "out")))
            sbx = new_id("sbx")
            s = client.stream(sbx)
            client.send(client.envelope("sandbox.create", sbx, body))
            ev = s.wait_for(lambda e: e["type"] in {"sandbox.ready", "sandbox.failed", "request.rejected"}, 120)
            if ev["type"] != "sandbox.ready":
                sys.exit(f"no sandbox: {ev}")
            upload(client, s, sbx, data)
            w, d = convert(client, s, sbx)
            cold_wall.append(w)
            cold_dur.append(d)
            for _ in range(args.warm):
                host_warm.append(host_convert(src, warm_profile, str(work / "out")))
                w, d = convert(client, s, sbx)
                warm_wall.append(w)
                warm_dur.append(d)
            kill(client, s, sbx)
            s.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def row(name, xs, base=None, base_name=""):
        ratio = f"   x{pct(xs, 50) / pct(base, 50):.2f} p50 vs {base_name}" if base else ""
        print(f"{name:<46} p50 {pct(xs, 50):7.0f} ms   p99 {pct(xs, 99):7.0f} ms  (n={len(xs)}){ratio}")

    print(f"docx ({len(data)} bytes, {len(TEXT)} characters) -> pdf; {SOFFICE}; sandbox limits {body['limits']}")
    row("host soffice, fresh profile (baseline cold)", host_cold)
    row("host soffice, reused profile (baseline warm)", host_warm)
    row("sandbox cold: worker durationMs", cold_dur, host_cold, "host cold")
    row("sandbox cold: client wall time", cold_wall, host_cold, "host cold")
    row("sandbox warm: worker durationMs", warm_dur, host_warm, "host warm")
    row("sandbox warm: client wall time", warm_wall, host_warm, "host warm")
    print(f"warm vs cold in the sandbox (durationMs p50): x{pct(warm_dur, 50) / pct(cold_dur, 50):.2f}")


if __name__ == "__main__":
    main()
