"""test_history_writer.py — the history writer (worker/src/store/writer.c)
batches rows into multi-row INSERTs; what lands in PostgreSQL must be exactly
what the statements one by one would have written: every row, in queue order
(an UPDATE after its INSERT), duplicates skipped by ON CONFLICT, the webhook
outbox trigger fired for every event, a bad row set aside without sinking its
neighbours, and every job settled once its rows are committed.

The writer is driven by tests/integration/writer_probe.c (the worker's writer
and job accounting linked into a small program) against a scratch schema whose
tables are copies of the real ones with the real triggers of `events`, so the
real history is untouched and the test sees only its own rows."""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import time

import psycopg
import pytest

from harness import BUILD
from sandq_client import new_id

TABLES = ["sandboxes", "tasks", "events", "requests", "webhook_endpoints", "webhook_deliveries", "history_quarantine"]
SET_STATE = "UPDATE sandboxes SET state = $2, updated_at = now() WHERE id = $1"
ADD_ENDPOINT = ("INSERT INTO webhook_endpoints (id, sandbox_id, tenant, url, secret_sealed) "
                "VALUES ($1, $2, $3, $4, 'plain:x') ON CONFLICT (sandbox_id) WHERE sandbox_id IS NOT NULL DO NOTHING")


@pytest.fixture
def scratch(stack_env):
    """(schema, connection with search_path on it)."""
    schema = "wtest_" + secrets.token_hex(4)
    conn = psycopg.connect(stack_env["database_url"], autocommit=True)
    conn.execute(f"CREATE SCHEMA {schema}")
    for t in TABLES:
        conn.execute(f"CREATE TABLE {schema}.{t} (LIKE public.{t} INCLUDING ALL)")
    for (ddl,) in conn.execute(
            "SELECT regexp_replace(pg_get_triggerdef(oid), ' ON (public\\.)?events ', %s) "
            "FROM pg_trigger WHERE tgrelid = 'public.events'::regclass AND NOT tgisinternal",
            (f" ON {schema}.events ",)).fetchall():
        conn.execute(ddl)
    conn.execute(f"SET search_path = {schema}, public")
    yield schema, conn
    conn.execute(f"DROP SCHEMA {schema} CASCADE")
    conn.close()


def run_probe(schema: str, lines: list[dict]) -> tuple[dict[int, int], str]:
    env = dict(os.environ, PGOPTIONS=f"-c search_path={schema},public")
    p = subprocess.run([str(BUILD / "tests" / "writer_probe")], input="".join(json.dumps(x) + "\n" for x in lines),
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    jobs = {}
    for line in p.stdout.splitlines():
        o = json.loads(line)
        jobs[o["job"]] = o["failed"]
    return jobs, p.stderr


def event(sbx: str, seq, job: int, eid: str | None = None) -> dict:
    eid = eid or new_id("evt")
    at = int(time.time() * 1000)
    env = {"v": 1, "eventId": eid, "type": "sandbox.task.output", "sandboxId": sbx, "seq": seq, "at": at,
           "tenant": "wtest", "workerId": "probe", "data": {"stream": "stdout", "data": f"line {seq}\n"}}
    return {"sql": "@event", "job": job,
            "params": [eid, sbx, str(seq), "sandbox.task.output", None, None, "wtest", "probe", str(at),
                       json.dumps(env)]}


def sandbox(sbx: str, job: int) -> dict:
    return {"sql": "@sandbox", "job": job,
            "params": [sbx, "wtest", "iad", "probe", "base", "none", None, new_id("req"), "{}", "{}", "{}"]}


def test_batched_rows_are_the_rows_of_the_statements_in_order(scratch):
    schema, db = scratch
    sbx = new_id("sbx")
    lines = [sandbox(sbx, 0),
             {"sql": SET_STATE, "params": [sbx, "ready"], "job": 0},
             {"sql": ADD_ENDPOINT, "params": [new_id("ep"), sbx, "wtest", "http://127.0.0.1:9/hook"], "job": 0}]
    n = 1200
    evs = [event(sbx, i + 1, 1 + i // 8) for i in range(n)]
    for i, ev in enumerate(evs):
        lines.append(ev)
        if i % 100 == 99:  # another statement now and then: runs of every length, not only full ones
            lines.append({"sql": "@request", "params": [new_id("req"), sbx, "task.exec", "done"], "job": 1 + i // 8})
        if i == 700:  # a replay of an event already queued: ON CONFLICT (event_id) skips it
            lines.append(dict(evs[650], job=1 + i // 8))
    lines.append({"sql": SET_STATE, "params": [sbx, "ended"], "job": 999})

    jobs, log = run_probe(schema, lines)

    assert jobs == {j: 0 for j in [0, 999, *range(1, 1 + n // 8)]}
    assert "refused" not in log, log
    seqs = [r[0] for r in db.execute("SELECT seq FROM events WHERE sandbox_id = %s ORDER BY seq", (sbx,))]
    assert seqs == list(range(1, n + 1))
    stored = {r[0]: r[1] for r in db.execute("SELECT event_id, envelope FROM events")}
    assert stored == {ev["params"][0]: json.loads(ev["params"][9]) for ev in evs}
    # The outbox trigger ran for every row of every multi-row insert, after the
    # endpoint queued before them.
    (deliveries,) = db.execute("SELECT count(DISTINCT event_id) FROM webhook_deliveries").fetchone()
    assert deliveries == n
    assert db.execute("SELECT state FROM sandboxes WHERE id = %s", (sbx,)).fetchone() == ("ended",)
    assert db.execute("SELECT count(*) FROM requests").fetchone() == (n // 100,)


def test_a_bad_row_is_set_aside_and_sinks_nothing_else(scratch):
    schema, db = scratch
    sbx = new_id("sbx")
    n = 600
    evs = [event(sbx, i + 1, i // 8) for i in range(n)]
    taken_seq = event(sbx, 100, 300 // 8)        # unique (sandbox_id, seq): SQLSTATE 23505
    not_a_number = event(sbx, "many", 450 // 8)  # $3::bigint of "many": SQLSTATE 22P02
    lines = evs[:300] + [taken_seq] + evs[300:450] + [not_a_number] + evs[450:]

    jobs, log = run_probe(schema, lines)

    # The refused rows are settled too: they can never be written, and the
    # writer says so loudly rather than holding their requests back forever —
    # and keeps each of them, with its error, in history_quarantine.
    assert jobs == {j: 0 for j in range(n // 8)}
    assert log.count("row refused by PostgreSQL") == 2, log
    assert log.count("kept in history_quarantine") == 2, log
    kept = db.execute("SELECT sqlstate, statement, params, error FROM history_quarantine ORDER BY id").fetchall()
    assert [(k[0], k[2]) for k in kept] == [("23505", taken_seq["params"]), ("22P02", not_a_number["params"])]
    assert all(k[1].startswith("INSERT INTO events") and k[3] for k in kept), kept
    ids = {r[0] for r in db.execute("SELECT event_id FROM events")}
    assert ids == {ev["params"][0] for ev in evs}
