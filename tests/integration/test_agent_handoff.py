"""The agent's side of hand-off (issues 12 and 14) against the real stack: the
build agent of a sandbox with a browser calls `request_handoff` (scripted by
fake_model.py); `sandbox.handoff.requested` carries the control URL; the task
waits, still active, named in a progress event; the test, acting as the
person, accepts, logs into a page served inside the sandbox through the
viewer's control-URL input endpoint, and completes with a note; the model's
next request has the resume prompt and the note; the task completes and the
login is in the page (DOM and cookie). Also cancel, expiry, kill, task.cancel
and the task's timeoutMs during the wait, the PostgreSQL rows with
requestedBy agent, and every event checked against schema/ (sandq_client)."""
from __future__ import annotations

import base64
import json
import shutil
import time
import urllib.parse

import pytest

from fake_model import FakeModel
from harness import Worker, pg_eventually, private_prefix
from sandbox_host import TASK_END, run, wait_until, workspace_file
from sandq_client import new_id
from test_agent import agent_env, create, tool_messages, tool_names
from test_preview import post_input

HANDOFF = {"sandbox.handoff.requested", "sandbox.handoff.accepted", "sandbox.handoff.completed",
           "sandbox.handoff.cancelled", "sandbox.handoff.expired", "request.rejected"}

# A login form served by python3 -m http.server inside the sandbox. Tab and
# Enter are handled by the page too, so the test does not depend on how a
# headless Chromium moves focus.
LOGIN = """<!doctype html><html><head><title>login</title></head><body>
<form id="f" action="welcome.html" method="get">
<input id="u" name="user" autofocus><input id="p" name="pw" type="password"><button>Log in</button></form>
<script>
const u = document.getElementById('u'), p = document.getElementById('p'), f = document.getElementById('f');
u.focus();
u.addEventListener('keydown', e => { if (e.key === 'Tab') { e.preventDefault(); p.focus(); } });
p.addEventListener('keydown', e => { if (e.key === 'Enter') { e.preventDefault(); f.requestSubmit(); } });
f.addEventListener('submit', e => {
  if (u.value !== 'alice' || p.value !== 's3cret') { e.preventDefault(); document.title = 'bad login'; return; }
  document.cookie = 'session=alice-ok; max-age=3600';
});
</script></body></html>"""
WELCOME = """<!doctype html><html><head><title>welcome</title></head><body><div id="who"></div><script>
const q = new URLSearchParams(location.search);
document.getElementById('who').textContent = document.cookie.includes('session=alice-ok')
  ? 'Welcome ' + q.get('user') : 'not logged in';
</script></body></html>"""
SERVE = ("cd /workspace/site && (python3 -m http.server 8765 --bind 127.0.0.1 >/workspace/site/access.log 2>&1 &) && "
         "for i in $(seq 50); do python3 -c 'import urllib.request as u; u.urlopen(\"http://127.0.0.1:8765/login.html\")' "
         "2>/dev/null && exit 0; sleep 0.2; done; exit 1")
SITE = "http://127.0.0.1:8765/login.html"


@pytest.fixture(scope="module")
def fake():
    f = FakeModel()
    yield f
    f.close()


