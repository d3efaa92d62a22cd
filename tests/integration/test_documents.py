"""The documents capability (issue 15) against the real stack: task.document
converts a workspace file with LibreOffice (pdftotext for PDF → text) inside
the sandbox. Every input is made by the test: HTML, Markdown and CSV written
as text, a .docx zipped by hand with the standard library, a .pptx made from a
flat ODF presentation by the host's own soffice. Output text is checked with
pdftotext on the host. Few conversions at once: the machine has two shared
cores and soffice takes one for a second or two."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pathlib
import subprocess
import tempfile
import time
import zipfile

import pytest

from harness import pg_eventually
from sandbox_host import TASK_END, create, host_uid, kill, leftovers, procs_of, wait_until, workspace_file
from sandq_client import new_id

DOCS = {"capabilities": {"documents": {"libreofficeHeadless": True}}, "limits": {"memoryMb": 512}}

HTML = ("<!doctype html><html><head><title>t</title></head><body><h1>Quarterly report</h1>"
        "<p>Revenue grew by forty two percent.</p></body></html>")
MD = "# Release notes\n\nThe *documents* capability converts files.\n"
CSV = "fruit,count\napple,3\npear,17\n"


def docx_bytes(text: str) -> bytes:
    """The smallest .docx Word and LibreOffice open: content types, the
    package relationship and one paragraph."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("_rels/.rels",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                   'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
        z.writestr("word/document.xml",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                   '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                   f'<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>')
    return buf.getvalue()


FODP = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.presentation">
 <office:body><office:presentation><draw:page draw:name="one">
  <draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="4cm"><draw:text-box>
   <text:p>Slide about sandboxes</text:p></draw:text-box></draw:frame>
 </draw:page></office:presentation></office:body></office:document>
"""


@pytest.fixture(scope="module")
def pptx_bytes() -> bytes:
    """A .pptx the test makes: a flat ODF presentation converted by the
    host's soffice, with a profile of its own."""
    with tempfile.TemporaryDirectory() as d:
        src = pathlib.Path(d) / "deck.fodp"
        src.write_text(FODP)
        subprocess.run(["soffice", f"-env:UserInstallation=file://{d}/profile", "--headless", "--convert-to", "pptx",
                        "--outdir", d, str(src)], check=True, capture_output=True, timeout=120,
                       env={**os.environ, "HOME": d})
        return (pathlib.Path(d) / "deck.pptx").read_bytes()


def put(worker, sbx: str, name: str, data: bytes | str) -> None:
    """Write a file into the workspace from the host, owned by the sandbox's
    root like a file it wrote itself (so a conversion may write beside it)."""
    uid = host_uid(worker, sbx)
    p = workspace_file(worker, sbx, name)
    for d in reversed(p.relative_to(workspace_file(worker, sbx, "")).parents[:-1]):
        q = workspace_file(worker, sbx, str(d))
        q.mkdir(exist_ok=True)
        os.chown(q, uid, uid)
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    os.chown(p, uid, uid)


def convert(client, s, sbx, body: dict, wait: float = 180) -> tuple[dict, list[dict], dict]:
    """Send a task.document; returns (its final event, all its events, the request)."""
    req = client.send(client.envelope("task.document", sbx, body))
    end = s.for_request(req["requestId"], TASK_END | {"request.rejected"}, timeout=wait)
    mine = [e for e in s.seen if e.get("requestId") == req["requestId"]]
    return end, mine, req


def pdf_text(path: pathlib.Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          timeout=60).stdout.decode()


def converted_ok(worker, sbx, end, events, output: str) -> dict:
    """The task completed with a sandbox.document.converted and then the
    output's sandbox.artifacts.updated just before, all describing the file
    now in the workspace."""
    assert end["type"] == "sandbox.task.completed", end["data"]
    types = [e["type"] for e in events]
    assert types[-3:] == ["sandbox.document.converted", "sandbox.artifacts.updated", "sandbox.task.completed"], types
    conv = events[-3]["data"]
    assert [(a["path"], a["sha256"]) for a in events[-2]["data"]["artifacts"]] == [(output, conv["sha256"])]
    assert conv["output"] == "/workspace/" + output
    host = workspace_file(worker, sbx, output)
    blob = host.read_bytes()
    assert conv["sizeBytes"] == len(blob) > 0
    assert conv["sha256"] == hashlib.sha256(blob).hexdigest()
    assert end["data"]["kind"] == "document"
    assert end["data"]["result"] == conv
    return conv


@pytest.fixture(scope="module")
def dsbx(client, worker):
    sbx, s, ready = create(client, DOCS, timeout=120)
    yield sbx, s, ready
    kill(client, s, sbx)


def test_create_reports_documents_ready(dsbx):
    _, _, ready = dsbx
    assert ready["data"]["capabilities"]["documents"] is True


def test_html_to_pdf_events_in_order_and_text(dsbx, client, worker, pg):
    sbx, s, _ = dsbx
    put(worker, sbx, "report.html", HTML)
    end, events, req = convert(client, s, sbx, {"input": "report.html", "to": "pdf"})
    conv = converted_ok(worker, sbx, end, events, "report.pdf")
    assert [e["type"] for e in events] == ["sandbox.task.queued", "sandbox.active", "sandbox.task.started",
                                           "sandbox.document.converted", "sandbox.artifacts.updated",
                                           "sandbox.task.completed"]
    assert conv["input"] == "/workspace/report.html" and conv["from"] == "html" and conv["format"] == "pdf"
    # The output is an artifact too (issue 13): the same bytes, listed once.
    (art,) = end["data"]["artifacts"]
    assert art["path"] == "report.pdf" and art["sha256"] == conv["sha256"] and art["sizeBytes"] == conv["sizeBytes"]
    assert art["contentType"] == "application/pdf"
    assert conv["durationMs"] > 0
    text = pdf_text(workspace_file(worker, sbx, "report.pdf"))
    assert "Quarterly report" in text and "forty two percent" in text
    # The sandbox is ready again after the task, and PostgreSQL has the task
    # and the event.
    s.wait_for(lambda e: e["type"] == "sandbox.ready" and e["seq"] > end["seq"], 30)
    assert pg_eventually(pg, "SELECT kind, type, state, error_code FROM tasks WHERE id = %s", (req["taskId"],),
                         ("document", "task.document", "completed", None))
    assert pg_eventually(pg, "SELECT result->>'sha256' FROM tasks WHERE id = %s", (req["taskId"],),
                         (conv["sha256"],))
    assert pg_eventually(pg, "SELECT count(*) FROM events WHERE request_id = %s AND type = %s",
                         (req["requestId"], "sandbox.document.converted"), (1,))


def test_docx_to_pdf_and_odt_and_back(dsbx, client, worker):
    sbx, s, _ = dsbx
    put(worker, sbx, "in/letter.docx", docx_bytes("Dear sandbox, hello from a hand made docx"))
    end, events, _ = convert(client, s, sbx, {"input": "in/letter.docx", "to": "pdf", "outdir": "out/pdf"})
    converted_ok(worker, sbx, end, events, "out/pdf/letter.pdf")  # outdir made on the way
    assert "hello from a hand made docx" in pdf_text(workspace_file(worker, sbx, "out/pdf/letter.pdf"))

    end, events, _ = convert(client, s, sbx, {"input": "/workspace/in/letter.docx", "to": "odt"})
    conv = converted_ok(worker, sbx, end, events, "in/letter.odt")
    assert conv["from"] == "docx"
    assert zipfile.ZipFile(workspace_file(worker, sbx, "in/letter.odt")).read("mimetype") == \
        b"application/vnd.oasis.opendocument.text"

    end, events, _ = convert(client, s, sbx, {"input": "in/letter.odt", "to": "docx", "outdir": "round"})
    converted_ok(worker, sbx, end, events, "round/letter.docx")
    end, events, _ = convert(client, s, sbx, {"input": "round/letter.docx", "to": "pdf"})
    converted_ok(worker, sbx, end, events, "round/letter.pdf")
    assert "hello from a hand made docx" in pdf_text(workspace_file(worker, sbx, "round/letter.pdf"))


def test_markdown_is_laid_out_as_its_text(dsbx, client, worker):
    sbx, s, _ = dsbx
    put(worker, sbx, "notes.md", MD)
    end, events, _ = convert(client, s, sbx, {"input": "notes.md", "to": "pdf"})
    converted_ok(worker, sbx, end, events, "notes.pdf")
    text = pdf_text(workspace_file(worker, sbx, "notes.pdf"))
    assert "# Release notes" in text and "*documents* capability" in text  # the source, not rendered


def test_spreadsheets_csv_ods_xlsx_pdf(dsbx, client, worker):
    sbx, s, _ = dsbx
    put(worker, sbx, "sheet/fruit.csv", CSV)
    end, events, _ = convert(client, s, sbx, {"input": "sheet/fruit.csv", "to": "ods"})
    converted_ok(worker, sbx, end, events, "sheet/fruit.ods")
    end, events, _ = convert(client, s, sbx, {"input": "sheet/fruit.ods", "to": "xlsx", "outdir": "x"})
    converted_ok(worker, sbx, end, events, "x/fruit.xlsx")
    assert zipfile.ZipFile(workspace_file(worker, sbx, "x/fruit.xlsx")).namelist()  # a real OOXML package
    end, events, _ = convert(client, s, sbx, {"input": "x/fruit.xlsx", "to": "csv", "outdir": "back"})
    converted_ok(worker, sbx, end, events, "back/fruit.csv")
    rows = list(csv.reader(io.StringIO(workspace_file(worker, sbx, "back/fruit.csv").read_text())))
    assert rows == [["fruit", "count"], ["apple", "3"], ["pear", "17"]]
    end, events, _ = convert(client, s, sbx, {"input": "x/fruit.xlsx", "to": "pdf"})
    converted_ok(worker, sbx, end, events, "x/fruit.pdf")
    text = pdf_text(workspace_file(worker, sbx, "x/fruit.pdf"))
    assert "pear" in text and "17" in text


def test_pptx_to_pdf_and_pdf_to_text(dsbx, client, worker, pptx_bytes):
    sbx, s, _ = dsbx
    put(worker, sbx, "deck.pptx", pptx_bytes)
    end, events, _ = convert(client, s, sbx, {"input": "deck.pptx", "to": "pdf"})
    converted_ok(worker, sbx, end, events, "deck.pdf")
    end, events, _ = convert(client, s, sbx, {"input": "deck.pdf", "to": "txt", "outdir": "text"})
    conv = converted_ok(worker, sbx, end, events, "text/deck.txt")
    assert conv["from"] == "pdf" and conv["format"] == "txt"
    assert "Slide about sandboxes" in workspace_file(worker, sbx, "text/deck.txt").read_text()


def test_corrupt_inputs_fail_cleanly(dsbx, client, worker):
    sbx, s, _ = dsbx
    put(worker, sbx, "garbage.docx", os.urandom(20000))
    whole = docx_bytes("soon to be cut short")
    put(worker, sbx, "cut.docx", whole[: len(whole) // 2])
    put(worker, sbx, "notpdf.pdf", b"%PDF-1.4\nthis is not really a pdf\n")
    for name, to in (("garbage.docx", "pdf"), ("cut.docx", "odt"), ("notpdf.pdf", "txt")):
        end, events, _ = convert(client, s, sbx, {"input": name, "to": to})
        assert end["type"] == "sandbox.task.failed", end
        d = end["data"]
        assert d["kind"] == "document" and d["code"] == "invalid_request" and d["reason"] == "conversion_failed", d
        assert f"/workspace/{name}" in d["message"] and "damaged" in d["message"], d
        assert "sandbox.document.converted" not in [e["type"] for e in events]
        stem = name.rsplit(".", 1)[0]
        assert not workspace_file(worker, sbx, f"{stem}.{to}").exists()
    # The sandbox still converts.
    put(worker, sbx, "after.html", HTML)
    end, events, _ = convert(client, s, sbx, {"input": "after.html", "to": "pdf"})
    converted_ok(worker, sbx, end, events, "after.pdf")


def test_requests_judged_before_anything_runs(dsbx, client, worker):
    sbx, s, _ = dsbx
    put(worker, sbx, "a.docx", docx_bytes("x"))
    cases = [
        ({"input": "a.docx", "to": "xlsx"}, "invalid_request", "body.to", "converts to pdf, odt"),
        ({"input": "a.xyz", "to": "pdf"}, "invalid_request", "body.input", "supported ones"),
        ({"input": "noextension", "to": "pdf"}, "invalid_request", "body.input", "supported ones"),
        ({"input": "../etc/passwd.odt", "to": "pdf"}, "path_outside_workspace", "body.input", ""),
        ({"input": "a.docx", "to": "pdf", "outdir": "/etc"}, "path_outside_workspace", "body.outdir", ""),
        ({"input": "a.docx", "to": "PDF"}, "invalid_request", "body.to", "lowercase"),
    ]
    for body, code, field, words in cases:
        end, events, _ = convert(client, s, sbx, body, wait=60)
        assert end["type"] == "request.rejected", (body, end)
        assert end["data"]["code"] == code and end["data"]["field"] == field, (body, end["data"])
        assert words in end["data"]["message"], end["data"]
        assert [e["type"] for e in events] == ["request.rejected"]


def test_missing_input_and_a_directory(dsbx, client, worker):
    sbx, s, _ = dsbx
    end, _, _ = convert(client, s, sbx, {"input": "nowhere/missing.docx", "to": "pdf"})
    assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "not_found", end
    put(worker, sbx, "dir.odt/x", "")
    end, _, _ = convert(client, s, sbx, {"input": "dir.odt", "to": "pdf"})
    assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "invalid_request", end
    assert "directory" in end["data"]["message"]
    # A symlink out of the workspace is refused by the worker's own open.
    os.symlink("/etc/hostname", workspace_file(worker, sbx, "link.html"))
    end, _, _ = convert(client, s, sbx, {"input": "link.html", "to": "pdf"})
    assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "path_outside_workspace", end


def test_outdir_that_cannot_be_made(dsbx, client, worker):
    sbx, s, _ = dsbx
    put(worker, sbx, "o.html", HTML)
    put(worker, sbx, "blocker", "a file where the directory should go")
    end, events, _ = convert(client, s, sbx, {"input": "o.html", "to": "pdf", "outdir": "blocker/sub"})
    assert end["type"] == "sandbox.task.failed", end
    d = end["data"]
    assert d["code"] == "invalid_request" and d["reason"] == "conversion_failed", d
    assert "output directory" in d["message"], d
    # A directory the sandbox cannot write (made by the host's root here): the
    # input is read, the output cannot be written, and the message says so
    # rather than blame the input.
    ro = workspace_file(worker, sbx, "readonly")
    ro.mkdir()
    (ro / "r.html").write_text(HTML)
    end, events, _ = convert(client, s, sbx, {"input": "readonly/r.html", "to": "pdf"})
    assert end["type"] == "sandbox.task.failed", end
    d = end["data"]
    assert d["code"] == "invalid_request" and d["reason"] == "conversion_failed", d
    assert "wrote no output /workspace/readonly/r.pdf" in d["message"] and "damaged" not in d["message"], d


def test_timeout_stops_the_conversion(dsbx, client, worker):
    sbx, s, _ = dsbx
    put(worker, sbx, "slow.html", HTML)
    end, _, _ = convert(client, s, sbx, {"input": "slow.html", "to": "pdf", "timeoutMs": 200})
    assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "timed_out", end
    assert wait_until(lambda: not any(b"soffice" in open(f"/proc/{p}/cmdline", "rb").read()
                                      for p in procs_of(sbx) if os.path.exists(f"/proc/{p}/cmdline")), 15)


def test_sandbox_without_the_capability(launched, client):
    sbx, s = launched
    end, _, _ = convert(client, s, sbx, {"input": "a.docx", "to": "pdf"}, wait=60)
    assert end["type"] == "request.rejected" and end["data"]["code"] == "capability_disabled", end


def test_memory_floor(client):
    sbx = new_id("sbx")
    s = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, {**DOCS, "limits": {"memoryMb": 128}}))
    rej = s.wait_for(lambda e: e["type"] in {"request.rejected", "sandbox.created"}, 60)
    assert rej["type"] == "request.rejected", rej
    assert rej["data"]["code"] == "limit_exceeded" and rej["data"]["field"] == "body.limits.memoryMb"
    assert "256" in rej["data"]["message"]


def test_parallel_conversions_in_two_sandboxes(client, worker):
    a, sa, _ = create(client, DOCS, timeout=120)
    b, sb_, _ = create(client, DOCS, timeout=120)
    try:
        put(worker, a, "a.html", HTML.replace("Quarterly report", "Report of sandbox A"))
        put(worker, b, "b.docx", docx_bytes("Letter of sandbox B"))
        ra = client.send(client.envelope("task.document", a, {"input": "a.html", "to": "pdf"}))
        rb = client.send(client.envelope("task.document", b, {"input": "b.docx", "to": "pdf"}))
        ea = sa.for_request(ra["requestId"], TASK_END, timeout=180)
        eb = sb_.for_request(rb["requestId"], TASK_END, timeout=180)
        assert ea["type"] == eb["type"] == "sandbox.task.completed", (ea, eb)
        assert "Report of sandbox A" in pdf_text(workspace_file(worker, a, "a.pdf"))
        assert "Letter of sandbox B" in pdf_text(workspace_file(worker, b, "b.pdf"))
        # Both ran at once: each one's conversion began before the other's ended.
        starts = {x: next(e["at"] for e in st.seen if e["type"] == "sandbox.task.started" and e["requestId"] == r)
                  for x, st, r in (("a", sa, ra["requestId"]), ("b", sb_, rb["requestId"]))}
        assert starts["a"] < eb["at"] and starts["b"] < ea["at"]
    finally:
        kill(client, sa, a)
        kill(client, sb_, b)


def soffice_running(sbx: str) -> bool:
    for p in procs_of(sbx):
        try:
            if b"soffice.bin" in open(f"/proc/{p}/cmdline", "rb").read():
                return True
        except OSError:
            continue
    return False


def test_cancel_then_convert_again(client, worker):
    sbx, s, _ = create(client, DOCS, timeout=120)
    try:
        put(worker, sbx, "c.html", HTML)
        req = client.send(client.envelope("task.document", sbx, {"input": "c.html", "to": "pdf"}))
        assert wait_until(lambda: soffice_running(sbx), 60)
        client.send(client.envelope("task.cancel", sbx, {"targetTaskId": req["taskId"]}))
        end = s.for_request(req["requestId"], TASK_END, timeout=60)
        assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "canceled", end
        assert wait_until(lambda: not soffice_running(sbx), 15)
        # The killed soffice's profile lock does not stop the next conversion.
        end, events, _ = convert(client, s, sbx, {"input": "c.html", "to": "pdf"})
        converted_ok(worker, sbx, end, events, "c.pdf")
    finally:
        kill(client, s, sbx)


def test_kill_during_a_conversion_ends_the_sandbox(client, worker):
    sbx, s, _ = create(client, DOCS, timeout=120)
    put(worker, sbx, "k.html", HTML)
    req = client.send(client.envelope("task.document", sbx, {"input": "k.html", "to": "pdf"}))
    assert wait_until(lambda: soffice_running(sbx), 60)
    k = client.send(client.envelope("sandbox.kill", sbx))
    end = s.for_request(req["requestId"], TASK_END, timeout=60)
    assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "canceled", end
    ended = s.for_request(k["requestId"], {"sandbox.ended"}, timeout=60)
    assert ended["seq"] > end["seq"]
    assert wait_until(lambda: leftovers(worker, sbx) == {}, 15), leftovers(worker, sbx)


def test_worker_without_libreoffice_rejects_the_capability(stack_env):
    from harness import Worker, private_prefix
    from sandq_client import Sandq
    prefix = private_prefix(stack_env["brokers"], "nodocs", partitions=1)
    c = Sandq(stack_env["brokers"], prefix)
    w = Worker("w-nodocs", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix,
                            "SANDQ_SOFFICE_BIN": "/usr/bin/not-libreoffice",
                            "SANDQ_UID_BASE": "3110000000"}).start()
    try:
        assert "documents: unavailable" in w.log_text()
        sbx = new_id("sbx")
        s = c.stream(sbx)
        c.send(c.envelope("sandbox.create", sbx, DOCS))
        rej = s.wait_for(lambda e: e["type"] in {"request.rejected", "sandbox.created"}, 60)
        assert rej["type"] == "request.rejected", rej
        assert rej["data"]["code"] == "capability_unavailable"
        assert rej["data"]["field"] == "body.capabilities.documents"
        assert w.alive()
    finally:
        assert w.stop() == 0


