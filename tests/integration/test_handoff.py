"""Hand-offs from the backend (issue 14) against the real stack: handoff.request →
sandbox.handoff.requested (pending, controlMode ai) → accept (controller,
controlMode human or shared) → complete (ai again); cancel; expiry with no
request arriving; the rejections (invalid_state, handoff_not_found); the
`handoffs` rows in PostgreSQL, the hand-off in Redis, webhooks rows from the
outbox, and `sandq handoff request|accept|complete|cancel|ls` with libsandq."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import time

from harness import pg_eventually
from sandbox_host import create, kill
from sandq_client import new_id

BUILD = pathlib.Path(os.environ.get("SANDQ_BUILD_DIR", pathlib.Path(__file__).resolve().parents[2] / "build"))
CLI = str(BUILD / "producer" / "sandq")
HANDOFF_EVENTS = {"sandbox.handoff.requested", "sandbox.handoff.accepted", "sandbox.handoff.completed",
                  "sandbox.handoff.cancelled", "sandbox.handoff.expired", "request.rejected"}


def send(client, s, sbx, type_, body):
    req = client.send(client.envelope(type_, sbx, body))
    return s.for_request(req["requestId"], HANDOFF_EVENTS, timeout=30)


def request_body(hnd, **extra):
    return {"handoffId": hnd, "reason": "mfa", "message": "enter the SMS code",
            "resumePrompt": "carry on with the invoices", **extra}


def row(pg, hnd):
    return pg.execute("SELECT status, control_mode, controller, reason, requested_by, sandbox_id, data "
                      "FROM handoffs WHERE handoff_id = %s", (hnd,)).fetchone()


def test_request_accept_complete(client, worker, rds, pg):
    sbx, s, _ = create(client, {})
    hnd = new_id("hnd")
    ev = send(client, s, sbx, "handoff.request", request_body(hnd, expiresInMs=600000))
    assert ev["type"] == "sandbox.handoff.requested", ev
    d = ev["data"]
    assert d["handoffId"] == hnd and d["status"] == "pending" and d["controlMode"] == "ai"
    assert d["reason"] == "mfa" and d["requestedBy"] == "sdk" and d["resumePrompt"] == "carry on with the invoices"
    assert d["expiresAt"] - d["requestedAt"] == 600000
    assert ev["requestId"] and ev["taskId"] is None
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "controlMode") == "ai"
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "handoff") == hnd
    assert json.loads(rds.hget(f"sandq:{{{sbx}}}:handoff:{hnd}", "json"))["status"] == "pending"
    pg_eventually(pg, "SELECT status, control_mode FROM handoffs WHERE handoff_id = %s", (hnd,), ("pending", "ai"))

    # Only a pending hand-off's completion is refused; a second one cannot open.
    rej = send(client, s, sbx, "handoff.complete", {"handoffId": hnd})
    assert rej["type"] == "request.rejected" and rej["data"]["code"] == "invalid_state", rej
    rej = send(client, s, sbx, "handoff.request", request_body(new_id("hnd")))
    assert rej["type"] == "request.rejected" and rej["data"]["code"] == "invalid_state", rej
    assert hnd in rej["data"]["message"]
    rej = send(client, s, sbx, "handoff.accept", {"handoffId": new_id("hnd"), "controller": "x"})
    assert rej["data"]["code"] == "handoff_not_found" and rej["data"]["field"] == "body.handoffId", rej

    ev = send(client, s, sbx, "handoff.accept", {"handoffId": hnd, "controller": "ada@acme.example"})
    assert ev["type"] == "sandbox.handoff.accepted", ev
    assert ev["data"]["status"] == "accepted" and ev["data"]["controlMode"] == "human"
    assert ev["data"]["controller"] == "ada@acme.example" and ev["data"]["acceptedAt"] >= d["requestedAt"]
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "controlMode") == "human"
    pg_eventually(pg, "SELECT status, control_mode, controller FROM handoffs WHERE handoff_id = %s", (hnd,),
                  ("accepted", "human", "ada@acme.example"))

    ev = send(client, s, sbx, "handoff.complete", {"handoffId": hnd, "note": "code entered"})
    assert ev["type"] == "sandbox.handoff.completed", ev
    assert ev["data"]["status"] == "completed" and ev["data"]["controlMode"] == "ai"
    assert ev["data"]["note"] == "code entered" and ev["data"]["completedAt"] >= ev["data"]["acceptedAt"]
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "controlMode") == "ai"
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "handoff") == ""
    pg_eventually(pg, "SELECT status, control_mode FROM handoffs WHERE handoff_id = %s", (hnd,), ("completed", "ai"))
    r = row(pg, hnd)
    assert r[3:6] == ("mfa", "sdk", sbx) and r[6]["note"] == "code entered"
    # Every status change is an event in the history (and so a webhook's source), in order.
    pg_eventually(pg, "SELECT array_agg(type ORDER BY seq) FROM events WHERE sandbox_id = %s AND type LIKE %s",
                  (sbx, "sandbox.handoff.%"),
                  (["sandbox.handoff.requested", "sandbox.handoff.accepted", "sandbox.handoff.completed"],))
    # A finished hand-off cannot be accepted again; the sandbox is as it was.
    rej = send(client, s, sbx, "handoff.accept", {"handoffId": hnd, "controller": "bob"})
    assert rej["data"]["code"] == "invalid_state", rej
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "state") == "ready"
    kill(client, s, sbx)


def test_shared_control_and_cancel(client, worker, rds, pg):
    sbx, s, _ = create(client, {})
    hnd = new_id("hnd")
    ev = send(client, s, sbx, "handoff.request", request_body(hnd, requestedBy="dashboard"))
    assert ev["data"]["requestedBy"] == "dashboard"
    assert ev["data"]["expiresAt"] - ev["data"]["requestedAt"] == 15 * 60 * 1000  # the default
    ev = send(client, s, sbx, "handoff.accept", {"handoffId": hnd, "controller": "ada", "controlMode": "shared"})
    assert ev["data"]["controlMode"] == "shared"
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "controlMode") == "shared"
    ev = send(client, s, sbx, "handoff.cancel", {"handoffId": hnd})
    assert ev["type"] == "sandbox.handoff.cancelled" and ev["data"]["status"] == "cancelled", ev
    assert ev["data"]["controlMode"] == "ai"
    pg_eventually(pg, "SELECT status, control_mode FROM handoffs WHERE handoff_id = %s", (hnd,), ("cancelled", "ai"))
    # A pending one can be cancelled too, and then the next may open.
    h2 = new_id("hnd")
    assert send(client, s, sbx, "handoff.request", request_body(h2))["type"] == "sandbox.handoff.requested"
    assert send(client, s, sbx, "handoff.cancel", {"handoffId": h2})["data"]["status"] == "cancelled"
    # A bad reason never reaches the worker's book: invalid_request at the field.
    rej = send(client, s, sbx, "handoff.request", request_body(new_id("hnd"), reason="bored"))
    assert rej["data"]["code"] == "invalid_request" and rej["data"]["field"] == "body.reason", rej
    kill(client, s, sbx)


def test_expiry_needs_no_request(client, worker, rds, pg):
    sbx, s, _ = create(client, {})
    hnd = new_id("hnd")
    ev = send(client, s, sbx, "handoff.request", request_body(hnd, expiresInMs=1500))
    assert ev["type"] == "sandbox.handoff.requested"
    send(client, s, sbx, "handoff.accept", {"handoffId": hnd, "controller": "ada"})
    # Nothing else is sent: the sandbox's own tick expires it.
    exp = s.wait_for(lambda e: e["type"] == "sandbox.handoff.expired", 20)
    assert exp["data"]["handoffId"] == hnd and exp["data"]["status"] == "expired"
    assert exp["data"]["controlMode"] == "ai" and exp["requestId"] is None
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "controlMode") == "ai"
    pg_eventually(pg, "SELECT status FROM handoffs WHERE handoff_id = %s", (hnd,), ("expired",))
    rej = send(client, s, sbx, "handoff.complete", {"handoffId": hnd})
    assert rej["data"]["code"] == "invalid_state"
    kill(client, s, sbx)


def test_an_open_handoff_is_cancelled_when_the_sandbox_ends(client, worker, pg):
    sbx, s, _ = create(client, {})
    hnd = new_id("hnd")
    send(client, s, sbx, "handoff.request", request_body(hnd))
    ended = kill(client, s, sbx)
    assert ended["type"] == "sandbox.ended"
    types = [e["type"] for e in s.seen]
    assert types.index("sandbox.handoff.cancelled") < types.index("sandbox.ending")
    pg_eventually(pg, "SELECT status FROM handoffs WHERE handoff_id = %s", (hnd,), ("cancelled",))


def test_a_handoff_is_delivered_as_a_webhook_row(client, worker, pg):
    """The outbox trigger turns every sandbox.handoff.* event into a delivery row."""
    sbx, s, _ = create(client, {"webhook": {"url": "http://127.0.0.1:9/hook",
                                            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}})
    hnd = new_id("hnd")
    send(client, s, sbx, "handoff.request", request_body(hnd))
    send(client, s, sbx, "handoff.cancel", {"handoffId": hnd})
    pg_eventually(pg, "SELECT array_agg(event_type ORDER BY id) FROM webhook_deliveries WHERE sandbox_id = %s "
                  "AND event_type LIKE %s", (sbx, "sandbox.handoff.%"),
                  (["sandbox.handoff.requested", "sandbox.handoff.cancelled"],))
    kill(client, s, sbx)


def cli(*args, check_rc=None):
    p = subprocess.run([CLI, *args], capture_output=True, timeout=120)
    if check_rc is not None:
        assert p.returncode == check_rc, (args, p.returncode, p.stdout, p.stderr)
    return p


def test_cli_handoff_flow_and_ls(worker, pg):
    sbx = json.loads(cli("launch", "--json", check_rc=0).stdout)["id"]
    hnd = cli("handoff", "request", sbx, "--reason", "captcha", "--message", "solve it", "--resume-prompt",
              "go on", "--expires", "10m", check_rc=0).stdout.decode().strip()
    assert hnd.startswith("hnd_")
    acc = json.loads(cli("handoff", "accept", sbx, hnd, "--controller", "ada", "--json", check_rc=0).stdout)
    assert acc["status"] == "accepted" and acc["controlMode"] == "human" and acc["controller"] == "ada"
    out = cli("handoff", "complete", sbx, hnd, "--note", "solved", check_rc=0).stdout.decode()
    assert f"{hnd} completed, controlMode ai" in out
    # A rejection is exit 1 with the protocol code on one line.
    p = cli("handoff", "cancel", sbx, hnd, check_rc=1)
    assert p.stderr.decode().startswith("sandq: handoff: invalid_state: ")
    p = cli("handoff", "cancel", sbx, new_id("hnd"), check_rc=1)
    assert p.stderr.decode().startswith("sandq: handoff: handoff_not_found: ")
    h2 = cli("handoff", "request", sbx, "--reason", "approval", "--message", "approve", "--dashboard",
             check_rc=0).stdout.decode().strip()
    cli("handoff", "cancel", sbx, h2, check_rc=0)
    pg_eventually(pg, "SELECT count(*) FROM handoffs WHERE sandbox_id = %s", (sbx,), (2,))
    ls = json.loads(cli("handoff", "ls", sbx, "--json", check_rc=0).stdout)
    assert [(h["handoffId"], h["status"], h["requestedBy"]) for h in ls] == [
        (hnd, "completed", "sdk"), (h2, "cancelled", "dashboard")]
    assert ls[0]["note"] == "solved" and ls[0]["resumePrompt"] == "go on"
    table = cli("handoff", "ls", sbx, check_rc=0).stdout.decode().splitlines()
    assert table[0].split()[:3] == ["HANDOFF", "STATUS", "REASON"] and len(table) == 3
    assert table[1].split()[:3] == [hnd, "completed", "captcha"]
    assert cli("handoff", "accept", sbx, hnd).returncode == 2  # --controller missing: usage
    cli("kill", sbx, check_rc=0)


def test_handoff_requests_are_answered_while_a_task_runs(client, worker):
    """A person is waiting: hand-off requests do not wait for a long command to end."""
    sbx, s, _ = create(client, {})
    run_req = client.send(client.envelope("task.exec", sbx, {"command": "sleep", "args": ["6"]}))
    s.for_request(run_req["requestId"], {"sandbox.task.started"}, timeout=30)
    hnd = new_id("hnd")
    ev = send(client, s, sbx, "handoff.request", request_body(hnd))
    assert ev["type"] == "sandbox.handoff.requested"
    ev = send(client, s, sbx, "handoff.accept", {"handoffId": hnd, "controller": "ada"})
    assert ev["data"]["controlMode"] == "human"
    ev = send(client, s, sbx, "handoff.complete", {"handoffId": hnd})
    assert ev["data"]["status"] == "completed"
    end = s.for_request(run_req["requestId"], {"sandbox.task.completed", "sandbox.task.failed"}, timeout=60)
    assert end["type"] == "sandbox.task.completed" and end["data"]["exitCode"] == 0, end  # the command went on
    # All three were answered while the command still ran: before its end in the stream.
    seqs = {e["type"]: e["seq"] for e in s.seen}
    assert seqs["sandbox.handoff.completed"] < end["seq"]
    kill(client, s, sbx)


def test_expiry_is_published_while_a_task_runs(client, worker, rds):
    """A hand-off that expires under a long command is expired on time, not
    when the command ends."""
    sbx, s, _ = create(client, {})
    run_req = client.send(client.envelope("task.exec", sbx, {"command": "sleep", "args": ["8"]}))
    s.for_request(run_req["requestId"], {"sandbox.task.started"}, timeout=30)
    hnd = new_id("hnd")
    assert send(client, s, sbx, "handoff.request", request_body(hnd, expiresInMs=1500))["type"] == \
        "sandbox.handoff.requested"
    exp = s.wait_for(lambda e: e["type"] == "sandbox.handoff.expired", 30)
    assert exp["data"]["handoffId"] == hnd and exp["requestId"] is None and exp["data"]["controlMode"] == "ai"
    assert rds.hget(f"sandq:{{{sbx}}}:sandbox", "controlMode") == "ai"
    end = s.for_request(run_req["requestId"], {"sandbox.task.completed", "sandbox.task.failed"}, timeout=60)
    assert end["type"] == "sandbox.task.completed" and end["data"]["exitCode"] == 0, end
    assert exp["seq"] < end["seq"]  # published while the command still ran
    kill(client, s, sbx)
