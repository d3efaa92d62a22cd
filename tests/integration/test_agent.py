"""The agent capability (issue 12) against the real stack: task.agent's loop in
the worker talks to a scripted OpenAI-compatible server on loopback
(fake_model.py; no internet) and runs its tools inside a real sandbox. What a
user sees is asserted: the requests the model endpoint received, the events in
order (checked against schema/), files in /workspace read back with
files.read, the transcript row in PostgreSQL, and the key nowhere.

The module runs its own worker on topics of its own, with the settings the
tests need: SANDQ_AGENT_ALLOW_PRIVATE_ENDPOINTS=1 (the fake server is on
127.0.0.1), short retry waits, a small tool-output limit."""
from __future__ import annotations

import base64
import json
import os
import shutil
import time

import secrets

import pytest
from standardwebhooks.webhooks import Webhook

from fake_model import FakeModel
from harness import Worker, private_prefix
from sandbox_host import TASK_END, procs_of, wait_until
from sandq_client import Sandq, new_id
from webhook_receiver import Receiver

KEY = "sk-or-v1-FAKEKEY-0123456789abcdef0123456789"
MODEL = "fake/model-large"
OUTPUT_BYTES = 4000
BUILD_TOOLS = {"bash", "read", "write", "edit", "list", "glob", "grep"}
PLAN_TOOLS = {"read", "list", "glob", "grep"}


@pytest.fixture(scope="module")
def fake():
    f = FakeModel()
    yield f
    f.close()


WEBHOOK_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@pytest.fixture(scope="module")
def hook():
    rcv = Receiver().start()
    yield rcv
    rcv.stop()


@pytest.fixture(scope="module")
def agent_stack(stack_env):
    prefix = private_prefix(stack_env["brokers"], "agent")
    # Webhooks on (the end-to-end test's completion is announced by one).
    w = Worker("w-agent", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": f"{prefix}-workers",
                           "SANDQ_AGENT_ALLOW_PRIVATE_ENDPOINTS": "1", "SANDQ_AGENT_RETRY_MAX_MS": "3000",
                           "SANDQ_AGENT_TOOL_OUTPUT_BYTES": str(OUTPUT_BYTES),
                           "SANDQ_WEBHOOKS": "1", "SANDQ_WEBHOOK_ALLOW_PRIVATE": "1", "SANDQ_WEBHOOK_POLL_MS": "100",
                           "SANDQ_WEBHOOK_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}).start()
    yield Sandq(stack_env["brokers"], prefix), w
    code = w.stop()
    assert code == 0, w.log_text()[-3000:]
    shutil.rmtree(w.dir, ignore_errors=True)


@pytest.fixture
def agent_worker_dir(agent_stack):
    """A directory of the host, outside every workspace (the worker's own)."""
    return agent_stack[1].dir


def create(client, body, timeout=60):
    sbx = new_id("sbx")
    s = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, body))
    ready = s.wait_for(lambda e: e["type"] in {"sandbox.ready", "sandbox.failed", "request.rejected"}, timeout)
    assert ready["type"] == "sandbox.ready", ready
    return sbx, s, ready


def agent_env(fake, **extra):
    env = {"OPENROUTER_API_KEY": KEY, "OPENROUTER_MODEL": MODEL, "OPENROUTER_SMALL_MODEL": "fake/model-small",
           "OPENROUTER_BASE_URL": fake.base_url, "GITHUB_TOKEN": "ghp_FAKETOKEN0123456789"}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def sbx(agent_stack, fake, hook):
    client, _ = agent_stack
    sid, s, ready = create(client, {"capabilities": {"agent": {"enabled": True, "defaultAgent": "build"}},
                                    "env": agent_env(fake),
                                    "webhook": {"url": hook.url, "secret": WEBHOOK_SECRET,
                                                "eventTypes": ["sandbox.task.completed"]}})
    yield sid, s, ready
    k = client.send(client.envelope("sandbox.kill", sid))
    s.for_request(k["requestId"], {"sandbox.ended", "request.rejected"}, timeout=60)


def prompt(client, s, sid, fake, script, text="do the task", wait=60, title="A fake title", **body):
    """Run one task.agent with this script; returns (final event, progress data, recorded requests)."""
    fake.set_script(script, title)
    req = client.send(client.envelope("task.agent", sid, {"prompt": text, **body}))
    end = s.for_request(req["requestId"], TASK_END | {"request.rejected"}, timeout=wait)
    progress = [e["data"] for e in s.seen if e["type"] == "sandbox.task.progress" and e["requestId"] == req["requestId"]]
    return end, progress, list(fake.requests), req


