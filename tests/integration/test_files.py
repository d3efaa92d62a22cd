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