@pytest.fixture(scope="module")
def hstack(stack_env):
    prefix = private_prefix(stack_env["brokers"], "agenthandoff")
    from sandq_client import Sandq
    w = Worker("w-agenthandoff", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": f"{prefix}-workers",
                                  "SANDQ_AGENT_ALLOW_PRIVATE_ENDPOINTS": "1", "SANDQ_AGENT_TITLE": "0"}).start()
    yield Sandq(stack_env["brokers"], prefix), w
    code = w.stop()
    assert code == 0, w.log_text()[-3000:]
    shutil.rmtree(w.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def bsbx(hstack, fake):
    """One browser + agent sandbox with the login site served inside it."""
    client, w = hstack
    sid, s, ready = create(client, {"capabilities": {"agent": {"enabled": True}, "browser": {}},
                                    "limits": {"memoryMb": 1024}, "env": agent_env(fake)}, timeout=120)
    if not ready["data"]["capabilities"]["browser"]:
        pytest.fail("this worker has no browser: " + json.dumps([e["data"] for e in s.seen
                                                                  if e["type"] == "sandbox.browser.failed"]))
    # The site's files, written by the sandbox's own user (the server writes its log there).
    files = " && ".join(f"echo {base64.b64encode(t.encode()).decode()} | base64 -d > /workspace/site/{n}"
                        for n, t in (("login.html", LOGIN), ("welcome.html", WELCOME)))
    end, _, _ = run(client, s, sid, "mkdir -p /workspace/site && " + files)
    assert end["type"] == "sandbox.task.completed" and end["data"]["exitCode"] == 0, end
    end, _, _ = run(client, s, sid, SERVE)
    assert end["type"] == "sandbox.task.completed" and end["data"]["exitCode"] == 0, end
    yield sid, s, w
    k = client.send(client.envelope("sandbox.kill", sid))
    s.for_request(k["requestId"], {"sandbox.ended", "request.rejected"}, timeout=60)


def start_agent(client, s, sid, fake, script, **body):
    fake.set_script(script, None)
    req = client.send(client.envelope("task.agent", sid, {"prompt": "log into the site", **body}))
    return req


def wait_requested(s, req):
    return s.wait_for(lambda e: e["type"] == "sandbox.handoff.requested" and e["requestId"] == req["requestId"], 90)


def send(client, s, sid, type_, body):
    r = client.send(client.envelope(type_, sid, body))
    return s.for_request(r["requestId"], HANDOFF, timeout=30)


def of_request(s, req, types=None):
    return [e for e in s.seen if e["requestId"] == req["requestId"] and (types is None or e["type"] in types)]


def browse(client, s, sid, expression):
    r = client.send(client.envelope("task.browser", sid, {"actions": [{"op": "evaluate", "expression": expression}]}))
    end = s.for_request(r["requestId"], TASK_END, timeout=60)
    assert end["type"] == "sandbox.task.completed", end
    return end["data"]["result"]["actions"][0]["value"]


def test_request_handoff_login_then_resume(hstack, bsbx, fake, rds, pg):
    client, w = hstack
    sid, s, _ = bsbx
    resume = "RESUME-7Q: check that the dashboard greets alice, then report"
    req = start_agent(client, s, sid, fake, [
        {"calls": [("browser", {"action": "goto", "url": SITE})]},
        {"calls": [("request_handoff", {"reason": "login_failed", "message": "Please log in as alice",
                                        "resumePrompt": resume, "expiresInMs": 600000})]},
        {"calls": [("browser", {"action": "content"})]},
        {"text": "logged in and checked"},
    ])
    ev = wait_requested(s, req)
    d = ev["data"]
    assert d["requestedBy"] == "agent" and d["status"] == "pending" and d["controlMode"] == "ai"
    assert d["reason"] == "login_failed" and d["message"] == "Please log in as alice" and d["resumePrompt"] == resume
    assert d["expiresAt"] - d["requestedAt"] == 600000 and d["handoffId"].startswith("hnd_")
    hnd, url = d["handoffId"], d["previewUrl"]
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert f"/preview/{sid}" in url and q["m"] == "control" and int(q["e"]) == d["expiresAt"]
    prog = s.wait_for(lambda e: e["type"] == "sandbox.task.progress" and e["requestId"] == req["requestId"]
                      and e["data"].get("handoffId") == hnd, 30)
    assert prog["data"]["tool"] == "request_handoff" and "waiting for a person" in prog["data"]["summary"]
    assert prog["seq"] > ev["seq"]
    assert "request_handoff" in tool_names(fake.requests[0])

    # The task waits, active, and the model is not asked again meanwhile.
    time.sleep(2)
    assert len(fake.requests) == 2
    assert not of_request(s, req, TASK_END)
    assert rds.hget(f"sandq:{{{sid}}}:sandbox", "state") == "active"
    pg_eventually(pg, "SELECT status, requested_by FROM handoffs WHERE handoff_id = %s", (hnd,), ("pending", "agent"))

    # The person: no input before accepting; then accept, and log in through the control URL.
    assert post_input(url, {"t": "text", "text": "x"}) == 403
    acc = send(client, s, sid, "handoff.accept", {"handoffId": hnd, "controller": "ada@acme.example"})
    assert acc["type"] == "sandbox.handoff.accepted" and acc["data"]["controlMode"] == "human", acc
    assert rds.hget(f"sandq:{{{sid}}}:sandbox", "controlMode") == "human"
    for inp in ({"t": "text", "text": "alice"},
                {"t": "key", "a": "down", "key": "Tab", "code": "Tab", "kc": 9},
                {"t": "key", "a": "up", "key": "Tab", "code": "Tab", "kc": 9},
                {"t": "text", "text": "s3cret"},
                {"t": "key", "a": "down", "key": "Enter", "code": "Enter", "kc": 13, "text": "\r"},
                {"t": "key", "a": "up", "key": "Enter", "code": "Enter", "kc": 13}):
        assert post_input(url, inp) == 204, inp
        time.sleep(0.3)
    log = workspace_file(w, sid, "site/access.log")
    assert wait_until(lambda: "GET /welcome.html?user=alice" in log.read_text(), 30), log.read_text()[-2000:]
    assert len(fake.requests) == 2 and not of_request(s, req, TASK_END)

    done = send(client, s, sid, "handoff.complete", {"handoffId": hnd, "note": "NOTE-3K: logged in, 2FA done"})
    assert done["type"] == "sandbox.handoff.completed" and done["data"]["controlMode"] == "ai", done
    end = s.for_request(req["requestId"], TASK_END, timeout=90)
    assert end["type"] == "sandbox.task.completed", end
    assert end["data"]["result"]["answer"] == "logged in and checked"
    reqs = fake.requests
    assert len(reqs) == 4
    back = tool_messages(reqs[2])[-1]["content"]
    assert resume in back and "NOTE-3K: logged in, 2FA done" in back
    page = tool_messages(reqs[3])[-1]["content"]
    assert "Title: welcome" in page and "Welcome alice" in page
    # The control URL's signature never reached the model.
    assert all(q["s"] not in json.dumps(r["body"]) for r in reqs)

    # Events in order; the login is in the page.
    seen = [(e["type"], e["data"].get("tool"), e["data"].get("handoffId")) for e in of_request(s, req)
            if e["type"] in {"sandbox.task.started", "sandbox.task.progress", "sandbox.handoff.requested",
                             "sandbox.task.completed"}]
    assert seen == [("sandbox.task.started", None, None), ("sandbox.task.progress", "browser", None),
                    ("sandbox.handoff.requested", None, hnd), ("sandbox.task.progress", "request_handoff", hnd),
                    ("sandbox.task.progress", "request_handoff", None), ("sandbox.task.progress", "browser", None),
                    ("sandbox.task.progress", "", None), ("sandbox.task.completed", None, None)], seen
    assert acc["seq"] < done["seq"] < end["seq"]
    assert browse(client, s, sid, "[document.getElementById('who').textContent, document.cookie]") == \
        ["Welcome alice", "session=alice-ok"]
    assert pg_eventually(pg, "SELECT status, requested_by, controller, control_mode FROM handoffs "
                             "WHERE handoff_id = %s", (hnd,), ("completed", "agent", "ada@acme.example", "ai")) == \
        ("completed", "agent", "ada@acme.example", "ai")
    row = pg.execute("SELECT data FROM handoffs WHERE handoff_id = %s", (hnd,)).fetchone()[0]
    assert row["note"] == "NOTE-3K: logged in, 2FA done" and row["resumePrompt"] == resume
    assert post_input(url, {"t": "text", "text": "late"}) == 403


def test_cancelled_handoff_resumes_with_a_cancellation(hstack, bsbx, fake, pg):
    client, _ = hstack
    sid, s, _ = bsbx
    req = start_agent(client, s, sid, fake, [
        {"calls": [("request_handoff", {"reason": "captcha", "message": "solve the captcha"})]},
        {"text": "gave up on the captcha"},
    ])
    d = wait_requested(s, req)["data"]
    assert d["expiresAt"] - d["requestedAt"] == 15 * 60 * 1000  # the default
    c = send(client, s, sid, "handoff.cancel", {"handoffId": d["handoffId"]})
    assert c["type"] == "sandbox.handoff.cancelled" and c["data"]["controlMode"] == "ai", c
    end = s.for_request(req["requestId"], TASK_END, timeout=60)
    assert end["type"] == "sandbox.task.completed" and end["data"]["result"]["answer"] == "gave up on the captcha"
    assert "was cancelled" in tool_messages(fake.requests[1])[-1]["content"]
    assert pg_eventually(pg, "SELECT status, requested_by FROM handoffs WHERE handoff_id = %s",
                         (d["handoffId"],), ("cancelled", "agent")) == ("cancelled", "agent")


def test_expired_handoff_resumes_with_an_expiry(hstack, bsbx, fake, pg):
    client, _ = hstack
    sid, s, _ = bsbx
    req = start_agent(client, s, sid, fake, [
        {"calls": [("request_handoff", {"reason": "approval", "message": "approve the payment",
                                        "expiresInMs": 2000})]},
        {"text": "nobody approved"},
    ])
    d = wait_requested(s, req)["data"]
    exp = s.wait_for(lambda e: e["type"] == "sandbox.handoff.expired" and e["data"]["handoffId"] == d["handoffId"], 30)
    assert exp["requestId"] is None and exp["data"]["controlMode"] == "ai"
    end = s.for_request(req["requestId"], TASK_END, timeout=60)
    assert end["type"] == "sandbox.task.completed" and end["data"]["result"]["answer"] == "nobody approved"
    assert exp["seq"] < end["seq"]
    assert "expired" in tool_messages(fake.requests[1])[-1]["content"]
    assert pg_eventually(pg, "SELECT status FROM handoffs WHERE handoff_id = %s", (d["handoffId"],),
                         ("expired",)) == ("expired",)


def test_a_person_in_control_blocks_the_browser_tool(hstack, bsbx, fake):
    """A backend's accepted hand-off (controlMode human): the agent's browser
    tool is refused; a second hand-off cannot be opened by the agent."""
    client, _ = hstack
    sid, s, _ = bsbx
    hnd = new_id("hnd")
    assert send(client, s, sid, "handoff.request", {"handoffId": hnd, "reason": "mfa",
                                                    "message": "code"})["type"] == "sandbox.handoff.requested"
    assert send(client, s, sid, "handoff.accept", {"handoffId": hnd, "controller": "bob"})["data"]["controlMode"] \
        == "human"
    req = start_agent(client, s, sid, fake, [
        {"calls": [("browser", {"action": "content"}),
                   ("request_handoff", {"reason": "custom", "message": "another"})]},
        {"text": "blocked"},
    ])
    end = s.for_request(req["requestId"], TASK_END, timeout=60)
    assert end["type"] == "sandbox.task.completed", end
    got = [m["content"] for m in tool_messages(fake.requests[1])]
    assert got[0].startswith("Error: a person has control of the browser")
    assert got[1].startswith("Error: the hand-off could not be opened") and hnd in got[1]
    send(client, s, sid, "handoff.cancel", {"handoffId": hnd})


@pytest.mark.parametrize("how", ["kill", "task.cancel", "timeout"])
def test_the_wait_is_preempted(hstack, fake, how):
    """kill, task.cancel and the task's timeoutMs end the wait at once; the
    hand-off is cancelled first."""
    client, _ = hstack
    sid, s, _ = create(client, {"capabilities": {"agent": {"enabled": True}, "browser": {}},
                                "limits": {"memoryMb": 1024}, "env": agent_env(fake)}, timeout=120)
    req = start_agent(client, s, sid, fake, [
        {"calls": [("request_handoff", {"reason": "mfa", "message": "code please"})]},
        {"text": "never asked"},
    ], **({"timeoutMs": 6000} if how == "timeout" else {}))
    d = wait_requested(s, req)["data"]
    t0 = time.monotonic()
    if how == "kill":
        k = client.send(client.envelope("sandbox.kill", sid))
    elif how == "task.cancel":
        client.send(client.envelope("task.cancel", sid, {"targetTaskId": req["taskId"]}))
    end = s.for_request(req["requestId"], TASK_END, timeout=30)
    assert end["type"] == "sandbox.task.failed", end
    assert end["data"]["code"] == ("timed_out" if how == "timeout" else "canceled"), end
    cancelled = [e for e in s.seen if e["type"] == "sandbox.handoff.cancelled"
                 and e["data"]["handoffId"] == d["handoffId"]]
    assert len(cancelled) == 1 and cancelled[0]["seq"] < end["seq"], cancelled
    assert len(fake.requests) == 1  # the model was not asked again
    if how == "kill":
        ended = s.for_request(k["requestId"], {"sandbox.ended"}, timeout=30)
        assert time.monotonic() - t0 < 30  # liveness: the sandbox ends promptly, not after 15 min
        assert ended["seq"] > end["seq"]
    else:
        k = client.send(client.envelope("sandbox.kill", sid))
        s.for_request(k["requestId"], {"sandbox.ended"}, timeout=60)