def cli(*args, check_rc=None, timeout=240):
    build = pathlib.Path(os.environ.get("SANDQ_BUILD_DIR", pathlib.Path(__file__).resolve().parents[2] / "build"))
    p = subprocess.run([str(build / "producer" / "sandq"), *args], capture_output=True, timeout=timeout)
    if check_rc is not None:
        assert p.returncode == check_rc, (args, p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return p


def test_cli_doc_convert_and_fetch(worker, tmp_path):
    """`sandq launch --documents`, `sandq cp` in, `sandq doc convert … --out` (libsandq's
    sandq_document_convert and sandq_files_read)."""
    sbx = json.loads(cli("launch", "--documents", "--json", check_rc=0).stdout)["id"]
    try:
        local_in = tmp_path / "memo.docx"
        local_in.write_bytes(docx_bytes("Memo converted through the command line"))
        cli("cp", str(local_in), f"{sbx}:docs/memo.docx", check_rc=0)
        out = tmp_path / "memo.pdf"
        p = cli("doc", "convert", sbx, "docs/memo.docx", "--to", "pdf", "--outdir", "pdf", "--out", str(out),
                "--json", check_rc=0)
        r = json.loads(p.stdout)
        assert r["output"] == "/workspace/pdf/memo.pdf" and r["from"] == "docx" and r["format"] == "pdf"
        blob = out.read_bytes()
        assert r["sizeBytes"] == len(blob) and r["sha256"] == hashlib.sha256(blob).hexdigest()
        assert "Memo converted through the command line" in pdf_text(out)
        # Without --json: the output's path; the file stays in the sandbox.
        p = cli("doc", "convert", sbx, "docs/memo.docx", "--to", "odt", check_rc=0)
        assert p.stdout.decode().strip() == "/workspace/docs/memo.odt"
        assert workspace_file(worker, sbx, "docs/memo.odt").stat().st_size > 0
        # Failures: an unsupported pair, a damaged input, a bad command line.
        p = cli("doc", "convert", sbx, "docs/memo.docx", "--to", "xlsx", check_rc=1)
        assert b"invalid_request" in p.stderr and b"converts to pdf, odt" in p.stderr
        (tmp_path / "junk.docx").write_bytes(os.urandom(4096))
        cli("cp", str(tmp_path / "junk.docx"), f"{sbx}:junk.docx", check_rc=0)
        p = cli("doc", "convert", sbx, "junk.docx", "--to", "pdf", check_rc=1)
        assert b"invalid_request" in p.stderr and b"damaged" in p.stderr
        cli("doc", "convert", sbx, "docs/memo.docx", check_rc=2)  # no --to
        cli("doc", "frobnicate", sbx, check_rc=2)
    finally:
        cli("kill", sbx)
