"""Artifacts (issue 13, docs/artifacts.md): a task's `outputs` are exported when
it ends — one `sandbox.artifacts.updated` event, rows in PostgreSQL, the bytes in
the store — and downloaded through signed, expiring URLs.

Both back ends are exercised for real: the directory store, whose URLs this
worker's own HTTP endpoint serves (HMAC over id and expiry, ranges), and an
S3-compatible server (versitygw, tests/integration/s3_server.py) that checks
every SigV4 signature and payload hash itself — multipart uploads, presigned
downloads fetched with plain curl, a wrong secret refused."""
from __future__ import annotations

import base64
import datetime
import json
import os
import hashlib
import hmac
import pathlib
import shutil
import subprocess
import tempfile
import time
import urllib.parse

import pytest

from harness import BUILD, Worker, pg_eventually, private_prefix
from s3_server import ACCESS, REGION, SECRET, S3Server
from sandq_client import Sandq, new_id

TERMINAL = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}
URL_KEY = bytes(range(32))
URL_KEY_B64 = base64.b64encode(URL_KEY).decode()
SEQ_N = 50000
SEQ_BYTES = "".join(f"{i}\n" for i in range(1, SEQ_N + 1)).encode()

# The files a task makes: text, a larger deterministic file, one in a
# subdirectory the pattern does not reach, a FIFO nobody writes (opening it
# for reading would block for ever), a symlink out of /workspace and one
# inside it.
MAKE = (
    "mkdir -p out/sub && printf 'a,b\\n1,2\\n' > out/a.csv && seq 1 %d > out/b.bin && "
    "echo nested > out/sub/c.csv && mkfifo out/pipe.csv && ln -s /etc/passwd out/link.csv && "
    "ln -s a.csv out/inner.csv && echo skip > out/notes.txt" % SEQ_N
)


CLI = str(BUILD / "producer" / "sandq")


def sandq_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    """The sandq CLI as a backend's operator runs it: tenant acme, the stack's
    PostgreSQL, and the given artifact settings."""
    return subprocess.run([CLI, *args], capture_output=True, timeout=120,
                          env={**os.environ, "SANDQ_TENANT": "acme", **env})


def curl(*args: str) -> tuple[int, bytes]:
    r = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *args], capture_output=True, timeout=120)
    body, _, code = r.stdout.rpartition(b"\n")
    return int(code), body


def run_task(client: Sandq, stream, sbx: str, body: dict, kind: str = "task.exec", timeout: float = 120):
    req = client.send(client.envelope(kind, sbx, body, tenant="acme"))
    done = stream.for_request(req["requestId"], TERMINAL, timeout=timeout)
    mine = [e for e in stream.seen if e.get("requestId") == req["requestId"]]
    return req, done, mine


@pytest.fixture
def sandbox_on(stack_env):
    """Start a worker with extra env and a sandbox on it; yields (client, sbx, stream, worker)."""
    started = []

    def make(name: str, env: dict, uid_base: str, create: dict | None = None):
        prefix = private_prefix(stack_env["brokers"], name)
        client = Sandq(stack_env["brokers"], prefix)
        w = Worker(f"w-{name}", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix,
                                 "SANDQ_UID_BASE": uid_base, **env}).start()
        started.append(w)
        sbx = new_id("sbx")
        stream = client.stream(sbx)
        client.send(client.envelope("sandbox.create", sbx, create or {}, tenant="acme"))
        stream.wait_type("sandbox.ready", timeout=60)
        return client, sbx, stream, w

    yield make
    for w in started:
        assert w.stop() == 0, w.log_text()[-3000:]


def assert_one_update_before_completion(mine: list[dict]) -> dict:
    types = [e["type"] for e in mine]
    assert types.count("sandbox.artifacts.updated") == 1, types
    assert types.index("sandbox.artifacts.updated") < types.index("sandbox.task.completed"), types
    upd = next(e for e in mine if e["type"] == "sandbox.artifacts.updated")
    done = next(e for e in mine if e["type"] == "sandbox.task.completed")
    assert done["data"]["artifacts"] == upd["data"]["artifacts"]
    assert upd["taskId"] == done["taskId"]
    return upd


