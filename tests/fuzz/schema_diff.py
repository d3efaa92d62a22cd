#!/usr/bin/env python3
"""schema_diff.py — differential test: the C request parser against schema/.

PROTOCOL.md makes the JSON Schema normative, so sq_request_parse must accept
exactly the requests the schema accepts. This takes a valid request of every
type, mutates every field (each of a list of awkward values, deleted, an unknown
sibling added), and runs every variant through both the schema
(tests/integration/schemas.py) and the C parser (parse_lines), then prints where
they disagree, grouped by field. Exit status 1 if they disagree anywhere.

    python3 tests/fuzz/schema_diff.py build/tests/parse_lines [--examples N]

Needs jsonschema and referencing (scripts/setup's venv has them).
"""
from __future__ import annotations

import collections
import copy
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import schemas  # noqa: E402

REQ = "req_01ARZ3NDEKTSV4RRFFQ69G5FAV"
SBX = "sbx_01ARZ3NDEKTSV4RRFFQ69G5FAW"
TSK = "tsk_01ARZ3NDEKTSV4RRFFQ69G5FAX"
CHK = "chk_01ARZ3NDEKTSV4RRFFQ69G5FAY"
HND = "hnd_01ARZ3NDEKTSV4RRFFQ69G5FAZ"


def env(t: str, body: dict, task: bool = False) -> dict:
    r = {"v": 1, "requestId": REQ, "type": t, "sandboxId": SBX}
    if task:
        r["taskId"] = TSK
    r["body"] = body
    return r


BASES = [
    env("sandbox.create", {
        "region": "iad", "runtime": "python", "env": {"A": "1"},
        "capabilities": {
            "agent": {"enabled": True, "defaultAgent": "build"},
            "browser": {"viewport": {"width": 1280, "height": 720}, "persistentProfile": True, "recording": True,
                        "streamPreview": True, "humanInLoop": True, "byoProxyUrl": "http://proxy:3128"},
            "documents": {"libreofficeHeadless": True}, "recording": {"enabled": True},
            "storage": {"artifactPrefix": "a/"}},
        "limits": {"memoryMb": 512, "cpus": 1.5, "pids": 64, "diskMb": 1024}, "network": "none",
        "timeoutMs": 60000, "idleTimeoutMs": 1000, "onTimeout": "kill",
        "checkpoint": {"auto": True, "intervalMs": 60000},
        "webhook": {"url": "https://example.com/h", "secret": "whsec_abc", "eventTypes": ["sandbox.ready"]}}),
    env("sandbox.pause", {"persist": True}),
    env("sandbox.resume", {}),
    env("sandbox.kill", {}),
    env("sandbox.setTimeout", {"timeoutMs": 1000}),
    env("task.exec", {"command": "python3", "args": ["-c", "x"], "cwd": "/workspace", "env": {"X": "1"},
                      "stdin": "hi", "timeoutMs": 5, "outputs": ["*.png"]}, True),
    env("task.exec", {"command": "python3", "stdinB64": "aGk="}, True),
    env("task.code", {"code": "print(1)", "language": "python", "timeoutMs": 5, "outputs": ["a"]}, True),
    env("task.agent", {"prompt": "p", "agent": "build", "model": "m", "maxSteps": 5, "timeoutMs": 5,
                       "outputs": ["a"]}, True),
    env("task.browser", {"actions": [
        {"op": "goto", "url": "https://e.com"}, {"op": "click", "selector": "#a"},
        {"op": "type", "selector": "#q", "text": "x"}, {"op": "press", "key": "Enter"},
        {"op": "waitFor", "selector": "#a", "timeoutMs": 5}, {"op": "evaluate", "expression": "1"},
        {"op": "content"}, {"op": "screenshot", "path": "a.png", "fullPage": True}, {"op": "pdf", "path": "a.pdf"},
        {"op": "setViewport", "width": 800, "height": 600}, {"op": "restart"}], "timeoutMs": 5}, True),
    env("task.document", {"input": "a.docx", "to": "pdf", "outdir": "out"}, True),
    env("task.cancel", {"targetTaskId": "tsk_01ARZ3NDEKTSV4RRFFQ69G5FB0"}, True),
    env("files.write", {"path": "a", "content": "x", "offset": 0, "mode": 420}, True),
    env("files.write", {"path": "a", "contentB64": "eA==", "append": True}, True),
    env("files.read", {"path": "a", "offset": 0, "length": 5}, True),
    env("files.list", {"path": "a", "recursive": True}, True),
    env("files.remove", {"path": "a", "recursive": True}, True),
    env("checkpoint.create", {"checkpointId": CHK, "label": "l"}, True),
    env("checkpoint.restore", {"checkpointId": CHK}, True),
    env("checkpoints.list", {}, True),
    env("handoff.request", {"handoffId": HND, "reason": "mfa", "message": "m", "resumePrompt": "r",
                            "expiresInMs": 5}),
    env("handoff.accept", {"handoffId": HND, "controller": "c"}),
    env("handoff.complete", {"handoffId": HND, "note": "n"}),
    env("handoff.cancel", {"handoffId": HND}),
]

