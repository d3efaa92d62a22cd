"""The worker's HTTP endpoints, scraped for real: /healthz, /readyz, /metrics."""
from __future__ import annotations

import re
import urllib.request

from sandq_client import new_id


def get(worker, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.http_port}{path}", timeout=10) as r:
        return r.status, r.read().decode()


def sample(text: str, name: str, **labels) -> float:
    lab = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pat = re.escape(name) + (r"\{" + re.escape(lab) + r"\}" if lab else "") + r" ([0-9.e+-]+)$"
    m = re.search(pat, text, re.M)
    assert m, f"no sample {name}{{{lab}}}"
    return float(m.group(1))


def test_health_and_readiness(worker):
    assert get(worker, "/healthz") == (200, "ok\n")
    status, body = get(worker, "/readyz")
    assert (status, body) == (200, "ready\n")


def test_metrics_count_what_happened(client, worker):
    _, before = get(worker, "/metrics")
    sbx = new_id("sbx")
    s = client.stream(sbx)
    client.send(client.envelope("sandbox.create", sbx, {}))
    s.wait_type("sandbox.ready", timeout=60)
    ex = client.send(client.envelope("task.exec", sbx, {"command": "true"}))
    s.for_request(ex["requestId"], {"sandbox.task.completed"})
    bad = client.send(client.envelope("sandbox.resume", sbx))  # resume while ready: invalid_state
    s.for_request(bad["requestId"], {"request.rejected"})
    _, live = get(worker, "/metrics")
    assert sample(live, "sandq_sandboxes", state="ready") >= 1
    kill = client.send(client.envelope("sandbox.kill", sbx))
    s.wait_type("sandbox.ended", requestId=kill["requestId"])

    _, after = get(worker, "/metrics")
    # Every line is a comment or a valid sample.
    for line in after.splitlines():
        assert line.startswith("# ") or re.match(r"^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$", line), line
    assert sample(after, "sandq_tasks_total", kind="exec", outcome="completed") >= \
        sample(before, "sandq_tasks_total", kind="exec", outcome="completed") + 1
    assert sample(after, "sandq_requests_rejected_total", code="invalid_state") >= \
        sample(before, "sandq_requests_rejected_total", code="invalid_state") + 1
    assert sample(after, "sandq_requests_total", type="sandbox.create") >= 1
    assert sample(after, "sandq_request_duration_seconds_count", type="task.exec") >= 1
    assert sample(after, "sandq_request_duration_seconds_bucket", type="task.exec", le="+Inf") == \
        sample(after, "sandq_request_duration_seconds_count", type="task.exec")
    assert "sandq_consumer_lag{" in after
    assert sample(after, "sandq_inflight_requests") >= 0
    assert sample(after, "sandq_history_queue_depth") >= 0
    assert sample(after, "sandq_webhook_backlog") >= 0
