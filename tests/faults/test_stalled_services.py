"""Kafka and PostgreSQL down while a task finishes, then the worker is stopped. Its job is
then held by librdkafka (the task's last events) and by the history writer
(its rows): the worker must still stop cleanly and promptly — exit 0, so under
the ASan build no use-after-free and no leak — and, once the services are
back, the next worker publishes the answer the first one recorded."""
from __future__ import annotations

import signal
import time

from harness import Worker, private_prefix
from sandq_client import Sandq, new_id
from test_service_restarts import stack_up, stop_service

TERMINAL = {"sandbox.task.completed", "sandbox.task.failed", "request.rejected"}


def test_stop_with_kafka_and_postgres_down(stack_env):
    prefix = private_prefix(stack_env["brokers"], "stall", partitions=3)
    client = Sandq(stack_env["brokers"], prefix)
    env = {"SANDQ_TOPIC_PREFIX": prefix, "SANDQ_GROUP_ID": prefix, "SANDQ_SHUTDOWN_GRACE_MS": "5000",
           "SANDQ_SESSION_TIMEOUT_MS": "6000"}
    a = Worker("w-stall-a", env).start()
    b = None
    try:
        sbx = new_id("sbx")
        stream = client.stream(sbx)
        client.send(client.envelope("sandbox.create", sbx, {}))
        stream.wait_type("sandbox.ready", timeout=90)
        req = client.send(client.envelope("task.exec", sbx, {"command": "sh", "args": ["-c", "sleep 4; echo late"]}))
        stream.wait_type("sandbox.task.started", requestId=req["requestId"], timeout=60)
        stop_service("postgres")
        stop_service("kafka")
        time.sleep(6)  # the task finishes: its events wait in librdkafka, its rows in the writer

        t0 = time.monotonic()
        code = a.stop(timeout=150)
        assert code == 0, f"worker exited {code}: {a.log_text()[-4000:]}"
        assert time.monotonic() - t0 < 120, "shutdown waited for the broker"
        assert "purged" in a.log_text()
    finally:
        stack_up()
        if a.alive():
            a.stop(signal.SIGKILL)
    try:
        # The answer was recorded before it was published: the next owner of
        # the partition publishes it (same request, one outcome).
        b = Worker("w-stall-b", env).start(timeout=90)
        ev = stream.for_request(req["requestId"], TERMINAL, timeout=120)
        assert ev["type"] == "sandbox.task.completed", ev
        stream.close()
    finally:
        if b:
            assert b.stop() == 0, b.log_text()[-3000:]