def files_read(client, s, sid, path, raw=False):
    req = client.send(client.envelope("files.read", sid, {"path": path}))
    end = s.for_request(req["requestId"], TASK_END | {"request.rejected"}, timeout=30)
    data = b"".join(base64.b64decode(e["data"]["dataB64"]) if "dataB64" in e["data"] else e["data"]["data"].encode()
                    for e in s.seen if e["type"] == "sandbox.task.output" and e["requestId"] == req["requestId"])
    return end, data if raw else data.decode()


def tool_messages(request):
    return [m for m in request["body"]["messages"] if m["role"] == "tool"]


def tool_names(request):
    return {t["function"]["name"] for t in request["body"]["tools"]}


def test_create_reports_the_agent_ready(sbx):
    _, s, ready = sbx
    types = [e["type"] for e in s.seen]
    assert types.index("sandbox.agent.ready") < types.index("sandbox.ready")
    ev = next(e for e in s.seen if e["type"] == "sandbox.agent.ready")
    assert ev["data"] == {"model": MODEL, "smallModel": "fake/model-small", "defaultAgent": "build"}
    assert ready["data"]["capabilities"]["agent"] is True


def test_end_to_end_report_read_back_with_files_read(agent_stack, sbx, fake, hook):
    client, _ = agent_stack
    sid, s, _ = sbx
    report = "# Report\n\nprimes: 2 3 5 7\n"
    end, progress, reqs, req = prompt(client, s, sid, fake, [
        {"calls": [("write", {"path": "report.md", "content": report})]},
        {"calls": [("bash", {"command": "wc -l report.md && echo made-by-bash > side.txt"})]},
        {"text": "I wrote report.md with the primes.", "usage": {"prompt_tokens": 300, "completion_tokens": 20,
                                                                 "cost": 0.25}},
    ])
    assert end["type"] == "sandbox.task.completed", end
    r = end["data"]["result"]
    assert r["answer"] == "I wrote report.md with the primes."
    assert r["steps"] == 3 and r["stopReason"] == "completed" and r["agent"] == "build" and r["model"] == MODEL
    assert r["usage"]["promptTokens"] == 100 + 100 + 300 and r["usage"]["completionTokens"] == 10 + 10 + 20
    assert r["usage"]["cost"] == pytest.approx(0.25)
    assert r["filesChanged"] == ["report.md", "side.txt"]
    # The small model wrote the title: one request, no tools, not streamed.
    assert r["title"] == "A fake title"
    (tq,) = fake.title_requests
    assert tq["body"]["model"] == "fake/model-small" and tq["body"]["stream"] is False
    assert tq["headers"]["Authorization"] == f"Bearer {KEY}"
    assert "do the task" in tq["body"]["messages"][1]["content"]
    # Events in order: queued, started, one progress per step, completed.
    mine = [e["type"] for e in s.seen if e.get("requestId") == req["requestId"] and e["type"].startswith("sandbox.task")]
    assert mine == ["sandbox.task.queued", "sandbox.task.started"] + ["sandbox.task.progress"] * 3 + \
        ["sandbox.task.completed"]
    assert [p["step"] for p in progress] == [1, 2, 3]
    assert [p["tool"] for p in progress] == ["write", "bash", ""]
    assert progress[0]["summary"] == "write report.md" and progress[0]["tokens"] == {"prompt": 100, "completion": 10}
    assert progress[2]["totalTokens"] == 540
    # The request shape: model, auth, tools on every turn, ids echoed.
    assert len(reqs) == 3
    for q in reqs:
        assert q["path"] == "/api/v1/chat/completions"
        assert q["headers"]["Authorization"] == f"Bearer {KEY}"
        assert q["body"]["model"] == MODEL and tool_names(q) == BUILD_TOOLS
    assert [m["role"] for m in reqs[0]["body"]["messages"]] == ["system", "user"]
    assert reqs[0]["body"]["messages"][1]["content"] == "do the task"
    assistant = reqs[1]["body"]["messages"][2]
    assert assistant["role"] == "assistant" and assistant["tool_calls"][0]["function"]["name"] == "write"
    assert tool_messages(reqs[1])[0]["tool_call_id"] == assistant["tool_calls"][0]["id"]
    assert f"Wrote {len(report.encode())} bytes to /workspace/report.md" in tool_messages(reqs[1])[0]["content"]
    assert "3 report.md" in tool_messages(reqs[2])[1]["content"]
    # The workspace as the user reads it.
    fr, data = files_read(client, s, sid, "report.md")
    assert fr["type"] == "sandbox.task.completed" and data == report
    assert files_read(client, s, sid, "side.txt")[1] == "made-by-bash\n"
    # A signed webhook announced the completion, with the answer.
    got = hook.wait(lambda g: any(json.loads(x["body"])["eventId"] == end["eventId"] for x in g))
    d = next(x for x in got if json.loads(x["body"])["eventId"] == end["eventId"])
    payload = Webhook(WEBHOOK_SECRET).verify(d["body"], d["headers"])
    assert payload["type"] == "sandbox.task.completed" and payload["data"]["result"]["answer"] == r["answer"]


