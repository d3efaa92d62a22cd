"""test_files.py — files.* requests whose answers could outgrow what Kafka and
PostgreSQL should carry for one request: reads are capped per request (the rest
is read as ranges), listings are paged, and names that are not UTF-8 travel
losslessly as base64 (docs/protocol.md "Files").

Requests go through the independent Python driver (sandq_client.py), so these
check the wire protocol; test_cli.py checks that libsandq and the CLI use it to
still move whole files and whole listings.
"""
from __future__ import annotations

import base64
import hashlib
import json

from confluent_kafka.admin import AdminClient, ConfigResource

READ_CAP = 4 << 20  # SANDQ_FILES_READ_MAX_BYTES's default: the session worker runs with it
CHUNK = 512 * 1024


def run(client, stream, sbx, type_, body, timeout=60):
    """Send a request; return (its terminal event, its data chunks in order)."""
    req = client.send(client.envelope(type_, sbx, body))
    done = stream.for_request(req["requestId"], {"sandbox.task.completed", "sandbox.task.failed",
                                                 "request.rejected"}, timeout=timeout)
    chunks = [e["data"] for e in stream.seen
              if e["type"] == "sandbox.task.output" and e["requestId"] == req["requestId"]]
    return done, chunks


def sh(client, stream, sbx, script, timeout=60):
    done, _ = run(client, stream, sbx, "task.exec", {"command": "sh", "args": ["-c", script]}, timeout)
    assert done["type"] == "sandbox.task.completed" and done["data"]["exitCode"] == 0, done
    return done


# ---- reads are capped ------------------------------------------------------


def test_read_of_a_huge_sparse_file_is_capped(client, launched):
    """A sparse 100 GB file: a read without a length used to stream all of it,
    event after event, long after any caller had given up. Now one request
    returns the first cap bytes and says there is more."""
    sbx, s = launched
    size = 100 << 30
    sh(client, s, sbx, f"truncate -s {size} /workspace/huge")
    # Generous: 4 MiB of events; today's code never finishes this read.
    done, chunks = run(client, s, sbx, "files.read", {"path": "huge"}, timeout=120)
    assert done["type"] == "sandbox.task.completed", done
    r = done["data"]["result"]
    assert (r["length"], r["truncated"], r["sizeBytes"], r["offset"]) == (READ_CAP, True, size, 0), r
    data = b"".join(base64.b64decode(c["dataB64"]) for c in chunks)
    assert data == bytes(READ_CAP) and r["sha256"] == hashlib.sha256(data).hexdigest()
    assert [c["offset"] for c in chunks] == list(range(0, READ_CAP, CHUNK))

    # A length above the cap is cut the same way; the next range goes on from there.
    done, _ = run(client, s, sbx, "files.read", {"path": "huge", "offset": READ_CAP, "length": 3 * READ_CAP})
    r = done["data"]["result"]
    assert (r["offset"], r["length"], r["truncated"]) == (READ_CAP, READ_CAP, True), r

    # The end of the file, and a read within the cap, are not truncated.
    done, chunks = run(client, s, sbx, "files.read", {"path": "huge", "offset": size - 10})
    r = done["data"]["result"]
    assert (r["length"], r["truncated"]) == (10, False), r
    done, _ = run(client, s, sbx, "files.read", {"path": "huge", "length": 1000})
    assert (done["data"]["result"]["length"], done["data"]["result"]["truncated"]) == (1000, False)


def test_stack_topics_have_a_size_retention(stack_env):
    """What a runaway flow of events leaves in Kafka is bounded by size, not
    only by time (scripts/stack: retention.bytes, segment.bytes)."""
    admin = AdminClient({"bootstrap.servers": stack_env["brokers"]})
    res = ConfigResource(ConfigResource.Type.TOPIC, f"{stack_env['prefix']}.events")
    cfg = admin.describe_configs([res])[res].result(30)
    retention, segment = int(cfg["retention.bytes"].value), int(cfg["segment.bytes"].value)
    assert 0 < retention <= 1 << 30, retention
    assert 0 < segment < retention, (segment, retention)


# ---- listings are paged ----------------------------------------------------


def list_all(client, stream, sbx, body, timeout=120):
    """Follow nextCursor; returns the pages' results."""
    pages, cursor = [], None
    while True:
        done, _ = run(client, stream, sbx, "files.list", {**body, **({"cursor": cursor} if cursor else {})}, timeout)
        assert done["type"] == "sandbox.task.completed", done
        pages.append(done)
        cursor = done["data"]["result"].get("nextCursor")
        if cursor is None:
            return pages
        assert len(pages) < 100, "a listing that never ends"