def test_outputs_to_the_directory_store(sandbox_on, pg):
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-arts-"))
    try:
        client, sbx, stream, w = sandbox_on(
            "artdir", {"SANDQ_ARTIFACT_STORE": f"file://{store}", "SANDQ_ARTIFACT_URL_KEY": URL_KEY_B64},
            "3300000000", {"capabilities": {"storage": {"artifactPrefix": "runs/42"}}})
        t0 = time.monotonic()
        req, done, mine = run_task(client, stream, sbx, {"command": "sh", "args": ["-c", MAKE],
                                                          "outputs": ["out/*.csv", "/workspace/out/*.bin"]})
        # The FIFO did not hold the export (liveness bound, not a timing claim).
        assert time.monotonic() - t0 < 60
        assert done["type"] == "sandbox.task.completed" and done["data"]["exitCode"] == 0, done
        upd = assert_one_update_before_completion(mine)
        arts = {a["path"]: a for a in upd["data"]["artifacts"]}
        assert set(arts) == {"out/a.csv", "out/b.bin", "out/inner.csv"}, upd
        skipped = {s["path"]: s["code"] for s in upd["data"]["skipped"]}
        assert skipped == {"out/link.csv": "path_outside_workspace", "out/pipe.csv": "invalid_request"}, upd

        a, b = arts["out/a.csv"], arts["out/b.bin"]
        assert a["contentType"].startswith("text/csv") and b["contentType"] == "application/octet-stream"
        assert a["sizeBytes"] == 8 and a["sha256"] == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
        assert b["sizeBytes"] == len(SEQ_BYTES) and b["sha256"] == hashlib.sha256(SEQ_BYTES).hexdigest()
        assert arts["out/inner.csv"]["sha256"] == a["sha256"]  # a link inside /workspace is its target

        # On disk under tenant/artifactPrefix/sandbox/artifactId/path, byte for byte.
        on_disk = store / "acme" / "runs" / "42" / sbx / b["artifactId"] / "out" / "b.bin"
        assert on_disk.read_bytes() == SEQ_BYTES

        rows = pg.execute("SELECT id, task_id, path, size_bytes, sha256, content_type, storage_key, tenant, "
                          "store_url FROM artifacts WHERE sandbox_id = %s ORDER BY path", (sbx,)).fetchall()
        assert [r[2] for r in rows] == ["out/a.csv", "out/b.bin", "out/inner.csv"]
        for r in rows:
            art = arts[r[2]]
            assert (r[0], r[1], r[3], r[4], r[5]) == (art["artifactId"], req["taskId"], art["sizeBytes"],
                                                      art["sha256"], art["contentType"])
            assert r[6] == f"acme/runs/42/{sbx}/{art['artifactId']}/{r[2]}" and r[7] == "acme"
            assert r[8] == f"file://{store}"

        # The signed URL, served by this worker's HTTP endpoint.
        assert b["url"].startswith(f"http://127.0.0.1:{w.http_port}/artifacts/{b['artifactId']}?exp=")
        code, body = curl(b["url"])
        assert code == 200 and body == SEQ_BYTES, (code, body[:300])
        code, body = curl("-H", "Range: bytes=100-199", b["url"])
        assert code == 206 and body == SEQ_BYTES[100:200]
        code, body = curl("-H", "Range: bytes=-7", b["url"])
        assert code == 206 and body == SEQ_BYTES[-7:]
        code, _ = curl("-H", f"Range: bytes={len(SEQ_BYTES)}-", b["url"])
        assert code == 416
        # HEAD: the headers alone; sandbox-made content never renders as the endpoint's own.
        head = subprocess.run(["curl", "-sS", "-I", b["url"]], capture_output=True, timeout=60).stdout.decode().lower()
        assert head.startswith("http/1.1 200") and f"content-length: {len(SEQ_BYTES)}" in head, head
        for h in ("accept-ranges: bytes", "content-security-policy: sandbox", "x-content-type-options: nosniff",
                  'content-disposition: attachment; filename="b.bin"'):
            assert h in head, (h, head)

        # The HMAC is over "artifactId.exp" with the URL key: a URL made
        # independently with that key works; a wrong signature, another
        # artifact's signature, a wrong key or a past expiry do not.
        base = f"http://127.0.0.1:{w.http_port}/artifacts/"

        def signed(art_id: str, exp: int, key: bytes = URL_KEY) -> str:
            sig = hmac.new(key, f"{art_id}.{exp}".encode(), hashlib.sha256).hexdigest()
            return f"{base}{art_id}?exp={exp}&sig={sig}"

        future = int(time.time()) + 600
        assert curl(signed(a["artifactId"], future))[0] == 200
        code, body = curl(signed(a["artifactId"], int(time.time()) - 5))
        assert code == 403 and b"expired" in body
        assert curl(signed(a["artifactId"], future, key=bytes(32)))[0] == 403
        q = urllib.parse.parse_qs(urllib.parse.urlparse(b["url"]).query)
        assert curl(f"{base}{a['artifactId']}?exp={q['exp'][0]}&sig={q['sig'][0]}")[0] == 403
        tampered = b["url"][:-1] + ("0" if b["url"][-1] != "0" else "1")
        assert curl(tampered)[0] == 403
        assert curl(f"{base}{b['artifactId']}")[0] == 403
        assert curl(signed(new_id("art"), future))[0] == 404

        # The CLI: list from PostgreSQL, download through a URL it signs itself
        # (the worker checks it), size and sha256 verified.
        cli_env = {"SANDQ_ARTIFACT_URL_KEY": URL_KEY_B64, "SANDQ_ARTIFACT_URL_BASE": f"http://127.0.0.1:{w.http_port}"}
        p = sandq_cli("artifacts", "ls", sbx, "--json", env=cli_env)
        assert p.returncode == 0, p.stderr
        listed = [json.loads(l) for l in p.stdout.decode().splitlines()]
        assert sorted(x["path"] for x in listed) == ["out/a.csv", "out/b.bin", "out/inner.csv"]
        assert all(x["taskId"] == req["taskId"] and x["sandboxId"] == sbx for x in listed)
        assert {x["artifactId"]: x["sha256"] for x in listed} == {a["artifactId"]: a["sha256"] for a in arts.values()}
        out = store.parent / f"{store.name}-b.bin"
        try:
            p = sandq_cli("artifacts", "get", b["artifactId"], str(out), env=cli_env)
            assert p.returncode == 0, p.stderr
            assert out.read_bytes() == SEQ_BYTES
        finally:
            out.unlink(missing_ok=True)
        # Another tenant cannot list or fetch them; a wrong key is refused by the worker.
        p = sandq_cli("artifacts", "ls", sbx, env={**cli_env, "SANDQ_TENANT": "other"})
        assert p.returncode == 1 and b"forbidden" in p.stderr, p.stderr
        p = sandq_cli("artifacts", "get", b["artifactId"], str(out),
                      env={**cli_env, "SANDQ_ARTIFACT_URL_KEY": base64.b64encode(bytes(32)).decode()})
        assert p.returncode == 1 and b"forbidden" in p.stderr and not out.exists(), p.stderr
        p = sandq_cli("artifacts", "url", a["artifactId"], env=cli_env)
        assert p.returncode == 0 and curl(p.stdout.decode().strip()) == (200, b"a,b\n1,2\n")
    finally:
        shutil.rmtree(store, ignore_errors=True)


