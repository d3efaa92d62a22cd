"""conftest.py — the fixtures of the integration and fault tests (the stack,
real workers, clients for Kafka, Redis and PostgreSQL: tests/integration/
harness.py), defined once here for every test directory, so one pytest run
over several of them has one session worker (two, under one worker id, would
fence each other out of the consumer group). tests/interop overrides `worker`
with its own."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "integration"))
from harness import *  # noqa: E402,F401,F403  (pytest finds the fixtures by name here)
