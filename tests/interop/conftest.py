"""conftest.py — the interop test's harness: a real sandq-worker (the same Worker
class the integration tests use) and the stack's Kafka address. The test itself
(test_any_kafka_client.py) uses nothing of sandq's but schema/ and PROTOCOL.md."""
from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil

import pytest

_spec = importlib.util.spec_from_file_location(
    "sandq_integration_harness", pathlib.Path(__file__).resolve().parents[1] / "integration" / "harness.py")
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)


@pytest.fixture(scope="session")
def brokers() -> str:
    b = os.environ.get("SANDQ_KAFKA_BROKERS")
    if not b:
        pytest.exit("SANDQ_KAFKA_BROKERS is not set: run through `make test` (or source a stack's env file)",
                    returncode=2)
    return b


@pytest.fixture(scope="session")
def worker(brokers):
    w = _integration.Worker("w-interop-1").start()
    yield w
    assert w.stop() == 0
    shutil.rmtree(w.dir, ignore_errors=True)