def test_no_outputs_no_update_and_bad_patterns_rejected(sandbox_on):
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-arts-"))
    try:
        client, sbx, stream, _ = sandbox_on("artnone", {"SANDQ_ARTIFACT_STORE": f"file://{store}"}, "3400000000")
        _, done, mine = run_task(client, stream, sbx, {"command": "true"})
        assert done["type"] == "sandbox.task.completed" and done["data"]["artifacts"] == []
        assert "sandbox.artifacts.updated" not in [e["type"] for e in mine]
        # A pattern that matches nothing still answers with one (empty) update.
        _, done, mine = run_task(client, stream, sbx, {"command": "true", "outputs": ["nothing/*"]})
        upd = assert_one_update_before_completion(mine)
        assert upd["data"]["artifacts"] == []
        for bad in (["../etc/*"], ["/etc/passwd"]):
            _, done, _ = run_task(client, stream, sbx, {"command": "true", "outputs": bad})
            assert done["type"] == "request.rejected" and done["data"]["code"] == "path_outside_workspace", done
        # An artifactPrefix becomes part of storage keys: anything but plain
        # segments is refused at create.
        for bad in ("../up", "a//b", "/abs", "a b"):
            other = new_id("sbx")
            s2 = client.stream(other)
            env = client.send(client.envelope("sandbox.create", other,
                                              {"capabilities": {"storage": {"artifactPrefix": bad}}}, tenant="acme"))
            rej = s2.for_request(env["requestId"], {"request.rejected", "sandbox.ready"}, timeout=60)
            s2.close()
            assert rej["type"] == "request.rejected" and rej["data"]["code"] == "invalid_request", rej
            assert rej["data"]["field"] == "body.capabilities.storage.artifactPrefix", rej
        # task.code has outputs too.
        _, done, mine = run_task(client, stream, sbx, {"language": "bash", "code": "echo hi > r.txt",
                                                        "outputs": ["*.txt"]}, kind="task.code")
        upd = assert_one_update_before_completion(mine)
        assert [a["path"] for a in upd["data"]["artifacts"]] == ["r.txt"]
    finally:
        shutil.rmtree(store, ignore_errors=True)