VALUES = [None, "", "x", "whsec_x", "iad", "IAD", -1, 0, 1, 2, 1.5, 0.0, 2**40, 2**63 - 1, True, False,
          [], ["x"], [1], {}, {"a": "b"}, {"1A": "b"}, "a" * 300, "a" * 5000, "/etc/passwd", "..",
          TSK, SBX, REQ, CHK, HND, "eA=", "e!==", "file:///etc/passwd", 4095, 4096, 16, 15, 1024, 1025,
          16384, 16385, 1000, 1001]
DELETE = object()
ENVELOPE_EXTRAS = [("tenant", "acme"), ("tenant", ""), ("tenant", None), ("sentAt", -5), ("sentAt", 5),
                   ("sentAt", 1.5), ("replyTo", "a.b"), ("replyTo", None), ("replyTo", ".."),
                   ("metadata", {"a": "b"}), ("metadata", None), ("metadata", {"a": 1}), ("taskId", None),
                   ("taskId", TSK), ("body", None), ("v", 1.0)]


def paths(obj, prefix=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield prefix + (k,)
            yield from paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield prefix + (i,)
            yield from paths(v, prefix + (i,))


def at(obj, path):
    for k in path:
        obj = obj[k]
    return obj


def cases():
    for base in BASES:
        yield base
        for p in list(paths(base)):
            for v in VALUES + [DELETE]:
                if v is DELETE and isinstance(p[-1], int):
                    continue
                m = copy.deepcopy(base)
                parent = at(m, p[:-1])
                if v is DELETE:
                    del parent[p[-1]]
                else:
                    parent[p[-1]] = v
                yield m
        for p in [()] + list(paths(base)):
            if isinstance(at(base, p), dict):
                m = copy.deepcopy(base)
                at(m, p)["zz"] = 1
                yield m
        for k, v in ENVELOPE_EXTRAS:
            m = copy.deepcopy(base)
            m[k] = v
            yield m


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    parse_lines = sys.argv[1]
    examples = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--examples" else 1
    all_cases = list(cases())
    lines = "".join(json.dumps(c) + "\n" for c in all_cases)
    out = subprocess.run([parse_lines], input=lines.encode(), capture_output=True, check=True).stdout.decode()
    verdicts = out.splitlines()
    assert len(verdicts) == len(all_cases), (len(verdicts), len(all_cases))
    groups = collections.defaultdict(list)
    for case, verdict in zip(all_cases, verdicts):
        outcome, code, field = verdict.split("\t")
        errors = schemas.request_errors(case)
        c_ok, schema_ok = outcome == "0", not errors
        if c_ok == schema_ok:
            continue
        if c_ok:
            key = ("C accepts, schema rejects", errors[0].split(":")[0])
            why = errors[0]
        else:
            key = ("C rejects, schema accepts", field)
            why = f"{code} {field}"
        groups[key].append((json.dumps(case)[:400], why))
    total = sum(len(v) for v in groups.values())
    print(f"{len(all_cases)} requests, {total} disagreements")
    for (kind, field), items in sorted(groups.items()):
        print(f"{kind}: {field} ({len(items)})")
        for text, why in items[:examples]:
            print(f"    {why}\n    {text}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
