"""A sandbox whose replyTo the worker cannot write (`__consumer_offsets`: no
client may produce to it). Each replyTo copy fails; the events still go out on
the events topic, each failure is counted, and — the point — a failed copy
holds no offset and no in-flight slot: with SANDQ_MAX_INFLIGHT 3 the worker
keeps serving far more than 3 requests instead of pausing every partition."""
from __future__ import annotations


from harness import Worker, metric, private_prefix
from sandq_client import Sandq, new_id


def test_unwritable_reply_topic_does_not_stall_the_worker(stack_env):
    prefix = private_prefix(stack_env["brokers"], "reply", partitions=3)
    client = Sandq(stack_env["brokers"], prefix)
    w = Worker("w-reply", {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix,
                           "SANDQ_MAX_INFLIGHT": "3"}).start()
    try:
        sbx = new_id("sbx")
        stream = client.stream(sbx)
        client.send(client.envelope("sandbox.create", sbx, {}, replyTo="__consumer_offsets"))
        stream.wait_type("sandbox.ready", timeout=90)
        # Four times the in-flight bound, one after another: each must finish.
        for i in range(12):
            req = client.send(client.envelope("task.exec", sbx, {"command": "echo", "args": [str(i)]}))
            ev = stream.for_request(req["requestId"], {"sandbox.task.completed", "sandbox.task.failed",
                                                       "request.rejected"}, timeout=90)
            assert ev["type"] == "sandbox.task.completed", ev
        kill = client.send(client.envelope("sandbox.kill", sbx))
        stream.wait_type("sandbox.ended", requestId=kill["requestId"], timeout=90)
        stream.close()
        # Every one of those events had a replyTo copy that failed, counted.
        assert metric(w, "sandq_reply_delivery_failures_total") >= 12
        assert "reply delivery to __consumer_offsets failed" in w.log_text() or \
            "reply delivery failed" in w.log_text()
    finally:
        assert w.stop() == 0, w.log_text()[-3000:]