def test_parallel_calls_content_null_in_order(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    end, _, reqs, _ = prompt(client, s, sid, fake, title=None, script=[
        {"sse": False, "content_null": True, "calls": [("write", {"path": "p/a.txt", "content": "A"}),
                                                       ("write", {"path": "p/b.txt", "content": "BB"}),
                                                       ("read", {"path": "p/a.txt"})]},
        {"calls": [("list", {"path": "p"}), ("glob", {"pattern": "**/*.txt", "path": "p"}),
                   ("grep", {"pattern": "^B+$", "path": "p"})]},
        {"text": "both written"},
    ])
    assert end["type"] == "sandbox.task.completed", end
    assert "title" not in end["data"]["result"]  # the title call failed: no title, the task is fine
    calls = reqs[1]["body"]["messages"][2]
    assert calls["content"] is None and len(calls["tool_calls"]) == 3
    results = tool_messages(reqs[1])
    assert [m["tool_call_id"] for m in results] == [c["id"] for c in calls["tool_calls"]]
    assert "Wrote 1 bytes" in results[0]["content"] and "Wrote 2 bytes" in results[1]["content"]
    assert results[2]["content"] == "     1\tA\n"
    second = tool_messages(reqs[2])[3:]
    assert second[0]["content"].splitlines() == ["f 1 a.txt", "f 2 b.txt"]
    assert second[1]["content"].splitlines() == ["a.txt", "b.txt"]
    assert second[2]["content"].strip() == "/workspace/p/b.txt:1:BB"


def test_malformed_unknown_and_empty_calls_become_tool_results(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    end, _, reqs, _ = prompt(client, s, sid, fake, [
        {"calls": [("Bash", {"command": "true"}), ("python", {"code": "1"}), ("bash", '{"command": "ls"'),
                   ("", "{}"), ("bash", ""), ("read", '["a"]')]},
        {"text": "recovered"},
    ])
    assert end["type"] == "sandbox.task.completed", end
    assert end["data"]["result"]["answer"] == "recovered"
    got = [m["content"] for m in tool_messages(reqs[1])]
    assert len(got) == 6
    assert 'did you mean "bash"' in got[0]
    assert 'no tool named "python"' in got[1]
    assert "not valid JSON" in got[2]
    assert "no tool name" in got[3]
    assert 'needs the argument "command"' in got[4]
    assert "must be a JSON object" in got[5]


def test_sse_fragments_split_across_reads_with_comments(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    text = "Ünïcødé answer, split into tiny pieces: " + "x" * 300
    end, _, reqs, _ = prompt(client, s, sid, fake, [
        {"split": 3, "comments": True, "calls": [("bash", {"command": "echo split-ok"}),
                                                 ("bash", {"command": "echo second"})]},
        {"split": 1, "text": text},
    ])
    assert end["type"] == "sandbox.task.completed", end
    assert [m["content"] for m in tool_messages(reqs[1])] == ["split-ok\n", "second\n"]
    assert end["data"]["result"]["answer"] == text


def test_429_with_retry_after_then_success(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    end, _, reqs, _ = prompt(client, s, sid, fake, [
        {"status": 429, "headers": {"Retry-After": "1"}, "raw": json.dumps({"error": {"message": "rate limited"}})},
        {"status": 503, "raw": "upstream down"},
        {"text": "after retries"},
    ])
    assert end["type"] == "sandbox.task.completed", end
    assert end["data"]["result"]["answer"] == "after retries" and len(reqs) == 3
    # Retry-After: 1 was honoured: the second request came no sooner.
    assert reqs[1]["at"] - reqs[0]["at"] >= 0.95
    assert reqs[1]["body"] == reqs[0]["body"]


def test_401_fails_fast(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    end, _, _, _ = prompt(client, s, sid, fake, [
        {"status": 401, "raw": json.dumps({"error": {"message": "No auth credentials found", "code": 401}})},
        {"text": "never asked"},
    ])
    assert end["type"] == "sandbox.task.failed", end
    d = end["data"]
    assert d["code"] == "capability_unavailable" and d["reason"] == "model_rejected" and d["httpStatus"] == 401
    assert "No auth credentials found" in d["message"]
    time.sleep(0.5)
    assert len(fake.requests) == 1  # not retried


def test_200_with_an_error_body_is_an_error(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    end, _, _, _ = prompt(client, s, sid, fake, [
        {"error_200": {"message": "Provider returned error: context length exceeded", "code": 400}},
        {"text": "never asked"},
    ])
    assert end["type"] == "sandbox.task.failed", end
    assert end["data"]["reason"] == "model_error" and "context length exceeded" in end["data"]["message"]
    time.sleep(0.5)
    assert len(fake.requests) == 1


def test_step_cap_ends_with_one_text_only_turn(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    end, progress, reqs, _ = prompt(client, s, sid, fake, [
        {"calls": [("bash", {"command": "echo 1"})]},
        {"calls": [("bash", {"command": "echo 2"})]},
        {"text": "summary: ran two commands", "calls": [("bash", {"command": "echo never"})]},
    ], maxSteps=2)
    assert end["type"] == "sandbox.task.completed", end
    r = end["data"]["result"]
    assert r["stopReason"] == "max_steps" and r["steps"] == 3 and r["answer"] == "summary: ran two commands"
    last = reqs[2]["body"]
    assert last["tool_choice"] == "none" and tool_names(reqs[2]) == BUILD_TOOLS
    assert last["messages"][-1]["role"] == "user" and "step limit" in last["messages"][-1]["content"]
    assert "tool_choice" not in reqs[0]["body"]
    assert len(progress) == 3


def test_three_identical_calls_are_broken(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    same = ("bash", {"command": "echo again >> loop.txt"})
    end, _, reqs, _ = prompt(client, s, sid, fake, [
        {"calls": [same]}, {"calls": [same]}, {"calls": [same]}, {"text": "stopped looping"},
    ])
    assert end["type"] == "sandbox.task.completed", end
    third = tool_messages(reqs[3])[2]["content"]
    assert "third identical call" in third
    assert files_read(client, s, sid, "loop.txt")[1] == "again\nagain\n"  # the third did not run


def test_long_output_is_cut_to_head_and_tail(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    end, _, reqs, _ = prompt(client, s, sid, fake, [
        {"calls": [("bash", {"command": "seq 1 100000"})]}, {"text": "counted"},
    ])
    assert end["type"] == "sandbox.task.completed", end
    out = tool_messages(reqs[1])[0]["content"]
    assert out.startswith("1\n2\n3\n") and out.rstrip().endswith("99999\n100000")
    assert "bytes of output omitted" in out
    assert len(out.encode()) < OUTPUT_BYTES + 100


def test_edit_exact_replacement(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    end, _, reqs, _ = prompt(client, s, sid, fake, [
        {"calls": [("write", {"path": "e.txt", "content": "a = 1\nb = 1\n"}),
                   ("edit", {"path": "e.txt", "oldString": "= 1", "newString": "= 2"}),
                   ("edit", {"path": "e.txt", "oldString": "b = 1", "newString": "b = 3"}),
                   ("edit", {"path": "e.txt", "oldString": "zzz", "newString": "y"})]},
        {"text": "edited"},
    ])
    assert end["type"] == "sandbox.task.completed", end
    got = [m["content"] for m in tool_messages(reqs[1])]
    assert "occurs 2 times" in got[1] and "1 replacement" in got[2] and "not found" in got[3]
    assert files_read(client, s, sid, "e.txt")[1] == "a = 1\nb = 3\n"


def test_plan_agent_cannot_write_or_run(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    end, _, reqs, _ = prompt(client, s, sid, fake, [
        {"calls": [("write", {"path": "plan-wrote.txt", "content": "x"}),
                   ("bash", {"command": "touch plan-ran.txt"}), ("read", {"path": "report.md"})]},
        {"text": "the plan"},
    ], agent="plan")
    assert end["type"] == "sandbox.task.completed", end
    assert end["data"]["result"]["agent"] == "plan" and end["data"]["result"]["filesChanged"] == []
    assert tool_names(reqs[0]) == PLAN_TOOLS and tool_names(reqs[1]) == PLAN_TOOLS
    got = [m["content"] for m in tool_messages(reqs[1])]
    assert "read-only" in got[0] and "read-only" in got[1] and "# Report" in got[2]
    assert files_read(client, s, sid, "plan-wrote.txt")[0]["data"]["code"] == "not_found"
    assert files_read(client, s, sid, "plan-ran.txt")[0]["data"]["code"] == "not_found"


def test_cancel_in_the_middle_of_a_tool(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    fake.set_script([{"calls": [("bash", {"command": "echo started > c.txt; sleep 60; echo late >> c.txt"})]},
                     {"text": "never"}])
    req = client.send(client.envelope("task.agent", sid, {"prompt": "slow"}))
    s.wait_for(lambda e: e.get("requestId") == req["requestId"] and e["type"] == "sandbox.task.started", 30)
    assert wait_until(lambda: any("sleep" in open(f"/proc/{p}/cmdline").read() for p in procs_of(sid)
                                  if os.path.exists(f"/proc/{p}/cmdline")), 20)
    c = client.send(client.envelope("task.cancel", sid, {"targetTaskId": req["taskId"]}))
    end = s.for_request(req["requestId"], TASK_END, timeout=30)
    assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "canceled", end
    # The cancel itself has no event when it succeeds (test_control_lane.py).
    assert files_read(client, s, sid, "c.txt")[1] == "started\n"
    assert len(fake.requests) == 1  # stopped, not asked again
    assert wait_until(lambda: not any("sleep" in open(f"/proc/{p}/cmdline").read() for p in procs_of(sid)
                                      if os.path.exists(f"/proc/{p}/cmdline")), 10)


def test_timeout_preempts_a_hanging_model(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    t0 = time.monotonic()
    end, _, _, _ = prompt(client, s, sid, fake, [{"hang": 20}], timeoutMs=1500)
    assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "timed_out", end
    assert time.monotonic() - t0 < 15  # liveness: the 20 s answer was not awaited


def test_not_configured_and_not_enabled(agent_stack, fake):
    client, _ = agent_stack
    sid, s, ready = create(client, {"capabilities": {"agent": {"enabled": True}},
                                    "env": {"OPENROUTER_BASE_URL": fake.base_url}})
    failed = next(e for e in s.seen if e["type"] == "sandbox.agent.failed")
    assert "OPENROUTER_API_KEY" in failed["data"]["message"] and failed["data"]["reason"] == "not_configured"
    assert ready["data"]["capabilities"]["agent"] is False
    end, _, reqs, _ = prompt(client, s, sid, fake, [{"text": "never"}])
    assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "capability_disabled", end
    assert "OPENROUTER_API_KEY" in end["data"]["message"] and reqs == []

    sid2, s2, _ = create(client, {})
    end, _, _, _ = prompt(client, s2, sid2, fake, [{"text": "never"}])
    assert end["type"] == "request.rejected" and end["data"]["code"] == "capability_disabled", end
    for i, st in ((sid, s), (sid2, s2)):
        k = client.send(client.envelope("sandbox.kill", i))
        st.for_request(k["requestId"], {"sandbox.ended"}, timeout=60)


def test_ssrf_guard_without_the_setting(stack_env, fake):
    """A worker without SANDQ_AGENT_ALLOW_PRIVATE_ENDPOINTS: plain http is
    refused at create, and an https endpoint on loopback or the metadata
    address is refused right before connect() — the fake server never sees a
    request, and the task fails model_endpoint_refused, not retried."""
    prefix = private_prefix(stack_env["brokers"], "agentssrf")
    w = Worker("w-agent-ssrf", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": f"{prefix}-workers"}).start()
    client = Sandq(stack_env["brokers"], prefix)
    try:
        fake.set_script([{"text": "never"}, {"text": "never"}])
        sid, s, ready = create(client, {"capabilities": {"agent": {"enabled": True}}, "env": agent_env(fake)})
        failed = next(e for e in s.seen if e["type"] == "sandbox.agent.failed")
        assert "must be https" in failed["data"]["message"] and ready["data"]["capabilities"]["agent"] is False
        for url in (f"https://127.0.0.1:{fake.port}/api/v1", "https://169.254.169.254/v1",
                    f"https://localhost:{fake.port}/api/v1"):
            sid2, s2, ready2 = create(client, {"capabilities": {"agent": {"enabled": True}},
                                               "env": agent_env(fake, OPENROUTER_BASE_URL=url)})
            assert ready2["data"]["capabilities"]["agent"] is True
            end, _, reqs, _ = prompt(client, s2, sid2, fake, [{"text": "never"}])
            assert end["type"] == "sandbox.task.failed" and reqs == [], end
            assert end["data"]["reason"] == "model_endpoint_refused", end
            assert "refused" in end["data"]["message"] and "address" in end["data"]["message"]
            for i, st in ((sid2, s2),):
                k = client.send(client.envelope("sandbox.kill", i))
                st.for_request(k["requestId"], {"sandbox.ended"}, timeout=60)
        bad = create(client, {"capabilities": {"agent": {"enabled": True}},
                              "env": agent_env(fake, OPENROUTER_BASE_URL="ftp://example.com/v1")})
        assert "http or https" in next(e for e in bad[1].seen if e["type"] == "sandbox.agent.failed")["data"]["message"]
        for i, st in ((sid, s), (bad[0], bad[1])):
            k = client.send(client.envelope("sandbox.kill", i))
            st.for_request(k["requestId"], {"sandbox.ended"}, timeout=60)
    finally:
        assert w.stop() == 0, w.log_text()[-3000:]
        shutil.rmtree(w.dir, ignore_errors=True)


def test_key_is_in_no_event_row_or_log_and_transcript_is_redacted(agent_stack, sbx, fake, pg, rds):
    client, w = agent_stack
    sid, s, _ = sbx
    end, progress, reqs, req = prompt(client, s, sid, fake, [
        {"calls": [("bash", {"command": f"echo key={KEY}; echo env=$OPENROUTER_API_KEY; echo gh=$GITHUB_TOKEN"})]},
        {"text": f"the key is {KEY}"},
    ], text=f"please print {KEY}")
    assert end["type"] == "sandbox.task.completed", end
    out = tool_messages(reqs[1])[0]["content"]
    assert KEY not in out and "key=[REDACTED]" in out
    assert "env=\n" in out  # the key is not in the agent's commands' env
    assert "gh=[REDACTED]" in out  # other secret-looking env values are redacted, not removed
    assert end["data"]["result"]["answer"] == "the key is [REDACTED]"
    # The transcript row: every message, redacted.
    row = None
    deadline = time.monotonic() + 15
    while row is None and time.monotonic() < deadline:
        row = pg.execute("SELECT agent, model, steps, transcript::text FROM agent_transcripts WHERE task_id = %s",
                         (req["taskId"],)).fetchone()
        time.sleep(0.1)
    assert row is not None and row[0] == "build" and row[1] == MODEL and row[2] == 2
    t = json.loads(row[3])
    assert [m["role"] for m in t["messages"]] == ["system", "user", "assistant", "tool", "assistant"]
    assert t["messages"][1]["content"] == "please print [REDACTED]" and t["outcome"] == "completed"
    # Nowhere else either: events, rows, log.
    for e in s.seen:
        assert KEY not in json.dumps(e)
    for table in ("events", "tasks", "sandboxes", "agent_transcripts", "requests", "webhook_deliveries"):
        n = pg.execute(f"SELECT count(*) FROM {table} t WHERE t::text LIKE %s", (f"%{KEY}%",)).fetchone()[0]
        assert n == 0, table
    assert KEY not in w.log_text()
    for k in rds.scan_iter(f"*{sid}*"):
        assert KEY not in json.dumps(rds.hgetall(k) if rds.type(k) == "hash" else
                                     rds.lrange(k, 0, -1) if rds.type(k) == "list" else str(rds.dump(k))), k


def cli(client, *args, timeout=90):
    import subprocess
    from harness import BUILD
    env = {**os.environ, "SANDQ_TOPIC_PREFIX": client.prefix}
    return subprocess.run([str(BUILD / "producer" / "sandq"), *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_cli_prompt_wait_and_transcript(agent_stack, sbx, fake):
    """sandq prompt … --wait streams the steps to stderr and prints the answer;
    sandq agent transcript prints the conversation; without --wait, the task id."""
    client, _ = agent_stack
    sid, _, _ = sbx
    fake.set_script([{"calls": [("write", {"path": "cli.txt", "content": "from the cli\n"})]},
                     {"text": "cli.txt is written"}])
    p = cli(client, "prompt", sid, "write cli.txt", "--wait")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "cli.txt is written\n"
    assert "step 1 write: write cli.txt" in p.stderr and "2 steps" in p.stderr
    fake.set_script([{"text": "planned"}])
    p = cli(client, "prompt", sid, "plan it", "--agent", "plan", "--json")
    assert p.returncode == 0, p.stderr
    task = json.loads(p.stdout)["taskId"]
    assert task.startswith("tsk_")
    deadline = time.monotonic() + 30
    while True:
        t = cli(client, "agent", "transcript", task)
        if t.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert t.returncode == 0, t.stderr
    assert f"task {task}  agent plan  model {MODEL}  steps 1  outcome completed" in t.stdout
    assert "--- user\nplan it\n" in t.stdout and "--- assistant\nplanned\n" in t.stdout
    j = cli(client, "agent", "transcript", task, "--json")
    assert json.loads(j.stdout)["transcript"]["messages"][-1]["content"] == "planned"
    bad = cli(client, "prompt", sid, "x", "--agent", "deploy")
    assert bad.returncode == 2 and "build or plan" in bad.stderr
    # A failing task: exit 1 with the reason.
    fake.set_script([{"status": 403, "raw": json.dumps({"error": {"message": "moderation: flagged"}})}])
    p = cli(client, "prompt", sid, "bad", "--wait")
    assert p.returncode == 1 and "capability_unavailable" in p.stderr and "flagged" in p.stderr


def test_output_that_is_not_utf8_or_cut_mid_character(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    end, _, reqs, _ = prompt(client, s, sid, fake, [
        {"calls": [("bash", {"command": "printf 'é%.0s' $(seq 1 3001); printf '\\377\\000z'"})]},
        {"text": "ok"},
    ])
    assert end["type"] == "sandbox.task.completed", end
    out = tool_messages(reqs[1])[0]["content"]
    assert out.startswith("éé") and out.endswith("??z") and "bytes of output omitted" in out


def test_cancel_while_the_model_is_answering(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    fake.set_script([{"hang": 20}])
    req = client.send(client.envelope("task.agent", sid, {"prompt": "slow model"}))
    assert fake.wait_requests(1, 30)
    t0 = time.monotonic()
    client.send(client.envelope("task.cancel", sid, {"targetTaskId": req["taskId"]}))
    end = s.for_request(req["requestId"], TASK_END, timeout=30)
    assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "canceled", end
    assert time.monotonic() - t0 < 15  # liveness: not after the 20 s answer


def test_token_ceiling(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    end, _, reqs, _ = prompt(client, s, sid, fake, [
        {"calls": [("bash", {"command": "true"})], "usage": {"prompt_tokens": 1_999_000, "completion_tokens": 500}},
        {"calls": [("bash", {"command": "true # 2"})], "usage": {"prompt_tokens": 1000, "completion_tokens": 10}},
        {"text": "never"},
    ])
    assert end["type"] == "sandbox.task.failed", end
    d = end["data"]
    assert d["code"] == "limit_exceeded" and d["reason"] == "token_limit" and "SANDQ_AGENT_MAX_TOKENS" in d["message"]
    assert d["steps"] == 2 and d["usage"]["totalTokens"] == 2_000_510
    assert len(reqs) == 2


def test_retries_run_out(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    busy = {"status": 503, "headers": {"Retry-After": "0"}, "raw": json.dumps({"error": {"message": "overloaded"}})}
    end, _, reqs, _ = prompt(client, s, sid, fake, [busy] * 6)
    assert end["type"] == "sandbox.task.failed", end
    d = end["data"]
    assert d["reason"] == "model_unavailable" and d["httpStatus"] == 503 and "after 4 retries" in d["message"]
    assert len(reqs) == 5  # the first try and SANDQ_AGENT_RETRIES=4 more


def test_a_huge_answer_is_cut_for_the_event_and_whole_in_the_transcript(agent_stack, sbx, fake, pg):
    client, _ = agent_stack
    sid, s, _ = sbx
    text = "ü" * 200_000  # 400 KB
    end, _, _, req = prompt(client, s, sid, fake, [{"sse": False, "text": text}])
    assert end["type"] == "sandbox.task.completed", end
    a = end["data"]["result"]["answer"]
    assert a.startswith("üü") and a.endswith("the transcript has all of it]") and len(a.encode()) <= 256 * 1024
    deadline = time.monotonic() + 15
    row = None
    while row is None and time.monotonic() < deadline:
        row = pg.execute("SELECT transcript->'messages'->-1->>'content' FROM agent_transcripts WHERE task_id = %s",
                         (req["taskId"],)).fetchone()
        time.sleep(0.1)
    assert row[0] == text


def test_kill_stops_a_running_agent(agent_stack, fake):
    client, _ = agent_stack
    sid, s, _ = create(client, {"capabilities": {"agent": {"enabled": True}}, "env": agent_env(fake)})
    fake.set_script([{"calls": [("bash", {"command": "sleep 60"})]}, {"text": "never"}])
    req = client.send(client.envelope("task.agent", sid, {"prompt": "slow"}))
    assert wait_until(lambda: any("sleep" in open(f"/proc/{p}/cmdline").read() for p in procs_of(sid)
                                  if os.path.exists(f"/proc/{p}/cmdline")), 30)
    k = client.send(client.envelope("sandbox.kill", sid))
    end = s.for_request(req["requestId"], TASK_END, timeout=30)
    assert end["type"] == "sandbox.task.failed" and end["data"]["code"] == "canceled", end
    assert "killed" in end["data"]["message"]
    s.for_request(k["requestId"], {"sandbox.ended"}, timeout=30)
    types = [e["type"] for e in s.seen]
    assert "sandbox.ready" not in types[types.index("sandbox.task.failed"):]
    assert len(fake.requests) == 1


def test_default_step_cap_is_50(agent_stack, sbx, fake):
    client, _ = agent_stack
    sid, s, _ = sbx
    script = [{"calls": [("bash", {"command": f"true {i}"})]} for i in range(60)]
    script.insert(50, {"text": "summary after 50", "calls": [("bash", {"command": "never"})]})
    end, progress, reqs, _ = prompt(client, s, sid, fake, script)
    assert end["type"] == "sandbox.task.completed", end
    r = end["data"]["result"]
    assert r["stopReason"] == "max_steps" and r["steps"] == 51 and r["answer"] == "summary after 50"
    assert len(reqs) == 51 and reqs[50]["body"]["tool_choice"] == "none"
    assert [p["step"] for p in progress] == list(range(1, 52))


def test_tools_stay_in_the_workspace_and_never_block(agent_stack, sbx, fake, agent_worker_dir):
    """A symlink the sandbox planted cannot lead write, edit or read out of
    /workspace on the host; a FIFO is refused, not waited on; the plan agent's
    search arguments are never a command."""
    client, w = agent_stack
    sid, s, _ = sbx
    host_secret = agent_worker_dir / "host-only.txt"
    host_secret.write_text("host data\n")
    end, _, reqs, _ = prompt(client, s, sid, fake, [
        {"calls": [("bash", {"command": f"ln -sfn {agent_worker_dir} out && mkfifo pipe && echo ok"})]},
        {"calls": [("write", {"path": "out/host-only.txt", "content": "overwritten"}),
                   ("edit", {"path": "out/host-only.txt", "oldString": "host", "newString": "x"}),
                   ("read", {"path": "out/host-only.txt"}),
                   ("read", {"path": "pipe"}),
                   ("write", {"path": "/etc/passwd", "content": "x"}),
                   ("read", {"path": "../../etc/passwd"})]},
        {"text": "done"},
    ])
    assert end["type"] == "sandbox.task.completed", end
    got = [m["content"] for m in tool_messages(reqs[2])[1:]]
    assert all(g.startswith("Error:") for g in got), got
    assert "outside" in got[0] and "outside" in got[1] and "outside" in got[2]
    assert "FIFO" in got[3] or "fifo" in got[3].lower()
    assert "inside /workspace" in got[4] and "inside /workspace" in got[5]
    assert host_secret.read_text() == "host data\n"
    # The plan agent's glob and grep take their pattern as data, never as shell.
    end, _, reqs, _ = prompt(client, s, sid, fake, [
        {"calls": [("glob", {"pattern": "$(touch pwned1)*"}), ("grep", {"pattern": "`touch pwned2`"}),
                   ("list", {"path": "$(touch pwned3)"})]},
        {"text": "searched"},
    ], agent="plan")
    assert end["type"] == "sandbox.task.completed", end
    for n in ("pwned1", "pwned2", "pwned3"):
        assert files_read(client, s, sid, n)[0]["data"]["code"] == "not_found"


PAGE = """<!doctype html><html><head><title>agent page</title></head><body>
<button id="btn" onclick="document.getElementById('out').textContent = 'clicked ' + (++window.n)">Go</button>
<input id="name" oninput="document.getElementById('typed').textContent = this.value">
<div id="out">not yet</div><div id="typed"></div><script>window.n = 0;</script></body></html>"""


def test_browser_tool_with_a_browser_sandbox(agent_stack, fake):
    """With capabilities.browser the build agent also has `browser`: goto,
    click, type, content and screenshot over task.browser's actions."""
    client, _ = agent_stack
    sid, s, ready = create(client, {"capabilities": {"agent": {"enabled": True}, "browser": {}},
                                    "limits": {"memoryMb": 1024}, "env": agent_env(fake)}, timeout=120)
    if not ready["data"]["capabilities"]["browser"]:
        pytest.fail("this worker has no browser: " + json.dumps([e["data"] for e in s.seen
                                                                  if e["type"] == "sandbox.browser.failed"]))
    end, progress, reqs, req = prompt(client, s, sid, fake, [
        {"calls": [("write", {"path": "page.html", "content": PAGE})]},
        {"calls": [("browser", {"action": "goto", "url": "file:///workspace/page.html"}),
                   ("browser", {"action": "click", "selector": "#btn"}),
                   ("browser", {"action": "type", "selector": "#name", "text": "hello"}),
                   ("browser", {"action": "content"}),
                   ("browser", {"action": "screenshot"}),
                   ("browser", {"action": "click", "selector": "#missing"}),
                   ("browser", {"action": "fly"})]},
        {"text": "browsed"},
    ], wait=120)
    assert end["type"] == "sandbox.task.completed", end
    assert "browser" in tool_names(reqs[0])
    got = [m["content"] for m in tool_messages(reqs[2])[1:]]
    assert got[0] == "Opened file:///workspace/page.html"
    assert got[1] == "Clicked #btn" and got[2] == "Typed into #name"
    assert "Title: agent page" in got[3] and "clicked 1" in got[3] and "hello" in got[3]
    shot = f"screenshots/{req['taskId']}-1.png"
    assert got[4] == f"Saved a screenshot to /workspace/{shot}"
    assert got[5].startswith("Error: browser click failed (selector_not_found)")
    assert "not one of goto" in got[6]
    assert progress[1]["summary"].startswith("browser goto file:///workspace/page.html (+6 more)")
    assert shot in end["data"]["result"]["filesChanged"]
    fr, data = files_read(client, s, sid, shot, raw=True)
    assert fr["type"] == "sandbox.task.completed" and data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    k = client.send(client.envelope("sandbox.kill", sid))
    s.for_request(k["requestId"], {"sandbox.ended"}, timeout=60)