def test_size_cap(sandbox_on):
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-arts-"))
    try:
        client, sbx, stream, _ = sandbox_on("artcap", {"SANDQ_ARTIFACT_STORE": f"file://{store}",
                                                       "SANDQ_ARTIFACT_MAX_BYTES": "1000"}, "3500000000")
        _, done, mine = run_task(client, stream, sbx, {"command": "sh", "args": ["-c", "seq 1 1000 > big.txt; "
                                                                                  "echo s > small.txt"],
                                                        "outputs": ["*.txt"]})
        upd = assert_one_update_before_completion(mine)
        assert [a["path"] for a in upd["data"]["artifacts"]] == ["small.txt"]
        assert [(s["path"], s["code"]) for s in upd["data"]["skipped"]] == [("big.txt", "limit_exceeded")]
        assert "SANDQ_ARTIFACT_MAX_BYTES" in upd["data"]["skipped"][0]["message"]
    finally:
        shutil.rmtree(store, ignore_errors=True)


MAX_EVENT = 65536  # the smallest SANDQ_MAX_EVENT_BYTES a worker accepts


def test_a_list_too_large_for_one_event_is_split(sandbox_on, pg):
    """240 outputs with 240-character names (and two FIFOs, skipped) make a list
    of some 150 KB: more than one event may carry at SANDQ_MAX_EVENT_BYTES=64 KiB.
    It comes as several sandbox.artifacts.updated (`part`/`parts`), each under the
    bound even with 1 KB of metadata echoed on every event, every artifact and
    skipped file in exactly one of them, in order; the completion says how many
    (`artifactParts`) instead of listing them; PostgreSQL has every row."""
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-arts-"))
    try:
        client, sbx, stream, _ = sandbox_on(
            "artsplit", {"SANDQ_ARTIFACT_STORE": f"file://{store}", "SANDQ_ARTIFACT_URL_KEY": URL_KEY_B64,
                         "SANDQ_MAX_EVENT_BYTES": str(MAX_EVENT)}, "3650000000")
        names = [f"o/{i:03d}-" + "n" * 236 for i in range(240)]
        make = ("mkdir o && for i in $(seq -w 0 239); do printf \"$i\" > \"o/$i-%s\"; done && "
                "mkfifo o/p1 o/p2" % ("n" * 236))
        req = client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", make], "outputs": ["o/*"]},
                              tenant="acme", metadata={"note": "m" * 1000})
        client.send(req)
        done = stream.for_request(req["requestId"], TERMINAL, timeout=240)
        mine = [e for e in stream.seen if e.get("requestId") == req["requestId"]]
        assert done["type"] == "sandbox.task.completed" and done["data"]["exitCode"] == 0, done
        upds = [e for e in mine if e["type"] == "sandbox.artifacts.updated"]
        parts = len(upds)
        assert parts >= 2, [e["_bytes"] for e in upds]
        assert [e["data"]["part"] for e in upds] == list(range(1, parts + 1))
        assert all(e["data"]["parts"] == parts for e in upds)
        assert all(e["_bytes"] <= MAX_EVENT for e in upds), [e["_bytes"] for e in upds]
        assert all(e["taskId"] == req["taskId"] and e["metadata"] == {"note": "m" * 1000} for e in upds)
        types = [e["type"] for e in mine]
        assert max(i for i, t in enumerate(types) if t == "sandbox.artifacts.updated") < \
            types.index("sandbox.task.completed"), types
        # every artifact and every skipped file exactly once, in the export's order
        listed = [a for e in upds for a in e["data"]["artifacts"]]
        assert [a["path"] for a in listed] == names
        assert len({a["artifactId"] for a in listed}) == 240
        skipped = [(s["path"], s["code"]) for e in upds for s in e["data"].get("skipped", [])]
        assert skipped == [("o/p1", "invalid_request"), ("o/p2", "invalid_request")]
        for a in listed:
            assert a["sha256"] == hashlib.sha256(a["path"][2:5].encode()).hexdigest(), a
        assert done["data"]["artifacts"] == [] and done["data"]["artifactParts"] == parts, done["data"]
        assert done["_bytes"] <= MAX_EVENT
        rows = pg_eventually(pg, "SELECT id, path, sha256 FROM artifacts WHERE task_id = %s ORDER BY path",
                             (req["taskId"],), sorted((a["artifactId"], a["path"], a["sha256"]) for a in listed),
                             many=True)
        assert sorted(rows, key=lambda r: r[1]) == sorted(((a["artifactId"], a["path"], a["sha256"]) for a in listed),
                                                           key=lambda r: r[1])
        # the recorded history has the same events
        n = pg_eventually(pg, "SELECT count(*) FROM events WHERE envelope->>'requestId' = %s "
                              "AND type = 'sandbox.artifacts.updated'", (req["requestId"],), (parts,))
        assert n == (parts,)
    finally:
        shutil.rmtree(store, ignore_errors=True)


def presign(endpoint: str, path: str, now: int, expires: int, secret: str = SECRET) -> str:
    """An independent SigV4 presigned GET (AWS's query-string form), to test expiry."""
    host = urllib.parse.urlparse(endpoint).netloc
    t = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    amz, date = t.strftime("%Y%m%dT%H%M%SZ"), t.strftime("%Y%m%d")
    scope = f"{date}/{REGION}/s3/aws4_request"
    q = (f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={urllib.parse.quote(ACCESS + '/' + scope, safe='')}"
         f"&X-Amz-Date={amz}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host")
    creq = f"GET\n{path}\n{q}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD"
    sts = f"AWS4-HMAC-SHA256\n{amz}\n{scope}\n{hashlib.sha256(creq.encode()).hexdigest()}"
    k = ("AWS4" + secret).encode()
    for part in (date, REGION, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return f"{endpoint}{path}?{q}&X-Amz-Signature={hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()}"


def test_outputs_to_s3(sandbox_on):
    with S3Server() as s3:
        s3.create_bucket("sandq-arts")
        # The server refuses a wrong secret on its own (not a permissive mock).
        r = s3.curl("-X", "PUT", f"{s3.endpoint}/sandq-arts/probe", secret="wrong-secret")
        assert r.stdout.endswith(b"403") and b"SignatureDoesNotMatch" in r.stdout, r.stdout

        client, sbx, stream, w = sandbox_on("arts3", {**s3.env("sandq-arts", "fleet/a"),
                                                       "SANDQ_S3_PART_BYTES": str(5 << 20)}, "3600000000",
                                            {"capabilities": {"storage": {"artifactPrefix": "p"}}})
        # big.bin: 12 MiB of distinct lines, so three 5 MiB parts in the wrong
        # order could not give the same bytes.
        big = b"".join(b"%011d\n" % i for i in range(1, (12 << 20) // 12 + 1))
        _, done, mine = run_task(client, stream, sbx, {
            "command": "sh", "args": ["-c", "printf 'hello' > small.txt && "
                                            "seq -f %%011.0f 1 %d > big.bin" % ((12 << 20) // 12)],
            "outputs": ["*.txt", "*.bin"]}, timeout=300)
        assert done["type"] == "sandbox.task.completed" and done["data"]["exitCode"] == 0, done
        upd = assert_one_update_before_completion(mine)
        arts = {a["path"]: a for a in upd["data"]["artifacts"]}
        assert set(arts) == {"small.txt", "big.bin"}, upd
        assert arts["big.bin"]["sizeBytes"] == len(big) and arts["big.bin"]["sha256"] == hashlib.sha256(big).hexdigest()

        # In the bucket under prefix/tenant/artifactPrefix/sandbox/artifactId/path, byte for byte
        # (the multipart upload was completed in order).
        for path, want in (("small.txt", b"hello"), ("big.bin", big)):
            key = f"fleet/a/acme/p/{sbx}/{arts[path]['artifactId']}/{path}"
            assert s3.object_path("sandq-arts", key).read_bytes() == want

        # big.bin went up as a multipart upload of three parts: S3 ETags of
        # multipart objects end in -<parts>.
        key = f"fleet/a/acme/p/{sbx}/{arts['big.bin']['artifactId']}/big.bin"
        head = s3.curl("-I", f"{s3.endpoint}/sandq-arts/{key}").stdout.decode()
        etag = next(l for l in head.splitlines() if l.lower().startswith("etag:"))
        assert etag.strip().strip('"').endswith("-3"), head
        small_key = f"fleet/a/acme/p/{sbx}/{arts['small.txt']['artifactId']}/small.txt"
        head = s3.curl("-I", f"{s3.endpoint}/sandq-arts/{small_key}").stdout.decode()
        assert "-" not in next(l for l in head.splitlines() if l.lower().startswith("etag:")).split(":", 1)[1]

        # Presigned URLs work with plain curl (no credentials), ranges too.
        url = arts["big.bin"]["url"]
        assert url.startswith(f"{s3.endpoint}/sandq-arts/fleet/a/acme/p/{sbx}/") and "X-Amz-Signature=" in url
        code, body = curl(url)
        assert code == 200 and body == big
        code, body = curl("-H", "Range: bytes=12-23", url)
        assert code == 206 and body == big[12:24]
        # Tampered, or signed with the wrong secret, or expired: the server says no.
        sig_at = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
        tampered = url[:sig_at] + ("0" if url[sig_at] != "0" else "1") + url[sig_at + 1:]
        assert curl(tampered)[0] == 403
        path = urllib.parse.urlparse(url).path
        assert curl(presign(s3.endpoint, path, int(time.time()), 600))[0] == 200  # same scheme, independent code
        assert curl(presign(s3.endpoint, path, int(time.time()), 600, secret="nope"))[0] == 403
        code, body = curl(presign(s3.endpoint, path, int(time.time()) - 3600, 60))
        assert code == 403 and b"expired" in body.lower(), body

        # The CLI presigns with the operator's S3 settings and verifies the bytes.
        out = s3.dir / "got.bin"
        p = sandq_cli("artifacts", "get", arts["big.bin"]["artifactId"], str(out), env=s3.env("sandq-arts"))
        assert p.returncode == 0, p.stderr
        assert out.read_bytes() == big
        p = sandq_cli("artifacts", "get", arts["small.txt"]["artifactId"], str(out),
                      env={**s3.env("sandq-arts"), "SANDQ_S3_SECRET_ACCESS_KEY": "wrong"})
        assert p.returncode == 1 and b"forbidden" in p.stderr, p.stderr

    # A worker holding a wrong secret cannot store anything: the export is
    # refused by the server, reported per file, and the task still completes.
    with S3Server() as s3:
        s3.create_bucket("sandq-arts")
        env = {**s3.env("sandq-arts"), "SANDQ_S3_SECRET_ACCESS_KEY": "not-the-secret"}
        client, sbx, stream, w = sandbox_on("arts3bad", env, "3700000000")
        _, done, mine = run_task(client, stream, sbx, {"command": "sh", "args": ["-c", "echo x > x.txt; echo y > y.txt"],
                                                        "outputs": ["*.txt"]})
        assert done["type"] == "sandbox.task.completed", done
        upd = assert_one_update_before_completion(mine)
        assert upd["data"]["artifacts"] == []
        s, t = upd["data"]["skipped"]
        assert s["path"] == "x.txt" and s["code"] == "internal" and "SignatureDoesNotMatch" in s["message"], s
        # A store that failed is not tried again for every other file.
        assert t["path"] == "y.txt" and t["code"] == "internal" and "not attempted" in t["message"], t
        assert not any((s3.dir / "data" / "sandq-arts").rglob("*.txt"))


def test_a_kill_stops_a_large_export(sandbox_on):
    """A kill does not wait for uploads: one arriving while a 4 GiB (sparse)
    file is being copied into the store stops the copy; the file is listed as
    skipped `canceled`, nothing of it stays in the store, and the sandbox ends."""
    store = pathlib.Path(tempfile.mkdtemp(prefix="sandq-arts-"))
    try:
        client, sbx, stream, _ = sandbox_on("artkill", {"SANDQ_ARTIFACT_STORE": f"file://{store}",
                                                        "SANDQ_ARTIFACT_MAX_BYTES": str(8 << 30)}, "4000000000")
        req = client.send(client.envelope("task.exec", sbx, {"command": "truncate", "args": ["-s", "4G", "big.bin"],
                                                              "outputs": ["big.bin"]}, tenant="acme"))
        # The copy is under way once its temporary file exists in the store.
        deadline = time.monotonic() + 60
        while not any(p.name.startswith(".tmp-") for p in store.rglob("*")):
            assert time.monotonic() < deadline, "the export never started"
            time.sleep(0.01)
        kill = client.send(client.envelope("sandbox.kill", sbx, tenant="acme"))
        stream.for_request(kill["requestId"], {"sandbox.ended"}, timeout=60)
        upd = next(e for e in stream.seen
                   if e.get("requestId") == req["requestId"] and e["type"] == "sandbox.artifacts.updated")
        assert upd["data"]["artifacts"] == [], upd
        (s,) = upd["data"]["skipped"]
        assert s["path"] == "big.bin" and s["code"] == "canceled" and "upload stopped" in s["message"], s
        assert [p for p in store.rglob("*") if p.is_file()] == []  # the partial copy was removed
    finally:
        shutil.rmtree(store, ignore_errors=True)
