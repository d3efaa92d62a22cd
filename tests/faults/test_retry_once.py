"""Redis goes down while a task runs, so the writes after its body fail (a
late store error). The worker retries the request once Redis is back — but
only the recording and publishing of its outcome, never the task itself: the
command's side effect (a line appended to /workspace/runs) happens once, and
the request has exactly one outcome."""
from __future__ import annotations

import time

from harness import Worker, private_prefix
from sandq_client import Sandq, new_id
from test_service_restarts import stack_up, stop_service

TERMINAL = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}


def test_a_late_store_error_does_not_run_the_task_again(stack_env):
    prefix = private_prefix(stack_env["brokers"], "once", partitions=3)
    client = Sandq(stack_env["brokers"], prefix)
    # Redis commands give up after 300 ms, so the task's closing writes fail
    # while Redis is down and the request is retried.
    w = Worker("w-once", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix,
                          "SANDQ_STORE_RETRY_MS": "300"}).start()
    try:
        sbx = new_id("sbx")
        stream = client.stream(sbx)
        client.send(client.envelope("sandbox.create", sbx, {}))
        stream.wait_type("sandbox.ready", timeout=90)
        tid = new_id("tsk")
        req = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": [
            "-c", 'echo "$0" >> /workspace/runs; sleep 4', tid]}, task_id=tid))
        stream.wait_type("sandbox.task.started", requestId=req["requestId"], timeout=60)
        try:
            stop_service("redis")
            time.sleep(8)  # the task ends meanwhile; its writes fail and are retried
        finally:
            stack_up()
        ev = stream.for_request(req["requestId"], TERMINAL, timeout=120)
        assert ev["type"] in {"sandbox.task.completed", "sandbox.task.failed"}, ev

        # The sandbox serves the next request, and the task ran once.
        read = client.send(client.envelope("task.exec", sbx, {"command": "cat", "args": ["/workspace/runs"]}))
        got = stream.for_request(read["requestId"], TERMINAL, timeout=120)
        assert got["type"] == "sandbox.task.completed", got
        ran = "".join(e["data"].get("data", "") for e in stream.seen if e["type"] == "sandbox.task.output"
                      and e["requestId"] == read["requestId"]).split()
        assert ran == [tid], f"the task ran {len(ran)} times: {ran}"
        time.sleep(2)
        while stream.poll(0.5):
            pass
        of_it = [e["type"] for e in stream.seen if e.get("requestId") == req["requestId"]]
        assert of_it.count("sandbox.task.started") == 1, of_it
        assert sum(t in TERMINAL for t in of_it) == 1, of_it
        stream.close()
    finally:
        assert w.stop() == 0, w.log_text()[-3000:]
