"""conftest.py — exposes the shared harness (harness.py: the stack, real
workers, clients for Kafka, Redis and PostgreSQL) to the integration tests."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from harness import *  # noqa: E402,F401,F403  (pytest finds the fixtures by name here)