def test_listing_of_9999_long_names_comes_in_pages(client, launched):
    """9,999 files of 250-character names: one result would be ~6 MB, more than
    a Kafka message. Every page is well under the limit and the pages together
    are the whole listing, in order, each entry once."""
    sbx, s = launched
    sh(client, s, sbx, "mkdir /workspace/many && cd /workspace/many && seq -f '%0250g' 0 9998 | xargs touch",
       timeout=180)
    pages = list_all(client, s, sbx, {"path": "many"})
    names = [e["name"] for p in pages for e in p["data"]["result"]["entries"]]
    assert names == [f"{i:0250d}" for i in range(9999)]
    assert len(pages) >= 6, len(pages)  # ~2.6 MB of entries at most ~512 KiB a page
    for p in pages:
        assert len(p["data"]["result"]["entries"]) <= 1000
        assert len(json.dumps(p)) < 1_000_000  # below even Kafka's default message limit

    # limit: pages of 3 entries; a recursive listing pages the same way.
    sh(client, s, sbx, "mkdir -p /workspace/few/d && touch /workspace/few/a /workspace/few/d/b /workspace/few/z")
    pages = list_all(client, s, sbx, {"path": "few", "recursive": True, "limit": 3})
    assert [[e["path"] for e in p["data"]["result"]["entries"]] for p in pages] == \
        [["few/a", "few/d", "few/d/b"], ["few/z"]]
    # A cursor that is not base64 is refused as the request arrives.
    done, _ = run(client, s, sbx, "files.list", {"path": "few", "cursor": "%%%"})
    assert (done["type"], done["data"]["code"], done["data"]["field"]) == \
        ("request.rejected", "invalid_request", "body.cursor")


# ---- names that are not UTF-8 ----------------------------------------------


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_names_that_are_not_utf8_are_listed_and_addressable(client, launched):
    """A sandbox can name a file with any bytes. Such a name used to be missing
    from files.list (JSON strings are UTF-8) and could not be asked for; now it
    is listed as nameB64/pathB64 and every files.* request takes pathB64."""
    sbx, s = launched
    sh(client, s, sbx, r"cd /workspace && mkdir odd && printf x > odd/caf$(printf '\351') && "
                       r"mkdir d$(printf '\377') && echo y > d$(printf '\377')/plain && touch odd/plain")
    done, _ = run(client, s, sbx, "files.list", {"path": "odd"})
    entries = done["data"]["result"]["entries"]
    assert [(e.get("name"), e.get("nameB64"), e.get("path"), e.get("pathB64")) for e in entries] == [
        (None, b64(b"caf\xe9"), None, b64(b"odd/caf\xe9")),
        ("plain", None, "odd/plain", None)], entries

    # A name that is UTF-8 under a directory that is not: name, with pathB64.
    done, _ = run(client, s, sbx, "files.list", {"recursive": True})
    by = {base64.b64decode(e["pathB64"]) if "pathB64" in e else e["path"].encode(): e
          for e in done["data"]["result"]["entries"]}
    assert by[b"d\xff/plain"]["name"] == "plain" and by[b"d\xff"]["nameB64"] == b64(b"d\xff")

    # Every files.* request addresses them by pathB64; results give the path back the same way.
    done, chunks = run(client, s, sbx, "files.read", {"pathB64": b64(b"odd/caf\xe9")})
    assert done["type"] == "sandbox.task.completed", done
    assert base64.b64decode(chunks[0]["dataB64"]) == b"x"
    assert done["data"]["result"]["pathB64"] == b64(b"/workspace/odd/caf\xe9")
    done, _ = run(client, s, sbx, "files.list", {"pathB64": b64(b"d\xff")})
    assert done["data"]["result"]["pathB64"] == b64(b"/workspace/d\xff")
    assert [e["pathB64"] for e in done["data"]["result"]["entries"]] == [b64(b"d\xff/plain")]
    done, _ = run(client, s, sbx, "files.write", {"pathB64": b64(b"d\xff/n\xfe"), "content": "new"})
    assert done["data"]["result"]["written"] == 3, done
    done, chunks = run(client, s, sbx, "files.read", {"pathB64": b64(b"/workspace/d\xff/n\xfe")})
    assert base64.b64decode(chunks[0]["dataB64"]) == b"new"
    done, _ = run(client, s, sbx, "files.remove", {"pathB64": b64(b"d\xff"), "recursive": True})
    assert done["data"]["result"] == {"pathB64": b64(b"/workspace/d\xff"), "removed": True}

    # A failure quoting such a path still says what happened, as text.
    done, _ = run(client, s, sbx, "files.read", {"pathB64": b64(b"gone\xff")})
    assert (done["type"], done["data"]["code"]) == ("sandbox.task.failed", "not_found"), done
    assert "gone?" in done["data"]["message"]
    # pathB64 is held to the same rules as path.
    done, _ = run(client, s, sbx, "files.read", {"pathB64": b64(b"../\xffetc/passwd")})
    assert (done["type"], done["data"]["code"], done["data"]["field"]) == \
        ("request.rejected", "path_outside_workspace", "body.pathB64"), done
    done, _ = run(client, s, sbx, "files.read", {"path": "odd/plain", "pathB64": b64(b"odd/plain")})
    assert (done["data"]["code"], done["data"]["field"]) == ("invalid_request", "body.pathB64"), done
    done, _ = run(client, s, sbx, "files.read", {"pathB64": b64(b"odd\0plain")})
    assert (done["data"]["code"], done["data"]["field"]) == ("invalid_request", "body.pathB64"), done
